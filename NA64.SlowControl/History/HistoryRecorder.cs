using System.Threading.Channels;
using Serilog;

namespace NA64.SlowControl.History;

/// <summary>What the recorder did since it started.</summary>
public readonly record struct HistoryCounters(
    long Offered, long Filtered, long Dropped, long Written, long Events, long Batches, long WriteFailures, long Purged);

/// <summary>
/// The history's front for the poll loops: <see cref="Record"/> applies the deadband and queues, never waits and never
/// throws for a full queue (the readback is dropped and counted); one writer (<see cref="RunAsync"/>) stores the
/// queue in batches, one transaction each, off the poll path. A failed write (disk full, server gone) keeps its batch,
/// logs one line and is retried with a doubling delay, so nothing already queued is lost; while it fails the queue
/// fills and new readbacks are dropped and counted. Old rows are purged every <see cref="HistoryOptions.PurgeInterval"/>.
/// </summary>
public sealed class HistoryRecorder
{
    private readonly HistoryStore _store;
    private readonly HistoryOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _log;
    private readonly Channel<Item> _queue;
    // Last stored value and time per signal (the deadband's reference), shared by every poll loop.
    private readonly Dictionary<string, (double Value, DateTimeOffset Time)> _last = new(StringComparer.Ordinal);
    private readonly Lock _lastLock = new();
    private long _offered, _filtered, _dropped, _written, _events, _batches, _failures, _purged;
    private DateTimeOffset _lastPurge;

    // One queued thing: a sample, an event, or a flush marker the writer completes once everything before it is stored.
    private readonly record struct Item(HistorySample Sample, HistoryEvent Event, TaskCompletionSource? Flushed, bool IsEvent);

    public HistoryRecorder(HistoryStore store, HistoryOptions options, TimeProvider? time = null, ILogger? log = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _store = store;
        _options = options;
        _time = time ?? TimeProvider.System;
        _log = (log ?? Serilog.Core.Logger.None).ForContext<HistoryRecorder>();
        _queue = Channel.CreateBounded<Item>(new BoundedChannelOptions(options.QueueCapacity)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait, // with TryWrite: false when full, so a poll never waits
        });
        _lastPurge = _time.GetUtcNow();
    }

    public HistoryStore Store => _store;

    public HistoryCounters Counters => new(
        Interlocked.Read(ref _offered), Interlocked.Read(ref _filtered), Interlocked.Read(ref _dropped), Interlocked.Read(ref _written),
        Interlocked.Read(ref _events), Interlocked.Read(ref _batches), Interlocked.Read(ref _failures), Interlocked.Read(ref _purged));

    /// <summary>
    /// Offers one readback. Stored if it moved more than the signal's deadband from the last stored value, or the
    /// heartbeat has passed; returns false when filtered or dropped. A value that is not a number is refused: a
    /// device that does not answer is an event (Disconnected), not a NaN in a plot.
    /// </summary>
    public bool Record(string signal, string unit, DateTimeOffset time, double value)
    {
        ArgumentException.ThrowIfNullOrEmpty(signal);
        ArgumentNullException.ThrowIfNull(unit);
        if (!double.IsFinite(value))
            throw new ArgumentOutOfRangeException(nameof(value), value, $"{signal}: value {value} is not a finite number; record the condition as an event");
        Interlocked.Increment(ref _offered);
        lock (_lastLock)
        {
            if (_last.TryGetValue(signal, out var last)
                && Math.Abs(value - last.Value) <= _options.DeadbandOf(signal)
                && time - last.Time < _options.Heartbeat
                && time >= last.Time)
            {
                Interlocked.Increment(ref _filtered);
                return false;
            }
            if (!_queue.Writer.TryWrite(new Item(new HistorySample(signal, unit, time, value), default, null, false)))
            {
                Interlocked.Increment(ref _dropped);
                return false;
            }
            _last[signal] = (value, time);
        }
        return true;
    }

    /// <summary>Queues a state change, alarm or interlock action; false (counted) when the queue is full.</summary>
    public bool RecordEvent(DateTimeOffset time, string source, string kind, string text)
    {
        ArgumentException.ThrowIfNullOrEmpty(source);
        ArgumentException.ThrowIfNullOrEmpty(kind);
        ArgumentNullException.ThrowIfNull(text);
        Interlocked.Increment(ref _offered);
        if (_queue.Writer.TryWrite(new Item(default, new HistoryEvent(time, source, kind, text), null, true))) return true;
        Interlocked.Increment(ref _dropped);
        return false;
    }

    /// <summary>Completes when everything queued before the call is stored (waits for room in a full queue).</summary>
    public async Task FlushAsync(CancellationToken cancellationToken = default)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await _queue.Writer.WriteAsync(new Item(default, default, done, false), cancellationToken).ConfigureAwait(false);
        await done.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The writer: until cancelled, stores the queue in batches of at most <see cref="HistoryOptions.BatchSize"/> rows.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var samples = new List<HistorySample>(_options.BatchSize);
        var events = new List<HistoryEvent>();
        var flushes = new List<TaskCompletionSource>();
        var reader = _queue.Reader;
        var delay = _options.RetryDelay;
        try
        {
            while (await reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                while (samples.Count + events.Count < _options.BatchSize && reader.TryRead(out var item))
                {
                    if (item.Flushed is not null) flushes.Add(item.Flushed);
                    else if (item.IsEvent) events.Add(item.Event);
                    else samples.Add(item.Sample);
                }
                while (true)
                {
                    try
                    {
                        _store.Write(samples, events);
                        break;
                    }
                    catch (Exception e) when (e is System.Data.Common.DbException or IOException or InvalidOperationException)
                    {
                        Interlocked.Increment(ref _failures);
                        _log.Error("History write of {Samples} samples and {Events} events to {Location} failed, retrying in {Delay}: {Reason}",
                            samples.Count, events.Count, _store.Location, delay, e.Message);
                        await Task.Delay(delay, _time, cancellationToken).ConfigureAwait(false);
                        delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(30).Ticks));
                        try
                        {
                            _store.Reset();
                        }
                        catch (Exception again) when (again is System.Data.Common.DbException or IOException or InvalidOperationException)
                        {
                            // Still unreachable: the write below fails again and is counted and logged there.
                            _log.Debug("History store still unreachable: {Reason}", again.Message);
                        }
                    }
                }
                delay = _options.RetryDelay;
                Interlocked.Add(ref _written, samples.Count);
                Interlocked.Add(ref _events, events.Count);
                Interlocked.Increment(ref _batches);
                samples.Clear();
                events.Clear();
                foreach (var f in flushes) f.TrySetResult();
                flushes.Clear();
                Purge();
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Stopping: whatever is still queued or unwritten was counted as offered and is not silently claimed stored.
            foreach (var f in flushes) f.TrySetCanceled(cancellationToken);
        }
    }

    private void Purge()
    {
        var now = _time.GetUtcNow();
        if (now - _lastPurge < _options.PurgeInterval) return;
        _lastPurge = now;
        try
        {
            long n = _store.DeleteOlderThan(now - _options.Retention);
            Interlocked.Add(ref _purged, n);
            if (n > 0) _log.Information("History purge removed {Rows} rows older than {Retention}", n, _options.Retention);
        }
        catch (Exception e) when (e is System.Data.Common.DbException or IOException)
        {
            // The next interval tries again; old rows staying a little longer loses nothing.
            _log.Warning("History purge failed: {Reason}", e.Message);
        }
    }
}
