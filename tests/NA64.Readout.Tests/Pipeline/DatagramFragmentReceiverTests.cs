using System.Net;
using Microsoft.Extensions.Time.Testing;
using NA64.Hardware.Digitizers.Msadc;
using NA64.Readout.Pipeline;
using static NA64.Readout.Tests.Pipeline.PipelineTestKit;

namespace NA64.Readout.Tests.Pipeline;

public sealed class DatagramFragmentReceiverTests
{
    private static readonly DateTimeOffset Now = new(2018, 7, 1, 12, 0, 0, TimeSpan.Zero);

    private sealed record Record(EventMetadata Meta, byte[] Bytes);

    /// <summary>Fills small batches until the receiver ends (bounded by the safety limit) and collects every record.</summary>
    private static async Task<List<Record>> DrainAsync(DatagramFragmentReceiver receiver, int recordsPerBatch = 4)
    {
        using var safety = new CancellationTokenSource(Safety);
        var batch = new EventBatch(recordsPerBatch, 256);
        var records = new List<Record>();
        bool more = true;
        while (more)
        {
            batch.Clear();
            more = await receiver.FillAsync(batch, safety.Token);
            for (int i = 0; i < batch.Count; i++)
                records.Add(new Record(batch.GetMetadata(i), batch.GetBytes(i).ToArray()));
        }

        return records;
    }

    private static (InMemoryDatagramChannel Host, InMemoryDatagramChannel Sender) Pair(int source) =>
        InMemoryDatagramChannel.CreatePair($"src{source}", 1024);

    private static DatagramFragmentReceiver Receiver(DatagramReceiverOptions options, params (int Source, IDatagramChannel Channel)[] sources) =>
        new(sources.Select(s => new DatagramSource(s.Source, s.Channel)).ToArray(), options, new FakeTimeProvider(Now));

    private static async Task SendAsync(IDatagramChannel channel, byte[] datagram) => await channel.SendAsync(datagram, CancellationToken.None);

    [Fact]
    public async Task Good_datagrams_of_two_sources_become_fragments_with_metadata_from_the_SLink_header()
    {
        var (hostA, a) = Pair(610);
        var (hostB, b) = Pair(611);
        for (uint e = 1; e <= 6; e++)
        {
            await SendAsync(a, FragmentBytes(610, 1, e));
            await SendAsync(b, FragmentBytes(611, 1, e, payloadWords: 7));
        }

        await using var receiver = Receiver(new DatagramReceiverOptions { RunNumber = Run, Events = 6 }, (610, hostA), (611, hostB));
        var records = await DrainAsync(receiver);

        Assert.Equal(12, records.Count);
        foreach (int source in new[] { 610, 611 })
        {
            var mine = records.Where(r => r.Meta.SourceId == source).ToArray();
            Assert.Equal([1u, 2, 3, 4, 5, 6], mine.Select(r => r.Meta.EventInSpill));
            // Event in run is the same for every source's fragment of a trigger, and counts the triggers.
            Assert.Equal([1u, 2, 3, 4, 5, 6], mine.Select(r => r.Meta.EventInRun));
            Assert.All(mine, r => Assert.Equal((Run, 1u, 1u, Now.ToUnixTimeSeconds(), (byte)7), (r.Meta.Run, r.Meta.Spill, r.Meta.TriggerMask, r.Meta.UnixSeconds, r.Meta.EventType)));
            Assert.All(mine, r => Assert.Equal(FragmentBytes(source, 1, r.Meta.EventInSpill, source == 610 ? 4 : 7), r.Bytes));
        }

        var summary = receiver.Snapshot();
        Assert.Equal((12L, 12L, 6L, 0L), (summary.Datagrams, summary.Fragments, summary.Triggers, summary.Lost));
        Assert.Empty(summary.Problems);
        Assert.Empty(summary.Unfinished);
        Assert.Empty(summary.Faults);
        Assert.False(await receiver.FillAsync(new EventBatch(4, 64), CancellationToken.None));
    }

    [Fact]
    public async Task Truncated_short_and_oversized_datagrams_are_counted_and_only_whole_headers_passed_on()
    {
        var (host, sender) = Pair(610);
        var truncated = FragmentBytes(610, 1, 2)[..^8];          // 2 words short of its event_size
        var oversized = FragmentBytes(610, 1, 3).Concat(new byte[4]).ToArray();
        await SendAsync(sender, FragmentBytes(610, 1, 1));
        await SendAsync(sender, truncated);
        await SendAsync(sender, oversized);
        await SendAsync(sender, [1, 2, 3, 4, 5]);                  // not even an S-Link header
        await SendAsync(sender, FragmentBytes(610, 1, 4));

        await using var receiver = Receiver(new DatagramReceiverOptions { RunNumber = Run, Events = 4 }, (610, host));
        var records = await DrainAsync(receiver);

        // The decoder reports the size mismatch at its event (and drops that event): the receiver passes them on.
        Assert.Equal([1u, 2, 3, 4], records.Select(r => r.Meta.EventInSpill));
        Assert.Equal(truncated, records[1].Bytes);
        Assert.Equal(oversized, records[2].Bytes);
        var summary = receiver.Snapshot();
        Assert.Equal(1, summary.Count(DatagramProblem.Truncated));
        Assert.Equal(1, summary.Count(DatagramProblem.Oversized));
        Assert.Equal(1, summary.Count(DatagramProblem.TooShort));
        Assert.Equal((5L, 4L), (summary.Datagrams, summary.Fragments));
    }

