using System.Threading.Channels;
using NA64.Readout.Sinks;
using Serilog;

namespace NA64.Readout.Pipeline;

/// <summary>
/// Fills <paramref name="batch"/> with raw fragments (one record per source per trigger, metadata set)
/// and returns true, or false when the run's data have ended (records added before returning false still
/// count). Return as soon as the batch is full or no more data are waiting: the pipeline hands on one
/// batch per call. On cancellation either return or throw <see cref="OperationCanceledException"/>; the
/// records already in the batch are counted either way.
/// </summary>
public delegate ValueTask<bool> FragmentReceiver(EventBatch batch, CancellationToken cancellationToken);

/// <summary>
/// Decodes, subtracts pedestals and zero-suppresses a batch of fragments. Either works in place and
/// returns <paramref name="fragments"/>, or fills <paramref name="spare"/> (an empty pooled batch) and
/// returns it; the other one goes back to the pool. Keep one record per input record, in order: a
/// fragment that cannot be decoded stays, marked with <see cref="EventBatch.Reject"/>, so the builder
/// counts its event as dropped for that reason. An exception rejects the whole batch as a decode error.
/// </summary>
public delegate EventBatch FragmentProcessor(EventBatch fragments, EventBatch spare);

/// <summary>Sizes and limits of a <see cref="ReadoutPipeline"/>.</summary>
public sealed record ReadoutPipelineOptions
{
    public required EventBuilderOptions Builder { get; init; }

    /// <summary>Records per batch (fragments from the receiver, events from the builder).</summary>
    public int RecordsPerBatch { get; init; } = 256;

    /// <summary>Initial byte buffer per batch; 64 KiB..4 MiB keeps hand-off cost negligible (na64-setup.md 11).</summary>
    public int BytesPerBatch { get; init; } = 1 << 20;

    /// <summary>Batches each queue between two stages holds before the writer waits.</summary>
    public int QueueCapacity { get; init; } = 4;

    /// <summary>How long sinks may flush after a cancelled run (a normal end waits for the flush).</summary>
    public TimeSpan CancelledFlushTimeout { get; init; } = TimeSpan.FromSeconds(10);

    internal void Validate()
    {
        ArgumentNullException.ThrowIfNull(Builder);
        Builder.Validate();
        if (RecordsPerBatch < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(RecordsPerBatch), RecordsPerBatch, "RecordsPerBatch must be at least 1.");
        }

        if (BytesPerBatch < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(BytesPerBatch), BytesPerBatch, "BytesPerBatch must be at least 1.");
        }

        if (QueueCapacity < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(QueueCapacity), QueueCapacity, "QueueCapacity must be at least 1.");
        }

        if (CancelledFlushTimeout < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(CancelledFlushTimeout), CancelledFlushTimeout, "CancelledFlushTimeout must not be negative.");
        }
    }
}

/// <summary>
/// receiver -> processing -> event builder -> sinks, one task per stage (one per sink), joined by bounded
/// channels whose writers wait when full: a slow sink slows the receiver, nothing is dropped silently.
/// Every event is either written to every sink or counted as dropped with a reason in <see cref="Counters"/>.
/// </summary>
public sealed class ReadoutPipeline
{
    private readonly ReadoutPipelineOptions _options;
    private readonly FragmentReceiver _receiver;
    private readonly FragmentProcessor? _processor;
    private readonly EventAssembler _assembler;
    private readonly IEventSink[] _sinks;
    private readonly TimeProvider _time;
    private readonly ILogger _log;
    private readonly CancellationTokenSource _stopReading = new();
    private int _started;

