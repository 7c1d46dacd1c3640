using System.Globalization;
using System.Runtime.CompilerServices;
using System.Threading.Channels;
using NA64.Hardware.Digitizers.Msadc;
using NA64.Hardware.Digitizers.Msadc.Format;
using NA64.Readout.Formats;
using Serilog;

namespace NA64.Readout.Pipeline;

/// <summary>Why a datagram was counted by the <see cref="DatagramFragmentReceiver"/> instead of (or besides) being passed on.</summary>
public enum DatagramProblem
{
    /// <summary>Shorter than the 12-byte S-Link header: dropped.</summary>
    TooShort,

    /// <summary>Its S-Link source id is not the source of the channel it came on: dropped.</summary>
    ForeignSource,

    /// <summary>Shorter than its S-Link <c>event_size</c>: passed on, so the decoder reports the size mismatch at its event and the event is dropped as a decode error.</summary>
    Truncated,

    /// <summary>Longer than its S-Link <c>event_size</c>: passed on like <see cref="Truncated"/>.</summary>
    Oversized,

    /// <summary>Its (spill, event) is not after the source's previous one (reordered or duplicated on the way): dropped.</summary>
    Reordered,

    /// <summary>A first-event-of-run record (S-Link format bit 7): configuration, not data; not passed on.</summary>
    FirstEventOfRun,

    /// <summary>Past the run's last event or spill: not passed on.</summary>
    AfterEnd,

    /// <summary>Left waiting by an earlier run and discarded before this one started (<see cref="DatagramFragmentReceiver.DiscardPending"/>).</summary>
    Stale,
}

/// <summary>One S-Link source and the datagram channel its fragments arrive on.</summary>
public sealed record DatagramSource(int SourceId, IDatagramChannel Channel);

/// <summary>When a <see cref="DatagramFragmentReceiver"/> ends and what it writes into the fragments' metadata.</summary>
public sealed record DatagramReceiverOptions
{
    /// <summary>Run number written into every fragment's metadata.</summary>
    public required uint RunNumber { get; init; }

    /// <summary>End after this many triggers (event in run); null: no limit.</summary>
    public long? Events { get; init; }

    /// <summary>End once each source's spill number moves past the first spill of the run + Spills − 1; null: no limit.</summary>
    public int? Spills { get; init; }

    /// <summary>DATE event type of the fragments (7 = physics).</summary>
    public byte EventType { get; init; } = (byte)DateEventType.Physics;

    public uint TriggerMask { get; init; } = 1;

    /// <summary>
    /// Datagrams read from one source's channel and waiting for the pipeline. The receiver hands fragments on in trigger
    /// order across sources and lets one source run ahead of a silent one only when its queue is full, so this bounds
    /// the skew between sources; keep it below the event builder's TimeoutEvents (64).
    /// </summary>
    public int QueuedDatagrams { get; init; } = 32;

    /// <summary>Largest datagram taken (a UDP datagram carries at most 65 507 bytes).</summary>
    public int MaxDatagramBytes { get; init; } = 65_536;

    /// <summary>
    /// Once the first source has ended, the others may deliver this many more datagrams before the receiver gives up on
    /// them (a source that went silent must not hold the run open for ever). Counted in datagrams, not time, so that a
    /// simulated run behaves the same at any speed.
    /// </summary>
    public long EndSkewDatagrams { get; init; } = 1 << 16;

    /// <summary>Triggers remembered for numbering events in run across sources (a source later than this is a late fragment).</summary>
    public int NumberingWindow { get; init; } = 4096;
}

/// <summary>What a <see cref="DatagramFragmentReceiver"/> saw.</summary>
/// <param name="Lost">Event numbers skipped inside a spill, per source summed (datagrams lost on the way, e.g. UDP).</param>
/// <param name="Unfinished">Sources that had not reached the end when the receiver stopped.</param>
public sealed record DatagramReceiverSummary(
    long Datagrams,
    long Bytes,
    long Fragments,
    long Triggers,
    long Lost,
    IReadOnlyDictionary<DatagramProblem, long> Problems,
    IReadOnlyDictionary<int, long> LostBySource,
    IReadOnlyList<int> Unfinished,
    IReadOnlyList<string> Faults)
{
    public long Count(DatagramProblem problem) => Problems.TryGetValue(problem, out long n) ? n : 0;
}

