using NA64.Readout.Processing;
using NA64.Readout.Processing.Apv;

namespace NA64.Readout.Tests.Processing.Apv;

public class ApvCommonModeAndZsTests
{
    private const int N = ApvLayout.ChannelsPerApv;

    private static ApvProcessingTable Table(Func<int, double> pedestal, Func<int, double> sigma, double nSigma = 2, double kCm = 3,
        Func<int, bool>? usable = null, int apvs = 1)
    {
        int n = apvs * N;
        var ped = new short[n];
        var thr = new short[n];
        var cut = new short[n];
        var ok = new bool[n];
        for (int c = 0; c < n; c++)
        {
            ped[c] = (short)Math.Round(4 * pedestal(c));
            thr[c] = (short)Math.Ceiling(nSigma * 4 * sigma(c));
            cut[c] = (short)Math.Round(kCm * 4 * sigma(c));
            ok[c] = usable?.Invoke(c) ?? true;
            if (!ok[c]) thr[c] = ApvProcessingTable.Masked;
        }
        return new ApvProcessingTable(ped, thr, cut, ok);
    }

    private static double Ped(int c) => 200 + 1.7 * c;

    // The truncated mean's first pass cuts at pedestal + k_cm·σ, so it needs |CM| well inside k_cm·σ (σ_CM = σ here);
    // the median starts from all channels and takes a CM of ±30 counts (σ_CM = 12 counts).
    [Theory]
    [InlineData(CommonModeMethod.TruncatedMean, 2.5)]
    [InlineData(CommonModeMethod.IteratedMedian, 12.0)]
    public void Common_mode_is_found_within_its_statistical_error_despite_a_few_large_hits(CommonModeMethod method, double cmSigma)
    {
        const double sigma = 2.5;
        var gen = new ApvFrameGenerator(17);
        var table = Table(Ped, _ => sigma);
        var processor = new ApvProcessor(table, new ApvProcessingOptions { CommonMode = method });
        var data = new short[ApvLayout.SamplesPerApv];
        var hits = new ApvKeptChannel[processor.MaxHits];
        var chips = new ApvChipResult[1];
        double biasSum = 0, naiveBiasSum = 0;
        const int events = 300;
        // Statistical error of a mean of ~125 channels (a median: × 1.25), plus the quarter-count rounding.
        double tolerance = 4 * 1.25 * sigma / Math.Sqrt(120) + 0.125;
        for (int e = 0; e < events; e++)
        {
            double[] cm = [cmSigma * gen.Gauss(), cmSigma * gen.Gauss(), -2 + cmSigma * gen.Gauss()];
            var injected = new Dictionary<int, (double, double, double)>();
            for (int h = 0; h < 5; h++)
            {
                double a = 150 + 500 * gen.Random.NextDouble();
                injected[gen.Random.Next(N)] = (0.5 * a, a, 0.8 * a);
            }
            gen.Apv(data, c => (Ped(c), sigma), cm, injected);
            processor.Process(new ApvBlock(data), hits, chips);
            Assert.Equal(ApvCommonModeFlags.None, chips[0].Flags);
            for (int f = 0; f < 3; f++)
            {
                double found = chips[0].CommonMode(f) / 4.0;
                Assert.InRange(found - cm[f], -tolerance, tolerance);
                biasSum += found - cm[f];
                double naive = Enumerable.Range(0, N).Average(c => data[f * N + c] - Ped(c));
                naiveBiasSum += naive - cm[f];
            }
        }
        // Over 900 frames: no systematic pull by the hits, while a plain mean is pulled by ~5 × 0.75 × 400 / 128 counts.
        Assert.InRange(biasSum / (3 * events), -0.15, 0.15);
        Assert.True(naiveBiasSum / (3 * events) > 10, $"plain mean bias {naiveBiasSum / (3 * events)}");
    }

