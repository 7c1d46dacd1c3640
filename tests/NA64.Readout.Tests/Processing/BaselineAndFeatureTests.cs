using NA64.Readout.Processing;

namespace NA64.Readout.Tests.Processing;

public class BaselineAndFeatureTests
{
    [Fact]
    public void Quiet_window_gives_the_even_and_odd_means()
    {
        short[] s = [100, 110, 102, 112, 98, 108, 100, 110, 900, 950];
        var b = new BaselineEstimator().Estimate(s, double.NaN, double.NaN);
        Assert.Equal(new EventBaseline(100, 110, false), b);
    }

    [Fact]
    public void Spread_above_20_flags_pile_up_and_falls_back_to_the_table()
    {
        short[] s = [100, 110, 102, 112, 125, 108, 100, 110, 900, 950];
        var estimator = new BaselineEstimator();
        Assert.Equal(new EventBaseline(101.5, 109.75, true), estimator.Estimate(s, 101.5, 109.75));
        Assert.Equal(new EventBaseline(100, 108, true), estimator.Estimate(s, double.NaN, double.NaN));
        var minimum = new BaselineEstimator(new BaselineOptions { Fallback = PileUpFallback.WindowMinimum });
        Assert.Equal(new EventBaseline(100, 108, true), minimum.Estimate(s, 101.5, 109.75));
    }

    [Fact]
    public void Spread_of_exactly_20_is_not_pile_up_and_the_even_odd_offset_never_is()
    {
        short[] s = [100, 150, 120, 150, 100, 150, 100, 150];
        Assert.False(new BaselineEstimator().Estimate(s, 0, 0).PileUp);
        Assert.True(new BaselineEstimator(new BaselineOptions { PileUpSpread = 19 }).Estimate(s, 0, 0).PileUp);
        Assert.Throws<ArgumentException>(() => new BaselineEstimator().Estimate(s.AsSpan(0, 7), 0, 0));
    }

    [Theory]
    [InlineData(80.0, 1000.0)]
    [InlineData(86.25, 2500.0)]
    [InlineData(91.0, 300.0)]
    public void Features_of_an_analytic_pulse(double onsetNs, double amplitude)
    {
        const double period = 12.5;
        var s = new short[32];
        for (int k = 0; k < s.Length; k++)
            s[k] = (short)Math.Round(amplitude * PulseGenerator.Shape(k * period - onsetNs));

        var f = new FeatureExtractor().Extract(3, s);

        double peakTime = onsetNs + PulseGenerator.PeakTimeNs;
        Assert.InRange(f.PeakSample, (int)Math.Floor(peakTime / period), (int)Math.Ceiling(peakTime / period));
        // The sample grid misses the true peak by at most half a period: within 3 % for a 96 ns FWHM pulse.
        Assert.InRange(f.Amplitude, 0.97 * amplitude, amplitude + 0.5);
        // The half-height time is taken at half the *sampled* amplitude; linear interpolation on a 30 ns rise.
        double expected = onsetNs + PulseGenerator.HalfRiseTimeNs();
        Assert.InRange(f.HalfHeightTimeNs, expected - 2.0, expected + 2.0);
        Assert.Equal(f.Amplitude, f.Energy);
        double integral = s.Sum(x => (double)Math.Max((short)0, x));
        Assert.Equal(integral, f.Integral);
    }

    [Fact]
    public void Energy_uses_the_channel_calibration_and_sums_by_calorimeter()
    {
        var s = new short[25];
        s[12] = 10; s[13] = 40; s[14] = 100; s[15] = 60; s[3] = -7;
        var extractor = new FeatureExtractor(new FeatureOptions { EnergyFrom = EnergyQuantity.Integral }, [0.5, 2.0, 1.0]);
        var a = extractor.Extract(0, s);
        var b = extractor.Extract(1, s, flags: ZsChannelFlags.Saturated);
        var c = extractor.Extract(2, s);
        Assert.Equal(210, a.Integral); // the negative sample is clipped to 0
        Assert.Equal(105, a.Energy);
        Assert.Equal(420, b.Energy);
        Assert.Equal(ZsChannelFlags.Saturated, b.Flags);
        Assert.Equal(100, a.Amplitude);
        Assert.Equal(14, a.PeakSample);
        Assert.Equal((13 + (50.0 - 40) / (100 - 40)) * 12.5, a.HalfHeightTimeNs, 9);

        var sums = FeatureExtractor.SumEnergies([a, b, c], [CalorimeterKind.Ecal, CalorimeterKind.Hcal, CalorimeterKind.None]);
        Assert.Equal(new CalorimeterSums(105, 420), sums);
        Assert.Throws<ArgumentOutOfRangeException>(() => extractor.Extract(3, s));
        Assert.Throws<ArgumentOutOfRangeException>(() => FeatureExtractor.SumEnergies([c], [CalorimeterKind.Ecal]));
    }

    [Fact]
    public void Peak_search_starts_at_the_configured_sample_and_residual_baseline_is_subtracted()
    {
        var s = new short[32];
        s[4] = 500;            // before sample 10: ignored by the peak search
        s[19] = 30; s[20] = 80; s[21] = 60;
        var f = new FeatureExtractor().Extract(0, s, baselineEven: 10, baselineOdd: 0);
        Assert.Equal(20, f.PeakSample);
        Assert.Equal(70, f.Amplitude);
        Assert.Equal((19 + (35.0 - 30) / (70 - 30)) * 12.5, f.HalfHeightTimeNs, 9);
        var late = new FeatureExtractor(new FeatureOptions { PeakSearchStart = 2, SamplePeriodNs = 12.86 }).Extract(0, s);
        Assert.Equal(4, late.PeakSample);
        Assert.Equal((3 + 0.5) * 12.86, late.HalfHeightTimeNs, 9);
    }

    [Fact]
    public void Features_of_every_kept_channel_of_a_suppressed_block()
    {
        const int channels = 4, s = 32;
        var gen = new PulseGenerator(3);
        var data = new short[channels * s];
        for (int c = 0; c < channels; c++)
            gen.Channel(data.AsSpan(c * s, s), 200, 204, 0, c == 2 ? 1000 : 0, 100);
        var table = new SuppressionTable(Enumerable.Repeat((short)200, channels).ToArray(),
            Enumerable.Repeat((short)204, channels).ToArray(), Enumerable.Repeat((short)10, channels).ToArray());
        var output = new short[ZsOutput.MaxLength(channels, s)];
        var result = new ZeroSuppressor(table).Suppress(new MsadcBlock(data, s), output);

        var features = new ChannelFeatures[channels];
        int n = new FeatureExtractor().ExtractAll(new ZsOutputReader(output.AsSpan(0, result.Written)), features);

        Assert.Equal(1, n);
        Assert.Equal(2, features[0].Channel);
        Assert.InRange(features[0].Amplitude, 970, 1000.5);
    }
}
