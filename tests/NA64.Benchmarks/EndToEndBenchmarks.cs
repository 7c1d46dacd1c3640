using System.Globalization;
using BenchmarkDotNet.Attributes;
using NA64.Hardware.Digitizers.Apv.Format;
using NA64.Hardware.Digitizers.Msadc;
using NA64.Hardware.Trackers.Micromegas;
using NA64.Hardware.Digitizers.Msadc.Format;
using NA64.Readout.Formats;
using NA64.Readout.Pipeline;
using NA64.Readout.Processing;
using NA64.Simulators.Digitizers.Msadc;
using NA64.Simulators.Physics;
using NA64.Simulators.Trackers;

namespace NA64.Benchmarks;

/// <summary>
/// End-to-end readout of simulated NA64 events on one core: S-Link latch-all fragments (two MSADC sources, 128
/// channels × 32 samples, generated before timing) -> <see cref="MsadcZeroSuppressionStage"/> (decode, SIMD pedestal +
/// threshold, sparse re-encode with raw samples) straight into the <see cref="DateEventBuilder"/>'s equipment space ->
/// <see cref="DateFileWriter"/> into a stream that discards (<see cref="Stream.Null"/>) or into a real file in /tmp.
/// The reference is a plain memory copy of the same input bytes, measured in the same run.
/// Target (issue 3): at least 100 000 events/s (10× NA64's maximum trigger rate). With the trackers (issue 9) the same
/// run also carries the GeSiCA's sparse APV fragment of each event (8 micromegas, 2 GEMs, from the tracker simulator on the
/// same events): checked by the <see cref="ApvSourceStage"/>, copied for the tracker monitor's queue, written into the
/// DATE event; the calorimeter rate must hold.
/// </summary>
[MemoryDiagnoser]
public class EndToEndBenchmarks : IQuickBenchmark
{
    public const double TargetEventsPerSecond = 100_000;
    private const int Samples = 32;

    private byte[] _input = [];
    private int[] _offsets = [];
    private int[] _sourceIds = [];
    private EventMetadata[] _events = [];
    private byte[] _copy = [];
    private MsadcZeroSuppressionStage _stage = null!;
    private DateEventBuilder _builder = null!;
    private DateFileWriter _discard = null!;
    private DateFileWriter _file = null!;
    private FileStream _fileStream = null!;
    private int _sources;
    private readonly SadcEventData _decoded = new();
    private readonly byte[] _scratch = new byte[64 * 1024];
    private byte[][] _apv = [];
    private ApvSourceStage _apvStage = null!;
    private readonly byte[] _monitorCopy = new byte[64 * 1024];

    /// <summary>Simulated events generated before timing.</summary>
    [Params(4000)]
    public int Events { get; set; } = 4000;

    public long InputBytes => _input.Length;

