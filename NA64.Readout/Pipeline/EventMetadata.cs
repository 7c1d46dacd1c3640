namespace NA64.Readout.Pipeline;

/// <summary>
/// What the pipeline knows about one record of a batch: a fragment (one source, one trigger) on the way
/// in, or a built event (all sources) on the way out. The fields mirror the DATE 3.6 header
/// (data-formats.md 3.2) and the TCS broadcast (na64-setup.md 3.4).
/// </summary>
/// <param name="Run">Run number (DATE <c>eventRunNb</c>).</param>
/// <param name="Spill">Spill (burst) number, 12 bits in DATE, 0..4095.</param>
/// <param name="EventInSpill">Event number in the spill (DATE <c>nbInBurst</c>, S-Link <c>event_number</c>), 20 bits.</param>
/// <param name="EventInRun">Event number in the run (DATE <c>nbInRun</c>).</param>
/// <param name="TriggerMask">Trigger mask, bit k = trigger id k+1 (DDD convention).</param>
/// <param name="UnixSeconds">Trigger time, seconds since 1970-01-01 UTC (DATE has no sub-second field).</param>
/// <param name="SourceId">S-Link source id 0..1023 for a fragment; <see cref="BuiltEventSource"/> for a built event.</param>
/// <param name="EventType">DATE event type (7 = physics, 8 = calibration, ...).</param>
public readonly record struct EventMetadata(
    uint Run,
    uint Spill,
    uint EventInSpill,
    uint EventInRun,
    uint TriggerMask,
    long UnixSeconds,
    int SourceId,
    byte EventType)
{
    /// <summary>Source id written into built events: they belong to all sources at once.</summary>
    public const int BuiltEventSource = -1;

    /// <summary>Largest spill number the DATE header can carry (12 bits).</summary>
    public const uint MaxSpill = 0xFFF;

    /// <summary>Largest event number in a spill the DATE and S-Link headers can carry (20 bits).</summary>
    public const uint MaxEventInSpill = 0xFFFFF;

    /// <summary>Order key of the trigger: spill first, then event in spill.</summary>
    internal ulong TriggerKey => ((ulong)Spill << 32) | EventInSpill;
}
