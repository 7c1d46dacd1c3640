using System.Collections.Concurrent;

namespace NA64.Readout.Pipeline;

/// <summary>The queues between stages, for depth and high-water marks.</summary>
public enum PipelineQueue
{
    /// <summary>Receiver to processing stage.</summary>
    Received = 0,

    /// <summary>Processing stage to event builder.</summary>
    Processed = 1,

    /// <summary>Event builder to the sinks (the fullest of the per-sink queues).</summary>
    Built = 2,
}

/// <summary>
/// Live counters of one run, written by the stages with interlocked operations and readable from any
/// thread at any time (<see cref="Snapshot"/>) for rates and drops while the run goes on.
/// Accounting rule: <c>EventsIn = EventsBuilt + sum(Dropped)</c>, and for every sink
/// <c>EventsBuilt = Written + sum(sink Dropped)</c>, once the run has finished.
/// </summary>
public sealed class ReadoutCounters
{
    private static readonly int ReasonCount = Enum.GetValues<DropReason>().Length;
    private static readonly int QueueCount = Enum.GetValues<PipelineQueue>().Length;

    private readonly TimeProvider _time;
    private readonly long _startTimestamp;
    private readonly long[] _dropped = new long[ReasonCount];
    private readonly long[] _queueDepth = new long[QueueCount];
    private readonly long[] _queueHighWater = new long[QueueCount];
    private readonly SinkCounters[] _sinks;
    private readonly ConcurrentDictionary<int, long> _missingBySource = new();
    private readonly ConcurrentQueue<string> _faults = new();
    private long _fragmentsIn;
    private long _bytesIn;
    private long _unknownSourceFragments;
    private long _lateFragments;
    private long _eventsIn;
    private long _eventsBuilt;
    private long _bytesBuilt;

    public ReadoutCounters(IReadOnlyList<string> sinkNames, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(sinkNames);
        _time = time ?? TimeProvider.System;
        _startTimestamp = _time.GetTimestamp();
        _sinks = sinkNames.Select(n => new SinkCounters(n)).ToArray();
    }

    /// <summary>Counters of each sink, in the order the sinks were given.</summary>
    public IReadOnlyList<SinkCounters> Sinks => _sinks;

    public long FragmentsIn => Interlocked.Read(ref _fragmentsIn);

    public long EventsIn => Interlocked.Read(ref _eventsIn);

    public long EventsBuilt => Interlocked.Read(ref _eventsBuilt);

    public long GetDropped(DropReason reason) => Interlocked.Read(ref _dropped[(int)reason]);

    public long GetQueueDepth(PipelineQueue queue) => Interlocked.Read(ref _queueDepth[(int)queue]);

    public long GetQueueHighWater(PipelineQueue queue) => Interlocked.Read(ref _queueHighWater[(int)queue]);

    internal void AddFragmentsIn(int fragments, long bytes)
    {
        Interlocked.Add(ref _fragmentsIn, fragments);
        Interlocked.Add(ref _bytesIn, bytes);
    }

    internal void AddUnknownSourceFragment() => Interlocked.Increment(ref _unknownSourceFragments);

    internal void AddLateFragment() => Interlocked.Increment(ref _lateFragments);

    internal void AddEventIn() => Interlocked.Increment(ref _eventsIn);

    internal void AddBuilt(long bytes)
    {
        Interlocked.Increment(ref _eventsBuilt);
        Interlocked.Add(ref _bytesBuilt, bytes);
    }

    internal void AddDropped(DropReason reason) => Interlocked.Increment(ref _dropped[(int)reason]);

    internal void AddMissingSource(int sourceId) => _missingBySource.AddOrUpdate(sourceId, 1, (_, n) => n + 1);

    internal void AddFault(string fault) => _faults.Enqueue(fault);

    internal void ObserveQueueDepth(PipelineQueue queue, long depth)
    {
        Interlocked.Exchange(ref _queueDepth[(int)queue], depth);
        ref var high = ref _queueHighWater[(int)queue];
        var seen = Interlocked.Read(ref high);
        while (depth > seen)
        {
            var previous = Interlocked.CompareExchange(ref high, depth, seen);
            if (previous == seen)
            {
                break;
            }

            seen = previous;
        }
    }

    /// <summary>A consistent-enough copy of all counters, stamped with the elapsed run time.</summary>
    public RunSummary Snapshot()
    {
        var dropped = new Dictionary<DropReason, long>();
        for (var r = 1; r < ReasonCount; r++)
        {
            var n = Interlocked.Read(ref _dropped[r]);
            if (n != 0)
            {
                dropped[(DropReason)r] = n;
            }
        }

        var high = new Dictionary<PipelineQueue, long>();
        for (var q = 0; q < QueueCount; q++)
        {
            high[(PipelineQueue)q] = Interlocked.Read(ref _queueHighWater[q]);
        }

        return new RunSummary(
            Elapsed: _time.GetElapsedTime(_startTimestamp),
            FragmentsIn: Interlocked.Read(ref _fragmentsIn),
            BytesIn: Interlocked.Read(ref _bytesIn),
            UnknownSourceFragments: Interlocked.Read(ref _unknownSourceFragments),
            LateFragments: Interlocked.Read(ref _lateFragments),
            EventsIn: Interlocked.Read(ref _eventsIn),
            EventsBuilt: Interlocked.Read(ref _eventsBuilt),
            BytesBuilt: Interlocked.Read(ref _bytesBuilt),
            Dropped: dropped,
            MissingBySource: new SortedDictionary<int, long>(_missingBySource),
            Sinks: _sinks.Select(s => s.Snapshot()).ToArray(),
            QueueHighWater: high,
            Faults: _faults.ToArray());
    }
}

/// <summary>Live counters of one sink.</summary>
public sealed class SinkCounters
{
    private static readonly int ReasonCount = Enum.GetValues<DropReason>().Length;
    private readonly long[] _dropped = new long[ReasonCount];
    private long _written;
    private long _bytesWritten;

    internal SinkCounters(string name) => Name = name;

    public string Name { get; }

    public long Written => Interlocked.Read(ref _written);

    public long GetDropped(DropReason reason) => Interlocked.Read(ref _dropped[(int)reason]);

    internal void AddWritten(long events, long bytes)
    {
        Interlocked.Add(ref _written, events);
        Interlocked.Add(ref _bytesWritten, bytes);
    }

    internal void AddDropped(DropReason reason, long events) => Interlocked.Add(ref _dropped[(int)reason], events);

    internal SinkSummary Snapshot()
    {
        var dropped = new Dictionary<DropReason, long>();
        for (var r = 1; r < ReasonCount; r++)
        {
            var n = Interlocked.Read(ref _dropped[r]);
            if (n != 0)
            {
                dropped[(DropReason)r] = n;
            }
        }

        return new SinkSummary(Name, Interlocked.Read(ref _written), Interlocked.Read(ref _bytesWritten), dropped);
    }
}
