using NA64.Hardware.Trackers.Micromegas;
using NA64.Readout.Trackers;

namespace NA64.Readout.Tests.Trackers;

/// <summary>
/// Synthetic tracker events (na64-setup §8.1 cluster model): a Gaussian charge cloud over strips, integrated over each
/// strip's width, multiplexed onto channels by the map, optional Gaussian noise per channel and frame, then zero
/// suppression at k σ on the largest frame. Frames follow a pulse with a1 the largest (latency tuned, §8.1).
/// </summary>
internal static class SyntheticPlane
{
    public static readonly float[] FrameShape = [0.5f, 1.0f, 0.75f];

    public static double[] Cloud(int strips, double centreStrip, double sigmaStrips, double charge, double[]? into = null)
    {
        var q = into ?? new double[strips];
        for (int s = 0; s < strips; s++)
            q[s] += charge * (Phi((s + 0.5 - centreStrip) / sigmaStrips) - Phi((s - 0.5 - centreStrip) / sigmaStrips));
        return q;
    }

    /// <summary>Channel amplitudes of a micromegas plane: each channel measures the sum of its strips.</summary>
    public static double[] Multiplex(MultiplexingMap map, double[] stripCharge)
    {
        var c = new double[map.ChannelCount];
        for (int s = 0; s < stripCharge.Length; s++) c[map.ChannelOfStrip(s)] += stripCharge[s];
        return c;
    }

    /// <summary>Frames = shape × amplitude + N(0, σ) per frame; a channel passes when its largest frame ≥ k·σ.</summary>
    public static TrackerChannelHit[] ZeroSuppress(double[] channelAmplitude, float sigma, double thresholdSigmas, Random? noise)
    {
        var hits = new List<TrackerChannelHit>();
        for (int c = 0; c < channelAmplitude.Length; c++)
        {
            var f = new float[3];
            for (int k = 0; k < 3; k++)
                f[k] = (float)(FrameShape[k] * channelAmplitude[c] + (noise is null ? 0 : sigma * Gauss(noise)));
            if (Math.Max(f[0], Math.Max(f[1], f[2])) >= thresholdSigmas * sigma)
                hits.Add(new TrackerChannelHit(c, f[0], f[1], f[2]));
        }
        return hits.ToArray();
    }

    public static float[] Sigmas(int channels, float sigma) => Enumerable.Repeat(sigma, channels).ToArray();

    public static double Gauss(Random r) =>
        Math.Sqrt(-2 * Math.Log(1 - r.NextDouble())) * Math.Cos(2 * Math.PI * r.NextDouble());

    private static double Phi(double x) => 0.5 * (1 + Erf(x / Math.Sqrt(2)));

    // Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7): plenty for ADC-count charges.
    private static double Erf(double x)
    {
        double sign = Math.Sign(x);
        x = Math.Abs(x);
        double t = 1 / (1 + 0.3275911 * x);
        double y = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.Exp(-x * x);
        return sign * y;
    }
}
