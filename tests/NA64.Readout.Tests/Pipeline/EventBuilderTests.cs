using FsCheck.Xunit;
using Microsoft.Extensions.Time.Testing;
using NA64.Readout.Pipeline;
using static NA64.Readout.Tests.Pipeline.PipelineTestKit;

namespace NA64.Readout.Tests.Pipeline;

public sealed class EventBuilderTests
{
    private static (EventBuilder Builder, ReadoutCounters Counters, EventBatchPool Pool) Create(
        int[] sources, MissingSourcePolicy policy = MissingSourcePolicy.SkipEvent, int timeoutEvents = 1_000_000, int maxOpen = 1_000_000)
    {
        var counters = new ReadoutCounters([]);
        var pool = new EventBatchPool(32, 4096);
        var options = new EventBuilderOptions { SourceIds = sources, MissingSourcePolicy = policy, TimeoutEvents = timeoutEvents, MaxOpenEvents = maxOpen };
        return (new EventBuilder(options, NewAssembler(), counters, pool), counters, pool);
    }

    private static List<(uint Spill, uint Event)> Feed(EventBuilder builder, IEnumerable<Fragment> fragments, int perBatch, bool finish = true)
    {
        var built = new List<(uint, uint)>();
        var batch = new EventBatch(perBatch, 4096);
        void Flush()
        {
            builder.Add(batch);
            batch.Clear();
            Take();
        }

        void Take()
        {
            while (builder.TryTakeReady(out var ready))
            {
                for (var i = 0; i < ready.Count; i++)
                {
                    built.Add((ready.GetMetadata(i).Spill, ready.GetMetadata(i).EventInSpill));
                }

                ready.Return();
            }
        }

        foreach (var f in fragments)
        {
            if (!batch.TryAdd(f.Metadata, f.Bytes))
            {
                Flush();
                Assert.True(batch.TryAdd(f.Metadata, f.Bytes));
            }
        }

        Flush();
        if (finish)
        {
            builder.Finish(DropReason.MissingSource);
            Take();
        }

        return built;
    }

    /// <summary>
    /// Any interleaving of the sources (each in trigger order), any batch size, any lost fragments: exactly
    /// the triggers every source delivered are built, in trigger order; everything else is counted.
    /// </summary>
    [Property(MaxTest = 200)]
    public bool AnyInterleaving_BuildsExactlyTheCompleteTriggers_InOrder(int seed)
    {
        var random = new Random(seed);
        int[] sources = [600, 601, 602];
        var perSource = sources.ToDictionary(s => s, _ => new Queue<Fragment>());
        var complete = new List<(uint, uint)>();
        var anyPresent = 0;
        for (uint spill = 1; spill <= 3; spill++)
        {
            var events = (uint)random.Next(0, 40);
            for (uint ev = 1; ev <= events; ev++)
            {
                var present = sources.Where(_ => random.Next(20) != 0).ToArray();   // ~5 % of fragments lost
                foreach (var s in present)
                {
                    perSource[s].Enqueue(Frag(s, spill, ev));
                }

                anyPresent += present.Length > 0 ? 1 : 0;
                if (present.Length == sources.Length)
                {
                    complete.Add((spill, ev));
                }
            }
        }

        var interleaved = new List<Fragment>();
        while (perSource.Values.Any(q => q.Count > 0))
        {
            var nonEmpty = perSource.Values.Where(q => q.Count > 0).ToArray();
            interleaved.Add(nonEmpty[random.Next(nonEmpty.Length)].Dequeue());
        }

        var (builder, counters, pool) = Create(sources);
        var built = Feed(builder, interleaved, perBatch: random.Next(1, 20));
        var summary = counters.Snapshot();
        return built.SequenceEqual(complete)
            && summary.EventsIn == anyPresent
            && summary.EventsBuilt == complete.Count
            && summary.GetDropped(DropReason.MissingSource) == anyPresent - complete.Count
            && summary.IsBalanced
            && pool.Outstanding == 0;
    }

    [Fact]
    public void ASourceThatMovedOnToTheNextSpill_ClosesTheOldSpillAtOnce()
    {
        var (builder, counters, _) = Create([1, 2]);
        // Source 2 never sends spill 1 event 3 and continues with spill 2: event 3 is given up without waiting.
        var built = Feed(builder, [Frag(1, 1, 1), Frag(2, 1, 1), Frag(1, 1, 2), Frag(2, 1, 2), Frag(1, 1, 3), Frag(2, 2, 1)], perBatch: 64, finish: false);

        Assert.Equal([(1u, 1u), (1u, 2u)], built);
        Assert.Equal(1, counters.GetDropped(DropReason.MissingSource));
        Assert.Equal(1, builder.OpenEvents);   // spill 2 event 1 waits for source 1
    }

    [Fact]
    public void MaxOpenEvents_BoundsTheWaitingEvents()
    {
        var (builder, counters, _) = Create([1, 2], maxOpen: 5);
        // Source 2 is dead; without a bound the builder would hold all 50 events.
        var built = Feed(builder, Enumerable.Range(1, 50).Select(e => Frag(1, 1, (uint)e)), perBatch: 64, finish: false);

        Assert.Empty(built);
        Assert.Equal(5, builder.OpenEvents);
        Assert.Equal(45, counters.GetDropped(DropReason.MissingSource));
    }

    [Fact]
    public void AnAssemblerThatRefuses_DropsTheEventAsAssemblyError()
    {
        var counters = new ReadoutCounters([]);
        var options = new EventBuilderOptions { SourceIds = [1] };
        using var builder = new EventBuilder(options,
            (in EventMetadata m, ReadOnlySpan<byte> _, ReadOnlySpan<SourceFragment> _, Span<byte> _) =>
                m.EventInSpill == 2 ? throw new ArgumentException("burst > 4095") : 0,
            counters, new EventBatchPool(8, 1024));

        Feed(builder, [Frag(1, 1, 1), Frag(1, 1, 2), Frag(1, 1, 3)], perBatch: 8);

        Assert.Equal(2, counters.EventsBuilt);
        Assert.Equal(1, counters.GetDropped(DropReason.AssemblyError));
    }

    [Fact]
    public void RatesBetweenSnapshots_UseTheInjectedClock()
    {
        var time = new FakeTimeProvider();
        var counters = new ReadoutCounters(["file"], time);
        var first = counters.Snapshot();
        counters.AddFragmentsIn(2000, 2_000_000);
        for (var i = 0; i < 1000; i++)
        {
            counters.AddEventIn();
            counters.AddBuilt(1000);
        }

        counters.AddDropped(DropReason.MissingSource);
        time.Advance(TimeSpan.FromSeconds(2));
        var second = counters.Snapshot();

        var rates = second.RatesSince(first);
        Assert.Equal(500.0, rates.EventsInPerSecond);
        Assert.Equal(500.0, rates.EventsBuiltPerSecond);
        Assert.Equal(1.0, rates.MegabytesInPerSecond);
        Assert.Equal(0.5, rates.DroppedPerSecond);
        Assert.Equal(TimeSpan.FromSeconds(2), second.Elapsed);
        Assert.Equal(500.0, second.EventsPerSecond);
    }
}
