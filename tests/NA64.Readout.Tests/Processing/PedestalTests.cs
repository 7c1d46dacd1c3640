using NA64.Readout.Processing;

namespace NA64.Readout.Tests.Processing;

public class PedestalTests
{
    private const int Samples = 32;

    private static PedestalAccumulator Run(int channels, int events, Func<int, (double Even, double Odd, double Sigma)> truth,
        int seed = 1, Action<int, int, short[]>? modify = null)
    {
        var gen = new PulseGenerator(seed);
        var acc = new PedestalAccumulator(channels);
        var data = new short[channels * Samples];
        for (int e = 0; e < events; e++)
        {
            for (int c = 0; c < channels; c++)
            {
                var t = truth(c);
                gen.Channel(data.AsSpan(c * Samples, Samples), t.Even, t.Odd, t.Sigma);
            }
            modify?.Invoke(e, channels, data);
            acc.Add(new MsadcBlock(data, Samples));
        }
        return acc;
    }

    private static (double Even, double Odd, double Sigma) Truth(int c) => (150.3 + 3.1 * c, 153.7 + 3.1 * c, 1.5 + 0.05 * c);

    [Fact]
    public void Gaussian_pedestal_is_found_within_three_statistical_sigma()
    {
        const int channels = 16, events = 1000;
        var table = Run(channels, events, Truth).Build();
        for (int c = 0; c < channels; c++)
        {
            var (even, odd, sigma) = Truth(c);
            var p = table[c];
            long n = events * Samples / 2;
            Assert.Equal(n, p.EntriesEven);
            Assert.Equal(n, p.EntriesOdd);
            double errMean = sigma / Math.Sqrt(n);
            Assert.InRange(p.PedestalEven, even - 3 * errMean, even + 3 * errMean);
            Assert.InRange(p.PedestalOdd, odd - 3 * errMean, odd + 3 * errMean);
            // Rounding to whole ADC counts adds 1/12 to the variance; σ of σ is σ/√(2n).
            double sigmaSeen = Math.Sqrt(sigma * sigma + 1.0 / 12);
            double errSigma = sigmaSeen / Math.Sqrt(2.0 * n);
            Assert.InRange(p.SigmaEven, sigmaSeen - 3 * errSigma - 0.01 * sigmaSeen, sigmaSeen + 3 * errSigma + 0.01 * sigmaSeen);
            Assert.InRange(p.SigmaOdd, sigmaSeen - 3 * errSigma - 0.01 * sigmaSeen, sigmaSeen + 3 * errSigma + 0.01 * sigmaSeen);
            Assert.Equal(PedestalFlags.None, p.Flags);
        }
    }

    [Fact]
    public void Occasional_pulses_in_the_pedestal_run_do_not_pull_the_estimate()
    {
        const int channels = 4, events = 1000;
        var gen = new PulseGenerator(99);
        var table = Run(channels, events, Truth, 2, (e, n, data) =>
        {
            if (e % 20 != 0) return; // 5 % of events carry a large pulse on every channel
            for (int c = 0; c < n; c++)
                for (int k = 0; k < Samples; k++)
                    data[c * Samples + k] = (short)Math.Min(4094, data[c * Samples + k] + 800 * PulseGenerator.Shape(k * 12.5 - 100));
        }).Build();
        for (int c = 0; c < channels; c++)
        {
            var (even, _, sigma) = Truth(c);
            double errMean = sigma / Math.Sqrt(events * Samples / 2);
            Assert.InRange(table[c].PedestalEven, even - 4 * errMean, even + 4 * errMean);
            Assert.InRange(table[c].SigmaEven, sigma * 0.95, sigma * 1.15);
        }
    }

