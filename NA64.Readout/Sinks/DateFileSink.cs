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
/// The run structure of a DATE file (data-formats.md 3.5): START_OF_RUN first, then per burst (spill) START_OF_BURST,
/// the events, END_OF_BURST, and END_OF_RUN last. Burst boundaries come from the spill number of the events in the order
/// the builder hands them on, so any receiver gives the same file.
/// </summary>
/// <param name="RunNumber">DATE run number of every event (≠ 0).</param>
/// <param name="Time">Clock of the control events' timestamps (the DATE encoder rule: the injected clock).</param>
/// <param name="Writer">LDC/GDC ids and detector pattern of the control events.</param>
/// <param name="Bursts">True: physics and calibration events sit inside SOB/EOB of their spill. False (pedestal run):
/// the events sit directly between SOR and EOR.</param>
public sealed record DateRunFraming(uint RunNumber, TimeProvider Time, DateWriterOptions? Writer = null, bool Bursts = true);

/// <summary>
/// Writes built events, which are DATE events, back to back through the formats' <see cref="DateFileWriter"/>:
/// that is the raw file format (no file header, data-formats.md 2). The writer checks every event (size
/// word = length, magic, version 3.6, run ≠ 0) before accepting it, so a broken event never corrupts the
/// file; it is counted as <see cref="DropReason.MalformedEvent"/>. Beside the data file it writes the
/// companion files (setup, pedestals, map) given at creation.
/// With a <see cref="DateRunFraming"/> it also writes the run's control events (SOR, SOB/EOB per spill, EOR); an
/// operator stop or an error still closes the file with EOB and EOR. Each batch is handed to the stream before
/// <see cref="WriteAsync"/> returns, so a write error (disk full) costs at most the batch being written: the file is cut
/// back to its last complete event, the batch's events that did not reach it are counted as
/// <see cref="DropReason.SinkFailure"/>, <see cref="Fault"/> says why, and the run stops (<see cref="StopsRunOnFailure"/>).
/// </summary>
public sealed class DateFileSink : IEventSink, IAsyncDisposable
{
    private readonly DateFileWriter _writer;
    private readonly Stream _output;
    private readonly ILogger _log;
    private readonly DateRunFraming? _framing;
    private readonly DateEventBuilder? _control;
    private readonly List<Pending> _pending = new();
    private readonly long[] _eventsByType = new long[16];
    private int _committedBurst = -1;   // burst open in the file after the last commit, -1 none
    private int _openBurst = -1;        // burst open after the events handed to the writer
    private uint _lastNbInRun;
    private int _lastNbInBurst;
    private int _lastBurst;
    private bool _closed;
    private bool _disposed;

