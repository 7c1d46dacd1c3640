using System.Buffers;
using System.Globalization;
using Serilog;

namespace NA64.Readout.Pipeline;

/// <summary>What to do after an event missed a source (data-formats.md 9.2; the 2025 rule says the event "and the following ones").</summary>
public enum MissingSourcePolicy
{
    /// <summary>Drop only the event that missed the source.</summary>
    SkipEvent,

    /// <summary>Drop the event and every later event of the same spill (default).</summary>
    SkipRestOfSpill,

    /// <summary>Drop the event and stop reading: the run ends.</summary>
    StopRun,
}

/// <summary>Where one source's fragment sits in the fragment bytes handed to an <see cref="EventAssembler"/>.</summary>
public readonly record struct SourceFragment(int SourceId, int Offset, int Length);

/// <summary>
/// Writes one complete event (for NA64: a DATE 3.6 event with one equipment per source) from the
/// fragments of all sources into <paramref name="destination"/> and returns the bytes written.
/// <paramref name="fragments"/> is in the order of <see cref="EventBuilderOptions.SourceIds"/>.
/// An exception (e.g. <see cref="ArgumentException"/> for a burst above 4095) drops that event as
/// <see cref="DropReason.AssemblyError"/>, logged; the run goes on.
/// </summary>
public delegate int EventAssembler(
    in EventMetadata metadata,
    ReadOnlySpan<byte> fragmentBytes,
    ReadOnlySpan<SourceFragment> fragments,
    Span<byte> destination);

/// <summary>Configuration of the <see cref="EventBuilder"/>.</summary>
public sealed record EventBuilderOptions
{
    /// <summary>S-Link source ids expected in every event (from the setup).</summary>
    public required IReadOnlyList<int> SourceIds { get; init; }

    /// <summary>
    /// An incomplete event is given up once this many newer triggers have opened (a silent source). A source
    /// that already sent a later trigger (also of a later spill) is known to have skipped it at once. Must
    /// exceed the largest skew between sources in the receiver's delivery order: a receiver that hands over
    /// one source's whole spill before the next source needs at least the events per spill.
    /// </summary>
    public int TimeoutEvents { get; init; } = 64;

    /// <summary>
    /// Largest number of events waiting for fragments; beyond it the oldest is given up. Bounds the
    /// builder's memory to about MaxOpenEvents x event size while a source is dead.
    /// </summary>
    public int MaxOpenEvents { get; init; } = 4096;

    public MissingSourcePolicy MissingSourcePolicy { get; init; } = MissingSourcePolicy.SkipRestOfSpill;

    /// <summary>Bytes the assembler adds beyond the fragment bytes, for a given number of sources (default: DATE 3.6 flat, 68 B header + 28 B per equipment).</summary>
    public Func<int, int> AssemblyOverheadBytes { get; init; } = sources => 68 + (28 * sources);

    internal void Validate()
    {
        if (SourceIds is null || SourceIds.Count == 0)
        {
            throw new ArgumentException("EventBuilderOptions.SourceIds must name at least one source.", nameof(SourceIds));
        }

        foreach (var id in SourceIds)
        {
            if (id is < 0 or > 1023)
            {
                throw new ArgumentOutOfRangeException(nameof(SourceIds), id, $"Source id {id} is outside the S-Link range 0..1023.");
            }
        }

        if (SourceIds.Distinct().Count() != SourceIds.Count)
        {
            throw new ArgumentException("EventBuilderOptions.SourceIds lists a source twice.", nameof(SourceIds));
        }

        if (TimeoutEvents < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(TimeoutEvents), TimeoutEvents, "TimeoutEvents must be at least 1.");
        }

        if (MaxOpenEvents < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxOpenEvents), MaxOpenEvents, "MaxOpenEvents must be at least 1.");
        }
    }
}

