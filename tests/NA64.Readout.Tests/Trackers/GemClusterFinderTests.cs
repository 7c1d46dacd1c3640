using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using NA64.Readout.Trackers;

namespace NA64.Readout.Tests.Trackers;

public class GemClusterFinderTests
{
    private const float Sigma = 6f;
    private static readonly float[] Sigmas = SyntheticPlane.Sigmas(256, Sigma);

    private static TrackerChannelHit[] Cloud(double centre, Random? noise = null) =>
        SyntheticPlane.ZeroSuppress(SyntheticPlane.Cloud(256, centre, 1.0, 900), Sigma, 3, noise);   // GEM: 3 σ (§8.2)

    private static TrackerChannelHit[] Strips(params (int Strip, float Amplitude)[] strips) =>
        strips.Select(s => new TrackerChannelHit(s.Strip, 0.5f * s.Amplitude, s.Amplitude, 0.75f * s.Amplitude)).ToArray();

    [Theory]
    [InlineData(30.0)]
    [InlineData(64.37)]
    [InlineData(200.9)]
    public void A_noise_free_cloud_is_found_at_its_position_within_25_um(double centre)
    {
        var geometry = PlaneGeometry.Gem(centerMm: -12.5);
        var finder = new GemClusterFinder(geometry);
        var c = Assert.Single(finder.Find(Cloud(centre), Sigmas).ToArray());
        // 3 σ cuts the tails unevenly when the cloud is off a strip centre: a few 10 µm at 400 µm pitch.
        Assert.InRange((c.PositionMm - geometry.PositionMm(centre)) * 1000, -25, 25);
        Assert.Equal(ClusterFlags.None, c.Flags);
    }

    [Fact]
    public void Neighbour_logic_never_crosses_the_128_channel_chip_boundary()
    {
        var hits = Strips((126, 100), (127, 300), (128, 300), (129, 100));
        var split = new GemClusterFinder(PlaneGeometry.Gem()).Find(hits, Sigmas).ToArray();
        Assert.Equal(2, split.Length);
        Assert.Equal((126, 2), (split[0].FirstStrip, split[0].StripCount));
        Assert.Equal((128, 2), (split[1].FirstStrip, split[1].StripCount));
        Assert.All(split, c => Assert.True(c.Has(ClusterFlags.AtChipBoundary)));

        var joined = new GemClusterFinder(PlaneGeometry.Gem(), new GemClusterOptions { ChipBoundaryStrips = 0 }).Find(hits, Sigmas).ToArray();
        var c = Assert.Single(joined);
        Assert.Equal(127.5, c.PositionStrip, 9);
        Assert.False(c.Has(ClusterFlags.AtChipBoundary));
    }

    [Fact]
    public void A_track_on_the_boundary_leaves_one_strip_per_chip_and_default_min_size_1_keeps_both()
    {
        var hits = Strips((127, 300), (128, 300));
        Assert.Equal(2, new GemClusterFinder(PlaneGeometry.Gem()).Find(hits, Sigmas).Length);
        Assert.Equal(0, new GemClusterFinder(PlaneGeometry.Gem(), new GemClusterOptions { MinStrips = 2 }).Find(hits, Sigmas).Length);
    }

    [Fact]
    public void A_single_strip_needs_the_seed_threshold_and_a_masked_strip_never_fires()
    {
        var finder = new GemClusterFinder(PlaneGeometry.Gem(), maskedStrips: [40]);
        Assert.Single(finder.Find(Strips((10, 5 * Sigma)), Sigmas).ToArray());
        Assert.Empty(finder.Find(Strips((10, 4.9f * Sigma)), Sigmas).ToArray());    // 3 σ ZS noise single, cut
        Assert.Empty(finder.Find(Strips((40, 500)), Sigmas).ToArray());
        Assert.Equal((1, 0), finder.LastEventDropped);
        var e = Assert.Throws<ArgumentException>(() => finder.Find([], new float[255]));
        Assert.Contains("stripSigma has 255 entries, the plane has 256 strips", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new GemClusterFinder(PlaneGeometry.Gem(), new GemClusterOptions { ChipBoundaryStrips = -1 }));
    }

    [Fact]
    public void With_noise_the_plane_is_efficient_and_resolves_well_under_100_um()
    {
        var geometry = PlaneGeometry.Gem();
        var finder = new GemClusterFinder(geometry);
        var stats = new PlaneStatistics("GEM1X", PlaneStatistics.WindowFromSigmas(5, 200));
        var rng = new Random(99);
        for (int e = 0; e < 300; e++)
        {
            double x = 3 + 250 * rng.NextDouble();
            stats.Add(geometry.PositionMm(x), finder.Find(Cloud(x, rng), Sigmas));
        }
        Assert.True(stats.Efficiency > 0.97, stats.Summary());
        Assert.True(stats.CoreSigmaUm < 40, stats.Summary());
        Assert.True(stats.GhostRate < 0.2, stats.Summary());
    }

    [Property(MaxTest = 300)]
    public Property Any_single_noiseless_hit_is_found_within_half_a_pitch()
    {
        var finder = new GemClusterFinder(PlaneGeometry.Gem(), new GemClusterOptions { ChipBoundaryStrips = 0 });
        return Prop.ForAll(Gen.Choose(1000, 254000).ToArbitrary(), milli =>
        {
            double x = milli / 1000.0;
            var clusters = finder.Find(Cloud(x), Sigmas);
            return clusters.Length == 1 && Math.Abs(clusters[0].PositionStrip - x) < 0.5;
        });
    }
}
