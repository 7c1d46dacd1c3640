using System.Globalization;
using NA64.Readout.Processing.Apv;

namespace NA64.Readout.Tests.Processing.Apv;

public class ApvPedestalTests
{
    private const int N = ApvLayout.ChannelsPerApv;

    private static double TruePedestal(int c) => 150.3 + 2.37 * c;
    private static double TrueSigma(int c) => 2.0 + 0.01 * c;

    private static ApvPedestalAccumulator Run(int apvs, int events, double cmSigma, ApvPedestalOptions? options = null, int seed = 1,
        Action<int, short[]>? modify = null, Func<int, (double, double)>? truth = null)
    {
        var gen = new ApvFrameGenerator(seed);
        var acc = new ApvPedestalAccumulator(apvs, options);
        var data = new short[apvs * ApvLayout.SamplesPerApv];
        truth ??= c => (TruePedestal(c), TrueSigma(c));
        for (int e = 0; e < events; e++)
        {
            for (int apv = 0; apv < apvs; apv++)
            {
                double[] cm = [cmSigma * gen.Gauss(), cmSigma * gen.Gauss(), cmSigma * gen.Gauss()];
                int b = apv * N;
                gen.Apv(data.AsSpan(b * ApvLayout.Frames, ApvLayout.SamplesPerApv), c => truth(b + c), cm);
            }
            modify?.Invoke(e, data);
            acc.Add(new ApvBlock(data));
        }
        return acc;
    }

    [Theory]
    [InlineData(RobustEstimator.ClippedMean, 0.05)]
    [InlineData(RobustEstimator.MedianMad, 0.09)]
    public void Pedestal_run_recovers_the_simulated_pedestals_and_the_noise_without_the_common_mode(RobustEstimator estimator, double sigmaTolerance)
    {
        const int apvs = 2, events = 1000;
        const double cmSigma = 3.0;
        var table = Run(apvs, events, cmSigma, new ApvPedestalOptions { Estimator = estimator }).Build();
        Assert.Equal(apvs, table.ApvCount);
        for (int i = 0; i < apvs * N; i++)
        {
            var p = table.Channels[i];
            Assert.Equal(ApvChannelFlags.None, p.Flags);
            // Each sample carries noise and CM; 3000 samples per channel; plus the quarter-count rounding.
            double err = Math.Sqrt(TrueSigma(i) * TrueSigma(i) + cmSigma * cmSigma) / Math.Sqrt(3 * events);
            Assert.InRange(p.Pedestal, TruePedestal(i) - 4 * err - 0.125, TruePedestal(i) + 4 * err + 0.125);
            // Whole-count rounding adds 1/12 to the variance; σ is rounded to a quarter count.
            double seen = Math.Sqrt(TrueSigma(i) * TrueSigma(i) + 1.0 / 12);
            Assert.InRange(p.Sigma, seen * (1 - sigmaTolerance) - 0.125, seen * (1 + sigmaTolerance) + 0.125);
        }
    }

    [Fact]
    public void Without_the_common_mode_pass_sigma_includes_the_common_mode()
    {
        var table = Run(1, 500, 3.0, new ApvPedestalOptions { CommonMode = CommonModeMethod.None }).Build();
        for (int c = 0; c < N; c++)
        {
            double seen = Math.Sqrt(TrueSigma(c) * TrueSigma(c) + 9 + 1.0 / 12);
            Assert.InRange(table[0, c].Sigma, seen * 0.92 - 0.125, seen * 1.08 + 0.125);
        }
    }

    [Fact]
    public void Occasional_large_signals_in_the_pedestal_run_do_not_pull_the_estimate()
    {
        var gen = new Random(4);
        var table = Run(1, 1000, 2.0, null, 2, (e, data) =>
        {
            // 5 % of events: a 300-count signal on channels 10..14 in all frames.
            if (gen.NextDouble() < 0.05)
                for (int f = 0; f < 3; f++)
                    for (int c = 10; c < 15; c++)
                        data[f * N + c] = (short)Math.Min(1023, data[f * N + c] + 300);
        }).Build();
        for (int c = 10; c < 15; c++)
        {
            Assert.InRange(table[0, c].Pedestal, TruePedestal(c) - 0.4, TruePedestal(c) + 0.4);
            Assert.InRange(table[0, c].Sigma, TrueSigma(c) * 0.9, TrueSigma(c) * 1.15);
        }
    }

    [Fact]
    public void Dead_stuck_and_noisy_channels_are_flagged_and_masked()
    {
        (double, double) Truth(int c) => c switch
        {
            3 => (400, 0.0),      // dead: σ = 0
            4 => (0, 1.0),        // stuck at 0 (most samples clamp to 0)
            5 => (300, 12.0),     // noisy: 6 × the median σ
            _ => (TruePedestal(c), TrueSigma(c)),
        };
        var table = Run(1, 400, 1.0, null, 3, truth: Truth).Build();
        Assert.Equal(ApvChannelFlags.Dead, table[0, 3].Flags);
        Assert.Equal(ApvChannelFlags.Dead, table[0, 4].Flags);
        Assert.Equal(ApvChannelFlags.Noisy, table[0, 5].Flags);
        Assert.Equal(ApvChannelFlags.None, table[0, 6].Flags);
        var thresholds = table.Thresholds([2.0]);
        Assert.Equal(ApvProcessingTable.Masked, thresholds[3]);
        Assert.Equal(ApvProcessingTable.Masked, thresholds[5]);
        Assert.NotEqual(ApvProcessingTable.Masked, table.Thresholds([2.0], maskNoisy: false)[5]);
        var processing = ApvProcessingTable.FromPedestals(table, ApvDetectorKind.Micromegas);
        Assert.False(processing.IsUsable(3));
        Assert.False(processing.IsUsable(5));
        Assert.True(processing.IsUsable(6));

        // k configurable: at k = 8 the 6×-median channel is no longer noisy.
        var lenient = Run(1, 400, 1.0, new ApvPedestalOptions { NoisyFactor = 8 }, 3, truth: Truth).Build();
        Assert.Equal(ApvChannelFlags.None, lenient[0, 5].Flags);
    }

