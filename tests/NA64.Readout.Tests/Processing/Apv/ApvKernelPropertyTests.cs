using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using NA64.Readout.Processing;
using NA64.Readout.Processing.Apv;

namespace NA64.Readout.Tests.Processing.Apv;

/// <summary>Scalar, Vector256 and Vector512 APV kernels give bit-identical common modes and hits, and both agree with
/// the rules written the obvious way (sort-based median, LINQ means).</summary>
public class ApvKernelPropertyTests
{
    private const int N = ApvLayout.ChannelsPerApv;
    private static readonly ZsImplementation[] Kernels = [ZsImplementation.Scalar, ZsImplementation.Vector256, ZsImplementation.Vector512];

    private sealed record Case(int ApvCount, short[][] Events, ApvProcessingTable Table, ApvProcessingOptions Options);

    private static short Edge(Random r, short lo, short hi) => r.Next(4) switch
    {
        0 => lo,
        1 => hi,
        _ => (short)r.Next(lo, hi + 1),
    };

    private static Case RandomCase(int seed, bool realistic)
    {
        var gen = new ApvFrameGenerator(seed);
        var r = gen.Random;
        int apvs = 1 + r.Next(3);
        int channels = apvs * N;
        var ped = new short[channels];
        var thr = new short[channels];
        var cut = new short[channels];
        var usable = new bool[channels];
        var sigma = new double[channels];
        for (int c = 0; c < channels; c++)
        {
            if (realistic)
            {
                sigma[c] = 1.5 + 3 * r.NextDouble();
                ped[c] = (short)(4 * r.Next(100, 800) + r.Next(4));
                thr[c] = (short)Math.Ceiling((2 + r.Next(2)) * 4 * sigma[c]);
                cut[c] = (short)Math.Round(3 * 4 * sigma[c]);
                usable[c] = r.Next(30) != 0;
            }
            else
            {
                ped[c] = Edge(r, 0, 4092);
                thr[c] = r.Next(8) == 0 ? ApvProcessingTable.Masked : Edge(r, -50, 4092);
                cut[c] = r.Next(8) == 0 ? short.MinValue : Edge(r, 0, 4092);
                usable[c] = r.Next(5) != 0;
            }
        }
        var events = new short[3 + r.Next(3)][];
        for (int e = 0; e < events.Length; e++)
        {
            var data = new short[apvs * ApvLayout.SamplesPerApv];
            for (int apv = 0; apv < apvs; apv++)
            {
                var span = data.AsSpan(apv * ApvLayout.SamplesPerApv, ApvLayout.SamplesPerApv);
                if (realistic)
                {
                    double[] cm = [10 * gen.Gauss(), 10 * gen.Gauss(), 10 * gen.Gauss()];
                    var hits = new Dictionary<int, (double, double, double)>();
                    int nHits = r.Next(4) == 0 ? r.Next(60, 128) : r.Next(0, 10); // sometimes too many for the CM
                    for (int h = 0; h < nHits; h++)
                    {
                        double a = 20 + 600 * r.NextDouble();
                        hits[r.Next(N)] = (0.4 * a, a, 0.7 * a);
                    }
                    int b = apv * N;
                    gen.Apv(span, c => (ped[b + c] / 4.0, sigma[b + c]), cm, hits);
                }
                else
                {
                    for (int i = 0; i < span.Length; i++)
                    {
                        // Mostly 10-bit with the edges 0 and 1023, one in twenty anywhere in int16 (corrupt input must not
                        // split the kernels either).
                        span[i] = r.Next(20) == 0 ? (short)r.Next(short.MinValue, short.MaxValue + 1) : Edge(r, 0, 1023);
                    }
                }
            }
            events[e] = data;
        }
        var options = new ApvProcessingOptions
        {
            CommonMode = (CommonModeMethod)r.Next(3),
            MinChannels = r.Next(3) == 0 ? 1 + r.Next(N) : 32,
            MedianIterations = 1 + r.Next(3),
            Amplitude = (ApvZsAmplitude)r.Next(2),
        };
        return new Case(apvs, events, new ApvProcessingTable(ped, thr, cut, usable), options);
    }

    private static List<(ApvKeptChannel[] Hits, ApvChipResult[] Chips)> Run(Case c, ZsImplementation impl)
    {
        var processor = new ApvProcessor(c.Table, c.Options, impl);
        var result = new List<(ApvKeptChannel[], ApvChipResult[])>();
        foreach (var e in c.Events)
        {
            var hits = new ApvKeptChannel[processor.MaxHits + 3];
            var chips = new ApvChipResult[c.ApvCount];
            int n = processor.Process(new ApvBlock(e), hits, chips);
            result.Add((hits[..n], chips));
        }
        return result;
    }

    private static short D(short raw, short ped) => unchecked((short)((short)(raw << 2) - ped));

