using System.Buffers.Binary;
using System.Globalization;
using Serilog;

namespace NA64.Readout.Formats;

/// <summary>
/// Writes DATE events back to back to a stream (a raw file has no file header). Events are gathered in one buffer and
/// written in big sequential writes; <c>flushEveryEvents</c> &gt; 0 also pushes the stream every N events so that a
/// crash loses at most N events. Each event is checked before it is accepted: size word = length, magic, 3.6 version,
/// run number ≠ 0.
/// </summary>
public sealed class DateFileWriter : IDisposable
{
    private readonly Stream _stream;
    private readonly bool _leaveOpen;
    private readonly int _flushEveryEvents;
    private readonly ILogger _log;
    private readonly byte[] _buffer;
    private int _buffered;
    private int _sinceFlush;
    private bool _disposed;

    public DateFileWriter(Stream stream, int bufferBytes = 1 << 20, int flushEveryEvents = 0, ILogger? log = null, bool leaveOpen = false)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentOutOfRangeException.ThrowIfLessThan(bufferBytes, 4096);
        ArgumentOutOfRangeException.ThrowIfNegative(flushEveryEvents);
        _stream = stream;
        _leaveOpen = leaveOpen;
        _flushEveryEvents = flushEveryEvents;
        _log = log ?? Serilog.Core.Logger.None;
        _buffer = new byte[bufferBytes];
    }

    /// <summary>Creates (or overwrites) a raw file.</summary>
    public static DateFileWriter Create(string path, int bufferBytes = 1 << 20, int flushEveryEvents = 0, ILogger? log = null)
    {
        var stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.Read, bufferSize: 1, FileOptions.SequentialScan);
        return new DateFileWriter(stream, bufferBytes, flushEveryEvents, log);
    }

    public long EventsWritten { get; private set; }

    public long BytesWritten { get; private set; }

    /// <summary>Appends one complete DATE event.</summary>
    public void Write(ReadOnlySpan<byte> dateEvent)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        Check(dateEvent);
        if (_buffered + dateEvent.Length > _buffer.Length)
        {
            Drain();
        }

        if (dateEvent.Length > _buffer.Length)
        {
            _stream.Write(dateEvent);
        }
        else
        {
            dateEvent.CopyTo(_buffer.AsSpan(_buffered));
            _buffered += dateEvent.Length;
        }

        EventsWritten++;
        BytesWritten += dateEvent.Length;
        if (_flushEveryEvents > 0 && ++_sinceFlush >= _flushEveryEvents)
        {
            Flush();
        }
    }

    /// <summary>Writes what is buffered and flushes the stream.</summary>
    public void Flush()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        Drain();
        _stream.Flush();
        _sinceFlush = 0;
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        Flush();
        _disposed = true;
        _log.Information("DATE file closed after {Events} events, {Bytes} bytes", EventsWritten, BytesWritten);
        if (!_leaveOpen)
        {
            _stream.Dispose();
        }
    }

    private void Drain()
    {
        if (_buffered > 0)
        {
            _stream.Write(_buffer, 0, _buffered);
            _buffered = 0;
        }
    }

    private static void Check(ReadOnlySpan<byte> e)
    {
        if (e.Length < DateEventHeader.Bytes || (e.Length & 3) != 0)
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                $"DATE event of {e.Length} bytes refused: at least {DateEventHeader.Bytes} bytes and a multiple of 4"), nameof(e));
        }

        uint size = BinaryPrimitives.ReadUInt32LittleEndian(e);
        uint magic = BinaryPrimitives.ReadUInt32LittleEndian(e[4..]);
        uint version = BinaryPrimitives.ReadUInt32LittleEndian(e[12..]);
        uint run = BinaryPrimitives.ReadUInt32LittleEndian(e[20..]);
        if (size != e.Length)
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"DATE eventSize = {size} disagrees with the {e.Length} bytes given"), nameof(e));
        }

        if (magic != DateEventHeader.Magic || version != DateEventHeader.Version36)
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                $"not a DATE 3.6 event: magic 0x{magic:X8} (expected 0xDA1E5AFE), version 0x{version:X8} (expected 0x00030006)"), nameof(e));
        }

        if (run == 0)
        {
            throw new ArgumentException("DATE run number = 0 refused: DDD reads no maps for run 0", nameof(e));
        }
    }
}
