using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using NA64.Readout.Processing;

namespace NA64.Readout.Tests.Processing;

public class ZeroSuppressorTests
{
    private static readonly ZsImplementation[] Kernels = [ZsImplementation.Scalar, ZsImplementation.Vector256, ZsImplementation.Vector512];

    private sealed record Case(short[] Samples, int SamplesPerChannel, SuppressionTable Table, ZsOptions Options);

    private static Case RandomCase(int seed, int channels, int samplesPerChannel, bool neighbours, bool pulses)
    {
        var gen = new PulseGenerator(seed);
        var r = gen.Random;
        var even = new short[channels];
        var odd = new short[channels];
        var thr = new short[channels];
        var data = new short[channels * samplesPerChannel];
        for (int c = 0; c < channels; c++)
        {
            even[c] = (short)r.Next(0, 4096);
            odd[c] = (short)r.Next(0, 4096);
            thr[c] = (short)r.Next(-50, 4096);
            var ch = data.AsSpan(c * samplesPerChannel, samplesPerChannel);
            if (pulses)
            {
                even[c] = (short)r.Next(100, 400);
                odd[c] = (short)(even[c] + r.Next(-5, 6));
                double sigma = 1 + 3 * r.NextDouble();
                thr[c] = (short)Math.Ceiling(5 * sigma);
                double amp = r.NextDouble() < 0.1 ? 20 + r.Next(0, 5000) : 0;
                gen.Channel(ch, even[c], odd[c], sigma, amp, r.Next(0, 200));
            }
            else
            {
                // Mostly 12-bit, one in ten anywhere in int16: corrupt input must not split the kernels either.
                for (int k = 0; k < samplesPerChannel; k++)
                    ch[k] = (short)(r.Next(10) == 0 ? r.Next(short.MinValue, short.MaxValue + 1) : r.Next(0, 4096));
            }
        }
        var options = new ZsOptions { KeepNeighbours = neighbours, ChannelsPerChip = new[] { 0, 4, 16 }[r.Next(3)] };
        return new Case(data, samplesPerChannel, new SuppressionTable(even, odd, thr), options);
    }

    private static short[] Run(Case c, ZsImplementation impl, out ZsResult result)
    {
        var block = new MsadcBlock(c.Samples, c.SamplesPerChannel);
        var output = new short[ZsOutput.MaxLength(block.ChannelCount, block.SamplesPerChannel) + 7];
        result = new ZeroSuppressor(c.Table, c.Options, impl).Suppress(block, output);
        return output[..result.Written];
    }

    /// <summary>What the rule says, written the obvious way, to check the kernels against.</summary>
    private static List<(int Channel, ZsChannelFlags Flags, short[] Samples)> Reference(Case c)
    {
        int s = c.SamplesPerChannel, n = c.Samples.Length / s;
        var pass = new bool[n];
        for (int ch = 0; ch < n; ch++)
        {
            int max = int.MinValue;
            for (int k = 0; k < s; k++)
                max = Math.Max(max, c.Samples[ch * s + k] - ((k & 1) == 0 ? c.Table.PedestalEven[ch] : c.Table.PedestalOdd[ch]));
            pass[ch] = max > c.Table.Threshold[ch];
        }
        int chip = c.Options.ChannelsPerChip;
        bool Same(int a, int b) => chip == 0 || a / chip == b / chip;
        var result = new List<(int, ZsChannelFlags, short[])>();
        for (int ch = 0; ch < n; ch++)
        {
            bool neighbour = c.Options.KeepNeighbours &&
                ((ch > 0 && pass[ch - 1] && Same(ch - 1, ch)) || (ch < n - 1 && pass[ch + 1] && Same(ch, ch + 1)));
            if (!pass[ch] && !neighbour) continue;
            var flags = pass[ch] ? ZsChannelFlags.None : ZsChannelFlags.Neighbour;
            var samples = new short[s];
            for (int k = 0; k < s; k++)
            {
                short x = c.Samples[ch * s + k];
                if (x >= 4095) flags |= ZsChannelFlags.Saturated;
                samples[k] = (short)(x - ((k & 1) == 0 ? c.Table.PedestalEven[ch] : c.Table.PedestalOdd[ch]));
            }
            result.Add((ch, flags, samples));
        }
        return result;
    }