/// <summary>
/// A <see cref="FragmentReceiver"/> for S-Link fragments arriving one per datagram, one <see cref="IDatagramChannel"/> per
/// source (UDP from a CATCH, or in-memory from the simulated crate). One pump task per channel reads into a fixed set of
/// buffers and queues them per source (bounded: a full queue stops its pump, and an in-memory sender waits);
/// <see cref="FillAsync"/> merges the queues in trigger order, checks each datagram's S-Link header, builds its <see cref="EventMetadata"/> (spill and event from the header, event in
/// run numbered across sources in trigger order) and copies it into the batch. Every datagram not passed on is counted
/// with its <see cref="DatagramProblem"/>; event numbers skipped inside a spill are counted as lost. While data are waiting
/// nothing is allocated per datagram (fixed buffers, one copy into the batch); a pump blocked on a full queue costs one
/// small wait object per wait (System.Threading.Channels).
/// </summary>
public sealed class DatagramFragmentReceiver : IAsyncDisposable
{
    private static readonly int ProblemCount = Enum.GetValues<DatagramProblem>().Length;

    private readonly DatagramSource[] _sources;
    private readonly SourceState[] _state;
    private readonly DatagramReceiverOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _log;
    private readonly Channel<Received>[] _queues;
    private readonly bool[] _pumpOpen;
    private readonly SemaphoreSlim _doorbell = new(0);
    private readonly Channel<byte[]> _free;
    private readonly long[] _problems = new long[ProblemCount];
    private readonly Dictionary<ulong, Numbered> _numbers;
    private readonly Queue<ulong> _numbered;
    private readonly List<string> _faults = [];
    private readonly CancellationTokenSource _stopPumps = new();
    private Task[]? _pumps;
    private int _openPumps;
    private int _readerWaiting;
    private Received? _held;
    private bool _ended;
    private long _datagrams;
    private long _bytes;
    private long _fragments;
    private uint _lastNumber;
    private long _firstSpill = -1;
    private int _done;
    private long _afterFirstDone;

