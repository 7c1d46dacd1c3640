using System.Buffers.Binary;
using NA64.Readout.Pipeline;
using NA64.Readout.Sinks;
using static NA64.Readout.Tests.Pipeline.PipelineTestKit;

namespace NA64.Readout.Tests.Pipeline;

public sealed class ReadoutPipelineTests
{
    private static readonly int[] Sources = [623, 622];

    private static bool FullEverywhere(ReadoutPipeline pipeline, int capacity) =>
        pipeline.Counters.GetQueueHighWater(PipelineQueue.Received) == capacity
        && pipeline.Counters.GetQueueHighWater(PipelineQueue.Processed) == capacity
        && pipeline.Counters.GetQueueHighWater(PipelineQueue.Built) == capacity;

    private static ReadoutPipeline Create(ReadoutPipelineOptions options, ScriptedReceiver receiver, IReadOnlyList<IEventSink> sinks,
        FragmentProcessor? processor = null) =>
        new(options, receiver.FillAsync, processor, NewAssembler(), sinks);

    [Fact]
    public async Task CompleteEvents_AreBuiltInTriggerOrder_AndReachEverySink()
    {
        var receiver = new ScriptedReceiver(AllFragments(Sources, spills: 3, eventsPerSpill: 50), perCall: 7);
        var a = new InProcessSink("a", keepCopies: true);
        var b = new InProcessSink("b", keepCopies: true);
        var pipeline = Create(Options(Sources), receiver, [a, b]);

        var summary = await pipeline.RunAsync().WaitAsync(Safety);

        Assert.Equal(300, summary.FragmentsIn);
        Assert.Equal(150, summary.EventsIn);
        Assert.Equal(150, summary.EventsBuilt);
        Assert.Equal(0, summary.TotalDropped);
        Assert.True(summary.IsBalanced);
        Assert.All(summary.Sinks, s => Assert.Equal(150, s.Written));
        var expected = Enumerable.Range(1, 3).SelectMany(s => Enumerable.Range(1, 50).Select(e => ((uint)s, (uint)e))).ToList();
        Assert.Equal(expected, Keys(a));
        Assert.Equal(expected, Keys(b));

        // The built event is a DATE 3.6 event: 68-byte header, then one 28-byte equipment header + S-Link
        // block per source, in configured source order.
        var first = a.Events[0];
        Assert.Equal(68 + 28 + 28 + 28 + 28, first.Bytes.Length);
        Assert.Equal((uint)first.Bytes.Length, BinaryPrimitives.ReadUInt32LittleEndian(first.Bytes));
        Assert.Equal(0xDA1E5AFEu, BinaryPrimitives.ReadUInt32LittleEndian(first.Bytes.AsSpan(4)));
        Assert.Equal((1u << 20) | 1u, BinaryPrimitives.ReadUInt32LittleEndian(first.Bytes.AsSpan(28)));   // burst 1, nbInBurst 1
        Assert.Equal(FragmentBytes(623, 1, 1), first.Bytes.AsSpan(68 + 28, 28).ToArray());
        Assert.Equal(FragmentBytes(622, 1, 1), first.Bytes.AsSpan(68 + 28 + 28 + 28, 28).ToArray());
        Assert.Equal(EventMetadata.BuiltEventSource, first.Metadata.SourceId);
        Assert.Equal(1, a.Flushes);
        Assert.Equal(0, pipeline.Pool.Outstanding);
    }

