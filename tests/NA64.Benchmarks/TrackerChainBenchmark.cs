using System.Globalization;
using BenchmarkDotNet.Attributes;
using NA64.Hardware.Digitizers.Apv.Format;
using NA64.Hardware.Trackers.Micromegas;
using NA64.Readout.Processing.Apv;
using NA64.Readout.Trackers;
using NA64.Simulators.Physics;
using NA64.Simulators.Trackers;

namespace NA64.Benchmarks;

/// <summary>
/// The tracker chain of issue 9 for the 8 micromegas chambers (8 APVs per event): pedestal, common mode, 2σ zero
/// suppression, demultiplexing and clustering (<see cref="TrackerReconstruction"/>) from decoded latch-all APVs, against
/// a memory copy of the same sample bytes (8 × 3 × 128 int16 = 6 KiB per event) measured in the same run. Events come
/// from the tracker simulator on the calorimeters' events (NA64 map, noise 2-5 ADC, CM σ 4, pile-up 0.2 tracks), the
/// pedestal table from a no-beam run of the same simulator. Target: <see cref="TargetEventsPerSecond"/> on one core.
/// Also shown: the same latch-all events with decoding, and the sparse path (decode + reconstruction of the GeSiCA
/// fragment with the on-board zero suppression's output).
/// </summary>
[MemoryDiagnoser]
public class TrackerChainBenchmark : IQuickBenchmark
{
    public const int Events = 512;
    public const int Apvs = 8;
    public const double TargetEventsPerSecond = 200_000;
    private const int Source = ApvFacts.DefaultSourceId;
    private const int Seed = 20261203;

    private ApvEventData[] _decoded = [];
    // The finders' input of every event (kept channels per plane) and the planes' finders, for the demux+clusters row.
    private TrackerChannelHit[][][] _planeHits = [];
    private MicromegasClusterFinder[] _finders = [];
    private float[][] _planeSigma = [];
    private byte[][] _latchAll = [];
    private byte[][] _sparse = [];
    private short[] _samples = [];
    private short[] _copy = [];
    private readonly ApvEventData _scratch = new(Apvs, 1024);
    private TrackerReconstruction _reconstruction = null!;
    private ApvDecoderOptions _decoderOptions = null!;