    [Fact]
    public async Task Foreign_source_datagrams_are_dropped_and_counted()
    {
        var (host, sender) = Pair(610);
        await SendAsync(sender, FragmentBytes(610, 1, 1));
        await SendAsync(sender, FragmentBytes(700, 1, 2));   // another CATCH sending to our port
        await SendAsync(sender, FragmentBytes(610, 1, 2));

        await using var receiver = Receiver(new DatagramReceiverOptions { RunNumber = Run, Events = 2 }, (610, host));
        var records = await DrainAsync(receiver);

        Assert.All(records, r => Assert.Equal(610, r.Meta.SourceId));
        Assert.Equal([1u, 2], records.Select(r => r.Meta.EventInSpill));
        Assert.Equal(1, receiver.Snapshot().Count(DatagramProblem.ForeignSource));
        Assert.Equal(0, receiver.Snapshot().Lost);
    }

    [Fact]
    public async Task Reordered_and_duplicated_datagrams_are_dropped_and_skipped_event_numbers_counted_as_lost()
    {
        var (host, sender) = Pair(610);
        foreach (uint e in new uint[] { 1, 3, 2, 3, 4, 7, 8 })
            await SendAsync(sender, FragmentBytes(610, 1, e));

        await using var receiver = Receiver(new DatagramReceiverOptions { RunNumber = Run, Events = 5 }, (610, host));
        var records = await DrainAsync(receiver);

        // A source must deliver in trigger order (the event builder's assumption): what comes back is not passed on.
        Assert.Equal([1u, 3, 4, 7, 8], records.Select(r => r.Meta.EventInSpill));
        Assert.Equal([1u, 2, 3, 4, 5], records.Select(r => r.Meta.EventInRun));
        var summary = receiver.Snapshot();
        Assert.Equal(2, summary.Count(DatagramProblem.Reordered));    // the late 2 and the second 3
        Assert.Equal(3, summary.Lost);                                // 2 (came too late), 5 and 6
        Assert.Equal(3, summary.LostBySource[610]);
    }

    [Fact]
    public async Task Spill_count_ends_each_source_when_its_spill_number_moves_past_the_last_wanted_spill()
    {
        var (hostA, a) = Pair(610);
        var (hostB, b) = Pair(611);
        foreach (var (spill, e) in new (uint, uint)[] { (4, 8), (4, 9), (5, 1), (5, 2), (5, 3), (6, 1) })
        {
            await SendAsync(a, FragmentBytes(610, spill, e));
            await SendAsync(b, FragmentBytes(611, spill, e));
        }

        await using var receiver = Receiver(new DatagramReceiverOptions { RunNumber = Run, Spills = 2 }, (610, hostA), (611, hostB));
        var records = await DrainAsync(receiver);

        // The run starts in spill 4 (its first fragment) and ends with spill 5: spill 6 is after the end.
        var a610 = records.Where(r => r.Meta.SourceId == 610).ToArray();
        Assert.Equal([(4u, 8u), (4, 9), (5, 1), (5, 2), (5, 3)], a610.Select(r => (r.Meta.Spill, r.Meta.EventInSpill)));
        Assert.Equal([1u, 2, 3, 4, 5], a610.Select(r => r.Meta.EventInRun));
        Assert.Equal(10, records.Count);
        var summary = receiver.Snapshot();
        Assert.Equal(5, summary.Triggers);
        Assert.Equal(0, summary.Lost);                            // a run may start inside a spill
        Assert.Equal(2, summary.Count(DatagramProblem.AfterEnd));  // the first datagram of spill 6 of each source
    }

    [Fact]
    public async Task Datagrams_left_by_an_earlier_run_are_discarded_and_counted_before_the_run_starts()
    {
        var (host, sender) = Pair(610);
        await SendAsync(sender, FragmentBytes(610, 1, 998));
        await SendAsync(sender, FragmentBytes(610, 1, 999));
        await using var receiver = Receiver(new DatagramReceiverOptions { RunNumber = Run, Events = 2 }, (610, host));

        Assert.Equal(2, receiver.DiscardPending());
        await SendAsync(sender, FragmentBytes(610, 1, 1));
        await SendAsync(sender, FragmentBytes(610, 1, 2));
        var records = await DrainAsync(receiver);

        Assert.Equal([1u, 2], records.Select(r => r.Meta.EventInSpill));
        Assert.Equal(2, receiver.Snapshot().Count(DatagramProblem.Stale));
    }