    [Fact]
    public async Task MissingSource_SkipRestOfSpill_DropsThatEventAndTheRestOfItsSpill()
    {
        // Source 622 skips event 10 of spill 1; spill 2 is complete.
        var fragments = AllFragments(Sources, spills: 2, eventsPerSpill: 20)
            .Where(f => !(f.Metadata.SourceId == 622 && f.Metadata.Spill == 1 && f.Metadata.EventInSpill == 10)).ToList();
        var sink = new InProcessSink(keepCopies: true);
        var pipeline = Create(Options(Sources), new ScriptedReceiver(fragments, perCall: 5), [sink]);

        var summary = await pipeline.RunAsync().WaitAsync(Safety);

        Assert.Equal(40, summary.EventsIn);
        Assert.Equal(1, summary.GetDropped(DropReason.MissingSource));
        Assert.Equal(10, summary.GetDropped(DropReason.SkippedAfterMissingSource));   // events 11..20 of spill 1
        Assert.Equal(29, summary.EventsBuilt);
        Assert.Equal(1, summary.MissingBySource[622]);
        Assert.False(summary.MissingBySource.ContainsKey(623));
        Assert.True(summary.IsBalanced);
        Assert.Equal(Enumerable.Range(1, 9).Select(e => (1u, (uint)e)).Concat(Enumerable.Range(1, 20).Select(e => (2u, (uint)e))), Keys(sink));
    }

    [Fact]
    public async Task MissingSource_SkipEvent_DropsOnlyThatEvent()
    {
        var fragments = AllFragments(Sources, spills: 1, eventsPerSpill: 20)
            .Where(f => !(f.Metadata.SourceId == 623 && f.Metadata.EventInSpill == 5)).ToList();
        var sink = new InProcessSink(keepCopies: true);
        var pipeline = Create(Options(Sources, MissingSourcePolicy.SkipEvent), new ScriptedReceiver(fragments, perCall: 3), [sink]);

        var summary = await pipeline.RunAsync().WaitAsync(Safety);

        Assert.Equal(1, summary.GetDropped(DropReason.MissingSource));
        Assert.Equal(19, summary.EventsBuilt);
        Assert.DoesNotContain((1u, 5u), Keys(sink));
        Assert.True(summary.IsBalanced);
    }

    [Fact]
    public async Task MissingSource_StopRun_StopsReadingAndAccountsForEverythingRead()
    {
        var fragments = AllFragments(Sources, spills: 3, eventsPerSpill: 40)
            .Where(f => !(f.Metadata.SourceId == 623 && f.Metadata.Spill == 1 && f.Metadata.EventInSpill == 3)).ToList();
        var receiver = new ScriptedReceiver(fragments, perCall: 4);
        var sink = new InProcessSink(keepCopies: true);
        var pipeline = Create(Options(Sources, MissingSourcePolicy.StopRun), receiver, [sink]);

        var summary = await pipeline.RunAsync().WaitAsync(Safety);

        Assert.Equal(1, summary.GetDropped(DropReason.MissingSource));
        Assert.Equal([(1u, 1u), (1u, 2u)], Keys(sink));
        Assert.True(summary.FragmentsIn < fragments.Count, "the receiver must stop being read");
        Assert.Equal(summary.EventsIn - 3, summary.GetDropped(DropReason.SkippedAfterMissingSource));
        Assert.Contains(summary.Faults, f => f.Contains("StopRun", StringComparison.Ordinal));
        Assert.True(summary.IsBalanced);
    }

    [Fact]
    public async Task SilentSource_IsGivenUpAfterTheTimeoutInEvents_AndAtEndOfData()
    {
        // Source 622 stops after event 30 of 40; no later spill arrives, so only the timeout and the end of data resolve.
        var fragments = AllFragments(Sources, spills: 1, eventsPerSpill: 40)
            .Where(f => !(f.Metadata.SourceId == 622 && f.Metadata.EventInSpill > 30)).ToList();
        var sink = new InProcessSink(keepCopies: true);
        var pipeline = Create(Options(Sources, MissingSourcePolicy.SkipEvent, timeoutEvents: 4), new ScriptedReceiver(fragments, perCall: 8), [sink]);

        var summary = await pipeline.RunAsync().WaitAsync(Safety);

        Assert.Equal(30, summary.EventsBuilt);
        Assert.Equal(10, summary.GetDropped(DropReason.MissingSource));
        Assert.Equal(10, summary.MissingBySource[622]);
        Assert.True(summary.IsBalanced);
    }