    /// <summary>The rules of README.md, written plainly, with the fallback state carried across events.</summary>
    private static List<(ApvKeptChannel[] Hits, ApvChipResult[] Chips)> Reference(Case c)
    {
        var ped = c.Table.PedestalQ2.ToArray();
        var thr = c.Table.ThresholdQ2.ToArray();
        var cut = c.Table.CommonModeCutQ2.ToArray();
        var last = new short[c.ApvCount * 3];
        var has = new bool[c.ApvCount * 3];
        int min = c.Options.MinChannels;
        var result = new List<(ApvKeptChannel[], ApvChipResult[])>();
        foreach (var e in c.Events)
        {
            var hits = new List<ApvKeptChannel>();
            var chips = new ApvChipResult[c.ApvCount];
            for (int apv = 0; apv < c.ApvCount; apv++)
            {
                var cms = new short[3];
                var flags = ApvCommonModeFlags.None;
                for (int f = 0; f < 3; f++)
                {
                    var d = Enumerable.Range(0, N).Select(ch => D(e[ApvLayout.Index(apv, f, ch)], ped[apv * N + ch])).ToArray();
                    bool Usable(int ch) => c.Table.IsUsable(apv * N + ch);
                    bool Below(int ch, short offset) => unchecked((short)(d[ch] - offset)) <= cut[apv * N + ch];
                    short? cm = 0;
                    if (c.Options.CommonMode == CommonModeMethod.TruncatedMean)
                    {
                        short offset = 0;
                        for (int pass = 0; pass < 2 && cm is not null; pass++)
                        {
                            var take = Enumerable.Range(0, N).Where(ch => Usable(ch) && Below(ch, offset)).Select(ch => (double)d[ch]).ToArray();
                            cm = take.Length < min ? null : (short)Math.Floor(take.Sum() / take.Length + 0.5);
                            offset = cm ?? 0;
                        }
                    }
                    else if (c.Options.CommonMode == CommonModeMethod.IteratedMedian)
                    {
                        short offset = 0;
                        for (int i = 0; i < c.Options.MedianIterations && cm is not null; i++)
                        {
                            int it = i;
                            var take = Enumerable.Range(0, N).Where(ch => Usable(ch) && (it == 0 || Below(ch, offset))).Select(ch => d[ch]).Order().ToArray();
                            cm = take.Length < min ? null : take[(take.Length - 1) / 2];
                            offset = cm ?? 0;
                        }
                    }
                    int slot = apv * 3 + f;
                    if (cm is null)
                    {
                        flags |= (ApvCommonModeFlags)(1 << f);
                        if (!has[slot]) flags |= ApvCommonModeFlags.NoHistory;
                        cms[f] = last[slot];
                    }
                    else
                    {
                        cms[f] = cm.Value;
                        if (c.Options.CommonMode != CommonModeMethod.None)
                        {
                            last[slot] = cm.Value;
                            has[slot] = true;
                        }
                    }
                }
                int first = hits.Count;
                for (int ch = 0; ch < N; ch++)
                {
                    var a = new short[3];
                    for (int f = 0; f < 3; f++)
                        a[f] = unchecked((short)(D(e[ApvLayout.Index(apv, f, ch)], ped[apv * N + ch]) - cms[f]));
                    short amp = c.Options.Amplitude == ApvZsAmplitude.A1 ? a[1] : a.Max();
                    if (amp > thr[apv * N + ch]) hits.Add(new ApvKeptChannel((short)ch, a[0], a[1], a[2]));
                }
                chips[apv] = new ApvChipResult(first, hits.Count - first, cms[0], cms[1], cms[2], flags);
            }
            result.Add((hits.ToArray(), chips));
        }
        return result;
    }

    private static bool AllAgree(Case c)
    {
        var expected = Reference(c);
        foreach (var impl in Kernels)
        {
            var got = Run(c, impl);
            for (int e = 0; e < expected.Count; e++)
            {
                if (!got[e].Hits.SequenceEqual(expected[e].Hits) || !got[e].Chips.SequenceEqual(expected[e].Chips))
                    return false;
            }
        }
        return true;
    }

    [Property(MaxTest = 150)]
    public bool Kernels_are_bit_identical_on_random_data_with_edge_values(int seed) => AllAgree(RandomCase(seed, realistic: false));

    [Property(MaxTest = 150)]
    public bool Kernels_are_bit_identical_on_simulated_noise_common_mode_and_hits(int seed) => AllAgree(RandomCase(seed, realistic: true));

    [Fact]
    public void Sums_of_extreme_values_do_not_overflow_and_agree()
    {
        // Every d at the int16 extremes: the int32 sums of 128 lanes must be exact in every kernel.
        foreach (short raw in new short[] { short.MinValue, short.MaxValue, 0, 1023, -1 })
        {
            var table = new ApvProcessingTable(new short[N], Enumerable.Repeat((short)-5, N).ToArray(),
                Enumerable.Repeat(short.MaxValue, N).ToArray(), Enumerable.Repeat(true, N).ToArray());
            var c = new Case(1, [Enumerable.Repeat(raw, ApvLayout.SamplesPerApv).ToArray()], table, new ApvProcessingOptions());
            Assert.True(AllAgree(c), $"raw {raw}");
        }
    }

    [Fact]
    public void Rounded_mean_rounds_halves_up_on_both_signs()
    {
        Assert.Equal(3, ApvProcessor.RoundedMean(5, 2));
        Assert.Equal(-2, ApvProcessor.RoundedMean(-5, 2));
        Assert.Equal(-1, ApvProcessor.RoundedMean(-4, 3));
        Assert.Equal(1, ApvProcessor.RoundedMean(4, 3));
        Assert.Equal(short.MinValue, ApvProcessor.RoundedMean(short.MinValue * 128, 128));
        Assert.Equal(short.MaxValue, ApvProcessor.RoundedMean(short.MaxValue * 128, 128));
    }
}
