using System.Globalization;
using NA64.Hardware.Digitizers.Apv.Format;
using NA64.Hardware.Trackers.Micromegas;

namespace NA64.Readout.Trackers;

/// <summary>The two tracker families read by APV25 chips (na64-setup.md §8.1, §8.2).</summary>
public enum TrackerDetectorKind
{
    /// <summary>XY resistive micromegas: 320 strips per plane at 0.25 mm, multiplexed x5 onto 64 channels; one APV per chamber.</summary>
    Micromegas,

    /// <summary>Triple GEM: 256 strips per plane at 0.4 mm, not multiplexed; 4 APVs per detector, 2 per plane.</summary>
    Gem,
}

/// <summary>
/// One tracker detector and where its APVs are: GeSiCA source, APV-ADC and first chip. A micromegas has one APV
/// (<paramref name="FirstChipId"/>); a GEM has four, <c>FirstChipId + 0, + 1</c> for X strips 0..127 and 128..255 and
/// <c>+ 2, + 3</c> for Y likewise. <paramref name="ThresholdSigmas"/> is the zero-suppression level (2 for micromegas,
/// 3 for GEMs by default).
/// </summary>
public sealed record TrackerDetectorLayout(
    string Name, TrackerDetectorKind Kind, int SourceId, int AdcId, int FirstChipId, double ThresholdSigmas)
{
    /// <summary>APV chips the detector uses.</summary>
    public int ChipCount => Kind == TrackerDetectorKind.Micromegas ? 1 : 4;

    /// <summary>Plane names, X then Y (<c>MM1X</c>, <c>MM1Y</c>).</summary>
    public IReadOnlyList<string> Planes => [Name + "X", Name + "Y"];

    public static double DefaultThresholdSigmas(TrackerDetectorKind kind) => kind == TrackerDetectorKind.Micromegas ? 2 : 3;
}

/// <summary>
/// The tracker readout of one installation, built from the setup: the detectors with their APVs, the micromegas
/// multiplexing map, which APV physical channels carry a micromegas chamber's X and Y electronic channels (the real
/// assignment is not public: data-formats.md 7.12, so it is configuration; default X on 0..63, Y on 64..127), and the
/// sparse amplitude variant of the GeSiCA's ADCs (data-formats.md 7.8, uncertain for NA64: per source).
/// </summary>
public sealed class TrackerLayout
{
    public TrackerLayout(
        IReadOnlyList<TrackerDetectorLayout> detectors,
        MultiplexingMap map,
        IReadOnlyList<int>? micromegasXChannels = null,
        IReadOnlyList<int>? micromegasYChannels = null,
        ApvSparseVariant sparseVariant = ApvSparseVariant.GemSi)
    {
        ArgumentNullException.ThrowIfNull(detectors);
        ArgumentNullException.ThrowIfNull(map);
        Detectors = [.. detectors];
        Map = map;
        MicromegasXChannels = [.. micromegasXChannels ?? Enumerable.Range(0, map.ChannelCount)];
        MicromegasYChannels = [.. micromegasYChannels ?? Enumerable.Range(map.ChannelCount, map.ChannelCount)];
        SparseVariant = sparseVariant;
        Check();
    }

    public IReadOnlyList<TrackerDetectorLayout> Detectors { get; }
    public MultiplexingMap Map { get; }

    /// <summary>APV physical channel of X electronic channel i (i = 0..map channels - 1).</summary>
    public IReadOnlyList<int> MicromegasXChannels { get; }

    /// <summary>APV physical channel of Y electronic channel i.</summary>
    public IReadOnlyList<int> MicromegasYChannels { get; }

    public ApvSparseVariant SparseVariant { get; }

    /// <summary>Every (source, ADC, chip) the layout reads, with its detector.</summary>
    public IEnumerable<(int SourceId, int AdcId, int ChipId, TrackerDetectorLayout Detector)> Chips =>
        Detectors.SelectMany(d => Enumerable.Range(d.FirstChipId, d.ChipCount).Select(c => (d.SourceId, d.AdcId, c, d)));

    /// <summary>The ADC ids each source must deliver (the decoder's missing-ADC check).</summary>
    public IReadOnlySet<int> AdcIds(int sourceId) => Detectors.Where(d => d.SourceId == sourceId).Select(d => d.AdcId).ToHashSet();

    private void Check()
    {
        string F(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
        if (MicromegasXChannels.Count != Map.ChannelCount || MicromegasYChannels.Count != Map.ChannelCount)
            throw new ArgumentException(F($"micromegas X and Y channel lists need {Map.ChannelCount} APV channels each (the map's channels), have {MicromegasXChannels.Count} and {MicromegasYChannels.Count}"));
        var used = MicromegasXChannels.Concat(MicromegasYChannels).ToList();
        if (used.Any(c => c is < 0 or >= ApvFacts.ChannelsPerApv) || used.Distinct().Count() != used.Count)
            throw new ArgumentException(F($"micromegas X and Y channels must be distinct APV channels 0..{ApvFacts.ChannelsPerApv - 1}"));
        var seen = new Dictionary<(int, int, int), string>();
        foreach (var (source, adc, chip, detector) in Chips)
        {
            if (chip is < 0 or > 15)
                throw new ArgumentException(F($"{detector.Name}: APV chip {chip} refused: an APV-ADC has chips 0..15"));
            if (!seen.TryAdd((source, adc, chip), detector.Name))
                throw new ArgumentException(F($"{detector.Name}: APV chip {chip} of ADC {adc} on source {source} is already read by {seen[(source, adc, chip)]}"));
        }

        var names = Detectors.Select(d => d.Name).ToList();
        if (names.Distinct(StringComparer.Ordinal).Count() != names.Count)
            throw new ArgumentException("tracker detector names must be unique");
    }
}
