using NA64.Hardware.Digitizers.Apv.Format;
using NA64.Hardware.Trackers.Micromegas;
using NA64.Readout.Processing.Apv;
using NA64.Readout.Trackers;
using NA64.Simulators.Trackers;

namespace NA64.Readout.Tests.Trackers;

public class TrackerReconstructionTests
{
    private const int Seed = 77;
    private const int Source = TrackerChain.Source;

    private static (TrackerChain Chain, ApvPedestalTable Pedestals) Setup()
    {
        var chain = new TrackerChain(Seed);
        var pedestals = chain.PedestalRun(TrackerChain.Events(200, Seed + 1));
        chain.Simulator.DownloadTrueTables();
        return (chain, pedestals);
    }

    private static void WriteAndDecode(TrackerChain chain, TrackerEvent ev, ApvFormatFlags format) =>
        chain.Decode(chain.Write(ev, format, ApvSparseVariant.GemSi), chain.DecoderOptions(ApvSparseVariant.GemSi));

    [Fact]
    public void Planes_follow_the_layout_and_sigma_comes_from_the_pedestal_table_or_the_nominal_value()
    {
        var (chain, pedestals) = Setup();
        var nominal = new TrackerReconstruction(chain.Layout, null, new TrackerReconstructionOptions { NominalSigmaAdc = 4.5 });
        Assert.Equal(20, nominal.PlaneCount);
        Assert.Equal("MM1X", nominal.PlaneName(0));
        Assert.Equal("GM2Y", nominal.PlaneName(19));
        Assert.Equal(3, nominal.PlaneIndex("MM2Y"));
        Assert.Equal(-1, nominal.PlaneIndex("MM9X"));
        Assert.Equal(8, nominal.ChipIndex(Source, 2, 0));
        Assert.Equal(-1, nominal.ChipIndex(Source, 9, 0));
        Assert.Equal(320, nominal.Geometry(0).StripCount);
        Assert.Equal(0.4, nominal.Geometry(16).PitchMm);

        // A micromegas with no beam-track charge: only noise passes 2 sigma; with a pedestal table the finder sees the
        // measured sigma (2-5 ADC), so every kept channel is above 2 x its own sigma.
        var measured = new TrackerReconstruction(chain.Layout, pedestals);
        Assert.Throws<ArgumentException>(() => new TrackerReconstruction(chain.Layout,
            new ApvPedestalTable(pedestals.Channels.Take(128))));
        var ev = chain.Simulator.Simulate(TrackerChain.Events(1, Seed)[0]);
        WriteAndDecode(chain, ev, TrackerChain.SparseFormat(false));
        measured.Process(chain.Data, Source);
        nominal.Process(chain.Data, Source);
        Assert.Equal(measured.LastEvent.ChannelHits, nominal.LastEvent.ChannelHits);
        Assert.Equal(16, measured.LastEvent.SparseChips);
        Assert.Equal(0, measured.LastEvent.ChipIssues);
    }