    [Fact]
    public void A_channel_without_data_is_flagged_and_an_out_of_range_sample_rejects_the_event()
    {
        var acc = new ApvPedestalAccumulator(1);
        var table = acc.Build();
        Assert.All(table.Channels, p => Assert.Equal(ApvChannelFlags.NoData, p.Flags));

        var data = new short[ApvLayout.SamplesPerApv];
        data[ApvLayout.Index(0, 2, 77)] = 1024;
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => acc.Add(new ApvBlock(data)));
        Assert.Contains("APV 0 frame 2 channel 77: amplitude 1024", ex.Message, StringComparison.Ordinal);
        Assert.Equal(0, acc.Events);
        Assert.Throws<ArgumentException>(() => acc.Add(new ApvBlock(new short[2 * ApvLayout.SamplesPerApv])));
    }

    [Fact]
    public void Thresholds_are_n_sigma_per_apv_with_micromegas_and_gem_defaults()
    {
        var channels = Enumerable.Range(0, 2 * N).Select(i => new ApvChannelPedestal(800, (short)(i % N == 0 ? 9 : 8), ApvChannelFlags.None));
        var table = new ApvPedestalTable(channels);
        Assert.Equal(2.0, ApvPedestalTable.DefaultNSigma(ApvDetectorKind.Micromegas));
        Assert.Equal(3.0, ApvPedestalTable.DefaultNSigma(ApvDetectorKind.Gem));
        var thr = table.Thresholds([ApvPedestalTable.DefaultNSigma(ApvDetectorKind.Micromegas), ApvPedestalTable.DefaultNSigma(ApvDetectorKind.Gem)]);
        Assert.Equal(18, thr[0]);       // 2 × 2.25 counts = 4.5 counts = 18 quarters
        Assert.Equal(16, thr[1]);
        Assert.Equal(27, thr[N]);       // 3 × 2.25 = 6.75 counts
        Assert.Equal(24, thr[N + 1]);
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => table.Thresholds([2.0, double.NaN]));
        Assert.Contains("APV 1", ex.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => table.Thresholds([2.0]));

        var processing = ApvProcessingTable.FromPedestals(table, [2.0, 3.0], commonModeCut: 3.0);
        Assert.Equal(27, processing.CommonModeCutQ2[0]);
        Assert.Equal(18, processing.ThresholdQ2[0]);
        Assert.Equal(800, processing.PedestalQ2[5]);
    }

    [Fact]
    public void Table_file_round_trips_exactly()
    {
        var table = Run(2, 200, 2.0).Build();
        var text = new StringWriter(CultureInfo.InvariantCulture);
        table.Write(text);
        var back = ApvPedestalTable.Read(new StringReader(text.ToString()));
        Assert.Equal(table.Channels, back.Channels);
        Assert.Contains(ApvPedestalTable.Header, text.ToString(), StringComparison.Ordinal);
        Assert.Equal("run-0042.dat.apv-pedestals.csv", ApvPedestalTable.PathBesideRun("run-0042.dat"));

        var path = Path.Combine(Path.GetTempPath(), $"apv-ped-{Guid.NewGuid():N}.csv");
        try
        {
            table.Save(path);
            Assert.Equal(table.Channels, ApvPedestalTable.Load(path).Channels);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Theory]
    [InlineData("apv,channel,pedestal,sigma\n", "header is 'apv,channel,pedestal,sigma'")]
    [InlineData("apv,channel,pedestal,sigma,flags\n0,0,100.3,2,0\n", "pedestal = 100.3 is not a multiple of 0.25")]
    [InlineData("apv,channel,pedestal,sigma,flags\n0,0,1024,2,0\n", "pedestal = 1024 is outside 0..1023")]
    [InlineData("apv,channel,pedestal,sigma,flags\n0,1,100,2,0\n", "apv,channel = 0,1, expected 0,0")]
    [InlineData("apv,channel,pedestal,sigma,flags\n0,0,100,2,8\n", "flags = 8, must be 0..7")]
    [InlineData("apv,channel,pedestal,sigma,flags\n0,0,1e2x,2,0\n", "pedestal = '1e2x' is not a number")]
    [InlineData("apv,channel,pedestal,sigma,flags\n0,0,100,2\n", "4 fields, expected 5")]
    [InlineData("apv,channel,pedestal,sigma,flags\n0,0,100,2,0\n", "1 channel lines, not a multiple of 128")]
    [InlineData("# only a comment\n", "no header line")]
    public void A_broken_table_file_is_refused_naming_line_field_and_value(string text, string expected)
    {
        var ex = Assert.Throws<FormatException>(() => ApvPedestalTable.Read(new StringReader(text)));
        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
    }
}
