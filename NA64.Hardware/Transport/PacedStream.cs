using System.Globalization;

namespace NA64.Hardware.Transport;

/// <summary>
/// Paces writes as an RS-232 line at <see cref="BaudRate"/> would: one byte takes <see cref="BitsPerByte"/> bit
/// times (10 for 8N1: start, 8 data, stop), and byte k of a burst is handed to the inner stream no earlier than
/// k byte times after the burst began. So a simulator behind a pseudo-terminal answers no faster than a device.
/// <para>
/// Pacing is computed against the time elapsed since the start of the burst, not by sleeping per byte: a timer
/// that wakes late lets the bytes that became due meanwhile go out together, so the average rate stays exact
/// in real time even with millisecond timer granularity (each byte leaves less than about 1 ms after it is due).
/// Reads pass through unchanged.
/// </para>
/// </summary>
public sealed class PacedStream : Stream
{
    private readonly Stream _inner;
    private readonly TimeProvider _time;
    private readonly bool _leaveOpen;
    private readonly FifoGate _writeGate = new();
    /// <summary>Timer granularity: a gap up to this long between writes still counts as one continuous burst.</summary>
    private static readonly long IdleGraceTicks = TimeSpan.TicksPerMillisecond;

    private long _burstStart;
    private long _sentInBurst;

    public PacedStream(Stream inner, int baudRate, TimeProvider? timeProvider = null, int bitsPerByte = 10, bool leaveOpen = false)
    {
        ArgumentNullException.ThrowIfNull(inner);
        if (baudRate <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(baudRate), baudRate, $"Baud rate = {baudRate.ToString(CultureInfo.InvariantCulture)} refused; it must be positive");
        }

        if (bitsPerByte is < 7 or > 12)
        {
            throw new ArgumentOutOfRangeException(nameof(bitsPerByte), bitsPerByte, $"Bits per byte = {bitsPerByte.ToString(CultureInfo.InvariantCulture)} refused; allowed 7..12 (start + data + parity + stop)");
        }

        _inner = inner;
        _time = timeProvider ?? TimeProvider.System;
        _leaveOpen = leaveOpen;
        BaudRate = baudRate;
        BitsPerByte = bitsPerByte;
    }

    public int BaudRate { get; }

    public int BitsPerByte { get; }

    /// <summary>Time one byte occupies the line.</summary>
    public TimeSpan ByteTime => TimeSpan.FromTicks(LineTicks(1));

    public override bool CanRead => _inner.CanRead;

    public override bool CanWrite => _inner.CanWrite;

    public override bool CanSeek => false;

    public override long Length => throw new NotSupportedException("A paced line has no length");

    public override long Position
    {
        get => throw new NotSupportedException("A paced line has no position");
        set => throw new NotSupportedException("A paced line has no position");
    }

    public override int Read(byte[] buffer, int offset, int count) => _inner.Read(buffer, offset, count);

    public override int Read(Span<byte> buffer) => _inner.Read(buffer);

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        _inner.ReadAsync(buffer, offset, count, cancellationToken);

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        _inner.ReadAsync(buffer, cancellationToken);

    public override void Write(byte[] buffer, int offset, int count)
    {
        ValidateBufferArguments(buffer, offset, count);
        WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
    {
        ValidateBufferArguments(buffer, offset, count);
        return WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();
    }

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        using var turn = await _writeGate.EnterAsync(cancellationToken).ConfigureAwait(false);
        var now = _time.GetTimestamp();
        if (_time.GetElapsedTime(_burstStart, now).Ticks - LineTicks(_sentInBurst) > IdleGraceTicks)
        {
            // The line has been quiet for longer than the timer granularity: a new burst starts now. A shorter gap
            // is only our own late hand-over (a writer queued behind another), so the burst simply continues.
            _burstStart = now;
            _sentInBurst = 0;
        }

        var remaining = buffer;
        while (!remaining.IsEmpty)
        {
            // Integer arithmetic: a byte due exactly now must not be missed by a rounding error.
            var elapsed = _time.GetElapsedTime(_burstStart).Ticks;
            var due = (long)((Int128)elapsed * BaudRate / ((Int128)BitsPerByte * TimeSpan.TicksPerSecond)) - _sentInBurst;
            if (due > 0)
            {
                var n = (int)Math.Min(due, remaining.Length);
                await _inner.WriteAsync(remaining[..n], cancellationToken).ConfigureAwait(false);
                await _inner.FlushAsync(cancellationToken).ConfigureAwait(false);
                _sentInBurst += n;
                remaining = remaining[n..];
                continue;
            }

            // Task.Delay truncates to whole milliseconds (a sub-millisecond wait would return at once and spin), so
            // wait up to the next millisecond at or after the byte is due; the byte leaves less than 1 ms late.
            var waitTicks = LineTicks(_sentInBurst + 1) - elapsed;
            var waitMs = Math.Max(1, (waitTicks + TimeSpan.TicksPerMillisecond - 1) / TimeSpan.TicksPerMillisecond);
            await Task.Delay(TimeSpan.FromMilliseconds(waitMs), _time, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Ticks from the start of a burst until <paramref name="bytes"/> bytes have fully left the line (rounded up).</summary>
    private long LineTicks(long bytes)
    {
        var numerator = (Int128)bytes * BitsPerByte * TimeSpan.TicksPerSecond;
        return (long)((numerator + BaudRate - 1) / BaudRate);
    }

    public override void Flush() => _inner.Flush();

    public override Task FlushAsync(CancellationToken cancellationToken) => _inner.FlushAsync(cancellationToken);

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException("A paced line cannot seek");

    public override void SetLength(long value) => throw new NotSupportedException("A paced line has no length");

    protected override void Dispose(bool disposing)
    {
        if (disposing && !_leaveOpen)
        {
            _inner.Dispose();
        }

        base.Dispose(disposing);
    }
}
