namespace NA64.Readout.Pipeline;

/// <summary>What one sink did: events written, bytes written, events dropped per reason.</summary>
public sealed record SinkSummary(string Name, long Written, long BytesWritten, IReadOnlyDictionary<DropReason, long> Dropped)
{
    public long TotalDropped => Dropped.Values.Sum();

    public long GetDropped(DropReason reason) => Dropped.TryGetValue(reason, out var n) ? n : 0;
}

/// <summary>
/// A copy of the <see cref="ReadoutCounters"/> at one moment: live (while running) or final (returned by
/// <see cref="ReadoutPipeline.RunAsync"/>). Rates are over the whole run; <see cref="RatesSince"/> gives
/// the rates between two snapshots for a live display.
/// </summary>
public sealed record RunSummary(
    TimeSpan Elapsed,
    long FragmentsIn,
    long BytesIn,
    long UnknownSourceFragments,
    long LateFragments,
    long EventsIn,
    long EventsBuilt,
    long BytesBuilt,
    IReadOnlyDictionary<DropReason, long> Dropped,
    IReadOnlyDictionary<int, long> MissingBySource,
    IReadOnlyList<SinkSummary> Sinks,
    IReadOnlyDictionary<PipelineQueue, long> QueueHighWater,
    IReadOnlyList<string> Faults)
{
    /// <summary>Events dropped before the sinks (builder), all reasons.</summary>
    public long TotalDropped => Dropped.Values.Sum();

    /// <summary>
    /// True when every event that came in is accounted for: built or dropped with a reason, and every built
    /// event written or dropped with a reason by every sink. Holds once the run has finished.
    /// </summary>
    public bool IsBalanced =>
        EventsIn == EventsBuilt + TotalDropped && Sinks.All(s => s.Written + s.TotalDropped == EventsBuilt);

    public long GetDropped(DropReason reason) => Dropped.TryGetValue(reason, out var n) ? n : 0;

    /// <summary>Built events per second over the run.</summary>
    public double EventsPerSecond => PerSecond(EventsBuilt, Elapsed);

    /// <summary>Input megabytes (10^6 bytes) per second over the run.</summary>
    public double MegabytesInPerSecond => PerSecond(BytesIn, Elapsed) / 1e6;

    /// <summary>Rates between an earlier snapshot and this one.</summary>
    public PipelineRates RatesSince(RunSummary earlier)
    {
        ArgumentNullException.ThrowIfNull(earlier);
        var dt = Elapsed - earlier.Elapsed;
        return new PipelineRates(
            EventsInPerSecond: PerSecond(EventsIn - earlier.EventsIn, dt),
            EventsBuiltPerSecond: PerSecond(EventsBuilt - earlier.EventsBuilt, dt),
            MegabytesInPerSecond: PerSecond(BytesIn - earlier.BytesIn, dt) / 1e6,
            DroppedPerSecond: PerSecond(TotalDropped - earlier.TotalDropped, dt));
    }

    private static double PerSecond(long count, TimeSpan interval) =>
        interval > TimeSpan.Zero ? count / interval.TotalSeconds : 0.0;
}

/// <summary>Rates between two <see cref="RunSummary"/> snapshots.</summary>
public readonly record struct PipelineRates(
    double EventsInPerSecond,
    double EventsBuiltPerSecond,
    double MegabytesInPerSecond,
    double DroppedPerSecond);
