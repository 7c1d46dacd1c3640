using System.Globalization;
using System.Text;
using NA64.Hardware.Digitizers.Apv.Format;
using NA64.Readout.Processing.Apv;
using NA64.Readout.Trackers;
using NA64.Simulators.Trackers;
using Xunit.Abstractions;

namespace NA64.Readout.Tests.Trackers;

/// <summary>
/// Issue 9 acceptance, end to end: the tracker simulator (NA64 multiplexing map, nominal noise 2-5 ADC, common mode
/// σ 4 ADC, pile-up 0.2 tracks per event) on the calorimeters' events → APV-ADC blocks → bytes → decoder →
/// <see cref="TrackerReconstruction"/> → per-plane statistics against the simulator's truth. Efficiency counts the
/// events whose beam track left a cluster (the chamber's own 98-99 % efficiency is the simulator's, not the
/// reconstruction's); ghosts are every other cluster, pile-up tracks included.
/// </summary>
public class TrackerEndToEndTests(ITestOutputHelper output)
{
    private const int Seed = 20261203;
    private const int Events = 1500;
    private const int PedestalEvents = 400;
    private const double MinEfficiency = 0.97;
    private const double MaxResolutionUm = 100;

    public static TheoryData<string, bool, ApvSparseVariant> Paths => new()
    {
        { "sparse GEM/Si", false, ApvSparseVariant.GemSi },
        { "sparse GEM/Si ADC v2", true, ApvSparseVariant.GemSi },
        { "sparse two-slope", false, ApvSparseVariant.TwoSlope },
    };

    [Theory]
    [MemberData(nameof(Paths))]
    public void Sparse_path_meets_the_efficiency_and_resolution_targets_on_every_plane(string name, bool adcVersion2, ApvSparseVariant variant)
    {
        var chain = new TrackerChain(Seed);
        var pedestals = chain.PedestalRun(TrackerChain.Events(PedestalEvents, Seed + 1));
        chain.Simulator.DownloadTrueTables();
        var reconstruction = new TrackerReconstruction(chain.Layout, pedestals);
        var stats = Run(chain, reconstruction, TrackerChain.SparseFormat(adcVersion2), variant);
        Assert.Equal(Events * 16L, reconstruction.Totals.SparseChips);
        Check(name, stats, reconstruction);
    }

    [Fact]
    public void Latch_all_path_meets_the_efficiency_and_resolution_targets_on_every_plane()
    {
        var chain = new TrackerChain(Seed);
        var pedestals = chain.PedestalRun(TrackerChain.Events(PedestalEvents, Seed + 1));
        var reconstruction = new TrackerReconstruction(chain.Layout, pedestals);
        var stats = Run(chain, reconstruction, ApvFormatFlags.TripleFrame, ApvSparseVariant.GemSi);
        Assert.Equal(Events * 16L, reconstruction.Totals.LatchAllChips);
        Check("latch-all", stats, reconstruction);
    }

    private static PlaneStatistics[] Run(TrackerChain chain, TrackerReconstruction reconstruction, ApvFormatFlags format, ApvSparseVariant variant)
    {
        var stats = Enumerable.Range(0, reconstruction.PlaneCount).Select(p => new PlaneStatistics(reconstruction.PlaneName(p))).ToArray();
        var options = chain.DecoderOptions(variant);
        foreach (var truth in TrackerChain.Events(Events, Seed))
        {
            var ev = chain.Simulator.Simulate(truth);
            chain.Decode(chain.Write(ev, format, variant), options);
            Assert.Empty(chain.Data.Problems);
            reconstruction.Process(chain.Data, TrackerChain.Source);
            // The simulator's planes and the layout's are both in detector order, X then Y.
            for (int p = 0; p < reconstruction.PlaneCount; p++)
                stats[p].Add(TrackerChain.Truth(ev.Planes[p], reconstruction.Geometry(p)), reconstruction.Clusters(p));
        }
        return stats;
    }

    private void Check(string path, PlaneStatistics[] stats, TrackerReconstruction reconstruction)
    {
        var inv = CultureInfo.InvariantCulture;
        var table = new StringBuilder();
        table.AppendLine(string.Create(inv, $"{path}: {Events} events, seed {Seed}, targets efficiency >= {MinEfficiency:P0}, core resolution < {MaxResolutionUm} um"));
        table.AppendLine("plane   efficiency   core um   RMS um   mean um   ghosts/event");
        foreach (var s in stats)
            table.AppendLine(string.Create(inv, $"{s.Plane,-6} {100 * s.Efficiency,9:F2} % {s.CoreSigmaUm,9:F1} {s.RmsUm,8:F1} {s.MeanUm,9:F1} {s.GhostRate,12:F3}"));
        var t = reconstruction.Totals;
        table.Append(string.Create(inv, $"chips: {t.SparseChips} sparse, {t.LatchAllChips} latch-all, issues {t.ChipIssues}, CM fallbacks {t.CommonModeFallbacks}, channel hits {t.ChannelHits / (double)t.Events:F1}/event, clusters {t.Clusters / (double)t.Events:F1}/event"));
        output.WriteLine(table.ToString());

        Assert.Equal(0, t.ChipIssues);
        Assert.Equal(20, stats.Length);
        foreach (var s in stats)
        {
            Assert.True(s.EventsWithTruth > Events * 0.9, string.Create(inv, $"{path} {s.Plane}: only {s.EventsWithTruth} events with a true hit"));
            Assert.True(s.Efficiency >= MinEfficiency, string.Create(inv, $"{path} {s.Plane}: efficiency {s.Efficiency:P2} < {MinEfficiency:P0}"));
            Assert.True(s.CoreSigmaUm < MaxResolutionUm, string.Create(inv, $"{path} {s.Plane}: core resolution {s.CoreSigmaUm:F1} um >= {MaxResolutionUm} um"));
        }
    }
}
