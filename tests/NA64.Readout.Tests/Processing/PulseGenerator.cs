namespace NA64.Readout.Tests.Processing;

/// <summary>
/// Test-side MSADC waveform source: the analytic pulse of na64-setup.md 7.2
/// (0.8·g₂(t; 24 ns) + 0.2·g₁(t; 100 ns), unit peak) on a Gaussian pedestal with even/odd offsets.
/// </summary>
internal sealed class PulseGenerator
{
    private static readonly double PeakValue = FindPeak().Value;

    public PulseGenerator(int seed) => Random = new Random(seed);

    public Random Random { get; }

    /// <summary>Time after onset at which the unit-peak shape is maximal (≈ 50 ns).</summary>
    public static double PeakTimeNs { get; } = FindPeak().Time;

    /// <summary>Unit-peak pulse shape at time t after onset (0 before).</summary>
    public static double Shape(double tNs)
    {
        if (tNs <= 0) return 0;
        return (0.8 * G(tNs, 24, 2) + 0.2 * G(tNs, 100, 1)) / PeakValue;
    }

    private static double G(double t, double tau, int n) => Math.Pow(t / (n * tau), n) * Math.Exp(n - t / tau);

    private static (double Time, double Value) FindPeak()
    {
        double best = 0, bestT = 0;
        for (double t = 0; t < 400; t += 0.001)
        {
            double v = 0.8 * G(t, 24, 2) + 0.2 * G(t, 100, 1);
            if (v > best) { best = v; bestT = t; }
        }
        return (bestT, best);
    }

    /// <summary>First time (ns after onset) where the shape reaches half its peak on the rising edge.</summary>
    public static double HalfRiseTimeNs()
    {
        double lo = 0, hi = PeakTimeNs;
        for (int i = 0; i < 100; i++)
        {
            double mid = 0.5 * (lo + hi);
            if (Shape(mid) < 0.5) lo = mid; else hi = mid;
        }
        return lo;
    }

    public double Gaussian()
    {
        double u1 = 1.0 - Random.NextDouble();
        double u2 = Random.NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
    }

    /// <summary>Fills one channel: pedestal (even/odd) + noise + optional pulse, rounded and clamped to 0..4095.</summary>
    public void Channel(Span<short> destination, double pedestalEven, double pedestalOdd, double sigma,
        double amplitude = 0, double onsetNs = 0, double periodNs = 12.5)
    {
        for (int k = 0; k < destination.Length; k++)
        {
            double v = ((k & 1) == 0 ? pedestalEven : pedestalOdd) + sigma * Gaussian();
            if (amplitude != 0) v += amplitude * Shape(k * periodNs - onsetNs);
            destination[k] = (short)Math.Clamp(Math.Round(v, MidpointRounding.AwayFromZero), 0, 4095);
        }
    }
}
