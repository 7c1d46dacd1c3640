using System.Globalization;
using BenchmarkDotNet.Attributes;
using NA64.Readout.Processing;
using NA64.Readout.Processing.Apv;

namespace NA64.Benchmarks;

/// <summary>
/// APV processing (issue 9): pedestal subtraction, common mode per APV and frame, and zero suppression at 2σ on
/// max(a0, a1, a2) for the 8 micromegas APVs of one event (8 × 3 × 128 int16 = 6 KiB of latch-all-sized input), against
/// a memory copy of the same bytes measured in the same run. Events: pedestals 100–400 counts, σ 2–4, common mode
/// σ 2 counts per frame, Poisson(1.2) clusters per plane (Landau-like charge, Gaussian spread σ = 1 strip, 3 frames
/// 0.5 / 1 / 0.8) mapped onto the channels by the ×5 multiplexing rule (series {1, 7, 13, 19, 25}; X on channels 0..63,
/// Y on 64..127, an assumption). The whole chain (with demultiplexing and clustering, added later) must reach
/// 200,000 events/s, 5 µs per event; this part is given half of that: <see cref="TargetEventsPerSecond"/>.
/// </summary>
[MemoryDiagnoser]
public class ApvProcessingBenchmark : IQuickBenchmark
{
    public const int Apvs = 8;
    public const int Events = 1024;
    public const double HitsPerPlane = 1.2;
    public const double TargetEventsPerSecond = 400_000;
    private static readonly int[] Series = [1, 7, 13, 19, 25];

    private short[] _data = [];
    private short[] _copy = [];
    private ApvKeptChannel[] _hits = [];
    private readonly ApvChipResult[] _chips = new ApvChipResult[Apvs];
    private ApvProcessor _best = null!;
    private ApvProcessor _scalar = null!;
    private ApvProcessor _median = null!;
    private ApvProcessor _noCm = null!;

    [GlobalSetup]
    public void Setup()
    {
        var r = new Random(20261203);
        double Gauss() => Math.Sqrt(-2.0 * Math.Log(1.0 - r.NextDouble())) * Math.Cos(2.0 * Math.PI * r.NextDouble());
        const int n = ApvLayout.ChannelsPerApv;
        var ped = new double[Apvs * n];
        var sigma = new double[Apvs * n];
        var pedestals = new ApvChannelPedestal[Apvs * n];
        for (int c = 0; c < ped.Length; c++)
        {
            ped[c] = r.Next(100, 400) + 0.25 * r.Next(4);
            sigma[c] = 2 + 2 * r.NextDouble();
            pedestals[c] = new ApvChannelPedestal((short)(4 * ped[c]), (short)Math.Round(4 * sigma[c]), ApvChannelFlags.None);
        }
        var table = ApvProcessingTable.FromPedestals(new ApvPedestalTable(pedestals), ApvDetectorKind.Micromegas);
        _data = new short[Events * Apvs * ApvLayout.SamplesPerApv];
        _copy = new short[_data.Length];
        var signal = new double[ApvLayout.ChannelsPerApv];
        double[] shape = [0.5, 1.0, 0.8];
        for (int e = 0; e < Events; e++)
        {
            for (int apv = 0; apv < Apvs; apv++)
            {
                Array.Clear(signal);
                for (int plane = 0; plane < 2; plane++)
                {
                    for (int k = Poisson(r, HitsPerPlane); k > 0; k--)
                    {
                        double centre = 320 * r.NextDouble();
                        double charge = 60 + 25 * -Math.Log(1.0 - r.NextDouble()) + 20 * Gauss();
                        for (int s = (int)centre - 2; s <= (int)centre + 2; s++)
                        {
                            if (s < 0 || s >= 320) continue;
                            int channel = plane * 64 + Series[s / 64] * (s % 64) % 64;
                            signal[channel] += charge * Math.Exp(-0.5 * (s - centre) * (s - centre));
                        }
                    }
                }
                double[] cm = [2 * Gauss(), 2 * Gauss(), 2 * Gauss()];
                for (int f = 0; f < ApvLayout.Frames; f++)
                {
                    for (int c = 0; c < n; c++)
                    {
                        int i = apv * n + c;
                        double v = ped[i] + cm[f] + sigma[i] * Gauss() + shape[f] * signal[c];
                        _data[e * Apvs * ApvLayout.SamplesPerApv + ApvLayout.Index(apv, f, c)] = (short)Math.Clamp(Math.Round(v), 0, ApvLayout.MaxAmplitude);
                    }
                }
            }
        }
        _best = new ApvProcessor(table);
        _scalar = new ApvProcessor(table, null, ZsImplementation.Scalar);
        _median = new ApvProcessor(table, new ApvProcessingOptions { CommonMode = CommonModeMethod.IteratedMedian });
        _noCm = new ApvProcessor(table, new ApvProcessingOptions { CommonMode = CommonModeMethod.None });
        _hits = new ApvKeptChannel[_best.MaxHits];
    }