/// <summary>
/// Groups fragments from all configured sources by (spill, event number in spill) and hands complete
/// events on in trigger order. Assumes what the hardware guarantees: each source delivers its fragments
/// in trigger order (sources may interleave freely). So once every source has sent a trigger or moved
/// past it, the trigger is settled: built if complete, else dropped as missing the sources that skipped
/// it. A source that sends an earlier or the same trigger again has slipped (event-number mismatch).
/// A silent source is given up after <see cref="EventBuilderOptions.TimeoutEvents"/> newer triggers.
/// Single-threaded: one builder task owns it.
/// </summary>
public sealed class EventBuilder : IDisposable
{
    private const int KeptBuffers = 128;
    private const int WarningBudget = 200;
    private readonly EventBuilderOptions _options;
    private readonly EventAssembler _assembler;
    private readonly ReadoutCounters _counters;
    private readonly EventBatchPool _pool;
    private readonly ILogger _log;
    private readonly int[] _sourceIds;
    private readonly int[] _indexOfSource = new int[1024];   // source id -> index, -1 unknown
    private readonly ulong[] _lastKeyBySource;
    private readonly bool[] _sourceSeen;
    private readonly Dictionary<ulong, PendingEvent> _byKey = new();
    private readonly List<PendingEvent> _open = new();           // sorted by key from _head on
    private readonly Stack<PendingEvent> _freeEvents = new();
    private readonly Queue<EventBatch> _ready = new();
    private int _head;
    private EventBatch? _current;
    private long _opened;
    private ulong _resolvedUpTo;
    private bool _anyResolved;
    private long _skipSpill = -1;
    private bool _cancelled;
    private int _warnings;

    public EventBuilder(EventBuilderOptions options, EventAssembler assembler, ReadoutCounters counters, EventBatchPool pool, ILogger? log = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        _assembler = assembler ?? throw new ArgumentNullException(nameof(assembler));
        _counters = counters ?? throw new ArgumentNullException(nameof(counters));
        _pool = pool ?? throw new ArgumentNullException(nameof(pool));
        _log = log ?? Serilog.Core.Logger.None;
        _sourceIds = options.SourceIds.ToArray();
        Array.Fill(_indexOfSource, -1);
        for (var i = 0; i < _sourceIds.Length; i++)
        {
            _indexOfSource[_sourceIds[i]] = i;
        }

        _lastKeyBySource = new ulong[_sourceIds.Length];
        _sourceSeen = new bool[_sourceIds.Length];
    }

    /// <summary>True once policy <see cref="MissingSourcePolicy.StopRun"/> fired: the pipeline stops reading.</summary>
    public bool StopRequested { get; private set; }

    /// <summary>Events waiting for fragments.</summary>
    public int OpenEvents => _open.Count - _head;

    /// <summary>
    /// From now on every event is dropped as <see cref="DropReason.Cancelled"/> instead of being assembled
    /// (the run was cancelled; fragments still in the queues are only counted).
    /// </summary>
    public void Cancel() => _cancelled = true;

    /// <summary>Takes in one batch of fragments (the caller still owns and returns the batch).</summary>
    public void Add(EventBatch fragments)
    {
        ArgumentNullException.ThrowIfNull(fragments);
        for (var i = 0; i < fragments.Count; i++)
        {
            AddFragment(fragments, i);
        }

        Resolve(endOfData: false, DropReason.MissingSource);
    }

    /// <summary>End of data: gives up every open event with <paramref name="reason"/> (MissingSource at a normal end, Cancelled when cancelled).</summary>
    public void Finish(DropReason reason) => Resolve(endOfData: true, reason);

    /// <summary>Hands over the next batch of built events, including a partly filled one.</summary>
    public bool TryTakeReady(out EventBatch batch)
    {
        if (_ready.Count == 0 && _current is { Count: > 0 })
        {
            _ready.Enqueue(_current);
            _current = null;
        }

        return _ready.TryDequeue(out batch!);
    }

