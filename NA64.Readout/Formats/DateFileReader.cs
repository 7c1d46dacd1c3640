using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using NA64.Hardware.Errors;
using Serilog;

namespace NA64.Readout.Formats;

/// <summary>
/// Reads a raw DATE file event by event. Each event is read into one pooled buffer and returned as a
/// <see cref="DateEventView"/> over it, valid until the next <see cref="ReadNext"/>: nothing is copied per equipment.
/// Bad input throws <see cref="FrameFormatException"/> with the byte offset and stops the reader; every complete
/// event before it has been delivered. A truncated last event (normal after a crash) reads as
/// "truncated event at offset X (need N bytes, have M)".
/// </summary>
public sealed class DateFileReader : IDisposable
{
    private readonly Stream _stream;
    private readonly bool _leaveOpen;
    private readonly DateReaderOptions _options;
    private readonly ILogger _log;
    private readonly DateEventView _view = new();
    private byte[] _buffer;
    private bool _stopped;
    private bool _disposed;

    public DateFileReader(Stream stream, DateReaderOptions? options = null, ILogger? log = null, bool leaveOpen = false)
    {
        ArgumentNullException.ThrowIfNull(stream);
        _stream = stream is FileStream or MemoryStream or BufferedStream ? stream : new BufferedStream(stream, 1 << 20);
        _leaveOpen = leaveOpen;
        _options = options ?? new DateReaderOptions();
        _log = log ?? Serilog.Core.Logger.None;
        _buffer = ArrayPool<byte>.Shared.Rent(64 * 1024);
    }

    public static DateFileReader Open(string path, DateReaderOptions? options = null, ILogger? log = null)
    {
        var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 20, FileOptions.SequentialScan);
        return new DateFileReader(stream, options, log);
    }

    /// <summary>Offset of the next event in the stream.</summary>
    public long Position { get; private set; }

    public long EventsRead { get; private set; }

    /// <summary>
    /// The next event, or null at the end of the file (or after an error was thrown). Throws
    /// <see cref="FrameFormatException"/> for input that is not a readable DATE 3.6 event.
    /// </summary>
    public DateEventView? ReadNext()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_stopped)
        {
            return null;
        }

        try
        {
            return ReadOne();
        }
        catch (FrameFormatException e)
        {
            _stopped = true;
            _log.Error("DATE file unreadable at byte {Offset} after {Events} events: {Message}", e.ByteOffset, EventsRead, e.Message);
            throw;
        }
    }

    private DateEventView? ReadOne()
    {
        long at = Position;
        int got = _stream.ReadAtLeast(_buffer.AsSpan(0, 16), 16, throwOnEndOfStream: false);
        if (got == 0)
        {
            _stopped = true;
            return null;
        }

        if (got < 16)
        {
            uint need = got >= 4 ? BinaryPrimitives.ReadUInt32LittleEndian(_buffer) : 16u;
            throw new FrameFormatException(Truncated(at, Math.Max(need, 16u), got), at);
        }

        (int size, _) = DateEventView.CheckPrefix(_buffer.AsSpan(0, 16), at, _options);
        if (size > _buffer.Length)
        {
            byte[] bigger = ArrayPool<byte>.Shared.Rent(size);
            _buffer.AsSpan(0, 16).CopyTo(bigger);
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = bigger;
        }

        int rest = _stream.ReadAtLeast(_buffer.AsSpan(16, size - 16), size - 16, throwOnEndOfStream: false);
        if (rest < size - 16)
        {
            throw new FrameFormatException(Truncated(at, (uint)size, 16 + rest), at);
        }

        _view.Load(new ReadOnlyMemory<byte>(_buffer, 0, size), at, _options);
        Position = at + size;
        EventsRead++;
        return _view;
    }

    private static string Truncated(long at, uint need, int have) =>
        string.Create(CultureInfo.InvariantCulture, $"truncated event at offset {at} (need {need} bytes, have {have})");

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        ArrayPool<byte>.Shared.Return(_buffer);
        // With leaveOpen a BufferedStream wrapper of ours is simply dropped: disposing it would close the caller's stream.
        if (!_leaveOpen)
        {
            _stream.Dispose();
        }
    }
}