    public DatagramFragmentReceiver(IReadOnlyList<DatagramSource> sources, DatagramReceiverOptions options, TimeProvider? time = null, ILogger? log = null)
    {
        ArgumentNullException.ThrowIfNull(sources);
        ArgumentNullException.ThrowIfNull(options);
        if (sources.Count == 0)
            throw new ArgumentException("a datagram receiver needs at least one source", nameof(sources));
        if (sources.Select(s => s.SourceId).Distinct().Count() != sources.Count)
            throw new ArgumentException("a source id is listed twice", nameof(sources));
        if (options.Events is < 1)
            throw new ArgumentOutOfRangeException(nameof(options), options.Events, "Events must be at least 1");
        if (options.Spills is < 1)
            throw new ArgumentOutOfRangeException(nameof(options), options.Spills, "Spills must be at least 1");
        ArgumentOutOfRangeException.ThrowIfLessThan(options.QueuedDatagrams, 1, nameof(options.QueuedDatagrams));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxDatagramBytes, SlinkHeader.Bytes, nameof(options.MaxDatagramBytes));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.NumberingWindow, 1, nameof(options.NumberingWindow));
        _sources = [.. sources];
        _state = _sources.Select(_ => new SourceState()).ToArray();
        _options = options;
        _time = time ?? TimeProvider.System;
        _log = log ?? Serilog.Core.Logger.None;
        _queues = _sources.Select(_ => Channel.CreateBounded<Received>(new BoundedChannelOptions(options.QueuedDatagrams)
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = true,
            SingleWriter = true,
        })).ToArray();
        _pumpOpen = new bool[_sources.Length];

        // Every queue + one buffer per pump + the one being copied: a pump never waits for a buffer the reader cannot free.
        _free = Channel.CreateUnbounded<byte[]>();
        for (int i = 0; i < (_sources.Length * (options.QueuedDatagrams + 1)) + 1; i++)
            _free.Writer.TryWrite(new byte[options.MaxDatagramBytes]);
        _numbers = new Dictionary<ulong, Numbered>(options.NumberingWindow + 1);
        _numbered = new Queue<ulong>(options.NumberingWindow + 1);
    }

    /// <summary>Triggers passed on so far (the largest event in run given out, up to the run's end).</summary>
    public long Triggers => Math.Min(Volatile.Read(ref _lastNumber), _options.Events ?? long.MaxValue);

    /// <summary>Discards the datagrams already waiting on every channel (left by an earlier run); call before the modules start.</summary>
    public int DiscardPending()
    {
        if (_pumps is not null)
            throw new InvalidOperationException("DiscardPending must be called before the first FillAsync");
        var buffer = new byte[_options.MaxDatagramBytes];
        int discarded = 0;
        foreach (var source in _sources)
        {
            while (source.Channel.TryReceive(buffer, out _))
                discarded++;
        }

        if (discarded > 0)
        {
            Interlocked.Add(ref _problems[(int)DatagramProblem.Stale], discarded);
            _log.Warning("Datagram receiver discarded {Count} datagrams left waiting by an earlier run", discarded);
        }

        return discarded;
    }

    /// <summary>Matches <see cref="FragmentReceiver"/>: pass <c>receiver.FillAsync</c> to the pipeline.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<bool> FillAsync(EventBatch batch, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(batch);
        _pumps ??= StartPumps();
        if (_ended)
            return false;
        long now = _time.GetUtcNow().ToUnixTimeSeconds();
        while (true)
        {
            Received datagram;
            if (_held is { } held)
            {
                datagram = held;
                _held = null;
            }
            else
            {
                int next = ChooseNext();
                if (next < 0)
                {
                    if (Volatile.Read(ref _openPumps) == 0 && _queues.All(q => q.Reader.Count == 0))
                    {
                        await EndAsync("every data channel closed").ConfigureAwait(false);
                        return false;
                    }

                    if (batch.Count > 0)
                        return true;   // hand on what is here rather than wait with it

                    // Ring only when someone listens (a bell rung per datagram would count up for ever); look once more
                    // after raising the flag, so that a datagram queued just before it is not waited for.
                    Volatile.Write(ref _readerWaiting, 1);
                    if (ChooseNext() >= 0 || Volatile.Read(ref _openPumps) == 0)
                    {
                        Volatile.Write(ref _readerWaiting, 0);
                        continue;
                    }

                    await _doorbell.WaitAsync(cancellationToken).ConfigureAwait(false);
                    now = _time.GetUtcNow().ToUnixTimeSeconds();
                    continue;
                }

                if (!_queues[next].Reader.TryRead(out datagram))
                    throw new InvalidOperationException("a peeked datagram is gone: the receiver's queues have a second reader");
            }

            if (batch.Count > 0 && (batch.IsFull || batch.ByteCapacity - batch.ByteCount < datagram.Length))
            {
                _held = datagram;
                return true;
            }

            try
            {
                Accept(datagram, batch, now);
            }
            finally
            {
                _free.Writer.TryWrite(datagram.Buffer);
            }

            if (_done == _sources.Length)
            {
                await EndAsync(null).ConfigureAwait(false);
                return false;
            }

            if (_done > 0 && _afterFirstDone > _options.EndSkewDatagrams)
            {
                await EndAsync(string.Create(CultureInfo.InvariantCulture,
                    $"sources {string.Join(", ", UnfinishedSources())} had not reached the end {_options.EndSkewDatagrams} datagrams after the first source did")).ConfigureAwait(false);
                return false;
            }
        }
    }

    public DatagramReceiverSummary Snapshot()
    {
        var problems = new Dictionary<DatagramProblem, long>();
        for (int p = 0; p < ProblemCount; p++)
        {
            long n = Interlocked.Read(ref _problems[p]);
            if (n != 0)
                problems[(DatagramProblem)p] = n;
        }

        var lost = new SortedDictionary<int, long>();
        for (int i = 0; i < _sources.Length; i++)
        {
            long n = Interlocked.Read(ref _state[i].Lost);
            if (n != 0)
                lost[_sources[i].SourceId] = n;
        }

        string[] faults;
        lock (_faults)
            faults = [.. _faults];
        return new DatagramReceiverSummary(Interlocked.Read(ref _datagrams), Interlocked.Read(ref _bytes), Interlocked.Read(ref _fragments),
            Triggers, lost.Values.Sum(), problems, lost, _ended ? UnfinishedSources() : [], faults);
    }

    public async ValueTask DisposeAsync()
    {
        await StopPumpsAsync().ConfigureAwait(false);
        _stopPumps.Dispose();
        _doorbell.Dispose();
    }

    /// <summary>
    /// The source whose queued datagram comes first in trigger order, so that the builder sees the sources in step. A
    /// source that is still open but has nothing queued may yet send an earlier trigger: then wait, unless another
    /// source's queue is full (a silent source must not stop the others; how far they run ahead is bounded by the
    /// queue). Datagrams that will not be passed on (malformed, foreign, after the source's end) go first. -1: wait.
    /// </summary>
    private int ChooseNext()
    {
        int best = -1;
        ulong bestKey = ulong.MaxValue;
        bool waitingFor = false;
        bool full = false;
        for (int i = 0; i < _queues.Length; i++)
        {
            var queue = _queues[i].Reader;
            if (queue.TryPeek(out var head))
            {
                ulong key = PeekKey(i, head);
                if (key < bestKey)
                {
                    bestKey = key;
                    best = i;
                }

                full |= queue.Count >= _options.QueuedDatagrams;
            }
            else if (!_state[i].Done && Volatile.Read(ref _pumpOpen[i]))
            {
                waitingFor = true;
            }
        }

        return best >= 0 && (bestKey == 0 || !waitingFor || full) ? best : -1;
    }

    /// <summary>The trigger order key the datagram will get in <see cref="Accept"/>; 0 for one that will not be passed on.</summary>
    private ulong PeekKey(int index, in Received datagram)
    {
        ref readonly var state = ref _state[index];
        if (datagram.Length < SlinkHeader.Bytes || state.Done)
            return 0;
        var header = SlinkHeader.Read(datagram.Buffer.AsSpan(0, datagram.Length));
        if (header.SourceId != _sources[index].SourceId || header.IsFirstEventOfRun)
            return 0;
        long epoch = state.SpillEpoch;
        if (state.HasLast && header.SpillNumber < state.LastRawSpill && state.LastRawSpill - header.SpillNumber > (SlinkHeader.MaxSpillNumber + 1) / 2)
            epoch += SlinkHeader.MaxSpillNumber + 1;
        return ((ulong)(epoch + header.SpillNumber) << 32) | (uint)header.EventNumber;
    }

    private void Accept(in Received datagram, EventBatch batch, long now)
    {
        int index = datagram.Source;
        var source = _sources[index];
        ref var state = ref _state[index];
        if (_done > 0)
            _afterFirstDone++;
        var bytes = datagram.Buffer.AsSpan(0, datagram.Length);
        if (bytes.Length < SlinkHeader.Bytes)
        {
            Count(DatagramProblem.TooShort, source, bytes.Length, "shorter than the S-Link header");
            return;
        }

        var header = SlinkHeader.Read(bytes);
        if (header.SourceId != source.SourceId)
        {
            Count(DatagramProblem.ForeignSource, source, bytes.Length,
                string.Create(CultureInfo.InvariantCulture, $"S-Link source id {header.SourceId}"));
            return;
        }

        if (header.IsFirstEventOfRun)
        {
            Count(DatagramProblem.FirstEventOfRun, source, bytes.Length, "first-event-of-run record");
            return;
        }

        if (state.Done)
        {
            Interlocked.Increment(ref _problems[(int)DatagramProblem.AfterEnd]);
            return;
        }

        // The S-Link spill counter has 11 bits: a step back by more than half its range is a wrap, not a reorder.
        if (state.HasLast && header.SpillNumber < state.LastRawSpill && state.LastRawSpill - header.SpillNumber > (SlinkHeader.MaxSpillNumber + 1) / 2)
            state.SpillEpoch += SlinkHeader.MaxSpillNumber + 1;
        long spill = state.SpillEpoch + header.SpillNumber;
        uint eventInSpill = (uint)header.EventNumber;
        ulong key = ((ulong)spill << 32) | eventInSpill;
        if (state.HasLast && key <= state.LastKey)
        {
            Count(DatagramProblem.Reordered, source, bytes.Length,
                string.Create(CultureInfo.InvariantCulture, $"spill {spill} event {eventInSpill} after spill {state.LastKey >> 32} event {(uint)state.LastKey}"));
            return;
        }

        if (state.HasLast)
        {
            // Inside a spill the TCS counts 1, 2, 3, ...: a jump is datagrams lost on the way. Spills restart at 1.
            long skipped = (long)(state.LastKey >> 32) == spill ? eventInSpill - (uint)state.LastKey - 1 : eventInSpill - 1L;
            if (skipped > 0)
                Interlocked.Add(ref state.Lost, skipped);
        }

        state.HasLast = true;
        state.LastKey = key;
        state.LastRawSpill = header.SpillNumber;
        if (_firstSpill < 0)
            _firstSpill = spill;
        if (_options.Spills is { } spills && spill >= _firstSpill + spills)
        {
            Interlocked.Increment(ref _problems[(int)DatagramProblem.AfterEnd]);
            Finish(ref state);
            return;
        }

        uint eventInRun = Number(key);
        if (_options.Events is { } events && eventInRun > events)
        {
            Interlocked.Increment(ref _problems[(int)DatagramProblem.AfterEnd]);
            Finish(ref state);
            return;
        }

        int declared = header.EventSize * 4;
        if (bytes.Length < declared)
            Count(DatagramProblem.Truncated, source, bytes.Length, string.Create(CultureInfo.InvariantCulture, $"S-Link event_size says {declared} bytes"));
        else if (bytes.Length > declared)
            Count(DatagramProblem.Oversized, source, bytes.Length, string.Create(CultureInfo.InvariantCulture, $"S-Link event_size says {declared} bytes"));

        if (!batch.TryBeginAdd(bytes.Length, out var destination))
            throw new InvalidOperationException("batch has no room for a datagram although room was checked");
        bytes.CopyTo(destination);
        batch.CommitAdd(new EventMetadata(_options.RunNumber, (uint)spill, eventInSpill, eventInRun, _options.TriggerMask, now,
            source.SourceId, _options.EventType), bytes.Length);
        Interlocked.Increment(ref _fragments);
        if (_options.Events is { } last && eventInRun == last)
            Finish(ref state);
    }

    private void Finish(ref SourceState state)
    {
        state.Done = true;
        _done++;
    }

    /// <summary>
    /// Event in run, numbered in the order triggers first arrive from any source: with every source delivering in trigger
    /// order that is trigger order, and every source's fragment of one trigger gets the same number.
    /// </summary>
    private uint Number(ulong key)
    {
        if (_sources.Length == 1)
            return Interlocked.Increment(ref _lastNumber);
        if (_numbers.TryGetValue(key, out var known))
        {
            if (known.Seen + 1 == _sources.Length)
                _numbers.Remove(key);
            else
                _numbers[key] = known with { Seen = known.Seen + 1 };
            return known.EventInRun;
        }

        uint number = Interlocked.Increment(ref _lastNumber);
        _numbers[key] = new Numbered(number, 1);
        _numbered.Enqueue(key);
        if (_numbered.Count > _options.NumberingWindow)
            _numbers.Remove(_numbered.Dequeue());
        return number;
    }

    private void Count(DatagramProblem problem, DatagramSource source, int length, string detail)
    {
        long n = Interlocked.Increment(ref _problems[(int)problem]);
        // The first few of each kind are logged in full; the counts carry the rest.
        if (n <= 10)
            _log.Warning("Datagram of {Length} bytes on {Address} (source {Source}): {Problem}, {Detail}",
                length, source.Channel.Address, source.SourceId, problem, detail);
    }

    private int[] UnfinishedSources() =>
        [.. _sources.Where((_, i) => !_state[i].Done).Select(s => s.SourceId)];

    private Task[] StartPumps()
    {
        _openPumps = _sources.Length;
        Array.Fill(_pumpOpen, true);
        return [.. _sources.Select((s, i) => Task.Run(() => PumpAsync(i, _stopPumps.Token), CancellationToken.None))];
    }

    private async Task PumpAsync(int index, CancellationToken ct)
    {
        var source = _sources[index];
        try
        {
            while (true)
            {
                var buffer = await _free.Reader.ReadAsync(ct).ConfigureAwait(false);
                int length;
                try
                {
                    length = await source.Channel.ReceiveAsync(buffer, ct).ConfigureAwait(false);
                }
                catch
                {
                    _free.Writer.TryWrite(buffer);
                    throw;
                }

                Interlocked.Increment(ref _datagrams);
                Interlocked.Add(ref _bytes, length);
                try
                {
                    await _queues[index].Writer.WriteAsync(new Received(buffer, length, index), ct).ConfigureAwait(false);
                    Ring();
                }
                catch (OperationCanceledException)
                {
                    // Read after the run ended: the receiver no longer wants it.
                    Interlocked.Increment(ref _problems[(int)DatagramProblem.AfterEnd]);
                    throw;
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // The receiver ended.
        }
        catch (ChannelClosedException)
        {
            AddFault(string.Create(CultureInfo.InvariantCulture, $"source {source.SourceId}: {source.Channel.Address} closed by the sender"));
        }
        catch (Exception ex) when (ex is System.Net.Sockets.SocketException or ObjectDisposedException or ArgumentException)
        {
            AddFault(string.Create(CultureInfo.InvariantCulture, $"source {source.SourceId}: {source.Channel.Address}: {ex.GetType().Name}: {ex.Message}"));
        }
        finally
        {
            Volatile.Write(ref _pumpOpen[index], false);
            Interlocked.Decrement(ref _openPumps);
            Ring();
        }
    }

    private void Ring()
    {
        if (Interlocked.Exchange(ref _readerWaiting, 0) == 1)
            _doorbell.Release();
    }

    private void AddFault(string fault)
    {
        _log.Error("Datagram receiver: {Fault}", fault);
        lock (_faults)
            _faults.Add(fault);
    }

    private async Task EndAsync(string? why)
    {
        _ended = true;
        if (why is not null)
            AddFault(why);
        await StopPumpsAsync().ConfigureAwait(false);
        // What the pumps had queued for a receiver that has ended is counted, not passed on.
        if (_held is { } held)
        {
            Interlocked.Increment(ref _problems[(int)DatagramProblem.AfterEnd]);
            _free.Writer.TryWrite(held.Buffer);
            _held = null;
        }

        foreach (var queue in _queues)
        {
            while (queue.Reader.TryRead(out var left))
            {
                Interlocked.Increment(ref _problems[(int)DatagramProblem.AfterEnd]);
                _free.Writer.TryWrite(left.Buffer);
            }
        }

        _log.Information("Datagram receiver ended: {Summary}", Snapshot());
    }

    private async Task StopPumpsAsync()
    {
        if (_pumps is null)
            return;
        if (!_stopPumps.IsCancellationRequested)
            await _stopPumps.CancelAsync().ConfigureAwait(false);
        await Task.WhenAll(_pumps).ConfigureAwait(false);
    }

    private readonly record struct Received(byte[] Buffer, int Length, int Source);

    private readonly record struct Numbered(uint EventInRun, int Seen);

    private struct SourceState
    {
        public bool HasLast;
        public bool Done;
        public ulong LastKey;
        public int LastRawSpill;
        public long SpillEpoch;
        public long Lost;
    }
}
