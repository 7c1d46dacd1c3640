using NA64.Readout.Trackers;

namespace NA64.Readout.Tests.Trackers;

public class PlaneStatisticsTests
{
    private static TrackerCluster At(double mm) => new(0, 2, 100, 0, mm, 1, 0.5, 0.75, 5, ClusterFlags.None);

    [Fact]
    public void Efficiency_residuals_ghosts_and_summary_line()
    {
        var stats = new PlaneStatistics("MM1X", windowMm: 1.0);
        stats.Add(10.0, [At(10.05)]);               // matched, +50 um
        stats.Add(-3.0, [At(-3.05), At(7)]);        // matched, -50 um, one ghost
        stats.Add(0.0, [At(1.5)]);                  // outside the window: inefficient, one ghost
        stats.Add(null, [At(2)]);                   // no track: its cluster is a ghost
        stats.Add(5.0, []);                         // inefficient

        Assert.Equal(5, stats.Events);
        Assert.Equal(4, stats.EventsWithTruth);
        Assert.Equal(2, stats.Matched);
        Assert.Equal(3, stats.Ghosts);
        Assert.Equal(0.5, stats.Efficiency, 12);
        Assert.Equal(0.6, stats.GhostRate, 12);
        Assert.Equal(50, stats.RmsUm, 6);
        Assert.Equal(0, stats.MeanUm, 6);
        Assert.Equal("MM1X: 5 events, efficiency 50.0 % (2/4), resolution 52 um core, 50 um RMS, mean 0 um, ghosts 0.600/event, window 1.00 mm",
            stats.Summary());
    }

    [Fact]
    public void The_nearest_cluster_in_the_window_is_the_match()
    {
        var stats = new PlaneStatistics("MM1X", 1.0);
        stats.Add(0, [At(0.4), At(-0.1), At(0.9)]);
        Assert.Equal(-100, Assert.Single(stats.ResidualsUm), 6);
        Assert.Equal(2, stats.Ghosts);
    }

    [Fact]
    public void Core_sigma_ignores_tails_that_inflate_the_rms()
    {
        var stats = new PlaneStatistics("MM5Y", windowMm: 5);
        var rng = new Random(7);
        for (int i = 0; i < 20000; i++)
        {
            double r = i % 20 == 0 ? (rng.NextDouble() < 0.5 ? -1 : 1) * (1 + 3 * rng.NextDouble()) : 0.05 * SyntheticPlane.Gauss(rng);
            stats.Add(0, [At(r)]);
        }
        Assert.InRange(stats.CoreSigmaUm, 48, 52);
        Assert.True(stats.RmsUm > 300);
    }

    [Fact]
    public void Window_from_sigmas_and_refusals()
    {
        Assert.Equal(0.35, PlaneStatistics.WindowFromSigmas(5, 70), 12);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new PlaneStatistics("MM1X", 0));
        Assert.Contains("windowMm must be a finite number > 0", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => PlaneStatistics.WindowFromSigmas(5, double.NaN));
        var s = new PlaneStatistics("MM1X");
        Assert.Throws<ArgumentOutOfRangeException>(() => s.Add(double.NaN, []));
        Assert.True(double.IsNaN(s.Efficiency));
    }
}