    private static bool AllKernelsAgreeWithReference(Case c)
    {
        var expected = Reference(c);
        var scalar = Run(c, ZsImplementation.Scalar, out _);
        foreach (var impl in Kernels)
        {
            var output = Run(c, impl, out var result);
            if (!output.AsSpan().SequenceEqual(scalar)) return false;
            var reader = new ZsOutputReader(output);
            if (reader.KeptCount != expected.Count || result.Kept != expected.Count) return false;
            if (reader.ChannelsExamined != c.Samples.Length / c.SamplesPerChannel) return false;
            for (int i = 0; i < expected.Count; i++)
            {
                var ch = reader[i];
                if (ch.Channel != expected[i].Channel || ch.Flags != expected[i].Flags || !ch.Samples.SequenceEqual(expected[i].Samples))
                    return false;
            }
        }
        return true;
    }

    [Property(MaxTest = 200)]
    public Property Kernels_are_bit_identical_on_random_samples(int seed, PositiveInt channels, bool neighbours)
    {
        var arb = Gen.Choose(25, 32).ToArbitrary();
        return Prop.ForAll(arb, s =>
            AllKernelsAgreeWithReference(RandomCase(seed, 1 + channels.Get % 80, s, neighbours, pulses: false)));
    }

    [Property(MaxTest = 200)]
    public bool Kernels_are_bit_identical_on_simulated_pulses(int seed, PositiveInt channels, bool neighbours)
    {
        int s = 25 + (int)((uint)seed % 8);
        return AllKernelsAgreeWithReference(RandomCase(seed, 1 + channels.Get % 130, s, neighbours, pulses: true));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(15)]
    [InlineData(16)]
    [InlineData(17)]
    [InlineData(31)]
    [InlineData(33)]
    [InlineData(48)]
    [InlineData(64)]
    [InlineData(100)]
    public void Kernels_are_bit_identical_for_sample_counts_outside_25_to_32(int samplesPerChannel)
    {
        for (int seed = 0; seed < 20; seed++)
        {
            Assert.True(AllKernelsAgreeWithReference(RandomCase(seed, 1 + seed * 3, samplesPerChannel, seed % 2 == 0, seed % 3 == 0)),
                $"seed {seed}");
        }
    }

    [Theory]
    [InlineData(ZsImplementation.Scalar)]
    [InlineData(ZsImplementation.Vector256)]
    [InlineData(ZsImplementation.Vector512)]
    public void Nothing_above_threshold_still_gives_header_and_trailer(ZsImplementation impl)
    {
        const int channels = 64, s = 32;
        var data = Enumerable.Repeat((short)200, channels * s).ToArray();
        var table = new SuppressionTable(Enumerable.Repeat((short)200, channels).ToArray(),
            Enumerable.Repeat((short)200, channels).ToArray(), Enumerable.Repeat((short)10, channels).ToArray());
        var output = new short[ZsOutput.MaxLength(channels, s)];

        var result = new ZeroSuppressor(table, null, impl).Suppress(new MsadcBlock(data, s), output);

        Assert.Equal(new ZsResult(ZsOutput.HeaderLength + ZsOutput.TrailerLength, 0, channels), result);
        Assert.Equal(ZsOutput.HeaderMarker, output[0]);
        Assert.Equal(ZsOutput.TrailerMarker, output[ZsOutput.HeaderLength]);
        var reader = new ZsOutputReader(output.AsSpan(0, result.Written));
        Assert.Equal(0, reader.KeptCount);
        Assert.Equal(channels, reader.ChannelsExamined);
        Assert.Equal(s, reader.SamplesPerChannel);
    }