    [Fact]
    public void Dead_stuck_noisy_and_missing_channels_are_flagged()
    {
        const int channels = 12, events = 200;
        var acc = new PedestalAccumulator(channels);
        var gen = new PulseGenerator(5);
        var data = new short[Samples];
        for (int e = 0; e < events; e++)
        {
            for (int c = 0; c < channels - 1; c++) // the last channel never sends data
            {
                switch (c)
                {
                    case 0: data.AsSpan().Fill(321); break;                 // flat: σ = 0
                    case 1: data.AsSpan().Fill(4095); break;                // stuck at overflow
                    case 2: gen.Channel(data, 0.2, 0.2, 1.0); break;        // mostly 0: stuck low
                    case 3: gen.Channel(data, 200, 200, 12.0); break;       // noisy: 6 × the others
                    default: gen.Channel(data, 200, 202, 2.0); break;
                }
                acc.Add(c, data);
            }
        }
        var table = acc.Build();
        Assert.Equal(PedestalFlags.Dead, table[0].Flags);
        Assert.Equal(0.0, table[0].SigmaEven);
        Assert.Equal(321.0, table[0].PedestalOdd);
        Assert.Equal(PedestalFlags.Dead, table[1].Flags);
        Assert.Equal(PedestalFlags.Dead, table[2].Flags);
        Assert.Equal(PedestalFlags.Noisy, table[3].Flags);
        for (int c = 4; c < channels - 1; c++) Assert.Equal(PedestalFlags.None, table[c].Flags);
        Assert.Equal(PedestalFlags.NoData, table[channels - 1].Flags);
        Assert.Equal(0, table[channels - 1].EntriesEven);

        var thresholds = table.Thresholds(5);
        Assert.Equal(SuppressionTable.Masked, thresholds[0]);
        Assert.Equal(SuppressionTable.Masked, thresholds[3]);
        Assert.Equal(SuppressionTable.Masked, thresholds[channels - 1]);
        Assert.Equal((short)Math.Ceiling(5 * table[4].Sigma), thresholds[4]);
        Assert.NotEqual(SuppressionTable.Masked, table.Thresholds(5, maskNoisy: false)[3]);
    }

    [Fact]
    public void A_bad_sample_is_refused_and_nothing_of_that_call_is_counted()
    {
        var acc = new PedestalAccumulator(2);
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => acc.Add(1, new short[] { 100, 101, 5000 }));
        Assert.Contains("sample 2 = 5000", ex.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => acc.Add(2, new short[] { 100 }));
        acc.Add(1, new short[] { 100, 101 });
        var table = acc.Build();
        Assert.Equal(1, table[1].EntriesEven);
        Assert.Equal(1, table[1].EntriesOdd);
    }

    [Fact]
    public void Table_round_trips_through_the_text_file_beside_the_run()
    {
        var table = Run(8, 50, Truth).Build();
        var dir = Directory.CreateTempSubdirectory("na64-ped-");
        try
        {
            var path = PedestalTable.PathBesideRun(Path.Combine(dir.FullName, "run-01234.dat"));
            Assert.EndsWith("run-01234.dat.pedestals.txt", path, StringComparison.Ordinal);
            table.Save(path);
            var loaded = PedestalTable.Load(path);
            Assert.Equal(table.Channels, loaded.Channels);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Theory]
    [InlineData("channels 1\n0 1 2 3 4 5 6 0 9\n", "8")]
    [InlineData("channels 1\n0 abc 2 3 4 5 6 0\n", "pedestalEven = 'abc'")]
    [InlineData("channels 2\n0 1 2 3 4 5 6 0\n", "1 channel lines")]
    [InlineData("channels 1\n1 1 2 3 4 5 6 0\n", "channel = 1")]
    [InlineData("0 1 2 3 4 5 6 0\n", "channels N")]
    [InlineData("channels 1\n0 1 2 3 4 -5 6 0\n", "entriesEven = '-5'")]
    public void Malformed_file_names_line_and_field(string text, string expected)
    {
        var ex = Assert.Throws<FormatException>(() => PedestalTable.Read(new StringReader(text)));
        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Suppression_table_from_pedestals_rounds_pedestals_and_masks_bad_channels()
    {
        var table = new PedestalTable(new[]
        {
            new ChannelPedestal(200.4, 203.6, 2.1, 1.9, 10, 10, PedestalFlags.None),
            new ChannelPedestal(100, 100, 0, 0, 10, 10, PedestalFlags.Dead),
        });
        var zs = SuppressionTable.FromPedestals(table, 5);
        Assert.Equal(new short[] { 200, 100 }, zs.PedestalEven.ToArray());
        Assert.Equal(new short[] { 204, 100 }, zs.PedestalOdd.ToArray());
        Assert.Equal(new short[] { 11, SuppressionTable.Masked }, zs.Threshold.ToArray());
    }
}