    [Fact]
    public void Too_few_channels_left_falls_back_to_the_last_good_common_mode_of_that_apv_and_frame()
    {
        const double sigma = 2.0;
        var gen = new ApvFrameGenerator(5);
        var table = Table(Ped, _ => sigma, apvs: 2);
        var processor = new ApvProcessor(table, new ApvProcessingOptions { MinChannels = 32 });
        var data = new short[2 * ApvLayout.SamplesPerApv];
        var hits = new ApvKeptChannel[processor.MaxHits];
        var chips = new ApvChipResult[2];

        // Event 1: too many hits on APV 1 before any good value: fallback to 0, flagged NoHistory.
        var flood = Enumerable.Range(0, 110).ToDictionary(c => c, _ => (300.0, 600.0, 400.0));
        gen.Apv(data.AsSpan(0, ApvLayout.SamplesPerApv), c => (Ped(c), sigma), [4, 5, 6]);
        gen.Apv(data.AsSpan(ApvLayout.SamplesPerApv), c => (Ped(N + c), sigma), [4, 5, 6], flood);
        processor.Process(new ApvBlock(data), hits, chips);
        Assert.Equal(ApvCommonModeFlags.None, chips[0].Flags);
        Assert.Equal(ApvCommonModeFlags.Frame0Fallback | ApvCommonModeFlags.Frame1Fallback | ApvCommonModeFlags.Frame2Fallback | ApvCommonModeFlags.NoHistory, chips[1].Flags);
        Assert.Equal((short)0, chips[1].CommonMode1);

        // Event 2: quiet, CM −4 / 2 / 3 counts: both APVs find it.
        gen.Apv(data.AsSpan(0, ApvLayout.SamplesPerApv), c => (Ped(c), sigma), [-4, 2, 3]);
        gen.Apv(data.AsSpan(ApvLayout.SamplesPerApv), c => (Ped(N + c), sigma), [-4, 2, 3]);
        processor.Process(new ApvBlock(data), hits, chips);
        Assert.Equal(ApvCommonModeFlags.None, chips[1].Flags);
        var good = new[] { chips[1].CommonMode0, chips[1].CommonMode1, chips[1].CommonMode2 };
        Assert.InRange(good[1] / 4.0, 1.5, 2.5);

        // Event 3: APV 1 flooded again with a different CM: it reuses event 2's values, APV 0 is unaffected.
        gen.Apv(data.AsSpan(0, ApvLayout.SamplesPerApv), c => (Ped(c), sigma), [-3, -3, -3]);
        gen.Apv(data.AsSpan(ApvLayout.SamplesPerApv), c => (Ped(N + c), sigma), [-3, -3, -3], flood);
        processor.Process(new ApvBlock(data), hits, chips);
        Assert.Equal(ApvCommonModeFlags.None, chips[0].Flags);
        Assert.Equal(ApvCommonModeFlags.Frame0Fallback | ApvCommonModeFlags.Frame1Fallback | ApvCommonModeFlags.Frame2Fallback, chips[1].Flags);
        Assert.Equal(good, new[] { chips[1].CommonMode0, chips[1].CommonMode1, chips[1].CommonMode2 });
        Assert.InRange(chips[0].CommonMode0 / 4.0, -4, -2);

        processor.ResetCommonModeHistory();
        processor.Process(new ApvBlock(data), hits, chips);
        Assert.True((chips[1].Flags & ApvCommonModeFlags.NoHistory) != 0);
    }

    [Theory]
    [InlineData(CommonModeMethod.TruncatedMean)]
    [InlineData(CommonModeMethod.IteratedMedian)]
    public void Masked_channels_below_the_minimum_force_the_fallback_every_event(CommonModeMethod method)
    {
        var table = Table(Ped, _ => 2, usable: c => c < 20);
        var processor = new ApvProcessor(table, new ApvProcessingOptions { CommonMode = method });
        var data = new short[ApvLayout.SamplesPerApv];
        new ApvFrameGenerator(1).Apv(data, c => (Ped(c), 2), [0, 0, 0]);
        var chips = new ApvChipResult[1];
        processor.Process(new ApvBlock(data), new ApvKeptChannel[processor.MaxHits], chips);
        Assert.True((chips[0].Flags & ApvCommonModeFlags.Frame0Fallback) != 0);
        // The same 20 channels are enough once the minimum allows them.
        new ApvProcessor(table, new ApvProcessingOptions { CommonMode = method, MinChannels = 20 }).Process(new ApvBlock(data), new ApvKeptChannel[N], chips);
        Assert.Equal(ApvCommonModeFlags.None, chips[0].Flags);
    }

    [Fact]
    public void Truncated_mean_falls_back_on_a_common_mode_far_above_k_cm_sigma_where_the_iterated_median_finds_it()
    {
        // CM = +8σ: no channel is below pedestal + 3σ in the first pass (documented limitation of the default).
        var data = new short[ApvLayout.SamplesPerApv];
        new ApvFrameGenerator(3).Apv(data, c => (Ped(c), 2), [16, 16, 16]);
        var table = Table(Ped, _ => 2);
        var chips = new ApvChipResult[1];
        new ApvProcessor(table).Process(new ApvBlock(data), new ApvKeptChannel[N], chips);
        Assert.Equal(ApvCommonModeFlags.Frame0Fallback | ApvCommonModeFlags.Frame1Fallback | ApvCommonModeFlags.Frame2Fallback | ApvCommonModeFlags.NoHistory, chips[0].Flags);
        new ApvProcessor(table, new ApvProcessingOptions { CommonMode = CommonModeMethod.IteratedMedian }).Process(new ApvBlock(data), new ApvKeptChannel[N], chips);
        Assert.Equal(ApvCommonModeFlags.None, chips[0].Flags);
        Assert.InRange(chips[0].CommonMode1 / 4.0, 15, 17);
    }

