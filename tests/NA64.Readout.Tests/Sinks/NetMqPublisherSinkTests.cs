using NA64.Readout.Pipeline;
using NA64.Readout.Sinks;
using NA64.Readout.Tests.Pipeline;
using NetMQ;
using NetMQ.Sockets;
using static NA64.Readout.Tests.Pipeline.PipelineTestKit;

namespace NA64.Readout.Tests.Sinks;

public sealed class NetMqPublisherSinkTests
{
    private static readonly TimeSpan Receive = TimeSpan.FromSeconds(10);   // safety limit only

    private static EventBatch BuiltBatch(int events)
    {
        var batch = new EventBatch(events, Math.Max(1024, events * 512));
        for (var i = 1; i <= events; i++)
        {
            Assert.True(batch.TryAdd(FragmentMeta(EventMetadata.BuiltEventSource, 2, (uint)i), DateEvent(2, (uint)i, payloadWords: i)));
        }

        return batch;
    }

    [Theory]
    [InlineData("tcp://127.0.0.1:*", PublishGranularity.PerBatch)]
    [InlineData("tcp://127.0.0.1:*", PublishGranularity.PerEvent)]
    [InlineData("inproc://na64-events-test-batch", PublishGranularity.PerBatch)]
    [InlineData("inproc://na64-events-test-event", PublishGranularity.PerEvent)]
    public async Task ASubscriber_ReceivesTheHeaderFrameAndTheEventBytes(string address, PublishGranularity granularity)
    {
        using var sink = new NetMqPublisherSink(new NetMqPublisherOptions { Address = address, Granularity = granularity });
        using var sub = new SubscriberSocket();
        sub.Connect(sink.Endpoint);
        sub.Subscribe("NA64");
        Assert.True(sink.WaitForSubscriber(Receive));
        if (address.StartsWith("tcp", StringComparison.Ordinal))
        {
            Assert.Matches(@"^tcp://127\.0\.0\.1:\d+$", sink.Endpoint);
            Assert.DoesNotContain("*", sink.Endpoint, StringComparison.Ordinal);
        }

        var batch = BuiltBatch(5);
        var result = await sink.WriteAsync(batch, CancellationToken.None);
        Assert.Equal(new SinkWriteResult(5, batch.ByteCount, 0, DropReason.None), result);

        var received = new List<(PublishedEvent Entry, byte[] Bytes)>();
        var sequences = new List<ulong>();
        while (received.Count < 5)
        {
            var message = new NetMQMessage();
            Assert.True(sub.TryReceiveMultipartMessage(Receive, ref message), "no message within the safety limit");
            Assert.Equal(2, message.FrameCount);
            var (sequence, entries) = NetMqEventHeader.Read(message[0].ToByteArray());
            sequences.Add(sequence);
            var body = message[1].ToByteArray();
            Assert.Equal(entries.Sum(e => e.Size), body.Length);
            var at = 0;
            foreach (var entry in entries)
            {
                received.Add((entry, body.AsSpan(at, entry.Size).ToArray()));
                at += entry.Size;
            }
        }

        Assert.Equal(Enumerable.Range(0, sequences.Count).Select(i => (ulong)i), sequences);
        Assert.Equal(granularity == PublishGranularity.PerBatch ? 1 : 5, sequences.Count);
        for (var i = 0; i < 5; i++)
        {
            var meta = batch.GetMetadata(i);
            var (entry, bytes) = received[i];
            Assert.Equal(new PublishedEvent(meta.Run, meta.Spill, meta.EventInSpill, meta.EventInRun, meta.TriggerMask, bytes.Length, meta.UnixSeconds), entry);
            Assert.Equal(batch.GetBytes(i).ToArray(), bytes);
        }
    }

    [Fact]
    public async Task WithoutASubscriber_EventsAreCountedAsDroppedForThatReason()
    {
        using var sink = new NetMqPublisherSink(new NetMqPublisherOptions { Address = "inproc://na64-events-nobody" });
        var batch = BuiltBatch(3);

        var result = await sink.WriteAsync(batch, CancellationToken.None);

        Assert.Equal(SinkWriteResult.None(batch, DropReason.NoSubscriber), result);
        Assert.False(sink.HasSubscriber);
        Assert.Equal(0ul, sink.MessagesSent);
    }