    [GlobalSetup]
    public void Setup()
    {
        var generator = new Na64EventGenerator(new PhysicsOptions { Waveform = new WaveformOptions { SamplesPerChannel = Samples } }, seed: 11);
        var modules = new[] { (Source: 610, First: 0), (Source: 611, First: 64) };
        var simulators = new List<MsadcSourceSimulator>();
        var stageModules = new List<MsadcStageModule>();
        foreach (var (source, first) in modules)
        {
            var device = new MsadcDevice(string.Create(CultureInfo.InvariantCulture, $"bench-{source}"), source, 0);
            device.ConfigureAsync(MsadcConfiguration.Uniform(MsadcMode.LatchAll, Samples, 0, new MsadcChannelSettings(0, 0, 0))).GetAwaiter().GetResult();
            device.ArmAsync().GetAwaiter().GetResult();
            device.StartAsync().GetAwaiter().GetResult();
            simulators.Add(new MsadcSourceSimulator(source, [new MsadcDataPath(device, first)]));
            // Suppression table from the generator's calibration truth (what a pedestal run measures): 5σ thresholds.
            var even = new short[64];
            var odd = new short[64];
            var threshold = new short[64];
            for (int k = 0; k < 64; k++)
            {
                int channel = first + k;
                if (channel >= generator.Layout.Count)
                {
                    threshold[k] = SuppressionTable.Masked;
                    continue;
                }

                var cal = generator.Calibration[channel];
                even[k] = (short)Math.Round(cal.PedestalEven);
                odd[k] = (short)Math.Round(cal.PedestalOdd);
                threshold[k] = (short)Math.Ceiling(5 * cal.NoiseRms);
            }

            stageModules.Add(new MsadcStageModule(source, 0, new SuppressionTable(even, odd, threshold)));
        }

        _sources = simulators.Count;
        var block = new short[generator.BlockLength];
        var fragment = new byte[simulators.Max(s => s.MaxFragmentBytes)];
        var input = new MemoryStream();
        var offsets = new List<int> { 0 };
        var ids = new List<int>();
        _events = new EventMetadata[Events];
        for (int e = 0; e < Events; e++)
        {
            var truth = generator.Next(block);
            _events[e] = new EventMetadata(1001, (uint)truth.Spill, (uint)truth.EventInSpill, (uint)(e + 1), 1, 0, -1, 7);
            foreach (var source in simulators)
            {
                int length = source.WriteFragment(block, Samples, truth.EventInSpill, SlinkHeader.SpillFromBurst(truth.Spill), fragment);
                input.Write(fragment, 0, length);
                offsets.Add((int)input.Length);
                ids.Add(source.SourceId);
            }
        }

        // The trackers' GeSiCA on the same events: sparse fragments as the APV-ADCs send them with downloaded tables.
        var tracker = new TrackerSimulator(new TrackerOptions(), generator.Options, MultiplexingMap.Na64.StripToChannel.ToArray(), seed: 11);
        tracker.DownloadTrueTables();
        var replay = new Na64EventGenerator(new PhysicsOptions { Waveform = new WaveformOptions { SamplesPerChannel = Samples } }, seed: 11);
        var apvBuffer = new byte[64 * 1024];
        var hits = new ApvHit[ApvFacts.ChannelsPerApv];
        _apv = new byte[Events][];
        for (int e = 0; e < Events; e++)
        {
            var ev = tracker.Simulate(replay.Next(block));
            _apv[e] = TrackerChainBenchmark.Write(ev, apvBuffer, hits, sparse: true, eventNumber: (int)_events[e].EventInSpill, spill: SlinkHeader.SpillFromBurst((int)_events[e].Spill));
        }

        _apvStage = new ApvSourceStage([ApvFacts.DefaultSourceId]);
        _apvStage.Accepted = (in EventMetadata meta, ReadOnlySpan<byte> fragment) => fragment.CopyTo(_monitorCopy);
        _input = input.ToArray();
        _offsets = [.. offsets];
        _sourceIds = [.. ids];
        _copy = new byte[_input.Length];
        _stage = new MsadcZeroSuppressionStage(stageModules, Samples);
        _builder = new DateEventBuilder(TimeProvider.System, new DateWriterOptions { LdcId = 1, GdcId = 1 });
        _discard = new DateFileWriter(Stream.Null, leaveOpen: true);
        string path = Path.Combine(Path.GetTempPath(), string.Create(CultureInfo.InvariantCulture, $"na64-e2e-bench-{Environment.ProcessId}.dat"));
        _fileStream = new FileStream(path, FileMode.Create, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.DeleteOnClose);
        _file = new DateFileWriter(_fileStream, leaveOpen: true);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _discard.Dispose();
        _file.Dispose();
        _fileStream.Dispose();
    }

    /// <summary>Decode -> ZS -> DATE event -> writer into a discarding stream. Returns the events written.</summary>
    [Benchmark]
    public long EndToEndDiscard() => Run(_discard);

    /// <summary>Same, into a real file in /tmp (rewound each call so the file stays the size of one pass).</summary>
    [Benchmark]
    public long EndToEndFile()
    {
        _file.Flush();
        _fileStream.Position = 0;
        long n = Run(_file);
        _file.Flush();
        return n;
    }

    /// <summary>Decode -> ZS -> DATE event with the GeSiCA's APV fragment checked, handed to the monitor and written beside the MSADC ones.</summary>
    [Benchmark]
    public long EndToEndWithTrackers() => Run(_discard, trackers: true);

    /// <summary>Breakdown: the format-3 decoder alone over the same fragments (what the stage spends beyond it is ZS + re-encode + DATE).</summary>
    [Benchmark]
    public long DecodeOnly()
    {
        long channels = 0;
        for (int f = 0; f < _sourceIds.Length; f++)
        {
            _decoded.Clear();
            SadcDecoder.Decode(_input.AsSpan(_offsets[f], _offsets[f + 1] - _offsets[f]), _decoded);
            channels += _decoded.Channels.Length;
        }

        return channels;
    }