    public void Dispose()
    {
        foreach (var e in _byKey.Values)
        {
            e.ReleaseBuffer();
        }

        foreach (var e in _freeEvents)
        {
            e.ReleaseBuffer();
        }

        _byKey.Clear();
        _freeEvents.Clear();
        _open.Clear();
        _head = 0;
        _current?.Return();
        _current = null;
        while (_ready.TryDequeue(out var b))
        {
            b.Return();
        }
    }

    /// <summary>
    /// Per-event warnings, limited per run: a dead source at 10 kHz must not flood the log. The counters
    /// keep counting every event; after the budget the messages go to Debug.
    /// </summary>
    private void Warn(string template, params object?[] values)
    {
        if (_warnings < WarningBudget)
        {
            _log.Warning(template, values);
            if (++_warnings == WarningBudget)
            {
                _log.Warning("Event builder: {Budget} per-event warnings logged; further ones at Debug level (see the counters)", WarningBudget);
            }
        }
        else
        {
            _log.Debug(template, values);
        }
    }

    private void AddFragment(EventBatch fragments, int i)
    {
        ref readonly var meta = ref fragments.GetMetadata(i);
        var sourceIndex = meta.SourceId is >= 0 and < 1024 ? _indexOfSource[meta.SourceId] : -1;
        if (sourceIndex < 0)
        {
            _counters.AddUnknownSourceFragment();
            Warn("Fragment from unknown source {SourceId} (spill {Spill} event {Event}) ignored",
                meta.SourceId, meta.Spill, meta.EventInSpill);
            return;
        }

        var key = meta.TriggerKey;
        if (_anyResolved && key <= _resolvedUpTo)
        {
            // Its event was already built or given up; a new event for it would be counted twice.
            _counters.AddLateFragment();
            Warn("Late fragment from source {SourceId} for spill {Spill} event {Event}: that event is already resolved",
                meta.SourceId, meta.Spill, meta.EventInSpill);
            return;
        }

        var pending = GetOrOpen(key, meta);
        var slipped = _sourceSeen[sourceIndex] && key < _lastKeyBySource[sourceIndex];
        if (pending.Present[sourceIndex] || slipped)
        {
            pending.Doom(DropReason.EventNumberMismatch);
            Warn("Source {SourceId} sent spill {Spill} event {Event} out of sequence (duplicate or backwards)",
                meta.SourceId, meta.Spill, meta.EventInSpill);
        }
        else
        {
            pending.Present[sourceIndex] = true;
            pending.PresentCount++;
            var status = fragments.GetStatus(i);
            if (status != DropReason.None)
            {
                pending.Doom(status);
            }
            else if (meta.Run != pending.Metadata.Run || meta.EventInRun != pending.Metadata.EventInRun)
            {
                pending.Doom(DropReason.EventNumberMismatch);
                Warn("Source {SourceId} spill {Spill} event {Event}: run/event-in-run {Run}/{EventInRun} differ from {FirstRun}/{FirstEventInRun}",
                    meta.SourceId, meta.Spill, meta.EventInSpill, meta.Run, meta.EventInRun, pending.Metadata.Run, pending.Metadata.EventInRun);
            }
            else if (pending.Doomed == DropReason.None && !_cancelled)
            {
                pending.Append(sourceIndex, meta.SourceId, fragments.GetBytes(i));
            }
        }

        if (!_sourceSeen[sourceIndex] || key > _lastKeyBySource[sourceIndex])
        {
            _lastKeyBySource[sourceIndex] = key;
            _sourceSeen[sourceIndex] = true;
        }

        if (OpenEvents > _options.MaxOpenEvents)
        {
            Resolve(endOfData: false, DropReason.MissingSource);
        }
    }