    [Fact]
    public async Task InAPipeline_NoSubscriberDropsAreInTheSinkSummary()
    {
        int[] sources = [623];
        using var sink = new NetMqPublisherSink(new NetMqPublisherOptions { Address = "inproc://na64-events-pipeline" });
        var pipeline = new ReadoutPipeline(Options(sources), new ScriptedReceiver(AllFragments(sources, 1, 10), 4).FillAsync, null, NewAssembler(), [sink]);

        var summary = await pipeline.RunAsync().WaitAsync(Safety);

        Assert.Equal(10, summary.Sinks[0].Dropped[DropReason.NoSubscriber]);
        Assert.True(summary.IsBalanced);
    }

    [Fact]
    public void WaitForSubscriber_ReturnsFalseWhenNobodyCame()
    {
        using var sink = new NetMqPublisherSink(new NetMqPublisherOptions { Address = "inproc://na64-events-lonely" });
        Assert.False(sink.WaitForSubscriber(TimeSpan.Zero));
    }

    [Fact]
    public void OnlySubscriptionsMatchingTheNa64Topic_Count()
    {
        using var sink = new NetMqPublisherSink(new NetMqPublisherOptions { Address = "inproc://na64-events-topics" });
        sink.NoteSubscription([1, (byte)'H', (byte)'V']);
        Assert.False(sink.HasSubscriber);
        sink.NoteSubscription([1, (byte)'N', (byte)'A']);
        Assert.True(sink.HasSubscriber);
        sink.NoteSubscription([1]);                       // the empty topic takes everything
        sink.NoteSubscription([0, (byte)'N', (byte)'A']);
        Assert.True(sink.HasSubscriber);
        sink.NoteSubscription([0]);
        Assert.False(sink.HasSubscriber);
        sink.NoteSubscription([1, (byte)'N', (byte)'A', (byte)'6', (byte)'4', (byte)'!']);   // longer than our topic: never matches
        Assert.False(sink.HasSubscriber);
    }

    [Fact]
    public void HeaderFrame_RoundTrips_AndBadFramesNameTheirFault()
    {
        var batch = BuiltBatch(2);
        var frame = new byte[NetMqEventHeader.SizeFor(2)];
        Assert.Equal(frame.Length, NetMqEventHeader.Write(frame, 42, batch, 0, 2));
        var (sequence, events) = NetMqEventHeader.Read(frame);
        Assert.Equal(42ul, sequence);
        Assert.Equal(2, events.Length);
        Assert.Equal(batch.GetBytes(1).Length, events[1].Size);

        Assert.Contains("prefix", Assert.Throws<FormatException>(() => NetMqEventHeader.Read(frame.AsSpan(0, 8))).Message, StringComparison.Ordinal);
        Assert.Contains("count 2 needs", Assert.Throws<FormatException>(() => NetMqEventHeader.Read(frame.AsSpan(0, frame.Length - 1))).Message, StringComparison.Ordinal);
        var wrongVersion = (byte[])frame.Clone();
        wrongVersion[4] = 9;
        Assert.Contains("version 9", Assert.Throws<FormatException>(() => NetMqEventHeader.Read(wrongVersion)).Message, StringComparison.Ordinal);
        var wrongMagic = (byte[])frame.Clone();
        wrongMagic[0] = (byte)'X';
        Assert.Throws<FormatException>(() => NetMqEventHeader.Read(wrongMagic));
    }

    private static List<(ulong Sequence, PublishedEvent[] Entries, byte[] Body)> Pull(PullSocket pull, int events)
    {
        var messages = new List<(ulong, PublishedEvent[], byte[])>();
        for (var n = 0; n < events;)
        {
            var message = new NetMQMessage();
            Assert.True(pull.TryReceiveMultipartMessage(Receive, ref message), "no message within the safety limit");
            var (sequence, entries) = NetMqEventHeader.Read(message[0].ToByteArray());
            messages.Add((sequence, entries, message[1].ToByteArray()));
            n += entries.Length;
        }

        return messages;
    }

    [Theory]
    [InlineData(PublishGranularity.PerBatch)]
    [InlineData(PublishGranularity.PerEvent)]
    public async Task Push_DeliversEveryEventInOrderToAPuller(PublishGranularity granularity)
    {
        using var sink = new NetMqPublisherSink(new NetMqPublisherOptions
        {
            Address = "tcp://127.0.0.1:*", Pattern = NetMqPattern.Push, Granularity = granularity,
        });
        using var pull = new PullSocket();
        pull.Connect(sink.Endpoint);
        Assert.Throws<InvalidOperationException>(() => sink.WaitForSubscriber(TimeSpan.Zero));

        var batch = BuiltBatch(5);
        var result = await sink.WriteAsync(batch, CancellationToken.None);
        Assert.Equal(new SinkWriteResult(5, batch.ByteCount, 0, DropReason.None), result);

        var messages = Pull(pull, 5);
        Assert.Equal(Enumerable.Range(0, messages.Count).Select(i => (ulong)i), messages.Select(m => m.Sequence));
        var bodies = messages.SelectMany(m => m.Body).ToArray();
        var expected = Enumerable.Range(0, 5).SelectMany(i => batch.GetBytes(i).ToArray()).ToArray();
        Assert.Equal(expected, bodies);
    }