    [Fact]
    public void Neighbours_are_kept_within_the_chip_only()
    {
        const int channels = 32, s = 25;
        var data = Enumerable.Repeat((short)100, channels * s).ToArray();
        data[15 * s + 12] = 300; // channel 15: last of chip 0
        data[20 * s + 13] = 300; // channel 20: inside chip 1
        var table = new SuppressionTable(Enumerable.Repeat((short)100, channels).ToArray(),
            Enumerable.Repeat((short)100, channels).ToArray(), Enumerable.Repeat((short)50, channels).ToArray());
        var output = new short[ZsOutput.MaxLength(channels, s)];

        var result = new ZeroSuppressor(table, new ZsOptions { KeepNeighbours = true, ChannelsPerChip = 16 })
            .Suppress(new MsadcBlock(data, s), output);

        var reader = new ZsOutputReader(output.AsSpan(0, result.Written));
        var kept = new (int, ZsChannelFlags)[reader.KeptCount];
        for (int i = 0; i < kept.Length; i++) kept[i] = (reader[i].Channel, reader[i].Flags);
        Assert.Equal(new[]
        {
            (14, ZsChannelFlags.Neighbour), (15, ZsChannelFlags.None),
            (19, ZsChannelFlags.Neighbour), (20, ZsChannelFlags.None), (21, ZsChannelFlags.Neighbour),
        }, kept);
        Assert.Equal(200, reader[1].Samples[12]);
        Assert.Equal(0, reader[1].Samples[11]);
    }

    [Fact]
    public void Saturated_sample_is_flagged_and_channel_kept()
    {
        const int channels = 3, s = 32;
        var data = Enumerable.Repeat((short)150, channels * s).ToArray();
        data[1 * s + 20] = 4095;
        var table = new SuppressionTable(new short[] { 150, 150, 150 }, new short[] { 150, 150, 150 }, new short[] { 20, 20, 20 });
        var output = new short[ZsOutput.MaxLength(channels, s)];

        var result = new ZeroSuppressor(table).Suppress(new MsadcBlock(data, s), output);

        var reader = new ZsOutputReader(output.AsSpan(0, result.Written));
        Assert.Equal(1, reader.KeptCount);
        Assert.Equal(1, reader[0].Channel);
        Assert.Equal(ZsChannelFlags.Saturated, reader[0].Flags);
        Assert.Equal(4095 - 150, reader[0].Samples[20]);
    }

    [Fact]
    public void Too_small_output_is_refused_before_writing()
    {
        var table = new SuppressionTable(new short[] { 1, 1 }, new short[] { 1, 1 }, new short[] { 5, 5 });
        var output = new short[ZsOutput.MaxLength(2, 32) - 1];
        var ex = Assert.Throws<ArgumentException>(() => new ZeroSuppressor(table).Suppress(new MsadcBlock(new short[64], 32), output));
        Assert.Contains($"{output.Length}", ex.Message, StringComparison.Ordinal);
        Assert.Contains($"{output.Length + 1}", ex.Message, StringComparison.Ordinal);
        Assert.All(output, w => Assert.Equal(0, w));
    }

    [Fact]
    public void Block_and_table_must_agree_and_pedestals_must_be_12_bit()
    {
        var table = new SuppressionTable(new short[] { 1, 1 }, new short[] { 1, 1 }, new short[] { 5, 5 });
        Assert.Throws<ArgumentException>(() => new ZeroSuppressor(table).Suppress(new MsadcBlock(new short[96], 32), new short[1000]));
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => new SuppressionTable(new short[] { 1, 4096 }, new short[] { 1, 1 }, new short[] { 5, 5 }));
        Assert.Contains("pedestalEven[1] = 4096", ex.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => new MsadcBlock(new short[33], 32));
    }

    [Fact]
    public void Best_resolves_to_a_concrete_kernel()
    {
        var table = new SuppressionTable(new short[] { 1 }, new short[] { 1 }, new short[] { 5 });
        var zs = new ZeroSuppressor(table);
        Assert.NotEqual(ZsImplementation.Best, zs.Implementation);
        Assert.Equal(ZeroSuppressor.BestAvailable(), zs.Implementation);
    }

    [Fact]
    public void Reader_rejects_a_damaged_buffer()
    {
        var table = new SuppressionTable(new short[] { 100 }, new short[] { 100 }, new short[] { 5 });
        var data = Enumerable.Repeat((short)200, 32).ToArray();
        var output = new short[ZsOutput.MaxLength(1, 32)];
        var result = new ZeroSuppressor(table).Suppress(new MsadcBlock(data, 32), output);
        Assert.Equal(1, new ZsOutputReader(output.AsSpan(0, result.Written)).KeptCount);
        Assert.Throws<FormatException>(() => new ZsOutputReader(output.AsSpan(0, result.Written - 1)));
        output[0] = 0;
        Assert.Throws<FormatException>(() => new ZsOutputReader(output.AsSpan(0, result.Written)));
    }
}