    [Fact]
    public async Task DuplicateOrBackwardEventNumber_IsAMismatch()
    {
        var fragments = AllFragments(Sources, spills: 1, eventsPerSpill: 10);
        // Source 622 repeats event 4 right after event 5 (a slipped event counter).
        var at = fragments.FindIndex(f => f.Metadata.SourceId == 622 && f.Metadata.EventInSpill == 5);
        fragments.Insert(at + 1, Frag(622, 1, 4));
        // Source 623 sends event 8 twice in a row.
        var at8 = fragments.FindIndex(f => f.Metadata.SourceId == 623 && f.Metadata.EventInSpill == 8);
        fragments.Insert(at8 + 1, Frag(623, 1, 8));
        var sink = new InProcessSink(keepCopies: true);
        // One batch: event 4 is still open when the backward fragment arrives.
        var pipeline = Create(Options(Sources, MissingSourcePolicy.SkipEvent, timeoutEvents: 100), new ScriptedReceiver(fragments, perCall: 64), [sink]);

        var summary = await pipeline.RunAsync().WaitAsync(Safety);

        Assert.Equal(2, summary.GetDropped(DropReason.EventNumberMismatch));
        Assert.Equal(0, summary.LateFragments);
        Assert.DoesNotContain((1u, 4u), Keys(sink));
        Assert.DoesNotContain((1u, 8u), Keys(sink));
        Assert.Equal(8, summary.EventsBuilt);
        Assert.True(summary.IsBalanced);
    }

    [Fact]
    public async Task AFragmentForAnAlreadyResolvedEvent_IsCountedLate_NotAsANewEvent()
    {
        var fragments = AllFragments(Sources, spills: 1, eventsPerSpill: 10);
        var at = fragments.FindIndex(f => f.Metadata.SourceId == 622 && f.Metadata.EventInSpill == 6);
        fragments.Insert(at + 1, Frag(622, 1, 4));
        var sink = new InProcessSink(keepCopies: true);
        // One fragment per batch: event 4 is built long before the stray copy arrives.
        var pipeline = Create(Options(Sources, MissingSourcePolicy.SkipEvent), new ScriptedReceiver(fragments, perCall: 1), [sink]);

        var summary = await pipeline.RunAsync().WaitAsync(Safety);

        Assert.Equal(1, summary.LateFragments);
        Assert.Equal(10, summary.EventsIn);
        Assert.Equal(10, summary.EventsBuilt);
        Assert.True(summary.IsBalanced);
    }

    [Fact]
    public async Task RunNumberDisagreeingBetweenSources_IsAMismatch()
    {
        var fragments = AllFragments(Sources, spills: 1, eventsPerSpill: 5);
        var i = fragments.FindIndex(f => f.Metadata.SourceId == 622 && f.Metadata.EventInSpill == 2);
        fragments[i] = fragments[i] with { Metadata = fragments[i].Metadata with { Run = Run + 1 } };
        var pipeline = Create(Options(Sources, MissingSourcePolicy.SkipEvent), new ScriptedReceiver(fragments), [new InProcessSink(keepCopies: true)]);

        var summary = await pipeline.RunAsync().WaitAsync(Safety);

        Assert.Equal(1, summary.GetDropped(DropReason.EventNumberMismatch));
        Assert.Equal(4, summary.EventsBuilt);
        Assert.True(summary.IsBalanced);
    }

    [Fact]
    public async Task DecodeErrors_FromTheProcessor_DropTheirEvents()
    {
        var fragments = AllFragments(Sources, spills: 1, eventsPerSpill: 30);
        // The "decoder" rejects fragments of source 623 whose event number is a multiple of 10.
        EventBatch Decode(EventBatch batch, EventBatch spare)
        {
            for (var k = 0; k < batch.Count; k++)
            {
                var m = batch.GetMetadata(k);
                if (m.SourceId == 623 && m.EventInSpill % 10 == 0)
                {
                    batch.Reject(k, DropReason.DecodeError);
                }
            }

            return batch;
        }

        var sink = new InProcessSink(keepCopies: true);
        var pipeline = Create(Options(Sources), new ScriptedReceiver(fragments, perCall: 6), [sink], Decode);

        var summary = await pipeline.RunAsync().WaitAsync(Safety);

        Assert.Equal(3, summary.GetDropped(DropReason.DecodeError));
        Assert.Equal(27, summary.EventsBuilt);
        Assert.Equal(0, summary.GetDropped(DropReason.SkippedAfterMissingSource));   // a decode error is not a missing source
        Assert.True(summary.IsBalanced);
    }