    /// <param name="processor">Null passes fragments on unchanged.</param>
    /// <param name="assembler">Writes a complete event (the DATE encoder).</param>
    public ReadoutPipeline(
        ReadoutPipelineOptions options,
        FragmentReceiver receiver,
        FragmentProcessor? processor,
        EventAssembler assembler,
        IReadOnlyList<IEventSink> sinks,
        TimeProvider? time = null,
        ILogger? log = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        ArgumentNullException.ThrowIfNull(sinks);
        _options = options;
        _receiver = receiver ?? throw new ArgumentNullException(nameof(receiver));
        _processor = processor;
        _assembler = assembler ?? throw new ArgumentNullException(nameof(assembler));
        _sinks = sinks.ToArray();
        if (_sinks.Any(s => s is null))
        {
            throw new ArgumentException("A sink in the list is null.", nameof(sinks));
        }

        _time = time ?? TimeProvider.System;
        _log = log ?? Serilog.Core.Logger.None;
        Pool = new EventBatchPool(options.RecordsPerBatch, options.BytesPerBatch);
        Counters = new ReadoutCounters(_sinks.Select(s => s.Name).ToArray(), _time);
    }

    /// <summary>Live counters; <see cref="ReadoutCounters.Snapshot"/> from any thread.</summary>
    public ReadoutCounters Counters { get; }

    /// <summary>The batch pool (its <see cref="EventBatchPool.Created"/> stays small in a healthy run).</summary>
    public EventBatchPool Pool { get; }

    /// <summary>Normal end of run: stop reading, then build, write and flush everything already read.</summary>
    public void RequestStop() => _stopReading.Cancel();

