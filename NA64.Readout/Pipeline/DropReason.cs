namespace NA64.Readout.Pipeline;

/// <summary>
/// Why an event did not reach a sink. Every event the builder opens ends either written to every sink or
/// counted under exactly one of these reasons (per sink for the sink-side ones).
/// </summary>
public enum DropReason
{
    /// <summary>Not dropped.</summary>
    None = 0,

    /// <summary>The processing stage could not decode a fragment of the event (data-formats.md 9.4: that source is discarded, so the event is incomplete).</summary>
    DecodeError,

    /// <summary>A configured source never delivered its fragment (data-formats.md 9.2).</summary>
    MissingSource,

    /// <summary>Skipped because an earlier event of the same spill missed a source (policy skip-rest-of-spill), or the run was stopped by policy stop-run.</summary>
    SkippedAfterMissingSource,

    /// <summary>A fragment's event number, run number or per-source sequence disagrees (data-formats.md 9.3), or a source sent the same event twice.</summary>
    EventNumberMismatch,

    /// <summary>The event assembler (DATE encoder) refused the fragments.</summary>
    AssemblyError,

    /// <summary>The sink threw; the batch it was writing and, after that, everything sent to it.</summary>
    SinkFailure,

    /// <summary>The sink refused the event bytes (for example not a DATE event).</summary>
    MalformedEvent,

    /// <summary>A publisher sink had no subscriber at the moment it sent (the transport would have discarded the message).</summary>
    NoSubscriber,

    /// <summary>The publisher's send queue was full (high-water mark) and the message was not taken; for a push socket,
    /// no room came within its send timeout (no puller connected, or every puller's queue full).</summary>
    PublisherQueueFull,

    /// <summary>The run was cancelled before the event reached the sink.</summary>
    Cancelled,
}
