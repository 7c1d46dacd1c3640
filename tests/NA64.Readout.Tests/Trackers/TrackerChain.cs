using NA64.Hardware.Digitizers.Apv.Format;
using NA64.Hardware.Trackers.Micromegas;
using NA64.Readout.Processing.Apv;
using NA64.Readout.Trackers;
using NA64.Simulators.Physics;
using NA64.Simulators.Trackers;

namespace NA64.Readout.Tests.Trackers;

/// <summary>
/// The simulated tracker chain shared by the end-to-end tests: the tracker simulator on the calorimeters' events, the
/// APV-ADC blocks written as the GeSiCA ships them (sparse or latch-all), decoded, and reconstructed.
/// </summary>
internal sealed class TrackerChain
{
    public const int Source = ApvFacts.DefaultSourceId;
    public const int TimeTag = 1000;
    public static PhysicsOptions Physics { get; } = new() { Waveform = new WaveformOptions { PileUp = false } };

    private readonly byte[] _bytes = new byte[64 * 1024];
    private readonly ApvHit[] _hits = new ApvHit[ApvFacts.ChannelsPerApv];
    private readonly short[] _block;

    public TrackerChain(int seed, TrackerOptions? options = null)
    {
        Options = options ?? new TrackerOptions();
        Seed = seed;
        Simulator = new TrackerSimulator(Options, Physics, MultiplexingMap.Na64.StripToChannel.ToArray(), seed);
        Layout = LayoutOf(Options);
        _block = new short[Layout.Chips.Count() * ApvLayout.SamplesPerApv];
    }

    public TrackerOptions Options { get; }
    public int Seed { get; }
    public TrackerSimulator Simulator { get; }
    public TrackerLayout Layout { get; }
    public ApvEventData Data { get; } = new();

    /// <summary>The setup's layout of the simulator's geometry: every detector on the GeSiCA, the NA64 map, its X/Y channels.</summary>
    public static TrackerLayout LayoutOf(TrackerOptions options) => new(
        [.. options.Geometry.Detectors.Select(d =>
        {
            var kind = d.Kind == TrackerKind.Micromegas ? TrackerDetectorKind.Micromegas : TrackerDetectorKind.Gem;
            return new TrackerDetectorLayout(d.Name, kind, Source, d.AdcId, d.FirstChipId, TrackerDetectorLayout.DefaultThresholdSigmas(kind));
        })],
        MultiplexingMap.Na64, options.Geometry.MicromegasXApvChannels, options.Geometry.MicromegasYApvChannels);

    public static List<EventTruth> Events(int count, int seed)
    {
        var generator = new Na64EventGenerator(Physics, seed);
        var samples = new short[generator.BlockLength];
        var list = new List<EventTruth>(count);
        for (int i = 0; i < count; i++)
            list.Add(generator.Next(samples));
        return list;
    }

    /// <summary>The ADC format byte of a sparse run: pedestal and CM subtracted on board, optionally ADC version 2.</summary>
    public static ApvFormatFlags SparseFormat(bool adcVersion2) =>
        ApvFormatFlags.TripleFrame | ApvFormatFlags.Sparse | ApvFormatFlags.PedestalSubtracted | ApvFormatFlags.CommonMode
        | (adcVersion2 ? ApvFormatFlags.AdcVersion2 : ApvFormatFlags.None);