    /// <summary>
    /// Runs until the receiver ends, <see cref="RequestStop"/> is called, the missing-source policy stops
    /// the run, or <paramref name="cancellationToken"/> fires. Cancellation stops reading and writing at
    /// once but still counts every event read (as <see cref="DropReason.Cancelled"/>). Returns the final
    /// summary; stage faults are logged and listed in <see cref="RunSummary.Faults"/>.
    /// </summary>
    public async Task<RunSummary> RunAsync(CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref _started, 1) != 0)
        {
            throw new InvalidOperationException("A ReadoutPipeline runs once; create a new one for the next run.");
        }

        using var stopOrCancel = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stopReading.Token);
        var received = CreateQueue();
        var processed = CreateQueue();
        var built = _sinks.Select(_ => CreateQueue()).ToArray();

        _log.Information("Readout pipeline starting: sources {Sources}, {Sinks} sinks, {Records} records/batch, queue {Capacity}",
            _options.Builder.SourceIds, _sinks.Select(s => s.Name).ToArray(), _options.RecordsPerBatch, _options.QueueCapacity);

        var tasks = new List<Task>
        {
            Task.Run(() => ReceiveAsync(received, stopOrCancel.Token), CancellationToken.None),
            Task.Run(() => ProcessAsync(received.Reader, processed, cancellationToken), CancellationToken.None),
            Task.Run(() => BuildAsync(processed.Reader, built, cancellationToken), CancellationToken.None),
        };
        for (var i = 0; i < _sinks.Length; i++)
        {
            var index = i;
            tasks.Add(Task.Run(() => WriteSinkAsync(index, built[index].Reader, cancellationToken), CancellationToken.None));
        }

        await Task.WhenAll(tasks).ConfigureAwait(false);
        var summary = Counters.Snapshot();
        _log.Information("Readout pipeline finished: {EventsIn} events in, {EventsBuilt} built, dropped {Dropped}, sinks {Sinks}",
            summary.EventsIn, summary.EventsBuilt, summary.Dropped, summary.Sinks);
        return summary;
    }

    private Channel<EventBatch> CreateQueue() =>
        Channel.CreateBounded<EventBatch>(new BoundedChannelOptions(_options.QueueCapacity)
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = true,
            SingleWriter = true,
        });

    private async Task ReceiveAsync(Channel<EventBatch> output, CancellationToken stop)
    {
        try
        {
            var more = true;
            while (more && !stop.IsCancellationRequested)
            {
                var batch = Pool.Rent();
                try
                {
                    more = await _receiver(batch, stop).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (stop.IsCancellationRequested)
                {
                    more = false;
                }
                catch (Exception ex)
                {
                    more = false;
                    Counters.AddFault($"receiver: {ex.GetType().Name}: {ex.Message}");
                    _log.Error(ex, "Receiver failed; the run ends with what was read");
                }

                batch.CancelAdd();
                if (batch.Count == 0)
                {
                    batch.Return();
                    continue;
                }

                Counters.AddFragmentsIn(batch.Count, batch.ByteCount);

                // No token: the stages below always drain, so this wait ends, and a batch read is never lost.
                await output.Writer.WriteAsync(batch, CancellationToken.None).ConfigureAwait(false);
                Counters.ObserveQueueDepth(PipelineQueue.Received, output.Reader.Count);
            }
        }
        finally
        {
            output.Writer.Complete();
        }
    }

    private async Task ProcessAsync(ChannelReader<EventBatch> input, Channel<EventBatch> output, CancellationToken cancel)
    {
        try
        {
            await foreach (var batch in input.ReadAllAsync(CancellationToken.None).ConfigureAwait(false))
            {
                var result = batch;
                if (_processor is not null && !cancel.IsCancellationRequested)
                {
                    result = Process(batch);
                }

                await output.Writer.WriteAsync(result, CancellationToken.None).ConfigureAwait(false);
                Counters.ObserveQueueDepth(PipelineQueue.Processed, output.Reader.Count);
            }
        }
        finally
        {
            output.Writer.Complete();
        }
    }

    private EventBatch Process(EventBatch batch)
    {
        var spare = Pool.Rent();
        EventBatch result;
        try
        {
            result = _processor!(batch, spare);
            if (!ReferenceEquals(result, batch) && !ReferenceEquals(result, spare))
            {
                throw new InvalidOperationException("The processor returned a batch that is neither its input nor the spare.");
            }

            if (result.Count != batch.Count)
            {
                throw new InvalidOperationException(
                    $"The processor returned {result.Count} records for {batch.Count} fragments; it must keep one record per fragment (reject bad ones).");
            }
        }
        catch (Exception ex)
        {
            Counters.AddFault($"processor: {ex.GetType().Name}: {ex.Message}");
            _log.Error(ex, "Processor failed on a batch of {Fragments} fragments; all are counted as decode errors", batch.Count);
            for (var i = 0; i < batch.Count; i++)
            {
                batch.Reject(i, DropReason.DecodeError);
            }

            result = batch;
        }

        (ReferenceEquals(result, batch) ? spare : batch).Return();
        return result;
    }

    private async Task BuildAsync(ChannelReader<EventBatch> input, Channel<EventBatch>[] outputs, CancellationToken cancel)
    {
        using var builder = new EventBuilder(_options.Builder, _assembler, Counters, Pool, _log);
        try
        {
            await foreach (var batch in input.ReadAllAsync(CancellationToken.None).ConfigureAwait(false))
            {
                if (cancel.IsCancellationRequested)
                {
                    builder.Cancel();
                }

                try
                {
                    builder.Add(batch);
                }
                finally
                {
                    batch.Return();
                }

                if (builder.StopRequested && !_stopReading.IsCancellationRequested)
                {
                    _log.Warning("Missing-source policy StopRun: the run stops");
                    Counters.AddFault("builder: a source was missing and the policy is StopRun");
                    _stopReading.Cancel();
                }

                await ForwardAsync(builder, outputs).ConfigureAwait(false);
            }

            if (cancel.IsCancellationRequested)
            {
                builder.Cancel();
            }

            builder.Finish(cancel.IsCancellationRequested ? DropReason.Cancelled : DropReason.MissingSource);
            await ForwardAsync(builder, outputs).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            Counters.AddFault($"builder: {ex.GetType().Name}: {ex.Message}");
            _log.Error(ex, "Event builder failed; the rest of the run is not built");
            _stopReading.Cancel();

            // Keep draining so that the stages above can finish.
            await foreach (var batch in input.ReadAllAsync(CancellationToken.None).ConfigureAwait(false))
            {
                batch.Return();
            }
        }
        finally
        {
            foreach (var output in outputs)
            {
                output.Writer.Complete();
            }
        }
    }

    private async Task ForwardAsync(EventBuilder builder, Channel<EventBatch>[] outputs)
    {
        while (builder.TryTakeReady(out var batch))
        {
            if (outputs.Length == 0)
            {
                batch.Return();
                continue;
            }

            batch.SetReferences(outputs.Length);
            var deepest = 0L;
            foreach (var output in outputs)
            {
                await output.Writer.WriteAsync(batch, CancellationToken.None).ConfigureAwait(false);
                deepest = Math.Max(deepest, output.Reader.Count);
            }

            Counters.ObserveQueueDepth(PipelineQueue.Built, deepest);
        }
    }

    private async Task WriteSinkAsync(int index, ChannelReader<EventBatch> input, CancellationToken cancel)
    {
        var sink = _sinks[index];
        var counters = Counters.Sinks[index];
        var failed = false;
        await foreach (var batch in input.ReadAllAsync(CancellationToken.None).ConfigureAwait(false))
        {
            try
            {
                if (cancel.IsCancellationRequested)
                {
                    counters.AddDropped(DropReason.Cancelled, batch.Count);
                }
                else if (failed)
                {
                    counters.AddDropped(DropReason.SinkFailure, batch.Count);
                }
                else
                {
                    failed = !await WriteBatchAsync(sink, counters, batch, cancel).ConfigureAwait(false);
                }
            }
            finally
            {
                batch.Release();
            }
        }

        await FlushAsync(sink, cancel).ConfigureAwait(false);
    }

    /// <returns>False when the sink failed and must not be used again this run.</returns>
    private async Task<bool> WriteBatchAsync(IEventSink sink, SinkCounters counters, EventBatch batch, CancellationToken cancel)
    {
        try
        {
            var result = await sink.WriteAsync(batch, cancel).ConfigureAwait(false);
            if (result.Written < 0 || result.Dropped < 0 || result.Written + result.Dropped != batch.Count
                || (result.Dropped > 0 && result.DropReason == DropReason.None))
            {
                throw new InvalidOperationException(
                    $"Sink '{sink.Name}' reported {result.Written} written + {result.Dropped} dropped ({result.DropReason}) for a batch of {batch.Count} events.");
            }

            counters.AddWritten(result.Written, result.BytesWritten);
            if (result.Dropped > 0)
            {
                counters.AddDropped(result.DropReason, result.Dropped);
            }

            if (result.Fault is { } fault)
            {
                Counters.AddFault($"sink {sink.Name}: {fault}");
                _log.Error("Sink {Sink} failed after {Written} of {Events} events of a batch: {Fault}; its remaining events are counted as dropped",
                    sink.Name, result.Written, batch.Count, fault);
                StopAfterSinkFailure(sink);
                return false;
            }

            return true;
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested)
        {
            counters.AddDropped(DropReason.Cancelled, batch.Count);
            return true;
        }
        catch (Exception ex)
        {
            counters.AddDropped(DropReason.SinkFailure, batch.Count);
            Counters.AddFault($"sink {sink.Name}: {ex.GetType().Name}: {ex.Message}");
            _log.Error(ex, "Sink {Sink} failed; its remaining events are counted as dropped", sink.Name);
            StopAfterSinkFailure(sink);
            return false;
        }
    }

    private void StopAfterSinkFailure(IEventSink sink)
    {
        if (sink.StopsRunOnFailure && !_stopReading.IsCancellationRequested)
        {
            _log.Error("Sink {Sink} holds the run's data: the run stops", sink.Name);
            Counters.AddFault($"run stopped: sink {sink.Name} failed");
            _stopReading.Cancel();
        }
    }

    private async Task FlushAsync(IEventSink sink, CancellationToken cancel)
    {
        // After a cancel the flush still runs (keep what was written consistent) but only for a bounded time.
        using var timeout = cancel.IsCancellationRequested
            ? new CancellationTokenSource(_options.CancelledFlushTimeout, _time)
            : new CancellationTokenSource();
        try
        {
            await sink.FlushAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            Counters.AddFault($"sink {sink.Name} flush: {ex.GetType().Name}: {ex.Message}");
            _log.Error(ex, "Sink {Sink} failed to flush", sink.Name);
        }
    }
}