    [Fact]
    public void A_hit_is_kept_with_its_three_frames_after_pedestal_and_common_mode_subtraction()
    {
        // Noise-free: every channel at its pedestal + CM; channel 37 carries (40, 120, 90) counts as in data-formats 7.14.
        var data = new short[ApvLayout.SamplesPerApv];
        int[] cm = [5, -3, 8];
        for (int f = 0; f < 3; f++)
            for (int c = 0; c < N; c++)
                data[f * N + c] = (short)(200 + c + cm[f]);
        data[37] += 40;
        data[N + 37] += 120;
        data[2 * N + 37] += 90;
        foreach (var impl in new[] { ZsImplementation.Scalar, ZsImplementation.Vector256, ZsImplementation.Vector512 })
        {
            var processor = new ApvProcessor(Table(c => 200 + c, _ => 3), null, impl);
            var hits = new ApvKeptChannel[processor.MaxHits];
            var chips = new ApvChipResult[1];
            int n = processor.Process(new ApvBlock(data), hits, chips);
            Assert.Equal(1, n);
            Assert.Equal(new ApvKeptChannel(37, 160, 480, 360), hits[0]);
            Assert.Equal(120.0, hits[0].MaxAmplitude);
            Assert.Equal(new ApvChipResult(0, 1, 20, -12, 32, ApvCommonModeFlags.None), chips[0]);
        }
    }

    [Fact]
    public void A1_alone_ignores_a_signal_in_the_outer_frames_only_and_max_of_frames_keeps_it()
    {
        var data = new short[ApvLayout.SamplesPerApv];
        for (int i = 0; i < data.Length; i++) data[i] = 300;
        data[2 * N + 90] = 400; // a2 of channel 90: a late signal
        var table = Table(_ => 300, _ => 3);
        var hits = new ApvKeptChannel[N];
        var chips = new ApvChipResult[1];
        Assert.Equal(1, new ApvProcessor(table).Process(new ApvBlock(data), hits, chips));
        Assert.Equal(90, hits[0].Channel);
        Assert.Equal(0, new ApvProcessor(table, new ApvProcessingOptions { Amplitude = ApvZsAmplitude.A1 }).Process(new ApvBlock(data), hits, chips));
    }

    [Fact]
    public void Threshold_is_strictly_above_n_sigma_and_masked_channels_are_never_kept()
    {
        var data = new short[ApvLayout.SamplesPerApv];
        for (int i = 0; i < data.Length; i++) data[i] = 300;
        // σ = 2 counts, 2σ = 4 counts = 16 quarters: 304 is not above, 305 is.
        data[N + 10] = 304;
        data[N + 11] = 305;
        data[N + 12] = 1023; // masked channel with a huge signal
        var table = Table(_ => 300, _ => 2, usable: c => c != 12);
        var hits = new ApvKeptChannel[N];
        int n = new ApvProcessor(table, new ApvProcessingOptions { CommonMode = CommonModeMethod.None }).Process(new ApvBlock(data), hits, new ApvChipResult[1]);
        Assert.Equal(1, n);
        Assert.Equal(11, hits[0].Channel);
    }

    [Fact]
    public void Wrong_sizes_are_refused_naming_the_sizes()
    {
        var processor = new ApvProcessor(Table(Ped, _ => 2, apvs: 2));
        var data = new short[2 * ApvLayout.SamplesPerApv];
        var ex = Assert.Throws<ArgumentException>(() => processor.Process(new ApvBlock(data), new ApvKeptChannel[255], new ApvChipResult[2]));
        Assert.Contains("255", ex.Message, StringComparison.Ordinal);
        Assert.Contains("256", ex.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => processor.Process(new ApvBlock(data), new ApvKeptChannel[256], new ApvChipResult[1]));
        Assert.Throws<ArgumentException>(() => processor.Process(new ApvBlock(new short[ApvLayout.SamplesPerApv]), new ApvKeptChannel[256], new ApvChipResult[2]));
        var bad = Assert.Throws<ArgumentException>(() => new ApvBlock(new short[ApvLayout.SamplesPerApv + 1]));
        Assert.Contains("385", bad.Message, StringComparison.Ordinal);
        var opt = Assert.Throws<ArgumentOutOfRangeException>(() => new ApvProcessor(Table(Ped, _ => 2), new ApvProcessingOptions { MinChannels = 129 }));
        Assert.Contains("MinChannels = 129", opt.Message, StringComparison.Ordinal);
        var ped = Assert.Throws<ArgumentOutOfRangeException>(() => new ApvProcessingTable(Enumerable.Repeat((short)4093, N).ToArray(), new short[N], new short[N], new bool[N]));
        Assert.Contains("pedestalQ2[0] = 4093", ped.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Best_resolves_to_a_concrete_kernel()
    {
        var processor = new ApvProcessor(Table(Ped, _ => 2));
        Assert.Equal(ZeroSuppressor.BestAvailable(), processor.Implementation);
    }
}