    [GlobalSetup]
    public void Setup()
    {
        var physics = new PhysicsOptions { Waveform = new WaveformOptions { PileUp = false } };
        var mmOnly = new TrackerOptions();
        mmOnly = mmOnly with { Geometry = mmOnly.Geometry with { Detectors = [.. mmOnly.Geometry.Detectors.Where(d => d.Kind == TrackerKind.Micromegas)] } };
        int[] stripToChannel = MultiplexingMap.Na64.StripToChannel.ToArray();
        var layout = new TrackerLayout(
            [.. mmOnly.Geometry.Detectors.Select(d => new TrackerDetectorLayout(d.Name, TrackerDetectorKind.Micromegas, Source, d.AdcId, d.FirstChipId, 2))],
            MultiplexingMap.Na64);

        // Pedestal run: same seed (same pedestals and noise), no charge, no pile-up.
        var quiet = new TrackerSimulator(mmOnly with
        {
            Micromegas = mmOnly.Micromegas with { Efficiency = 0 },
            PileUpTracksMean = 0,
        }, physics, stripToChannel, Seed);
        var pedestalRun = new ApvPedestalAccumulator(Apvs);
        var block = new short[Apvs * ApvLayout.SamplesPerApv];
        var generator = new Na64EventGenerator(physics, Seed + 1);
        var calorimeter = new short[generator.BlockLength];
        var bare = new TrackerReconstruction(layout);
        for (int e = 0; e < 300; e++)
        {
            var ev = quiet.Simulate(generator.Next(calorimeter));
            foreach (var apv in ev.Apvs)
            {
                int slot = bare.ChipIndex(Source, apv.Address.AdcId, apv.Address.ChipId);
                for (int i = 0; i < apv.Raw.Length; i++) block[slot * ApvLayout.SamplesPerApv + i] = (short)apv.Raw[i];
            }
            pedestalRun.Add(new ApvBlock(block));
        }
        _reconstruction = new TrackerReconstruction(layout, pedestalRun.Build());
        int planeCount = _reconstruction.PlaneCount;
        _finders = [.. Enumerable.Range(0, planeCount).Select(p => new MicromegasClusterFinder(layout.Map, _reconstruction.Geometry(p), _reconstruction.Options.Micromegas))];
        _decoderOptions = new ApvDecoderOptions { ExpectedAdcIds = layout.AdcIds(Source) };

        var simulator = new TrackerSimulator(mmOnly, physics, stripToChannel, Seed);
        simulator.DownloadTrueTables();
        generator = new Na64EventGenerator(physics, Seed);
        var buffer = new byte[64 * 1024];
        var hits = new ApvHit[ApvFacts.ChannelsPerApv];
        _decoded = new ApvEventData[Events];
        _planeHits = new TrackerChannelHit[Events][][];
        _planeSigma = [.. Enumerable.Range(0, planeCount).Select(p => _reconstruction.PlaneSigma(p).ToArray())];
        _latchAll = new byte[Events][];
        _sparse = new byte[Events][];
        _samples = new short[Events * Apvs * ApvLayout.SamplesPerApv];
        _copy = new short[_samples.Length];
        for (int e = 0; e < Events; e++)
        {
            var ev = simulator.Simulate(generator.Next(calorimeter));
            _latchAll[e] = Write(ev, buffer, hits, sparse: false);
            _sparse[e] = Write(ev, buffer, hits, sparse: true);
            _decoded[e] = new ApvEventData(Apvs, 256);
            ApvDecoder.Decode(_latchAll[e], _decoded[e], _decoderOptions);
            _reconstruction.Process(_decoded[e], Source);
            _planeHits[e] = [.. Enumerable.Range(0, planeCount).Select(p => _reconstruction.ChannelHits(p).ToArray())];
            for (int a = 0; a < Apvs; a++)
                for (int i = 0; i < ApvLayout.SamplesPerApv; i++)
                    _samples[(e * Apvs + a) * ApvLayout.SamplesPerApv + i] = (short)ev.Apvs[a].Raw[i];
        }
    }

    /// <summary>Demultiplexing and clustering only: the finders of the 16 planes on the kept channels of each event.</summary>
    [Benchmark]
    public long FindClusters()
    {
        long clusters = 0;
        for (int e = 0; e < Events; e++)
        {
            var planes = _planeHits[e];
            for (int p = 0; p < planes.Length; p++) clusters += _finders[p].Find(planes[p], _planeSigma[p]).Length;
        }
        return clusters;
    }

    /// <summary>One GeSiCA fragment of a simulated event, latch-all or sparse (shared with the end-to-end benchmark).</summary>
    internal static byte[] Write(TrackerEvent ev, byte[] buffer, ApvHit[] hits, bool sparse, int? eventNumber = null, int spill = 1)
    {
        var format = sparse
            ? ApvFormatFlags.TripleFrame | ApvFormatFlags.Sparse | ApvFormatFlags.PedestalSubtracted | ApvFormatFlags.CommonMode
            : ApvFormatFlags.TripleFrame;
        var writer = new ApvBlockWriter(buffer, Source, eventNumber ?? (int)(ev.EventNumber % (1 << 20)), spill);
        foreach (int adc in ev.Apvs.Select(a => a.Address.AdcId).Distinct())
        {
            writer.BeginAdc(adc, format, 1000);
            foreach (var apv in ev.Apvs.Where(a => a.Address.AdcId == adc))
            {
                if (!sparse)
                {
                    writer.AddApvLatchAll(apv.Address.ChipId, apv.Columns, apv.Raw);
                    continue;
                }
                int n = 0;
                foreach (var h in apv.Sparse) hits[n++] = h;
                // The CM word's sign convention is not known (data-formats §7.6): 10-bit two's complement here.
                var cm = apv.CommonMode;
                writer.AddApvSparse(apv.Address.ChipId, apv.Columns, hits.AsSpan(0, n),
                    new ApvCommonMode(cm.Frame1 & ApvFacts.MaxAmplitude, cm.Frame2 & ApvFacts.MaxAmplitude, cm.Frame3 & ApvFacts.MaxAmplitude));
            }
        }
        return buffer.AsSpan(0, writer.Finish()).ToArray();
    }