    private PendingEvent GetOrOpen(ulong key, in EventMetadata meta)
    {
        if (_byKey.TryGetValue(key, out var pending))
        {
            return pending;
        }

        pending = _freeEvents.Count > 0 ? _freeEvents.Pop() : new PendingEvent(_sourceIds.Length);
        pending.Open(key, ++_opened, meta with { SourceId = EventMetadata.BuiltEventSource });
        _byKey.Add(key, pending);
        _counters.AddEventIn();

        // Keys nearly always arrive in order: append, else insert at the sorted place.
        var last = _open.Count - 1;
        if (last < _head || _open[last].Key < key)
        {
            _open.Add(pending);
        }
        else
        {
            var lo = _head;
            var hi = _open.Count;
            while (lo < hi)
            {
                var mid = (lo + hi) >>> 1;
                if (_open[mid].Key < key)
                {
                    lo = mid + 1;
                }
                else
                {
                    hi = mid;
                }
            }

            _open.Insert(lo, pending);
        }

        return pending;
    }

    private void Resolve(bool endOfData, DropReason endReason)
    {
        while (_head < _open.Count)
        {
            var e = _open[_head];
            if (e.PresentCount == _sourceIds.Length)
            {
                Complete(e);
            }
            else if (endOfData || OpenEvents > _options.MaxOpenEvents || IsGivenUp(e))
            {
                GiveUp(e, endOfData ? endReason : DropReason.MissingSource);
            }
            else
            {
                break;
            }

            _open[_head] = null!;
            _head++;
            _byKey.Remove(e.Key);
            _resolvedUpTo = e.Key;
            _anyResolved = true;
            if (_freeEvents.Count >= KeptBuffers)
            {
                e.ReleaseBuffer();   // after a burst of open events (a dead source) give the memory back
            }

            _freeEvents.Push(e);     // keeps its buffer: the next event reuses it without renting
        }

        // Compact the sorted list once the resolved prefix dominates, so it never grows without bound.
        if (_head > 0 && _head >= _open.Count / 2)
        {
            _open.RemoveRange(0, _head);
            _head = 0;
        }
    }

    private bool IsGivenUp(PendingEvent e)
    {
        // Every source either sent its fragment or has moved past this trigger (a later event, or a later
        // spill: end of spill for it). Sources deliver in order, so nothing for this or any earlier
        // trigger can still come: the missing ones skipped it.
        var settled = true;
        for (var s = 0; s < _sourceIds.Length && settled; s++)
        {
            settled = e.Present[s] || (_sourceSeen[s] && _lastKeyBySource[s] > e.Key);
        }

        // Otherwise a source is silent (dead, or lagging more than allowed): this many newer triggers have opened since.
        return settled || _opened - e.Ordinal >= _options.TimeoutEvents;
    }

    private void Complete(PendingEvent e)
    {
        if (!DroppedAlready(e))
            Assemble(e);
    }

    /// <summary>Counts an event that is lost whatever it holds (run cancelled, doomed, spill skipped, stop asked).</summary>
    private bool DroppedAlready(PendingEvent e)
    {
        var reason = _cancelled ? DropReason.Cancelled
            : e.Doomed != DropReason.None ? e.Doomed
            : (long)e.Metadata.Spill == _skipSpill || StopRequested ? DropReason.SkippedAfterMissingSource
            : DropReason.None;
        if (reason == DropReason.None)
            return false;
        _counters.AddDropped(reason);
        return true;
    }