    [Fact]
    public async Task AThrowingProcessor_CountsItsWholeBatchAsDecodeErrors()
    {
        var fragments = AllFragments(Sources, spills: 1, eventsPerSpill: 12);
        var calls = 0;
        EventBatch Decode(EventBatch batch, EventBatch spare) =>
            ++calls == 2 ? throw new InvalidDataException("bad ADC header (test)") : batch;

        var pipeline = Create(Options(Sources, MissingSourcePolicy.SkipEvent), new ScriptedReceiver(fragments, perCall: 4), [new InProcessSink(keepCopies: true)], Decode);

        var summary = await pipeline.RunAsync().WaitAsync(Safety);

        Assert.Equal(2, summary.GetDropped(DropReason.DecodeError));   // batch 2 = events 3 and 4, both sources
        Assert.Equal(10, summary.EventsBuilt);
        Assert.Contains(summary.Faults, f => f.Contains("bad ADC header", StringComparison.Ordinal));
        Assert.True(summary.IsBalanced);
    }

    [Fact]
    public async Task AProcessorWritingIntoTheSpare_IsUsed_AndBothBatchesGoBack()
    {
        var fragments = AllFragments(Sources, spills: 1, eventsPerSpill: 25);
        // Out-of-place "zero suppression": keep only the 3 S-Link header words, with event_size = 3.
        EventBatch Suppress(EventBatch batch, EventBatch spare)
        {
            for (var k = 0; k < batch.Count; k++)
            {
                Assert.True(spare.TryBeginAdd(12, out var block));
                batch.GetBytes(k)[..12].CopyTo(block);
                BinaryPrimitives.WriteUInt16LittleEndian(block, 3);
                spare.CommitAdd(batch.GetMetadata(k), 12);
            }

            return spare;
        }

        var sink = new InProcessSink(keepCopies: true);
        var pipeline = Create(Options(Sources), new ScriptedReceiver(fragments, perCall: 10), [sink], Suppress);

        var summary = await pipeline.RunAsync().WaitAsync(Safety);

        Assert.Equal(25, summary.EventsBuilt);
        Assert.All(sink.Events, e => Assert.Equal(68 + (2 * (28 + 12)), e.Bytes.Length));
        Assert.Equal(0, pipeline.Pool.Outstanding);
    }

    [Fact]
    public async Task FragmentsFromUnknownSources_AreCountedAndIgnored()
    {
        var fragments = AllFragments(Sources, spills: 1, eventsPerSpill: 5);
        fragments.Insert(3, Frag(900, 1, 2));
        var pipeline = Create(Options(Sources), new ScriptedReceiver(fragments), [new InProcessSink(keepCopies: true)]);

        var summary = await pipeline.RunAsync().WaitAsync(Safety);

        Assert.Equal(1, summary.UnknownSourceFragments);
        Assert.Equal(5, summary.EventsBuilt);
        Assert.True(summary.IsBalanced);
    }