    /// <summary>Breakdown: the processing stage alone (decode, ZS, re-encode), no DATE event and no writer.</summary>
    [Benchmark]
    public long StageOnly()
    {
        long bytes = 0;
        for (int f = 0; f < _sourceIds.Length; f++)
        {
            var fragment = _input.AsSpan(_offsets[f], _offsets[f + 1] - _offsets[f]);
            bytes += _stage.ProcessFragment(fragment, _events[f / _sources], _scratch, out _);
        }

        return bytes;
    }

    /// <summary>The reference: one memory copy of the same input bytes.</summary>
    [Benchmark(Baseline = true)]
    public long MemoryCopy()
    {
        _input.AsSpan().CopyTo(_copy);
        return _copy[^1];
    }

    private long Run(DateFileWriter writer, bool trackers = false)
    {
        int f = 0;
        for (int e = 0; e < _events.Length; e++)
        {
            ref readonly var meta = ref _events[e];
            _builder.Begin(DateEventType.Physics, meta.Run, meta.EventInRun, (int)meta.Spill, (int)meta.EventInSpill, meta.TriggerMask);
            for (int s = 0; s < _sources; s++, f++)
            {
                var fragment = _input.AsSpan(_offsets[f], _offsets[f + 1] - _offsets[f]);
                var room = _builder.GetEquipmentSpan(fragment.Length);
                int length = _stage.ProcessFragment(fragment, meta, room, out var reason);
                if (reason != DropReason.None)
                    throw new InvalidOperationException($"benchmark fragment {f} (source {_sourceIds[f]}) rejected: {reason}");
                _builder.CommitEquipment(length);
            }

            if (trackers)
            {
                var apv = _apv[e];
                var room = _builder.GetEquipmentSpan(apv.Length);
                var apvMeta = meta with { SourceId = ApvFacts.DefaultSourceId };
                int length = _apvStage.ProcessFragment(apv, apvMeta, room, out var reason);
                if (reason != DropReason.None)
                    throw new InvalidOperationException($"benchmark APV fragment of event {e} rejected: {reason}");
                _builder.CommitEquipment(length);
            }

            writer.Write(_builder.Finish());
        }

        return _events.Length;
    }

    public bool RunQuick(QuickRunner runner)
    {
        Setup();
        try
        {
            var t = runner.Measure(EndToEndDiscard, EndToEndFile, MemoryCopy, DecodeOnly, StageOnly, EndToEndWithTrackers);
            double kept = _stage.ChannelsIn == 0 ? 0 : (double)_stage.ChannelsKept / _stage.ChannelsIn;
            runner.Line(string.Create(CultureInfo.InvariantCulture,
                $"end-to-end: {Events} simulated events, {_sources} MSADC sources × 64 channels × {Samples} samples, {_input.Length / 1e6:0.00} MB latch-all input ({_input.Length / Events} B/event), {kept * 100:0.0} % of channels kept, kernel {_stage.Implementation}"));
            string[] names = ["decode->ZS->DATE, discard", "decode->ZS->DATE, file in /tmp", "memory copy of the input", "breakdown: decoder alone", "breakdown: stage alone (no DATE)",
                "with the trackers' GeSiCA, discard"];
            for (int i = 0; i < t.Length; i++)
            {
                double perCall = t[i].CpuSeconds;
                runner.Line(string.Create(CultureInfo.InvariantCulture,
                    $"  {names[i],-32} CPU {Events / perCall,12:N0} events/s {_input.Length / perCall / 1e6,9:0.0} MB/s   (wall {Events / t[i].WallSeconds,12:N0} events/s)"));
            }

            double copy = t[2].CpuSeconds;
            runner.Line(string.Create(CultureInfo.InvariantCulture,
                $"  ratio to memory copy (speed, CPU time): discard {copy / t[0].CpuSeconds:0.000}, file {copy / t[1].CpuSeconds:0.000}"));
            bool pass = runner.Target("end-to-end discard events/s / 100000", Events / t[0].CpuSeconds / TargetEventsPerSecond, 1.0);
            pass &= runner.Target("end-to-end file events/s / 100000", Events / t[1].CpuSeconds / TargetEventsPerSecond, 1.0);
            runner.Line(string.Create(CultureInfo.InvariantCulture,
                $"  trackers: {_apv.Sum(a => (long)a.Length) / Events} B/event sparse APV fragment, {_apvStage.Chips / Math.Max(1, _apvStage.Fragments)} APVs, {_apvStage.Channels / Math.Max(1, _apvStage.Fragments)} channels per fragment"));
            pass &= runner.Target("end-to-end with trackers events/s / 100000", Events / t[5].CpuSeconds / TargetEventsPerSecond, 1.0);
            return pass;
        }
        finally
        {
            Cleanup();
        }
    }
}