    private void GiveUp(PendingEvent e, DropReason reason)
    {
        if (DroppedAlready(e))
            return;

        _counters.AddDropped(reason);
        if (reason != DropReason.MissingSource)
        {
            return;
        }

        for (var s = 0; s < _sourceIds.Length; s++)
        {
            if (!e.Present[s])
            {
                _counters.AddMissingSource(_sourceIds[s]);
                Warn("Spill {Spill} event {Event}: source {SourceId} missing ({Policy})",
                    e.Metadata.Spill, e.Metadata.EventInSpill, _sourceIds[s], _options.MissingSourcePolicy);
            }
        }

        switch (_options.MissingSourcePolicy)
        {
            case MissingSourcePolicy.SkipRestOfSpill:
                _skipSpill = e.Metadata.Spill;
                break;
            case MissingSourcePolicy.StopRun:
                StopRequested = true;
                break;
            case MissingSourcePolicy.SkipEvent:
                break;
            default:
                throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture,
                    $"Unknown missing-source policy {_options.MissingSourcePolicy}."));
        }
    }

    private void Assemble(PendingEvent e)
    {
        var fragmentBytes = e.Bytes;
        var maxLength = fragmentBytes.Length + _options.AssemblyOverheadBytes(_sourceIds.Length);
        _current ??= _pool.Rent();
        if (!_current.TryBeginAdd(maxLength, out var destination))
        {
            _ready.Enqueue(_current);
            _current = _pool.Rent();
            _current.TryBeginAdd(maxLength, out destination);
        }

        int written;
        try
        {
            written = _assembler(e.Metadata, fragmentBytes, e.Fragments, destination);
        }
        catch (Exception ex)
        {
            // Whatever the encoder throws costs this one event (counted and logged), not the run.
            _current.CancelAdd();
            _counters.AddDropped(DropReason.AssemblyError);
            _log.Error(ex, "Spill {Spill} event {Event}: assembler refused the fragments", e.Metadata.Spill, e.Metadata.EventInSpill);
            return;
        }

        if (written < 0 || written > destination.Length)
        {
            _current.CancelAdd();
            _counters.AddDropped(DropReason.AssemblyError);
            _log.Error("Spill {Spill} event {Event}: assembler returned {Written} bytes, outside 0..{Reserved}",
                e.Metadata.Spill, e.Metadata.EventInSpill, written, destination.Length);
            return;
        }

        _current.CommitAdd(e.Metadata, written);
        _counters.AddBuilt(written);
    }

    /// <summary>One trigger waiting for its fragments; bytes kept in a pooled buffer until it resolves.</summary>
    private sealed class PendingEvent
    {
        private readonly SourceFragment[] _fragments;
        private byte[] _buffer = [];
        private int _length;

        public PendingEvent(int sources)
        {
            Present = new bool[sources];
            _fragments = new SourceFragment[sources];
        }

        public ulong Key { get; private set; }

        /// <summary>How many events the builder had opened when this one opened (timeout clock).</summary>
        public long Ordinal { get; private set; }

        public EventMetadata Metadata { get; private set; }

        public bool[] Present { get; }

        public int PresentCount { get; set; }

        public DropReason Doomed { get; private set; }

        public ReadOnlySpan<byte> Bytes => _buffer.AsSpan(0, _length);

        public ReadOnlySpan<SourceFragment> Fragments => _fragments;

        public void Open(ulong key, long ordinal, in EventMetadata metadata)
        {
            Key = key;
            Ordinal = ordinal;
            Metadata = metadata;
            Array.Clear(Present);
            PresentCount = 0;
            Doomed = DropReason.None;
            _length = 0;
        }

        public void Doom(DropReason reason)
        {
            if (Doomed == DropReason.None)
            {
                Doomed = reason;
            }
        }

        public void Append(int sourceIndex, int sourceId, ReadOnlySpan<byte> bytes)
        {
            if (_length + bytes.Length > _buffer.Length)
            {
                var bigger = ArrayPool<byte>.Shared.Rent(Math.Max(_length + bytes.Length, 4096));
                _buffer.AsSpan(0, _length).CopyTo(bigger);
                ReleaseBuffer();
                _buffer = bigger;
            }

            bytes.CopyTo(_buffer.AsSpan(_length));
            _fragments[sourceIndex] = new SourceFragment(sourceId, _length, bytes.Length);
            _length += bytes.Length;
        }

        public void ReleaseBuffer()
        {
            if (_buffer.Length > 0)
            {
                ArrayPool<byte>.Shared.Return(_buffer);
                _buffer = [];
            }
        }
    }
}