    [Fact]
    public void Unknown_missing_and_dataless_chips_are_counted_with_their_location_and_the_rest_is_reconstructed()
    {
        var (chain, pedestals) = Setup();
        // The layout without MM8 (ADC 1 chip 3): its APV in the data is unknown.
        var layout = new TrackerLayout([.. chain.Layout.Detectors.Where(d => d.Name != "MM8")], MultiplexingMap.Na64);
        var reduced = new ApvPedestalTable(Enumerable.Range(0, 16).Where(i => i != 7)
            .SelectMany(i => Enumerable.Range(0, 128).Select(c => pedestals[i, c])));
        var reconstruction = new TrackerReconstruction(layout, reduced);
        chain.Simulator.SetApvDead(chain.Simulator.ApvIndex("MM2"), true);
        chain.Simulator.SetDataSkipped(3, true);
        var events = TrackerChain.Events(20, Seed);
        var good = new PlaneStatistics("MM1X");
        foreach (var truth in events)
        {
            var ev = chain.Simulator.Simulate(truth);
            WriteAndDecode(chain, ev, ApvFormatFlags.TripleFrame);
            reconstruction.Process(chain.Data, Source);
            good.Add(TrackerChain.Truth(ev.Planes[0], reconstruction.Geometry(0)), reconstruction.Clusters(0));
        }

        var last = reconstruction.LastEvent;
        Assert.Equal(1, last.UnknownChips);
        Assert.Equal(1, last.MissingChips);
        Assert.Equal(4, last.NoDataChips);
        Assert.Equal(15 - 1 - 4, last.LatchAllChips);
        var issues = reconstruction.LastEventIssues.ToArray();
        Assert.Contains(issues, i => i is { Kind: TrackerChipIssueKind.Unknown, SourceId: Source, AdcId: 1, ChipId: 3 } && i.WordOffset > 0);
        Assert.Contains(issues, i => i is { Kind: TrackerChipIssueKind.Missing, AdcId: 0, ChipId: 1, WordOffset: -1 });
        Assert.Equal(4, issues.Count(i => i is { Kind: TrackerChipIssueKind.NoData, AdcId: 3 }));
        Assert.Equal(0, reconstruction.Clusters(reconstruction.PlaneIndex("MM2X")).Length);
        Assert.Equal(0, reconstruction.Clusters(reconstruction.PlaneIndex("GM2Y")).Length);
        Assert.Equal(20 * 6, reconstruction.Totals.ChipIssues);
        Assert.Equal(20, reconstruction.Totals.Events);
        // MM1 is untouched by the faults around it.
        Assert.True(good.Efficiency >= 0.9, $"MM1X efficiency {good.Efficiency}");
    }

    [Fact]
    public void Latch_all_without_pedestals_and_chips_of_another_source_are_counted_not_processed()
    {
        var (chain, _) = Setup();
        var reconstruction = new TrackerReconstruction(chain.Layout, null, new TrackerReconstructionOptions { MaxIssuesPerEvent = 3 });
        var ev = chain.Simulator.Simulate(TrackerChain.Events(1, Seed)[0]);
        WriteAndDecode(chain, ev, ApvFormatFlags.TripleFrame);
        reconstruction.Process(chain.Data, Source);
        Assert.Equal(16, reconstruction.LastEvent.LatchAllWithoutPedestals);
        Assert.Equal(0, reconstruction.LastEvent.ChannelHits);
        Assert.Equal(3, reconstruction.LastEventIssues.Length); // remembered up to the limit, all counted

        reconstruction.Process(chain.Data, Source + 1);
        Assert.Equal(16, reconstruction.LastEvent.UnknownChips);
        Assert.Equal(0, reconstruction.LastEvent.MissingChips); // the layout has no chip on that source
        Assert.Throws<ArgumentOutOfRangeException>(() => new TrackerReconstruction(chain.Layout, null,
            new TrackerReconstructionOptions { NominalSigmaAdc = 0 }));
    }

    [Fact]
    public void A_steady_stream_of_events_is_reconstructed_without_allocating()
    {
        var (chain, pedestals) = Setup();
        var reconstruction = new TrackerReconstruction(chain.Layout, pedestals);
        var events = TrackerChain.Events(8, Seed);
        var options = chain.DecoderOptions(ApvSparseVariant.GemSi);
        var decoded = new List<ApvEventData>();
        foreach (var (truth, i) in events.Select((t, i) => (t, i)))
        {
            var data = new ApvEventData();
            var format = i % 2 == 0 ? ApvFormatFlags.TripleFrame : TrackerChain.SparseFormat(false);
            ApvDecoder.Decode(chain.Write(chain.Simulator.Simulate(truth), format, ApvSparseVariant.GemSi), data, options);
            decoded.Add(data);
        }
        foreach (var d in decoded) reconstruction.Process(d, Source); // warm-up
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int round = 0; round < 10; round++)
            foreach (var d in decoded) reconstruction.Process(d, Source);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(0, allocated);
        Assert.True(reconstruction.Totals.Clusters > 0);
        Assert.Equal(0, reconstruction.Totals.ChipIssues);
    }
}
