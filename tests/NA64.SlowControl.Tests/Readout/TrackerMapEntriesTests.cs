using NA64.Hardware.Trackers.Micromegas;
using NA64.Readout.Formats;
using NA64.Readout.Trackers;
using NA64.SlowControl.Readout;

namespace NA64.SlowControl.Tests.Readout;

public sealed class TrackerMapEntriesTests
{
    [Fact]
    public void The_map_of_a_micromegas_and_a_GEM_names_every_channel_once_and_reads_back()
    {
        var layout = new TrackerLayout(
            [new TrackerDetectorLayout("MM1", TrackerDetectorKind.Micromegas, 622, 0, 0, 2), new TrackerDetectorLayout("GM1", TrackerDetectorKind.Gem, 622, 2, 0, 3)],
            MultiplexingMap.Na64);
        var entries = TrackerMapEntries.For(layout);

        Assert.Equal(["MM1X", "MM1Y", "GM1X", "GM1X", "GM1Y", "GM1Y"], entries.Select(e => e.Detector));
        Assert.Equal((64, 0, 63), (entries[1].ChanF, entries[1].WireF, entries[1].WireL));         // Y on APV channels 64..127 -> 0..63
        Assert.Equal((128, 255), (entries[3].WireF, entries[3].WireL));                            // GEM X, second chip: strips 128..255
        var channels = entries.SelectMany(e => e.Channels().Select(c => (e.AdcId, e.ChipId, c.Channel))).ToList();
        Assert.Equal(channels.Count, channels.Distinct().Count());
        Assert.Equal(128 + 512, channels.Count);

        var parsed = ChipApvMap.Parse(ChipApvMap.ToXml(entries, 5001, 5001)).Single();
        Assert.Equal(entries, parsed.Entries);
    }

    [Fact]
    public void A_non_consecutive_channel_assignment_is_written_one_run_of_consecutive_channels_per_line()
    {
        var x = Enumerable.Range(0, 32).Concat(Enumerable.Range(96, 32)).ToArray();
        var y = Enumerable.Range(32, 64).ToArray();
        var layout = new TrackerLayout([new TrackerDetectorLayout("MM1", TrackerDetectorKind.Micromegas, 622, 0, 0, 2)], MultiplexingMap.Na64, x, y);
        var entries = TrackerMapEntries.For(layout);
        Assert.Equal([(0, 0, 31), (96, 32, 63), (32, 0, 63)], entries.Select(e => (e.ChanF, e.WireF, e.WireL)));
    }
}
