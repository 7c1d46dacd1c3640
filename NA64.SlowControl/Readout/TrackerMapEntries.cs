using NA64.Readout.Formats;
using NA64.Readout.Trackers;

namespace NA64.SlowControl.Readout;

/// <summary>
/// The ChipAPV map lines of a tracker layout (data-formats.md 7.12), written beside each run: for a micromegas, APV
/// physical channel -> electronic channel 0..63 of its X and Y planes (the multiplexing map, a file of the setup, takes
/// it on to strips); for a GEM, APV channel -> strip of its plane (chips +0, +1 for X strips 0..255, +2, +3 for Y).
/// Plane names are the detector name with X or Y (<c>MM1X</c>, <c>GM1Y</c>).
/// </summary>
public static class TrackerMapEntries
{
    public static IReadOnlyList<ChipApvMapEntry> For(TrackerLayout layout)
    {
        ArgumentNullException.ThrowIfNull(layout);
        var entries = new List<ChipApvMapEntry>();
        foreach (var d in layout.Detectors)
        {
            if (d.Kind == TrackerDetectorKind.Micromegas)
            {
                Add(entries, d.Name + "X", d, d.FirstChipId, layout.MicromegasXChannels);
                Add(entries, d.Name + "Y", d, d.FirstChipId, layout.MicromegasYChannels);
            }
            else
            {
                for (int k = 0; k < 4; k++)
                    entries.Add(ChipApvMapEntry.Range(d.Name + (k < 2 ? "X" : "Y"), d.SourceId, d.AdcId, d.FirstChipId + k, 0, 128, 128 * (k % 2)));
            }
        }

        return entries;
    }

    /// <summary>Electronic channel i on APV channel channels[i]: one line for a run of consecutive channels, one per channel otherwise.</summary>
    private static void Add(List<ChipApvMapEntry> entries, string plane, TrackerDetectorLayout d, int chip, IReadOnlyList<int> channels)
    {
        int start = 0;
        for (int i = 1; i <= channels.Count; i++)
        {
            if (i < channels.Count && channels[i] == channels[i - 1] + 1)
                continue;
            entries.Add(ChipApvMapEntry.Range(plane, d.SourceId, d.AdcId, chip, channels[start], i - start, start));
            start = i;
        }
    }
}
