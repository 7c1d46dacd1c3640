using System.Globalization;
using NA64.Hardware.Digitizers.Msadc.Format;
using NA64.Hardware.Errors;

namespace NA64.Readout.Formats;

/// <summary>What kind of problem <see cref="DateFileChecker"/> found first.</summary>
public enum DateFileProblemKind
{
    /// <summary>The last event is cut short (need N bytes, have M).</summary>
    TruncatedEvent,

    /// <summary>Word 1 is not the DATE magic (or is the byte-swapped magic): not a DATE event, or garbage.</summary>
    BadMagic,

    /// <summary>Header sizes, flavour or version DDD would refuse (size 0, not a multiple of 4, &lt; headLen, old flavour, other 3.x).</summary>
    BadHeader,

    /// <summary>An equipment or S-Link size that does not tile the event (equipment size ≠ 28 + 4 × S-Link event_size, overrun).</summary>
    SizeMismatch,

    /// <summary>A field DDD checks and would drop data for: run 0, S-Link event_number ≠ nbInBurst, multiplexer source id, TCS ECC bit clear, unknown type.</summary>
    DecoderCheck,

    /// <summary>The run number changes inside the file.</summary>
    RunNumberChanged,

    /// <summary>Event types out of order: no SOR first, physics outside a burst, EOB of another burst, anything after EOR.</summary>
    OutOfOrder,

    /// <summary>The file ends without END_OF_RUN (or inside a burst).</summary>
    MissingEndOfRun,
}

/// <summary>The first problem of a file and where it starts.</summary>
public sealed record DateFileProblem(DateFileProblemKind Kind, long ByteOffset, string Message)
{
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Kind} at byte {ByteOffset}: {Message}");
}

/// <summary>What <see cref="DateFileChecker"/> found: events per DATE type up to the first problem, and that problem.</summary>
/// <param name="ValidBytes">Bytes from the start of the file that are complete, well-ordered events (the file is good up to here).</param>
public sealed record DateFileCheckResult(
    long Events,
    long ValidBytes,
    long FileBytes,
    IReadOnlyDictionary<uint, long> EventsByType,
    uint? RunNumber,
    int Bursts,
    DateFileProblem? FirstProblem)
{
    public bool IsGood => FirstProblem is null;

    public long Count(DateEventType type) => EventsByType.TryGetValue((uint)type, out var n) ? n : 0;
}

/// <summary>What the checker requires.</summary>
public sealed record DateFileCheckOptions
{
    /// <summary>True (default): SOR first, physics inside SOB/EOB, EOR last, as our runs write. False: events only (older files).</summary>
    public bool RequireRunStructure { get; init; } = true;

    public DateReaderOptions Reader { get; init; } = new();
}

