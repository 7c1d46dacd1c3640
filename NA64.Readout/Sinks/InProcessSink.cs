using NA64.Readout.Pipeline;

namespace NA64.Readout.Sinks;

/// <summary>Called for each event handed to an <see cref="InProcessSink"/>; the bytes are valid only during the call.</summary>
public delegate void EventCallback(in EventMetadata metadata, ReadOnlySpan<byte> eventBytes);

/// <summary>One event kept by an <see cref="InProcessSink"/>.</summary>
public sealed record CapturedEvent(EventMetadata Metadata, byte[] Bytes);

/// <summary>
/// Hands events to code in the same process: a callback per event (the live histogram) and/or a copy of
/// every event (tests). Keeping copies grows without bound, so it is off unless asked for.
/// </summary>
public sealed class InProcessSink : IEventSink
{
    private readonly EventCallback? _callback;
    private readonly bool _keepCopies;
    private readonly List<CapturedEvent> _events = [];
    private readonly Lock _lock = new();
    private long _flushes;

    /// <param name="callback">Called per event, on the sink's task.</param>
    /// <param name="keepCopies">Keep a copy of every event in <see cref="Events"/>.</param>
    public InProcessSink(string name = "in-process", EventCallback? callback = null, bool keepCopies = false)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        if (callback is null && !keepCopies)
        {
            throw new ArgumentException("An InProcessSink needs a callback, keepCopies, or both; otherwise it would only discard events.", nameof(callback));
        }

        Name = name;
        _callback = callback;
        _keepCopies = keepCopies;
    }

    public string Name { get; }

    /// <summary>Copies of the events received so far (empty unless keepCopies).</summary>
    public IReadOnlyList<CapturedEvent> Events
    {
        get
        {
            lock (_lock)
            {
                return _events.ToArray();
            }
        }
    }

    /// <summary>Number of times <see cref="FlushAsync"/> ran.</summary>
    public long Flushes => Interlocked.Read(ref _flushes);

    public ValueTask<SinkWriteResult> WriteAsync(EventBatch events, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(events);
        cancellationToken.ThrowIfCancellationRequested();
        for (var i = 0; i < events.Count; i++)
        {
            ref readonly var meta = ref events.GetMetadata(i);
            var bytes = events.GetBytes(i);
            _callback?.Invoke(meta, bytes);
            if (_keepCopies)
            {
                lock (_lock)
                {
                    _events.Add(new CapturedEvent(meta, bytes.ToArray()));
                }
            }
        }

        return ValueTask.FromResult(SinkWriteResult.All(events));
    }

    public ValueTask FlushAsync(CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _flushes);
        return ValueTask.CompletedTask;
    }
}