    /// <summary>The same sample bytes copied once (Span.CopyTo): the memory baseline of the ratio.</summary>
    [Benchmark(Baseline = true)]
    public long Copy()
    {
        _samples.AsSpan().CopyTo(_copy);
        return _copy[^1];
    }

    /// <summary>Pedestal + CM + ZS + demultiplexing + clustering of decoded latch-all events.</summary>
    [Benchmark]
    public long ReconstructLatchAll()
    {
        for (int e = 0; e < Events; e++) _reconstruction.Process(_decoded[e], Source);
        return _reconstruction.Totals.Clusters;
    }

    [Benchmark]
    public long DecodeAndReconstructLatchAll()
    {
        for (int e = 0; e < Events; e++)
        {
            _scratch.Clear();
            ApvDecoder.Decode(_latchAll[e], _scratch, _decoderOptions);
            _reconstruction.Process(_scratch, Source);
        }
        return _reconstruction.Totals.Clusters;
    }

    [Benchmark]
    public long DecodeAndReconstructSparse()
    {
        for (int e = 0; e < Events; e++)
        {
            _scratch.Clear();
            ApvDecoder.Decode(_sparse[e], _scratch, _decoderOptions);
            _reconstruction.Process(_scratch, Source);
        }
        return _reconstruction.Totals.Clusters;
    }

    public bool RunQuick(QuickRunner runner)
    {
        ArgumentNullException.ThrowIfNull(runner);
        Setup();
        var inv = CultureInfo.InvariantCulture;
        _reconstruction.ResetTotals();
        ReconstructLatchAll();
        var totals = _reconstruction.Totals;
        double sparseBytes = _sparse.Average(b => b.Length), latchBytes = _latchAll.Average(b => b.Length);
        var t = runner.Measure(Copy, ReconstructLatchAll, DecodeAndReconstructLatchAll, DecodeAndReconstructSparse, FindClusters);
        string[] names = ["memory copy (Span.CopyTo)", "latch-all: ped+CM+ZS+demux+clusters", "latch-all: decode + the above", "sparse: decode + demux + clusters", "demux + clusters only (16 planes)"];
        long bytesPerEvent = Apvs * ApvLayout.SamplesPerApv * sizeof(short);
        runner.Line(string.Create(inv, $"-- Tracker chain, {Apvs} MM APVs per event ({bytesPerEvent} sample bytes; fragments {latchBytes:F0} B latch-all, {sparseBytes:F0} B sparse), {Events} simulated events, {totals.ChannelHits / (double)totals.Events:F1} kept channels and {totals.Clusters / (double)totals.Events:F1} clusters per event (thread CPU time)"));
        for (int i = 0; i < t.Length; i++)
        {
            double perEvent = t[i].CpuSeconds / Events;
            runner.Line(string.Create(inv,
                $"   {names[i],-38} {perEvent * 1e9,8:F0} ns/event  {1 / perEvent,12:N0} events/s  x{t[i].CpuSeconds / t[0].CpuSeconds,6:F1} copy   (wall {t[i].WallSeconds / Events * 1e9:F0} ns/event)"));
        }
        bool pass = runner.Target($"Tracker chain (latch-all, 8 MM) events/s / {TargetEventsPerSecond:N0}", Events / t[1].CpuSeconds / TargetEventsPerSecond, 1.0);
        _decoded = [];
        _latchAll = [];
        _sparse = [];
        _samples = [];
        _copy = [];
        return pass;
    }
}