    [Fact]
    public async Task A_closed_data_channel_ends_the_receiver_with_a_fault_and_what_arrived_before()
    {
        var (host, sender) = Pair(610);
        await SendAsync(sender, FragmentBytes(610, 1, 1));
        sender.Dispose();   // the source went away before the run's 5 events
        await using var receiver = Receiver(new DatagramReceiverOptions { RunNumber = Run, Events = 5 }, (610, host));

        var records = await DrainAsync(receiver);

        Assert.Single(records);
        var summary = receiver.Snapshot();
        Assert.Contains(summary.Faults, f => f.Contains("source 610", StringComparison.Ordinal) && f.Contains("closed", StringComparison.Ordinal));
        Assert.Equal([610], summary.Unfinished);
    }

    [Fact]
    public async Task A_silent_source_is_given_up_after_the_end_skew_and_named_as_unfinished()
    {
        var (hostA, a) = Pair(610);
        var (hostB, _) = Pair(611);
        // More than a queue's worth: the receiver lets a source run ahead of a silent one only once its queue is full.
        for (uint e = 1; e <= 60; e++)
            await SendAsync(a, FragmentBytes(610, 1, e));
        await using var receiver = Receiver(new DatagramReceiverOptions { RunNumber = Run, Events = 3, EndSkewDatagrams = 4 }, (610, hostA), (611, hostB));

        var records = await DrainAsync(receiver);

        Assert.Equal(3, records.Count);
        var summary = receiver.Snapshot();
        Assert.Equal([611], summary.Unfinished);
        Assert.Contains(summary.Faults, f => f.Contains("sources 611 had not reached the end", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Events_over_UDP_loopback_arrive_in_order_and_the_receiver_ends_at_the_event_count()
    {
        const int events = 50;
        using var listen = UdpDatagramChannel.Listen(new IPEndPoint(IPAddress.Loopback, 0));
        using var sender = new UdpDatagramChannel(listen.LocalEndPoint);
        await using var receiver = Receiver(new DatagramReceiverOptions { RunNumber = Run, Events = events }, (610, listen));
        Assert.Equal(0, receiver.DiscardPending());
        for (uint e = 1; e <= events; e++)
            await SendAsync(sender, FragmentBytes(610, 2, e, payloadWords: 200));

        var records = await DrainAsync(receiver, recordsPerBatch: 16);

        // A bounded number of small datagrams on loopback: the kernel buffer (4 MiB asked) holds them all.
        Assert.Equal(Enumerable.Range(1, events).Select(e => (uint)e), records.Select(r => r.Meta.EventInSpill));
        Assert.All(records, r => Assert.Equal(FragmentBytes(610, 2, r.Meta.EventInSpill, payloadWords: 200), r.Bytes));
        Assert.Equal(0, receiver.Snapshot().Lost);
        Assert.StartsWith("udp:127.0.0.1:", listen.Address, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Lost_UDP_datagrams_show_as_event_number_gaps()
    {
        using var listen = UdpDatagramChannel.Listen(new IPEndPoint(IPAddress.Loopback, 0));
        using var sender = new UdpDatagramChannel(listen.LocalEndPoint);
        await using var receiver = Receiver(new DatagramReceiverOptions { RunNumber = Run, Events = 6 }, (610, listen));
        // Events 3, 4 and 7 never sent: what a full switch or socket buffer does to a UDP stream.
        foreach (uint e in new uint[] { 1, 2, 5, 6, 8, 9 })
            await SendAsync(sender, FragmentBytes(610, 1, e));

        var records = await DrainAsync(receiver);

        Assert.Equal([1u, 2, 5, 6, 8, 9], records.Select(r => r.Meta.EventInSpill));
        Assert.Equal(3, receiver.Snapshot().Lost);
    }

    [Fact]
    public void Bad_options_are_refused()
    {
        var (host, _) = Pair(610);
        Assert.Throws<ArgumentException>(() => new DatagramFragmentReceiver([], new DatagramReceiverOptions { RunNumber = 1 }));
        Assert.Throws<ArgumentException>(() => new DatagramFragmentReceiver([new(610, host), new(610, host)], new DatagramReceiverOptions { RunNumber = 1 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new DatagramFragmentReceiver([new(610, host)], new DatagramReceiverOptions { RunNumber = 1, Events = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new DatagramFragmentReceiver([new(610, host)], new DatagramReceiverOptions { RunNumber = 1, Spills = 0 }));
    }
}
