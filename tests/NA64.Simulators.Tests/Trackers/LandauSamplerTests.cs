using NA64.Simulators.Trackers;

namespace NA64.Simulators.Tests.Trackers;

public class LandauSamplerTests
{
    // Reference values from numeric integration of p(x) = (1/π) ∫ exp(−t ln t − x t) sin(π t) dt (Simpson, step 0.002):
    // mode −0.222 with density 0.18066; CDF(0) = 0.28675, CDF(1) = 0.45093, CDF(3) = 0.66412, CDF(10) = 0.88285.
    [Fact]
    public void Standard_deviates_follow_the_landau_density()
    {
        var random = new Random(1234);
        const int n = 400_000;
        var x = new double[n];
        for (int i = 0; i < n; i++)
            x[i] = LandauSampler.Standard(1 - random.NextDouble(), 1 - random.NextDouble());

        Assert.InRange(x.Count(v => v < 0) / (double)n, 0.2867 - 0.004, 0.2867 + 0.004);
        Assert.InRange(x.Count(v => v < 1) / (double)n, 0.4509 - 0.004, 0.4509 + 0.004);
        Assert.InRange(x.Count(v => v < 3) / (double)n, 0.6641 - 0.004, 0.6641 + 0.004);
        Assert.InRange(x.Count(v => v > 10) / (double)n, 0.1171 - 0.003, 0.1171 + 0.003);
        // The left side falls off double-exponentially: p(−3) ≈ 7e-4, a few 1e-4 of the events below −3, none below −4.5.
        Assert.InRange(x.Count(v => v < -3), 1, 200);
        Assert.Equal(0, x.Count(v => v < -4.5));

        // Peak: density in a 0.1 wide bin around the mode ≈ 0.1807, and the most populated such bin holds the mode.
        double peak = x.Count(v => Math.Abs(v - LandauSampler.StandardMostProbable) < 0.05) / (double)n / 0.1;
        Assert.InRange(peak, 0.1807 - 0.006, 0.1807 + 0.006);
        int modeBin = x.Where(v => v is > -2 and < 2).GroupBy(v => (int)Math.Floor((v + 2) / 0.1)).MaxBy(g => g.Count())!.Key;
        Assert.InRange(-2 + 0.1 * modeBin + 0.05, -0.45, 0.05);
    }

    [Fact]
    public void Sample_moves_the_most_probable_value_and_scales_the_width()
    {
        // Same uniforms: the scaled deviate is the affine image of the standard one.
        double standard = LandauSampler.Standard(0.3, 0.6);
        double scaled = LandauSampler.Sample(1000, 20, 0.3, 0.6);
        Assert.Equal(1000 + 20 * (standard - LandauSampler.StandardMostProbable), scaled, 9);
    }
}