    [Fact]
    public async Task Push_WaitsForASlowPullerInsteadOfLosingEvents()
    {
        // A queue of one message each side: the sink can only go on as fast as the puller takes.
        using var sink = new NetMqPublisherSink(new NetMqPublisherOptions
        {
            Address = "inproc://na64-events-push-slow", Pattern = NetMqPattern.Push, Granularity = PublishGranularity.PerEvent,
            SendHighWatermark = 1, SendTimeout = TimeSpan.FromSeconds(30),
        });
        using var pull = new PullSocket();
        pull.Options.ReceiveHighWatermark = 1;
        pull.Connect(sink.Endpoint);
        var batch = BuiltBatch(40);
        var puller = Task.Run(() => Pull(pull, 40));

        var result = await sink.WriteAsync(batch, CancellationToken.None);

        Assert.Equal(new SinkWriteResult(40, batch.ByteCount, 0, DropReason.None), result);
        var messages = await puller.WaitAsync(Receive);
        Assert.Equal(40, messages.Count);
        Assert.Equal(Enumerable.Range(1, 40).Select(i => (uint)i), messages.Select(m => m.Entries[0].EventInSpill));
    }

    [Fact]
    public async Task Push_WithoutAPuller_CountsTheEventsAfterTheSendTimeout()
    {
        using var sink = new NetMqPublisherSink(new NetMqPublisherOptions
        {
            Address = "inproc://na64-events-push-nobody", Pattern = NetMqPattern.Push, SendTimeout = TimeSpan.FromMilliseconds(20),
        });
        var batch = BuiltBatch(3);

        var result = await sink.WriteAsync(batch, CancellationToken.None);

        Assert.Equal(SinkWriteResult.None(batch, DropReason.PublisherQueueFull), result);
        Assert.Equal(0ul, sink.MessagesSent);
    }

    [Fact]
    public async Task Push_InAPipeline_WritesEveryEventAndTheSummaryBalances()
    {
        int[] sources = [624];
        using var sink = new NetMqPublisherSink(new NetMqPublisherOptions
        {
            Address = "inproc://na64-events-push-pipeline", Pattern = NetMqPattern.Push, SendHighWatermark = 2,
        });
        using var pull = new PullSocket();
        pull.Connect(sink.Endpoint);
        var puller = Task.Run(() => Pull(pull, 200));
        var pipeline = new ReadoutPipeline(Options(sources), new ScriptedReceiver(AllFragments(sources, 1, 200), 8).FillAsync, null, NewAssembler(), [sink]);

        var summary = await pipeline.RunAsync().WaitAsync(Safety);

        Assert.True(summary.IsBalanced);
        Assert.Equal(200, summary.Sinks[0].Written);
        Assert.Empty(summary.Sinks[0].Dropped);
        Assert.Equal(200, (await puller.WaitAsync(Receive)).Sum(m => m.Entries.Length));
    }