    /// <summary>Writes into <paramref name="output"/> (a file, a pipe, a memory stream in tests).</summary>
    /// <param name="flushEveryEvents">Above 0, push the stream every N events so that a crash loses at most N.</param>
    /// <param name="framing">Null: data events only, as given. Set: SOR at once, SOB/EOB per spill, EOR at the end.</param>
    public DateFileSink(Stream output, string name = "date-file", bool leaveOpen = false, int flushEveryEvents = 0, ILogger? log = null,
        DateRunFraming? framing = null)
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
        if (framing is not null)
        {
            ArgumentNullException.ThrowIfNull(framing.Time);
            if (framing.RunNumber == 0)
            {
                throw new ArgumentOutOfRangeException(nameof(framing), framing.RunNumber, "DATE run number = 0 refused: DDD reads no maps for run 0");
            }

            _framing = framing;
            _control = new DateEventBuilder(framing.Time, framing.Writer, 256);
            // Buffered only: the first stream write happens with the first batch (or at the end of an empty run).
            WriteControl(DateEventType.StartOfRun, 0, 0, 0);
        }
    }

    public string Name { get; }

    /// <summary>The DATE file is the run: when it fails, the run stops.</summary>
    public bool StopsRunOnFailure => true;

    /// <summary>Path of the data file, when created by <see cref="CreateAsync"/>.</summary>
    public string? FilePath { get; private init; }

    /// <summary>Bytes in the data file so far, control events and buffered bytes included; after a write error, what the file holds.</summary>
    public long BytesWritten => _writer.BytesWritten;

    /// <summary>Events in the data file (control events included).</summary>
    public long EventsWritten => _writer.EventsWritten;

    /// <summary>The first write error (e.g. "No space left on device"), or null.</summary>
    public string? Fault { get; private set; }

    /// <summary>True once END_OF_RUN is in the file (framing only).</summary>
    public bool EndOfRunWritten { get; private set; }

    /// <summary>Events in the file of one DATE type.</summary>
    public long EventsOfType(DateEventType type) => (uint)type < _eventsByType.Length ? _eventsByType[(uint)type] : 0;

    /// <summary>The COMPASS/NA64 raw file name of a run, e.g. <c>cdr01001-003661.dat</c>.</summary>
    public static string RawFileName(uint run) =>
        string.Create(CultureInfo.InvariantCulture, $"cdr01001-{run:D6}.dat");

    /// <summary>
    /// Creates the data file (never overwriting an existing one: a run file is precious) and writes the
    /// companion files beside it. If anything fails, the files created here are deleted again.
    /// <paramref name="wrapStream"/> puts a stream of the caller's between the sink and the file (it owns the file stream).
    /// </summary>
    public static async Task<DateFileSink> CreateAsync(
        string dataFilePath,
        IReadOnlyList<CompanionFile> companions,
        int flushEveryEvents = 0,
        ILogger? log = null,
        CancellationToken cancellationToken = default,
        DateRunFraming? framing = null,
        Func<Stream, Stream>? wrapStream = null)
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
        var created = new List<string> { dataFilePath };
        try
        {
            foreach (var companion in companions)
            {
                var path = Path.Combine(directory, companion.FileName);
                var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.Read, 1 << 16, useAsync: true);
                created.Add(path);
                await using (file.ConfigureAwait(false))
                {
                    await companion.Write(file, cancellationToken).ConfigureAwait(false);
                }

                log?.Information("Wrote {Companion} beside {DataFile}", path, dataFilePath);
            }

            return new DateFileSink(wrapStream is null ? stream : wrapStream(stream), "date-file", leaveOpen: false, flushEveryEvents, log, framing)
            {
                FilePath = dataFilePath,
            };
        }
        catch (Exception ex)
        {
            await stream.DisposeAsync().ConfigureAwait(false);
            // A run that could not start leaves no files behind (they would look like an empty run).
            foreach (var path in created)
            {
                File.Delete(path);
            }

            log?.Error(ex, "DATE file {DataFile} not started; removed {Files}", dataFilePath, created);
            throw;
        }
    }

    public ValueTask<SinkWriteResult> WriteAsync(EventBatch events, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(events);
        ObjectDisposedException.ThrowIf(_disposed, this);
        cancellationToken.ThrowIfCancellationRequested();
        if (_closed)
        {
            throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture,
                $"DATE file sink '{Name}' is closed ({Fault ?? "end of run written"}); no events accepted"));
        }

        var written = 0;
        var bytes = 0L;
        var malformed = 0;
        try
        {
            for (var i = 0; i < events.Count; i++)
            {
                var dateEvent = events.GetBytes(i);
                ref readonly var meta = ref events.GetMetadata(i);
                if (_framing is not null && InBurst(meta.EventType) && meta.Spill <= EventMetadata.MaxSpill)
                {
                    EnterBurst((int)meta.Spill);
                }

                try
                {
                    _pending.Add(new Pending((DateEventType)meta.EventType, (int)meta.Spill, dateEvent.Length, true));
                    _writer.Write(dateEvent);
                }
                catch (ArgumentException ex)
                {
                    // The writer checks before it writes: nothing of this event reached the file.
                    _pending.RemoveAt(_pending.Count - 1);
                    malformed++;
                    _log.Error(ex, "{Sink}: spill {Spill} event {Event} refused ({Length} bytes); not written",
                        Name, meta.Spill, meta.EventInSpill, dateEvent.Length);
                    continue;
                }

                _lastNbInRun = meta.EventInRun;
                _lastNbInBurst = (int)Math.Min(meta.EventInSpill, EventMetadata.MaxEventInSpill);
                written++;
                bytes += dateEvent.Length;
            }

            _writer.Commit();
            Committed(_pending.Count);
        }
        catch (DateWriteException ex)
        {
            var (keptData, keptBytes) = Committed(ex.KeptEvents);
            Fail(ex.Message);
            TryClose();
            var lost = events.Count - malformed - keptData;
            return ValueTask.FromResult(new SinkWriteResult(keptData, keptBytes, events.Count - keptData, DropReason.SinkFailure)
            {
                Fault = string.Create(CultureInfo.InvariantCulture,
                    $"write error on the DATE file: {ex.Message}; {lost} events of the batch not written, the file ends with its last complete event"),
            });
        }

        var dropped = events.Count - written;
        return ValueTask.FromResult(new SinkWriteResult(written, bytes, dropped, dropped == 0 ? DropReason.None : DropReason.MalformedEvent));
    }

    public ValueTask FlushAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (!_closed)
        {
            TryClose();
        }

        if (Fault is null && _output is FileStream file)
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

        if (!_closed)
        {
            TryClose();
        }

        _disposed = true;
        try
        {
            _writer.Dispose();
        }
        catch (DateWriteException ex)
        {
            Fail(ex.Message);
            _log.Error(ex, "{Sink}: closing the DATE file failed; it ends with its last complete event", Name);
        }

        return ValueTask.CompletedTask;
    }

    private static bool InBurst(byte eventType) => eventType is (byte)DateEventType.Physics or (byte)DateEventType.Calibration;

    private void EnterBurst(int burst)
    {
        if (!_framing!.Bursts || burst == _openBurst)
        {
            return;
        }

        if (_openBurst >= 0)
        {
            WriteControl(DateEventType.EndOfBurst, _openBurst, _lastNbInBurst, _lastNbInRun);
        }

        _openBurst = burst;
        _lastNbInBurst = 0;
        WriteControl(DateEventType.StartOfBurst, burst, 0, _lastNbInRun);
    }

    // Control events carry no equipments; nbInBurst of EOB is the last event number of the burst, nbInRun the run's
    // count so far (data-formats 3.5 leaves these open; the choice is in Formats/README.md).
    private void WriteControl(DateEventType type, int burst, int nbInBurst, uint nbInRun)
    {
        _control!.Begin(type, _framing!.RunNumber, nbInRun, burst, nbInBurst, 0);
        var bytes = _control.Finish();
        _pending.Add(new Pending(type, burst, bytes.Length, false));
        _writer.Write(bytes);
        _lastBurst = burst;
    }

    // The first `kept` pending events are in the file: count them and replay their burst transitions.
    private (int Data, long Bytes) Committed(int kept)
    {
        int data = 0;
        long bytes = 0;
        for (int i = 0; i < kept && i < _pending.Count; i++)
        {
            var p = _pending[i];
            _eventsByType[(uint)p.Type < _eventsByType.Length ? (uint)p.Type : 0]++;
            if (p.Data)
            {
                data++;
                bytes += p.Bytes;
            }
            else if (p.Type == DateEventType.StartOfBurst)
            {
                _committedBurst = p.Burst;
            }
            else if (p.Type == DateEventType.EndOfBurst)
            {
                _committedBurst = -1;
            }
            else if (p.Type == DateEventType.EndOfRun)
            {
                EndOfRunWritten = true;
            }
        }

        _pending.Clear();
        return (data, bytes);
    }

    private void Fail(string message)
    {
        Fault ??= message;
        // The writer cut the file back to what was committed; the logical burst state follows the file.
        _openBurst = _committedBurst;
    }

    // End of run (normal, stop, error): EOB if a burst is open in the file, then EOR, handed to the stream. A second write
    // error leaves the file as it is (complete events, no EOR): counted in Fault, logged, never thrown.
    private void TryClose()
    {
        _closed = true;
        try
        {
            if (_framing is not null)
            {
                if (_openBurst >= 0)
                {
                    WriteControl(DateEventType.EndOfBurst, _openBurst, _lastNbInBurst, _lastNbInRun);
                    _openBurst = -1;
                }

                WriteControl(DateEventType.EndOfRun, _lastBurst, 0, _lastNbInRun);
            }

            _writer.Flush();
            Committed(_pending.Count);
        }
        catch (DateWriteException ex)
        {
            Committed(ex.KeptEvents);
            Fail(ex.Message);
            _log.Error(ex, "{Sink}: end of run not written ({Fault}); the DATE file ends with its last complete event, without END_OF_RUN",
                Name, ex.Message);
        }
    }

    private readonly record struct Pending(DateEventType Type, int Burst, int Bytes, bool Data);
}
