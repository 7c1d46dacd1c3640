using NA64.Readout.Processing.Apv;

namespace NA64.Readout.Tests.Processing.Apv;

/// <summary>
/// Test-side APV latch-all events: per channel a pedestal and a Gaussian noise σ, per event and frame a common mode
/// added to every channel of an APV, optional hits (a0, a1, a2 in counts) on chosen channels; rounded to whole counts
/// and clamped to 0..1023 like the 10-bit ADC.
/// </summary>
internal sealed class ApvFrameGenerator
{
    public ApvFrameGenerator(int seed) => Random = new Random(seed);

    public Random Random { get; }

    public double Gauss() => Math.Sqrt(-2.0 * Math.Log(1.0 - Random.NextDouble())) * Math.Cos(2.0 * Math.PI * Random.NextDouble());

    /// <summary>Fills one APV's 3 × 128 samples.</summary>
    public void Apv(Span<short> apv, Func<int, (double Pedestal, double Sigma)> channel, ReadOnlySpan<double> commonMode,
        IReadOnlyDictionary<int, (double A0, double A1, double A2)>? hits = null)
    {
        for (int f = 0; f < ApvLayout.Frames; f++)
        {
            for (int c = 0; c < ApvLayout.ChannelsPerApv; c++)
            {
                var (ped, sigma) = channel(c);
                double v = ped + commonMode[f] + sigma * Gauss();
                if (hits is not null && hits.TryGetValue(c, out var h))
                    v += f == 0 ? h.A0 : f == 1 ? h.A1 : h.A2;
                apv[f * ApvLayout.ChannelsPerApv + c] = (short)Math.Clamp(Math.Round(v), 0, ApvLayout.MaxAmplitude);
            }
        }
    }
}
