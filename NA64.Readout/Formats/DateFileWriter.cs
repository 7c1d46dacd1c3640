using System.Buffers.Binary;
using System.Globalization;
using Serilog;

namespace NA64.Readout.Formats;

/// <summary>
/// Writes DATE events back to back to a stream (a raw file has no file header). Events are gathered in one buffer and
/// written in big sequential writes; <c>flushEveryEvents</c> &gt; 0 also pushes the stream every N events so that a
/// crash loses at most N events. Each event is checked before it is accepted: size word = length, magic, 3.6 version,
/// run number ≠ 0.
/// A write error of the stream (disk full, I/O error) never leaves a partial event behind: on a seekable stream the file
/// is cut back to the end of the last event that reached it completely, the counters are corrected to what is in the
/// file, and <see cref="DateWriteException"/> says how many of the buffered events survived.
/// </summary>
public sealed class DateFileWriter : IDisposable
{
    private readonly Stream _stream;
    private readonly bool _leaveOpen;
    private readonly int _flushEveryEvents;
    private readonly ILogger _log;
    private readonly byte[] _buffer;
    private readonly List<int> _bufferedSizes = new();
    private readonly long _origin;
    private int _buffered;
    private int _sinceFlush;
    private long _durable;
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
        _origin = stream.CanSeek ? stream.Position : 0;
    }

    /// <summary>Creates (or overwrites) a raw file.</summary>
    public static DateFileWriter Create(string path, int bufferBytes = 1 << 20, int flushEveryEvents = 0, ILogger? log = null)
    {
        var stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.Read, bufferSize: 1, FileOptions.SequentialScan);
        return new DateFileWriter(stream, bufferBytes, flushEveryEvents, log);
    }

    public long EventsWritten { get; private set; }

    public long BytesWritten { get; private set; }

    /// <summary>Events accepted but still in the buffer (not yet handed to the stream).</summary>
    public int BufferedEvents => _bufferedSizes.Count;

    /// <summary>Bytes known to be in the stream: every event before this offset (from where the writer started) is complete.</summary>
    public long DurableBytes => _durable;

    /// <summary>Appends one complete DATE event.</summary>
    public void Write(ReadOnlySpan<byte> dateEvent)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        Check(dateEvent);
        if (_buffered + dateEvent.Length > _buffer.Length)
        {
            Drain();
        }

        // Counted before it is handed on, so that Recover can take it off again if the stream refuses it.
        EventsWritten++;
        BytesWritten += dateEvent.Length;
        if (dateEvent.Length > _buffer.Length)
        {
            WriteDirect(dateEvent);
        }
        else
        {
            dateEvent.CopyTo(_buffer.AsSpan(_buffered));
            _buffered += dateEvent.Length;
            _bufferedSizes.Add(dateEvent.Length);
        }
        if (_flushEveryEvents > 0 && ++_sinceFlush >= _flushEveryEvents)
        {
            Flush();
        }
    }

    /// <summary>Writes what is buffered and flushes the stream. Throws <see cref="DateWriteException"/> on a write error.</summary>
    public void Flush()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        Drain();
        try
        {
            _stream.Flush();
        }
        catch (IOException e)
        {
            // The bytes were handed over but may not be on disk; what the stream holds is still whole events.
            throw new DateWriteException(e.Message, 0, 0, _durable, e);
        }

        _sinceFlush = 0;
    }

    /// <summary>Hands the buffered events to the stream without flushing it (the unit of loss on a write error).</summary>
    public void Commit()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        Drain();
    }

    /// <summary>Flushes and closes. A write error still closes the stream, then throws <see cref="DateWriteException"/>.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        try
        {
            Flush();
        }
        finally
        {
            _disposed = true;
            _log.Information("DATE file closed after {Events} events, {Bytes} bytes", EventsWritten, BytesWritten);
            if (!_leaveOpen)
            {
                _stream.Dispose();
            }
        }
    }

    private void Drain()
    {
        if (_buffered == 0)
        {
            return;
        }

        try
        {
            _stream.Write(_buffer, 0, _buffered);
        }
        catch (IOException e)
        {
            throw Recover(e);
        }

        _durable += _buffered;
        _buffered = 0;
        _bufferedSizes.Clear();
    }

    private void WriteDirect(ReadOnlySpan<byte> dateEvent)
    {
        Drain();
        _bufferedSizes.Add(dateEvent.Length);
        _buffered = dateEvent.Length;
        try
        {
            _stream.Write(dateEvent);
        }
        catch (IOException e)
        {
            throw Recover(e);
        }

        _durable += dateEvent.Length;
        _buffered = 0;
        _bufferedSizes.Clear();
    }

    // A write failed part-way: find how much of the buffered events reached the stream, keep the complete ones, cut the
    // partial one, and take the lost ones off the counters so they say what the file holds.
    private DateWriteException Recover(IOException error)
    {
        int kept = 0;
        long keptBytes = 0;
        if (_stream.CanSeek)
        {
            long reached;
            try
            {
                reached = _stream.Length - _origin - _durable;
            }
            catch (IOException e)
            {
                _log.Error(e, "DATE file length unreadable after a write error; keeping only the events written before it");
                reached = 0;
            }

            while (kept < _bufferedSizes.Count && keptBytes + _bufferedSizes[kept] <= reached)
            {
                keptBytes += _bufferedSizes[kept];
                kept++;
            }

            try
            {
                _stream.SetLength(_origin + _durable + keptBytes);
                _stream.Position = _origin + _durable + keptBytes;
            }
            catch (IOException e)
            {
                _log.Error(e, "DATE file could not be cut back to {Offset} after a write error", _origin + _durable + keptBytes);
            }
        }

        int lost = _bufferedSizes.Count - kept;
        long lostBytes = _buffered - keptBytes;
        _durable += keptBytes;
        EventsWritten -= lost;
        BytesWritten -= lostBytes;
        _buffered = 0;
        _bufferedSizes.Clear();
        _log.Error(error, "DATE write failed: {Kept} buffered events kept, {Lost} lost; the file ends with a complete event at {Offset}",
            kept, lost, _origin + _durable);
        return new DateWriteException(error.Message, kept, lost, _durable, error);
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

/// <summary>
/// The stream refused a write (disk full, I/O error). The file still holds only complete events: <see cref="KeptEvents"/>
/// of the events that were buffered reached it, <see cref="LostEvents"/> did not, and <see cref="DurableBytes"/> bytes
/// (from where the writer started) are whole events.
/// </summary>
public sealed class DateWriteException(string message, int keptEvents, int lostEvents, long durableBytes, Exception inner)
    : IOException(message, inner)
{
    public int KeptEvents { get; } = keptEvents;

    public int LostEvents { get; } = lostEvents;

    public long DurableBytes { get; } = durableBytes;
}
