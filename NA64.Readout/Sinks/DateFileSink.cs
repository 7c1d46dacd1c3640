using System.Buffers.Binary;
using System.Globalization;
using NA64.Readout.Pipeline;
using Serilog;

namespace NA64.Readout.Sinks;

/// <summary>A file written beside the DATE file when the run starts (setup, pedestal table, map file).</summary>
/// <param name="FileName">File name only (no directory), placed in the DATE file's directory.</param>
/// <param name="Write">Writes the content; the stream is closed afterwards.</param>
public sealed record CompanionFile(string FileName, Func<Stream, CancellationToken, ValueTask> Write);

/// <summary>
/// Writes built events, which are DATE events, back to back: that is the raw file format (no file header,
/// data-formats.md 2). Each event is checked to be a DATE event whose size word equals its length before it
/// is written, so a broken event never corrupts the file; it is counted as <see cref="DropReason.MalformedEvent"/>.
/// Beside the data file it writes the companion files (setup, pedestals, map) given at creation.
/// </summary>
public sealed class DateFileSink : IEventSink, IAsyncDisposable
{
    /// <summary>DATE event magic, word 1 of every header flavour.</summary>
    public const uint DateMagic = 0xDA1E5AFE;

    private readonly Stream _output;
    private readonly bool _leaveOpen;
    private readonly ILogger _log;
    private long _bytesWritten;
    private bool _disposed;

    /// <summary>Writes into <paramref name="output"/> (a file, a pipe, a memory stream in tests).</summary>
    public DateFileSink(Stream output, string name = "date-file", bool leaveOpen = false, ILogger? log = null)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        if (!output.CanWrite)
        {
            throw new ArgumentException("The DATE file stream is not writable.", nameof(output));
        }

        _output = output;
        _leaveOpen = leaveOpen;
        Name = name;
        _log = log ?? Serilog.Core.Logger.None;
    }

    public string Name { get; }

    /// <summary>Path of the data file, when created by <see cref="CreateAsync"/>.</summary>
    public string? FilePath { get; private init; }

    /// <summary>Bytes written to the data file so far.</summary>
    public long BytesWritten => Interlocked.Read(ref _bytesWritten);

    /// <summary>The COMPASS/NA64 raw file name of a run, e.g. <c>cdr01001-003661.dat</c>.</summary>
    public static string RawFileName(uint run) =>
        string.Create(CultureInfo.InvariantCulture, $"cdr01001-{run:D6}.dat");

    /// <summary>
    /// Creates the data file (never overwriting an existing one: a run file is precious) and writes the
    /// companion files beside it.
    /// </summary>
    public static async Task<DateFileSink> CreateAsync(
        string dataFilePath,
        IReadOnlyList<CompanionFile> companions,
        ILogger? log = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(dataFilePath);
        ArgumentNullException.ThrowIfNull(companions);
        var directory = Path.GetDirectoryName(Path.GetFullPath(dataFilePath))!;
        foreach (var companion in companions)
        {
            if (string.IsNullOrWhiteSpace(companion.FileName) || companion.FileName != Path.GetFileName(companion.FileName))
            {
                throw new ArgumentException(
                    $"Companion file name '{companion.FileName}' must be a plain file name without directory.", nameof(companions));
            }
        }

        var stream = new FileStream(dataFilePath, FileMode.CreateNew, FileAccess.Write, FileShare.Read, 1 << 16, useAsync: true);
        try
        {
            foreach (var companion in companions)
            {
                var path = Path.Combine(directory, companion.FileName);
                var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.Read, 1 << 16, useAsync: true);
                await using (file.ConfigureAwait(false))
                {
                    await companion.Write(file, cancellationToken).ConfigureAwait(false);
                }

                log?.Information("Wrote {Companion} beside {DataFile}", path, dataFilePath);
            }
        }
        catch
        {
            await stream.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        return new DateFileSink(stream, "date-file", leaveOpen: false, log) { FilePath = dataFilePath };
    }

    public async ValueTask<SinkWriteResult> WriteAsync(EventBatch events, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(events);
        ObjectDisposedException.ThrowIf(_disposed, this);
        var firstBad = FirstMalformed(events, 0);
        if (firstBad < 0)
        {
            // Normal case: the whole batch is one contiguous block of DATE events, one write.
            await _output.WriteAsync(events.AllMemory, cancellationToken).ConfigureAwait(false);
            Interlocked.Add(ref _bytesWritten, events.ByteCount);
            return SinkWriteResult.All(events);
        }

        var written = 0;
        var bytes = 0L;
        var dropped = 0;
        for (var i = 0; i < events.Count; i++)
        {
            if (!IsDateEvent(events.GetBytes(i)))
            {
                dropped++;
                ref readonly var meta = ref events.GetMetadata(i);
                _log.Error("{Sink}: spill {Spill} event {Event} is not a DATE event of its own length ({Length} bytes); not written",
                    Name, meta.Spill, meta.EventInSpill, events.GetBytes(i).Length);
                continue;
            }

            var memory = events.GetMemory(i);
            await _output.WriteAsync(memory, cancellationToken).ConfigureAwait(false);
            written++;
            bytes += memory.Length;
        }

        Interlocked.Add(ref _bytesWritten, bytes);
        return new SinkWriteResult(written, bytes, dropped, DropReason.MalformedEvent);
    }

    public async ValueTask FlushAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        await _output.FlushAsync(cancellationToken).ConfigureAwait(false);
        if (_output is FileStream file)
        {
            file.Flush(flushToDisk: true);   // end of run: the data must survive a crash of the host
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        if (!_leaveOpen)
        {
            await _output.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>True for a DATE event: size word = its length, a multiple of 4, magic in word 1.</summary>
    public static bool IsDateEvent(ReadOnlySpan<byte> eventBytes) =>
        eventBytes.Length >= 16
        && eventBytes.Length % 4 == 0
        && BinaryPrimitives.ReadUInt32LittleEndian(eventBytes) == (uint)eventBytes.Length
        && BinaryPrimitives.ReadUInt32LittleEndian(eventBytes[4..]) == DateMagic;

    private static int FirstMalformed(EventBatch events, int from)
    {
        for (var i = from; i < events.Count; i++)
        {
            if (!IsDateEvent(events.GetBytes(i)))
            {
                return i;
            }
        }

        return -1;
    }
}