    [Fact]
    public async Task SlowSink_MakesTheReceiverWait_AndNothingIsDropped()
    {
        const int capacity = 2;
        var fragments = AllFragments(Sources, spills: 2, eventsPerSpill: 200);   // 800 fragments = 100 receiver calls of 8
        var sink = new GatedSink();
        var stalled = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        ReadoutPipeline? pipeline = null;
        var receiver = new ScriptedReceiver(fragments, perCall: 8)
        {
            // The receiver notices that every queue has been full while the sink still holds its first batch.
            OnCall = call =>
            {
                if (FullEverywhere(pipeline!, capacity) && sink.Written == 0)
                {
                    stalled.TrySetResult(call);
                }
            },
        };
        pipeline = Create(Options(Sources, recordsPerBatch: 8, queueCapacity: capacity), receiver, [sink]);

        var run = pipeline.RunAsync();
        var callsWhenStalled = await stalled.Task.WaitAsync(Safety);
        var callsWhileHeld = receiver.Calls;
        sink.Open();
        var summary = await run.WaitAsync(Safety);

        // Held back: the receiver had read only what fits in the queues and stages, not the whole run.
        Assert.InRange(callsWhenStalled, capacity + 1, 3 * (capacity + 2));
        Assert.True(callsWhileHeld < 100, $"receiver read {callsWhileHeld} of 100 batches while the sink was stuck");
        Assert.Equal(capacity, summary.QueueHighWater[PipelineQueue.Received]);
        Assert.Equal(capacity, summary.QueueHighWater[PipelineQueue.Processed]);
        Assert.Equal(capacity, summary.QueueHighWater[PipelineQueue.Built]);
        Assert.Equal(400, summary.EventsBuilt);
        Assert.Equal(400, sink.Written);
        Assert.Equal(0, summary.TotalDropped);
        Assert.Equal(0, summary.Sinks[0].TotalDropped);
        Assert.True(summary.IsBalanced);
        Assert.Equal(0, pipeline.Pool.Outstanding);
    }

    [Fact]
    public async Task Cancellation_LosesNoAccounting()
    {
        var fragments = AllFragments(Sources, spills: 2, eventsPerSpill: 200);
        var sink = new GatedSink();
        var other = new InProcessSink("other", keepCopies: true);
        var stalled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        ReadoutPipeline? pipeline = null;
        var receiver = new ScriptedReceiver(fragments, perCall: 8)
        {
            OnCall = _ =>
            {
                if (FullEverywhere(pipeline!, 2))
                {
                    stalled.TrySetResult();
                }
            },
        };
        pipeline = Create(Options(Sources, recordsPerBatch: 8, queueCapacity: 2), receiver, [sink, other]);
        using var cts = new CancellationTokenSource();

        var run = pipeline.RunAsync(cts.Token);
        await stalled.Task.WaitAsync(Safety);
        await cts.CancelAsync();
        var summary = await run.WaitAsync(Safety);

        Assert.True(summary.EventsIn > 0);
        Assert.True(summary.EventsIn < 400, "cancellation must stop the reading");
        Assert.True(summary.IsBalanced, $"in {summary.EventsIn}, built {summary.EventsBuilt}, dropped {summary.TotalDropped}");
        Assert.Equal(0, summary.Sinks[0].Written);
        Assert.True(summary.EventsBuilt > 0);
        Assert.Equal(summary.EventsBuilt, summary.Sinks[0].Dropped.GetValueOrDefault(DropReason.Cancelled));
        Assert.Equal(summary.EventsIn, summary.EventsBuilt + summary.GetDropped(DropReason.Cancelled));
        Assert.Equal(other.Events.Count, summary.Sinks[1].Written);
        Assert.Equal(0, pipeline.Pool.Outstanding);
    }

    [Fact]
    public async Task RequestStop_EndsTheRunNormally_WritingEverythingRead()
    {
        // An endless source of triggers, stopped by run control after some events were written.
        var sink = new InProcessSink(keepCopies: true);
        ReadoutPipeline? pipeline = null;
        uint ev = 0;
        ValueTask<bool> Endless(EventBatch batch, CancellationToken ct)
        {
            for (var k = 0; k < 4; k++)
            {
                ev++;
                foreach (var s in Sources)
                {
                    Assert.True(batch.TryAdd(FragmentMeta(s, 1, ev), FragmentBytes(s, 1, ev)));
                }
            }

            if (ev == 200)
            {
                pipeline!.RequestStop();
            }

            return ValueTask.FromResult(true);
        }

        pipeline = new ReadoutPipeline(Options(Sources), Endless, null, NewAssembler(), [sink]);
        var summary = await pipeline.RunAsync().WaitAsync(Safety);

        Assert.Equal(200, summary.EventsIn);
        Assert.Equal(200, summary.EventsBuilt);
        Assert.Equal(200, summary.Sinks[0].Written);
        Assert.Equal(0, summary.TotalDropped);
        Assert.True(summary.IsBalanced);
    }

