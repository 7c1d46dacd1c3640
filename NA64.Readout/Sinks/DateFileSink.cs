using System.Globalization;
using NA64.Readout.Formats;
using NA64.Readout.Pipeline;
using Serilog;

namespace NA64.Readout.Sinks;

/// <summary>A file written beside the DATE file when the run starts (setup, pedestal table, map file).</summary>
/// <param name="FileName">File name only (no directory), placed in the DATE file's directory.</param>
/// <param name="Write">Writes the content; the stream is closed afterwards.</param>
public sealed record CompanionFile(string FileName, Func<Stream, CancellationToken, ValueTask> Write);

/// <summary>
/// Writes built events, which are DATE events, back to back through the formats' <see cref="DateFileWriter"/>:
/// that is the raw file format (no file header, data-formats.md 2). The writer checks every event (size
/// word = length, magic, version 3.6, run ≠ 0) before accepting it, so a broken event never corrupts the
/// file; it is counted as <see cref="DropReason.MalformedEvent"/>. Beside the data file it writes the
/// companion files (setup, pedestals, map) given at creation.
/// </summary>
public sealed class DateFileSink : IEventSink, IAsyncDisposable
{
    private readonly DateFileWriter _writer;
    private readonly Stream _output;
    private readonly ILogger _log;
    private bool _disposed;

    /// <summary>Writes into <paramref name="output"/> (a file, a pipe, a memory stream in tests).</summary>
    /// <param name="flushEveryEvents">Above 0, push the stream every N events so that a crash loses at most N.</param>
    public DateFileSink(Stream output, string name = "date-file", bool leaveOpen = false, int flushEveryEvents = 0, ILogger? log = null)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        if (!output.CanWrite)
        {
            throw new ArgumentException("The DATE file stream is not writable.", nameof(output));
        }

        _output = output;
        _log = log ?? Serilog.Core.Logger.None;
        _writer = new DateFileWriter(output, flushEveryEvents: flushEveryEvents, log: _log, leaveOpen: leaveOpen);
        Name = name;
    }

    public string Name { get; }

    /// <summary>Path of the data file, when created by <see cref="CreateAsync"/>.</summary>
    public string? FilePath { get; private init; }

    /// <summary>Bytes accepted for the data file so far (buffered bytes included).</summary>
    public long BytesWritten => _writer.BytesWritten;

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
        int flushEveryEvents = 0,
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

        var stream = new FileStream(dataFilePath, FileMode.CreateNew, FileAccess.Write, FileShare.Read, bufferSize: 1, FileOptions.SequentialScan);
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

        return new DateFileSink(stream, "date-file", leaveOpen: false, flushEveryEvents, log) { FilePath = dataFilePath };
    }

    public ValueTask<SinkWriteResult> WriteAsync(EventBatch events, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(events);
        ObjectDisposedException.ThrowIf(_disposed, this);
        cancellationToken.ThrowIfCancellationRequested();
        var written = 0;
        var bytes = 0L;
        for (var i = 0; i < events.Count; i++)
        {
            var dateEvent = events.GetBytes(i);
            try
            {
                _writer.Write(dateEvent);
            }
            catch (ArgumentException ex)
            {
                // The writer checks before it writes: nothing of this event reached the file.
                ref readonly var meta = ref events.GetMetadata(i);
                _log.Error(ex, "{Sink}: spill {Spill} event {Event} refused ({Length} bytes); not written",
                    Name, meta.Spill, meta.EventInSpill, dateEvent.Length);
                continue;
            }

            written++;
            bytes += dateEvent.Length;
        }

        var dropped = events.Count - written;
        return ValueTask.FromResult(new SinkWriteResult(written, bytes, dropped, dropped == 0 ? DropReason.None : DropReason.MalformedEvent));
    }

    public ValueTask FlushAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        _writer.Flush();
        if (_output is FileStream file)
        {
            file.Flush(flushToDisk: true);   // end of run: the data must survive a crash of the host
        }

        return ValueTask.CompletedTask;
    }

    public ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return ValueTask.CompletedTask;
        }

        _disposed = true;
        _writer.Dispose();
        return ValueTask.CompletedTask;
    }
}