    [Fact]
    public void BadOptions_AreRefused()
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() =>
            new NetMqPublisherSink(new NetMqPublisherOptions { Address = "inproc://x", SendHighWatermark = 0 }));
        Assert.Contains("SendHighWatermark", ex.Message, StringComparison.Ordinal);
        var timeout = Assert.Throws<ArgumentOutOfRangeException>(() => new NetMqPublisherSink(new NetMqPublisherOptions
        {
            Address = "inproc://y", Pattern = NetMqPattern.Push, SendTimeout = TimeSpan.FromSeconds(-1),
        }));
        Assert.Contains("SendTimeout", timeout.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AnAddressInUse_IsOneLineNamingTheAddressAndCause()
    {
        using var first = new NetMqPublisherSink(new NetMqPublisherOptions { Address = "tcp://127.0.0.1:*" });

        var e = Assert.Throws<NetMqEndpointException>(() => new NetMqPublisherSink(new NetMqPublisherOptions
        {
            Address = first.Endpoint, Pattern = NetMqPattern.Push,
        }));

        Assert.Equal($"{first.Endpoint}: address already in use", e.Message);
        Assert.Equal(first.Endpoint, e.Address);
    }

    [Theory]
    [InlineData("bogus://127.0.0.1:5556", "bogus://127.0.0.1:5556: unknown transport (expected tcp://host:port, ipc://path or inproc://name)")]
    [InlineData("tcp://127.0.0.1", "tcp://127.0.0.1: malformed or unusable address")]
    [InlineData("tcp://127.0.0.1:port", "tcp://127.0.0.1:port: malformed or unusable address")]
    [InlineData("127.0.0.1:5556", "127.0.0.1:5556: ")]
    public void AMalformedAddress_IsOneLineNamingTheAddressAndCause(string address, string start)
    {
        var e = Assert.Throws<NetMqEndpointException>(() => new NetMqPublisherSink(new NetMqPublisherOptions { Address = address }));

        Assert.True(e.Message.StartsWith(start, StringComparison.Ordinal), e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public async Task Push_DropAfterTimeout_CountsTheWaitAndTheDrop()
    {
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider();
        using var sink = new NetMqPublisherSink(new NetMqPublisherOptions
        {
            Address = "inproc://na64-events-push-counted", Pattern = NetMqPattern.Push, SendTimeout = TimeSpan.Zero,
        }, time: time);
        Assert.Equal(NetMqStallPolicy.DropAfterTimeout, new NetMqPublisherOptions { Address = "x" }.StallPolicy); // the default stays

        await sink.WriteAsync(BuiltBatch(3), CancellationToken.None);
        await sink.WriteAsync(BuiltBatch(2), CancellationToken.None);

        Assert.Equal(new NetMqSinkCounters(false, TimeSpan.Zero, 2, TimeSpan.Zero, 2, 5), sink.Counters);
    }

    [Fact]
    public async Task Publish_CountsEventsNobodySubscribedTo()
    {
        using var sink = new NetMqPublisherSink(new NetMqPublisherOptions { Address = "inproc://na64-events-publish-counted" });
        await sink.WriteAsync(BuiltBatch(4), CancellationToken.None);

        var c = sink.Counters;
        Assert.Equal((0L, 1L, 4L), (c.Waits, c.DroppedMessages, c.DroppedEvents));
    }

    [Fact]
    public async Task Push_WaitForever_WaitsForAPullerAndShowsTheWaitLive()
    {
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider();
        using var sink = new NetMqPublisherSink(new NetMqPublisherOptions
        {
            Address = "inproc://na64-events-push-forever", Pattern = NetMqPattern.Push, StallPolicy = NetMqStallPolicy.WaitForever,
            SendTimeout = TimeSpan.Zero, // ignored by WaitForever
        }, time: time);
        var batch = BuiltBatch(3);

        var write = Task.Run(() => sink.WriteAsync(batch, CancellationToken.None).AsTask());
        Assert.True(SpinWait.SpinUntil(() => sink.Counters.Waiting, Receive), "the send never started waiting");
        time.Advance(TimeSpan.FromSeconds(42));
        Assert.Equal(TimeSpan.FromSeconds(42), sink.Counters.WaitingFor);
        Assert.False(write.IsCompleted);

        using var pull = new PullSocket();
        pull.Connect(sink.Endpoint);
        var result = await write.WaitAsync(Receive);

        Assert.Equal(SinkWriteResult.All(batch), result);
        Assert.Equal(3, Pull(pull, 3).Sum(m => m.Entries.Length));
        Assert.Equal(new NetMqSinkCounters(false, TimeSpan.Zero, 1, TimeSpan.FromSeconds(42), 0, 0), sink.Counters);
    }

    [Fact]
    public async Task Push_WaitForever_EndsWhenTheRunIsCancelled()
    {
        using var sink = new NetMqPublisherSink(new NetMqPublisherOptions
        {
            Address = "inproc://na64-events-push-cancelled", Pattern = NetMqPattern.Push, StallPolicy = NetMqStallPolicy.WaitForever,
        });
        using var stop = new CancellationTokenSource();

        var write = Task.Run(() => sink.WriteAsync(BuiltBatch(2), stop.Token).AsTask());
        Assert.True(SpinWait.SpinUntil(() => sink.Counters.Waiting, Receive), "the send never started waiting");
        await stop.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => write.WaitAsync(Receive));
        Assert.False(sink.Counters.Waiting);
        Assert.Equal(0ul, sink.MessagesSent);
    }

    [Fact]
    public void WaitForever_IsRefusedForPublish()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new NetMqPublisherSink(new NetMqPublisherOptions
        {
            Address = "inproc://z", StallPolicy = NetMqStallPolicy.WaitForever,
        }));
        Assert.Contains("applies to Push only", e.Message, StringComparison.Ordinal);
    }
}