    [Fact]
    public async Task AFailingSink_IsCountedWithItsReason_AndTheOtherSinksGetEverything()
    {
        var fragments = AllFragments(Sources, spills: 1, eventsPerSpill: 64);
        var good = new InProcessSink(keepCopies: true);
        var pipeline = Create(Options(Sources, recordsPerBatch: 8), new ScriptedReceiver(fragments, perCall: 8), [new FailingSink(failOnBatch: 3), good]);

        var summary = await pipeline.RunAsync().WaitAsync(Safety);

        Assert.Equal(64, summary.EventsBuilt);
        Assert.Equal(64, good.Events.Count);
        var failing = summary.Sinks[0];
        Assert.True(failing.Written > 0);
        Assert.Equal(64 - failing.Written, failing.Dropped[DropReason.SinkFailure]);
        Assert.Contains(summary.Faults, f => f.Contains("No space left", StringComparison.Ordinal));
        Assert.True(summary.IsBalanced);
    }

    [Fact]
    public async Task Batches_AreRecycled_SoALongRunAllocatesABoundedNumber()
    {
        var fragments = AllFragments(Sources, spills: 10, eventsPerSpill: 1000);   // 20 000 fragments, 10 000 events
        var seen = 0L;
        var sink = new InProcessSink(callback: (in EventMetadata _, ReadOnlySpan<byte> _) => seen++);
        var pipeline = Create(Options(Sources, recordsPerBatch: 16, queueCapacity: 2), new ScriptedReceiver(fragments, perCall: 16), [sink]);

        var summary = await pipeline.RunAsync().WaitAsync(Safety);

        Assert.Equal(10_000, seen);
        Assert.Equal(0, pipeline.Pool.Outstanding);
        // Queues of 2 between 4 stages, a batch in hand per stage, the builder's spare: a few tens at most, not 1 250.
        Assert.InRange(pipeline.Pool.Created, 1, 24);
        Assert.True(summary.IsBalanced);
    }

    [Fact]
    public async Task Counters_AreReadableWhileRunning()
    {
        var fragments = AllFragments(Sources, spills: 1, eventsPerSpill: 100);
        ReadoutPipeline? pipeline = null;
        var live = new List<RunSummary>();
        var sink = new InProcessSink(callback: (in EventMetadata m, ReadOnlySpan<byte> _) =>
        {
            if (m.EventInSpill % 25 == 0)
            {
                live.Add(pipeline!.Counters.Snapshot());
            }
        });
        pipeline = Create(Options(Sources, recordsPerBatch: 10), new ScriptedReceiver(fragments, perCall: 10), [sink]);

        var summary = await pipeline.RunAsync().WaitAsync(Safety);

        Assert.Equal(4, live.Count);
        Assert.All(live, s => Assert.True(s.EventsBuilt >= 25 && s.EventsIn >= s.EventsBuilt));
        Assert.True(live.Zip(live.Skip(1)).All(p => p.Second.EventsBuilt >= p.First.EventsBuilt));
        Assert.Equal(100, summary.EventsBuilt);
    }

    [Fact]
    public async Task RunsOnlyOnce()
    {
        var pipeline = Create(Options(Sources), new ScriptedReceiver(AllFragments(Sources, 1, 2)), [new InProcessSink(keepCopies: true)]);
        await pipeline.RunAsync().WaitAsync(Safety);
        await Assert.ThrowsAsync<InvalidOperationException>(() => pipeline.RunAsync());
    }

    [Fact]
    public void BadOptions_AreRefusedNamingTheField()
    {
        var receiver = new ScriptedReceiver([]);
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => Create(Options(Sources, queueCapacity: 0), receiver, []));
        Assert.Contains("QueueCapacity", ex.Message, StringComparison.Ordinal);
        var bad = Assert.Throws<ArgumentOutOfRangeException>(() => Create(Options([622, 1024]), receiver, []));
        Assert.Contains("1024", bad.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => Create(Options([622, 622]), receiver, []));
    }
}