    private static int Poisson(Random r, double mean)
    {
        double limit = Math.Exp(-mean), p = 1;
        int k = 0;
        while ((p *= r.NextDouble()) > limit) k++;
        return k;
    }

    private long RunAll(ApvProcessor processor)
    {
        const int size = Apvs * ApvLayout.SamplesPerApv;
        long kept = 0;
        for (int e = 0; e < Events; e++)
            kept += processor.Process(new ApvBlock(_data.AsSpan(e * size, size)), _hits, _chips);
        return kept;
    }

    /// <summary>The same bytes copied once (Span.CopyTo): the memory baseline of the ratio.</summary>
    [Benchmark(Baseline = true)]
    public long Copy()
    {
        _data.AsSpan().CopyTo(_copy);
        return _copy[^1];
    }

    [Benchmark]
    public long ProcessBest() => RunAll(_best);

    [Benchmark]
    public long ProcessScalar() => RunAll(_scalar);

    [Benchmark]
    public long ProcessIteratedMedian() => RunAll(_median);

    [Benchmark]
    public long ZsWithoutCommonMode() => RunAll(_noCm);

    public bool RunQuick(QuickRunner runner)
    {
        ArgumentNullException.ThrowIfNull(runner);
        Setup();
        var inv = CultureInfo.InvariantCulture;
        double hitsPerEvent = RunAll(_best) / (double)Events;
        var t = runner.Measure(Copy, ProcessBest, ProcessScalar, ProcessIteratedMedian, ZsWithoutCommonMode);
        string[] names = ["memory copy (Span.CopyTo)", $"pedestal+CM+ZS {_best.Implementation}", "pedestal+CM+ZS Scalar",
            $"iterated median {_median.Implementation}", $"ZS only, no CM {_noCm.Implementation}"];
        long bytesPerEvent = Apvs * ApvLayout.SamplesPerApv * sizeof(short);
        runner.Line(string.Create(inv, $"-- APV processing, {Apvs} MM APVs per event ({bytesPerEvent} bytes), {Events} events, {hitsPerEvent:F1} kept channels per event, 2 sigma on max of 3 frames (thread CPU time)"));
        for (int i = 0; i < t.Length; i++)
        {
            double perEvent = t[i].CpuSeconds / Events;
            runner.Line(string.Create(inv,
                $"   {names[i],-34} {perEvent * 1e9,8:F0} ns/event  {1 / perEvent,12:N0} events/s  {bytesPerEvent / perEvent / 1e9,6:F2} GB/s  x{t[i].CpuSeconds / t[0].CpuSeconds,6:F1} copy   (wall {t[i].WallSeconds / Events * 1e9:F0} ns/event)"));
        }
        runner.Line(string.Create(inv, $"   {_best.Implementation} / Scalar speed: {t[2].CpuSeconds / t[1].CpuSeconds:F1}x; share of the 5 us/event budget of the 200k events/s chain: {t[1].CpuSeconds / Events / 5e-6:P0}"));
        bool pass = runner.Target($"APV processing events/s / {TargetEventsPerSecond:N0}", Events / t[1].CpuSeconds / TargetEventsPerSecond, 1.0);
        _data = [];
        _copy = [];
        return pass;
    }
}