/// <summary>
/// Reads a DATE file from start to end and reports the events per type and the first problem with its byte offset
/// (<c>na64hw runs check</c>): the reader's header checks (magic, flavour, sizes, truncation: data-formats 3.1, 3.7), the
/// equipment walk (size = 28 + 4 × S-Link event_size), the S-Link fields decoder-checks.md §2 says DDD checks
/// (event_number = nbInBurst, TCS error bit 0x08, source id below the multiplexer range), run ≠ 0 and constant, and the
/// run structure (data-formats 3.5). Checking stops at the first problem: everything before its offset is good.
/// The SADC payload inside the S-Link blocks is not decoded here (the pipeline's decoder does that while taking data).
/// </summary>
public static class DateFileChecker
{
    public static DateFileCheckResult Check(string path, DateFileCheckOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1 << 20, FileOptions.SequentialScan);
        return Check(stream, options);
    }

    public static DateFileCheckResult Check(Stream stream, DateFileCheckOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        options ??= new DateFileCheckOptions();
        long fileBytes = stream.CanSeek ? stream.Length - stream.Position : -1;
        var byType = new SortedDictionary<uint, long>();
        var state = new RunState(options.RequireRunStructure);
        long events = 0;
        long valid = 0;
        DateFileProblem? problem = null;
        using var reader = new DateFileReader(stream, options.Reader, leaveOpen: true);
        while (problem is null)
        {
            DateEventView? view;
            try
            {
                view = reader.ReadNext();
            }
            catch (FrameFormatException e)
            {
                problem = new DateFileProblem(Classify(e.Message), e.ByteOffset, e.Message);
                break;
            }

            if (view is null)
            {
                break;
            }

            problem = CheckEvent(view) ?? state.Next(view);
            if (problem is not null)
            {
                break;
            }

            uint type = (uint)view.Header.Type;
            byType[type] = byType.TryGetValue(type, out var n) ? n + 1 : 1;
            events++;
            valid = reader.Position;
        }

        if (fileBytes < 0)
        {
            fileBytes = reader.Position;
        }

        problem ??= state.End(valid);
        return new DateFileCheckResult(events, valid, fileBytes, byType, state.Run, state.Bursts, problem);
    }

    private static DateFileProblemKind Classify(string message) =>
        message.StartsWith("truncated event", StringComparison.Ordinal) ? DateFileProblemKind.TruncatedEvent
        : message.Contains("magic", StringComparison.Ordinal) ? DateFileProblemKind.BadMagic
        : DateFileProblemKind.BadHeader;

    private static DateFileProblem? CheckEvent(DateEventView view)
    {
        var h = view.Header;
        if (h.RunNumber == 0)
        {
            return new DateFileProblem(DateFileProblemKind.DecoderCheck, view.ByteOffset + 20,
                "DATE run number = 0: DDD loads no maps for run 0 (decoder-checks §3)");
        }

        foreach (var p in view.Problems)
        {
            var kind = p.Kind == FormatProblemKind.UnknownEventType ? DateFileProblemKind.DecoderCheck : DateFileProblemKind.SizeMismatch;
            return new DateFileProblem(kind, p.ByteOffset, p.Message);
        }

        foreach (var eq in view.Equipments)
        {
            var block = view.Payload(eq);
            var slink = SlinkHeader.Read(block);
            long at = eq.ByteOffset + DateEquipmentHeader.Bytes;
            if (slink.EventNumber != h.NbInBurst)
            {
                return new DateFileProblem(DateFileProblemKind.DecoderCheck, at, string.Create(CultureInfo.InvariantCulture,
                    $"S-Link event_number = {slink.EventNumber} of source {slink.SourceId} differs from DATE nbInBurst = {h.NbInBurst}: DDD discards the event"));
            }

            if (slink.IsMultiplexer)
            {
                return new DateFileProblem(DateFileProblemKind.DecoderCheck, at, string.Create(CultureInfo.InvariantCulture,
                    $"S-Link source id = {slink.SourceId} is in the multiplexer range {SlinkHeader.FirstMultiplexerSourceId}..{SlinkHeader.MaxSourceId}"));
            }

            if ((slink.TcsError & SlinkHeader.TcsNoError) == 0)
            {
                return new DateFileProblem(DateFileProblemKind.DecoderCheck, at + 8, string.Create(CultureInfo.InvariantCulture,
                    $"S-Link TCS_error = 0x{slink.TcsError:X2} of source {slink.SourceId} lacks bit 0x08: DDD reports a TCS ECC error"));
            }
        }

        return null;
    }

    // SOR, then (SOB, events, EOB)*, then EOR (data-formats 3.5). Calibration events may sit inside or outside a burst
    // (a pedestal run has no bursts); types 3, 4 and 9..14 are not data events and are only counted.
    private sealed class RunState(bool strict)
    {
        private bool _started;
        private bool _ended;
        private int _burst = -1;
        private long _burstAt;

        public uint? Run { get; private set; }

        public int Bursts { get; private set; }

        public DateFileProblem? Next(DateEventView view)
        {
            var h = view.Header;
            long at = view.ByteOffset;
            if (Run is { } run && run != h.RunNumber)
            {
                return new DateFileProblem(DateFileProblemKind.RunNumberChanged, at + 20, string.Create(CultureInfo.InvariantCulture,
                    $"run number {h.RunNumber} after events of run {run}"));
            }

            Run = h.RunNumber;
            if (!strict)
            {
                return null;
            }

            if (_ended)
            {
                return Order(at, $"{Name(h.Type)} after END_OF_RUN");
            }

            if (!_started)
            {
                if (h.Type != DateEventType.StartOfRun)
                {
                    return Order(at, $"first event is {Name(h.Type)}, expected START_OF_RUN");
                }

                _started = true;
                return null;
            }

            switch (h.Type)
            {
                case DateEventType.StartOfRun:
                    return Order(at, "second START_OF_RUN");
                case DateEventType.StartOfBurst:
                    if (_burst >= 0)
                        return Order(at, string.Create(CultureInfo.InvariantCulture, $"START_OF_BURST {h.Burst} inside burst {_burst} (no END_OF_BURST)"));
                    _burst = h.Burst;
                    _burstAt = at;
                    Bursts++;
                    return null;
                case DateEventType.EndOfBurst:
                    if (_burst != h.Burst)
                        return Order(at, _burst < 0
                            ? string.Create(CultureInfo.InvariantCulture, $"END_OF_BURST {h.Burst} outside a burst")
                            : string.Create(CultureInfo.InvariantCulture, $"END_OF_BURST {h.Burst} inside burst {_burst}"));
                    _burst = -1;
                    return null;
                case DateEventType.Physics:
                    if (_burst < 0)
                        return Order(at, string.Create(CultureInfo.InvariantCulture, $"physics event (burst {h.Burst}, event {h.NbInBurst}) outside a burst"));
                    if (_burst != h.Burst)
                        return Order(at, string.Create(CultureInfo.InvariantCulture, $"physics event of burst {h.Burst} inside burst {_burst}"));
                    return null;
                case DateEventType.EndOfRun:
                    if (_burst >= 0)
                        return Order(at, string.Create(CultureInfo.InvariantCulture, $"END_OF_RUN inside burst {_burst} (no END_OF_BURST)"));
                    _ended = true;
                    return null;
                default:
                    return null;
            }
        }

        public DateFileProblem? End(long fileEnd)
        {
            if (!strict || _ended)
            {
                return null;
            }

            if (!_started)
            {
                return new DateFileProblem(DateFileProblemKind.MissingEndOfRun, fileEnd, "no events: the file lacks START_OF_RUN and END_OF_RUN");
            }

            return new DateFileProblem(DateFileProblemKind.MissingEndOfRun, fileEnd, _burst >= 0
                ? string.Create(CultureInfo.InvariantCulture, $"file ends inside burst {_burst} (opened at byte {_burstAt}) without END_OF_BURST and END_OF_RUN")
                : "file ends without END_OF_RUN");
        }

        private static DateFileProblem Order(long at, string message) => new(DateFileProblemKind.OutOfOrder, at, message);
    }

    /// <summary>The DATE type name (types 9 and 10 by number: DDD and DATE 3.x name them differently).</summary>
    public static string Name(DateEventType type) => type switch
    {
        DateEventType.StartOfRun => "START_OF_RUN",
        DateEventType.EndOfRun => "END_OF_RUN",
        DateEventType.StartOfRunFiles => "START_OF_RUN_FILES",
        DateEventType.EndOfRunFiles => "END_OF_RUN_FILES",
        DateEventType.StartOfBurst => "START_OF_BURST",
        DateEventType.EndOfBurst => "END_OF_BURST",
        DateEventType.Physics => "PHYSICS_EVENT",
        DateEventType.Calibration => "CALIBRATION_EVENT",
        _ => string.Create(CultureInfo.InvariantCulture, $"type {(uint)type}"),
    };
}
