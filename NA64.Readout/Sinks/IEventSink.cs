using NA64.Readout.Pipeline;

namespace NA64.Readout.Sinks;

/// <summary>
/// Where built events go: a DATE file, a NetMQ publisher, a test or live-histogram callback. The pipeline
/// calls one sink from one task, one batch at a time, so an implementation needs no locking of its own.
/// </summary>
public interface IEventSink
{
    /// <summary>Name in counters, logs and the run summary.</summary>
    string Name { get; }

    /// <summary>
    /// Writes (or publishes) the events of <paramref name="events"/> and says how many got through. The
    /// batch and its bytes are valid only until the returned task completes: copy what you keep. Throwing
    /// marks the sink failed: this batch and all later ones count as <see cref="DropReason.SinkFailure"/>.
    /// </summary>
    ValueTask<SinkWriteResult> WriteAsync(EventBatch events, CancellationToken cancellationToken);

    /// <summary>Pushes buffered data out (end of run). Called once, after the last <see cref="WriteAsync"/>.</summary>
    ValueTask FlushAsync(CancellationToken cancellationToken);

    /// <summary>
    /// True when losing this sink loses the run (the DATE file): when it fails (throws, or returns a result with a
    /// <see cref="SinkWriteResult.Fault"/>) the pipeline stops reading and ends the run. False for monitors and publishers.
    /// </summary>
    bool StopsRunOnFailure => false;
}

/// <summary>What a sink did with a batch: written + dropped equals the batch's event count.</summary>
public readonly record struct SinkWriteResult(int Written, long BytesWritten, int Dropped, DropReason DropReason)
{
    /// <summary>
    /// Set when the sink's output failed while writing this batch (disk full): the counts say what got through, the
    /// sink is not used again this run, and the text becomes a fault of the run.
    /// </summary>
    public string? Fault { get; init; }

    /// <summary>Every event of the batch got through.</summary>
    public static SinkWriteResult All(EventBatch events)
    {
        ArgumentNullException.ThrowIfNull(events);
        return new SinkWriteResult(events.Count, events.ByteCount, 0, DropReason.None);
    }

    /// <summary>None of the events got through, for <paramref name="reason"/>.</summary>
    public static SinkWriteResult None(EventBatch events, DropReason reason)
    {
        ArgumentNullException.ThrowIfNull(events);
        return new SinkWriteResult(0, 0, events.Count, reason);
    }
}
