using System.Text;
using Serilog;

namespace NA64.Simulators.Serving;

/// <summary>
/// Serves a line-oriented simulated device on a byte stream (pty master, TCP socket, in-memory pipe):
/// splits the input on the device's request terminator, hands each line to the device and writes the reply.
/// Optionally paces both directions like an RS-232 line at <see cref="BaudRate"/> (10 bit times per byte, 8N1):
/// a request is handed to the device only once its last byte would have arrived (a pty or socket delivers it at
/// once), and a reply ends one burst duration after it starts. Both are scheduled against the clock so that no
/// drift accumulates. Applies the
/// <see cref="LineFaults"/> (latency, drop, garble, truncate, silence, disconnect).
/// </summary>
public sealed class LineDeviceServer
{
    /// <summary>A request longer than this without terminator is handed to the device as it is, so the buffer stays bounded.</summary>
    public const int MaxLineBytes = 4096;

    private readonly ILineDevice _device;
    private readonly TimeProvider _time;
    private readonly ILogger _log;
    private readonly byte[] _requestTerminator;
    private readonly byte[] _replyTerminator;
    private long _linesReceived;

    /// <param name="baudRate">null: requests and replies take no line time; otherwise bits per second for pacing both.</param>
    public LineDeviceServer(ILineDevice device, TimeProvider time, LineFaults? faults = null, int? baudRate = null, ILogger? log = null)
    {
        ArgumentNullException.ThrowIfNull(device);
        ArgumentNullException.ThrowIfNull(time);
        if (baudRate is <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(baudRate), baudRate, $"baudRate is {baudRate}; it must be greater than 0.");
        }

        if (device.RequestTerminator.Length == 0)
        {
            throw new ArgumentException("The device's RequestTerminator is empty; a line protocol needs one.", nameof(device));
        }