    /// <summary>Writes the event's APVs as one S-Link block of the GeSiCA: latch-all (raw frames) when
    /// <paramref name="format"/> has no sparse bit, else the on-board sparse output with its CM word.</summary>
    public ReadOnlySpan<byte> Write(TrackerEvent ev, ApvFormatFlags format, ApvSparseVariant variant)
    {
        bool sparse = (format & ApvFormatFlags.Sparse) != 0;
        var writer = new ApvBlockWriter(_bytes, Source, (int)(ev.EventNumber % (1 << 20)), 1);
        foreach (int adc in ev.Apvs.Select(a => a.Address.AdcId).Distinct())
        {
            // The simulator's data-skipped fault is the ADC's format bit 5: headers only.
            bool skipped = ev.Apvs.Any(a => a.Address.AdcId == adc && a.DataSkipped);
            writer.BeginAdc(adc, skipped ? format | ApvFormatFlags.DataSkipped : format, TimeTag, variant);
            foreach (var apv in ev.Apvs)
            {
                if (apv.Address.AdcId != adc || !apv.Present) continue;
                if (sparse)
                {
                    int n = 0;
                    foreach (var h in apv.Sparse) _hits[n++] = h;
                    writer.AddApvSparse(apv.Address.ChipId, apv.Columns, _hits.AsSpan(0, n), CommonModeField(apv.CommonMode));
                }
                else
                {
                    writer.AddApvLatchAll(apv.Address.ChipId, apv.Columns, apv.Raw);
                }
            }
        }
        int length = writer.Finish();
        return _bytes.AsSpan(0, length);
    }

    /// <summary>The simulator's CM is signed ADC counts, the CM word's fields are 10 bits whose sign/offset convention
    /// is not known (data-formats §7.6, uncertain): written here as 10-bit two's complement. The reconstruction does
    /// not use the CM word (the amplitudes are already corrected), so the choice only has to fit the field.</summary>
    public static ApvCommonMode CommonModeField(ApvCommonMode cm) =>
        new(cm.Frame1 & ApvFacts.MaxAmplitude, cm.Frame2 & ApvFacts.MaxAmplitude, cm.Frame3 & ApvFacts.MaxAmplitude);

    public ApvDecoderOptions DecoderOptions(ApvSparseVariant variant) =>
        new() { SparseVariant = variant, ExpectedAdcIds = Layout.AdcIds(Source) };

    public void Decode(ReadOnlySpan<byte> bytes, ApvDecoderOptions options)
    {
        Data.Clear();
        ApvDecoder.Decode(bytes, Data, options);
    }

    /// <summary>A no-beam pedestal run (chambers at efficiency 0, no pile-up, same seed so the same pedestals and
    /// noise) in latch-all mode through the decoder and <see cref="ApvPedestalAccumulator"/>.</summary>
    public ApvPedestalTable PedestalRun(IReadOnlyList<EventTruth> events)
    {
        var quiet = Options with
        {
            Micromegas = Options.Micromegas with { Efficiency = 0 },
            Gem = Options.Gem with { Efficiency = 0 },
            PileUpTracksMean = 0,
        };
        var simulator = new TrackerSimulator(quiet, Physics, MultiplexingMap.Na64.StripToChannel.ToArray(), Seed);
        var reconstruction = new TrackerReconstruction(Layout);
        var accumulator = new ApvPedestalAccumulator(_block.Length / ApvLayout.SamplesPerApv);
        var options = DecoderOptions(ApvSparseVariant.GemSi);
        foreach (var truth in events)
        {
            Decode(Write(simulator.Simulate(truth), ApvFormatFlags.TripleFrame, ApvSparseVariant.GemSi), options);
            Assert.Empty(Data.Problems);
            Assert.True(reconstruction.FillLatchAllBlock(Data, Source, _block));
            accumulator.Add(new ApvBlock(_block));
        }
        return accumulator.Build();
    }

    /// <summary>The true position of the event's beam track in a plane, in the reconstruction's plane frame (0 at the
    /// plane centre), or null when the track left no cluster there (missed the chamber or the chamber was inefficient).</summary>
    public static double? Truth(PlaneTruth plane, PlaneGeometry geometry)
    {
        foreach (var h in plane.Hits)
        {
            if (h.PileUp) continue;
            return h.Detected && h.InAcceptance ? h.LocalMm - geometry.StripCount * geometry.PitchMm / 2 : null;
        }
        return null;
    }
}