        _device = device;
        _time = time;
        Faults = faults ?? new LineFaults();
        BaudRate = baudRate;
        _log = (log ?? Serilog.Core.Logger.None).ForContext<LineDeviceServer>();
        _requestTerminator = Encoding.Latin1.GetBytes(device.RequestTerminator);
        _replyTerminator = Encoding.Latin1.GetBytes(device.ReplyTerminator);
    }

    public LineFaults Faults { get; }

    public int? BaudRate { get; }

    /// <summary>Request lines received on all connections so far (silent ones included).</summary>
    public long LinesReceived => Interlocked.Read(ref _linesReceived);

    /// <summary>
    /// Serves until the far end closes the stream (returns), <see cref="LineFaults.Disconnect"/> is called
    /// (returns) or <paramref name="cancellationToken"/> is cancelled (throws). The caller owns the stream.
    /// </summary>
    public Task ServeAsync(Stream stream, CancellationToken cancellationToken) => ServeSessionAsync(stream, cancellationToken);

    /// <summary>Like <see cref="ServeAsync"/>; true when the session ended by a disconnect fault, false at end of stream.</summary>
    internal async Task<bool> ServeSessionAsync(Stream stream, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(stream);
        using var session = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var gate = new Lock();
        var ended = false;

        // A disconnect raised on another thread just as the session ends must not cancel a disposed source.
        void OnDisconnect(object? sender, EventArgs e)
        {
            lock (gate)
            {
                if (!ended)
                {
                    session.Cancel();
                }
            }
        }

        Faults.DisconnectRequested += OnDisconnect;
        try
        {
            await ServeLinesAsync(stream, session.Token).ConfigureAwait(false);
            return false;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            _log.Information("Simulated device connection closed by a disconnect fault");
            return true;
        }
        finally
        {
            Faults.DisconnectRequested -= OnDisconnect;
            lock (gate)
            {
                ended = true;
            }
        }
    }

    private async Task ServeLinesAsync(Stream stream, CancellationToken ct)
    {
        var buffer = new byte[1024];
        var pending = new List<byte>();
        long lineFreeAt = _time.GetTimestamp();
        // Host-to-device direction: when the last request byte has left the line, and when the first byte of the
        // pending request was seen (the host may have started sending it only then).
        long requestLineFreeAt = lineFreeAt;
        long pendingSeenAt = lineFreeAt;
        while (true)
        {
            var read = await stream.ReadAsync(buffer, ct).ConfigureAwait(false);
            if (read == 0)
            {
                _log.Information("Simulated device connection closed by the host");
                return;
            }

            if (pending.Count == 0)
            {
                pendingSeenAt = _time.GetTimestamp();
            }

            pending.AddRange(buffer.AsSpan(0, read));
            while (NextLine(pending, out var wireBytes) is { } line)
            {
                // Request bytes take line time too: the device has the whole line only wireBytes later.
                var arrived = Math.Max(pendingSeenAt, requestLineFreeAt) + ByteTimeTicks(wireBytes);
                requestLineFreeAt = arrived;
                pendingSeenAt = arrived;
                await WaitUntilAsync(arrived, ct).ConfigureAwait(false);
                lineFreeAt = await HandleLineAsync(stream, line, arrived, lineFreeAt, ct).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Takes one complete line (without terminator) out of <paramref name="pending"/>, if there is one.</summary>
    /// <param name="wireBytes">bytes the line occupied on the wire, terminator included.</param>
    private string? NextLine(List<byte> pending, out int wireBytes)
    {
        var span = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(pending);
        var end = span.IndexOf(_requestTerminator);
        if (end < 0)
        {
            if (pending.Count <= MaxLineBytes)
            {
                wireBytes = 0;
                return null;
            }

            var overlong = Encoding.Latin1.GetString(span[..MaxLineBytes]);
            pending.RemoveRange(0, MaxLineBytes);
            _log.Warning("Request of more than {Max} bytes without terminator handed over as it is", MaxLineBytes);
            wireBytes = MaxLineBytes;
            return overlong;
        }

        var line = Encoding.Latin1.GetString(span[..end]);
        wireBytes = end + _requestTerminator.Length;
        pending.RemoveRange(0, wireBytes);
        return line;
    }

    /// <returns>the timestamp at which the line is free again after this reply.</returns>
    private async Task<long> HandleLineAsync(Stream stream, string line, long received, long lineFreeAt, CancellationToken ct)
    {
        Interlocked.Increment(ref _linesReceived);
        if (Faults.Silent)
        {
            _log.Debug("Silent: ignored {Request}", line);
            return lineFreeAt;
        }

        var reply = _device.Respond(line);
        _log.Debug("Request {Request} reply {Reply}", line, reply);
        if (reply is null)
        {
            return lineFreeAt;
        }

        var framed = new byte[Encoding.Latin1.GetByteCount(reply) + _replyTerminator.Length];
        Encoding.Latin1.GetBytes(reply, framed);
        _replyTerminator.CopyTo(framed, framed.Length - _replyTerminator.Length);
        var bytes = Faults.Apply(framed, _replyTerminator.Length);
        if (bytes is null)
        {
            _log.Information("Fault: dropped reply {Reply}", reply);
            return lineFreeAt;
        }

        // The reply may start after the device's latency and once the previous reply has left the line;
        // its last byte arrives one burst duration later.
        var start = Math.Max(received + ToTimestampTicks(Faults.ReplyDelay), lineFreeAt);
        var done = start + ByteTimeTicks(bytes.Length);
        await WaitUntilAsync(done, ct).ConfigureAwait(false);
        await stream.WriteAsync(bytes, ct).ConfigureAwait(false);
        await stream.FlushAsync(ct).ConfigureAwait(false);
        return done;
    }

    /// <summary>Line time of <paramref name="byteCount"/> bytes at <see cref="BaudRate"/> (10 bits each, 8N1); 0 without pacing.</summary>
    private long ByteTimeTicks(int byteCount) =>
        BaudRate is { } baud ? ToTimestampTicks(TimeSpan.FromSeconds(byteCount * 10.0 / baud)) : 0;

    /// <summary>
    /// Waits until <paramref name="timestamp"/> on the clock. A timer from the TimeProvider is used directly,
    /// because Task.Delay truncates to whole milliseconds and a byte at 115200 baud lasts 87 µs.
    /// </summary>
    private async Task WaitUntilAsync(long timestamp, CancellationToken ct)
    {
        var wait = _time.GetElapsedTime(_time.GetTimestamp(), timestamp);
        if (wait <= TimeSpan.Zero)
        {
            return;
        }

        var due = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using (ct.Register(static s => ((TaskCompletionSource)s!).TrySetCanceled(), due))
        await using (_time.CreateTimer(static s => ((TaskCompletionSource)s!).TrySetResult(), due, wait, Timeout.InfiniteTimeSpan))
        {
            await due.Task.ConfigureAwait(false);
        }
    }

    private long ToTimestampTicks(TimeSpan span) => (long)Math.Round(span.TotalSeconds * _time.TimestampFrequency);
}
