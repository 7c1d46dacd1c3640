using System.Text;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using NA64.Hardware.Trackers.Micromegas;

namespace NA64.Hardware.Tests.Trackers;

public class MultiplexingMapTests
{
    public static TheoryData<string> ShippedMaps => new() { "old", "improved" };

    private static MultiplexingMap Shipped(string which) => which == "old" ? MultiplexingMap.Na64 : MultiplexingMap.Improved;

    [Fact]
    public void Channel_0_drives_strips_0_64_128_192_256_in_both_maps()
    {
        Assert.Equal([0, 64, 128, 192, 256], MultiplexingMap.Na64.StripsOfChannel(0).ToArray());
        Assert.Equal([0, 64, 128, 192, 256], MultiplexingMap.Improved.StripsOfChannel(0).ToArray());
    }

    [Fact]
    public void Channel_1_drives_the_reference_strips_of_each_series()
    {
        Assert.Equal([1, 119, 133, 219, 297], MultiplexingMap.Na64.StripsOfChannel(1).ToArray());
        Assert.Equal([1, 69, 181, 241, 317], MultiplexingMap.Improved.StripsOfChannel(1).ToArray());
    }

    [Theory]
    [MemberData(nameof(ShippedMaps))]
    public void Every_channel_drives_exactly_five_strips_and_strip_to_channel_inverts_it(string which)
    {
        var map = Shipped(which);
        Assert.Equal(320, map.StripCount);
        Assert.Equal(64, map.ChannelCount);
        Assert.Equal(5, map.Multiplicity);
        var seen = new bool[320];
        for (int c = 0; c < 64; c++)
        {
            var strips = map.StripsOfChannel(c);
            Assert.Equal(5, strips.Length);
            foreach (int s in strips)
            {
                Assert.Equal(c, map.ChannelOfStrip(s));
                Assert.False(seen[s]);
                seen[s] = true;
            }
        }
        Assert.All(seen, Assert.True);
    }

    [Fact]
    public void Old_series_minimum_separation_is_4_at_channel_38_strips_190_and_194()
    {
        var p = MultiplexingMap.Na64.Properties;
        Assert.Equal(4, p.MinSameChannelSeparation);
        Assert.Equal(38, p.MinSeparationChannel);
        Assert.Equal(190, p.MinSeparationFirstStrip);
        Assert.Equal(194, p.MinSeparationSecondStrip);
        Assert.True(p.EachChannelPairAdjacentAtMostOnce);
    }

    [Fact]
    public void Improved_series_minimum_separation_is_16()
    {
        var p = MultiplexingMap.Improved.Properties;
        Assert.Equal(16, p.MinSameChannelSeparation);
        Assert.True(p.EachChannelPairAdjacentAtMostOnce);
    }

    [Theory]
    [MemberData(nameof(ShippedMaps))]
    public void Shipped_files_equal_the_rule_and_carry_their_series(string which)
    {
        var map = Shipped(which);
        var k = which == "old" ? MultiplexingMap.Na64SeriesK : MultiplexingMap.ImprovedSeriesK;
        Assert.True(map.SameWiring(MultiplexingMap.Generate(k, 64, 5)));
        Assert.Equal(k, map.Series);
    }

    [Theory]
    [MemberData(nameof(ShippedMaps))]
    public void Setup_text_and_dense_text_round_trip(string which)
    {
        var map = Shipped(which);
        var again = MultiplexingMap.Parse(new StringReader(map.ToSetupText("round trip")), "rt.mux.txt");
        Assert.True(map.SameWiring(again));
        string dense = map.ToDenseText();
        Assert.Equal(64 * 320, dense.Count(ch => ch == '\n'));
        var fromDense = MultiplexingMap.ParseDense(new StringReader(dense), "multiplexing_p64_m5_na64.txt");
        Assert.True(map.SameWiring(fromDense));
        Assert.Null(fromDense.Series);
        Assert.Equal(map.Properties.MinSameChannelSeparation, fromDense.Properties.MinSameChannelSeparation);
    }

    [Fact]
    public void Files_load_from_disk_in_both_formats()
    {
        string dir = Path.Combine(Path.GetTempPath(), "na64-mux-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            File.WriteAllText(Path.Combine(dir, "a.mux.txt"), MultiplexingMap.Na64.ToSetupText());
            File.WriteAllText(Path.Combine(dir, "b.txt"), MultiplexingMap.Na64.ToDenseText());
            Assert.True(MultiplexingMap.Na64.SameWiring(MultiplexingMap.Load(Path.Combine(dir, "a.mux.txt"))));
            Assert.True(MultiplexingMap.Na64.SameWiring(MultiplexingMap.LoadDense(Path.Combine(dir, "b.txt"))));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Generate_is_general_in_p_and_m()
    {
        var map = MultiplexingMap.Generate([1, 5, 23, 43, 47], 192, 5);   // the planned 960-strip design (§8.1)
        Assert.Equal(960, map.StripCount);
        Assert.Equal(5, map.StripsOfChannel(17).Length);
        Assert.Equal(24, map.Properties.MinSameChannelSeparation);
        var small = MultiplexingMap.Generate([1, 3], 8, 2);
        Assert.Equal([0, 1, 2, 3, 4, 5, 6, 7, 0, 3, 6, 1, 4, 7, 2, 5], small.StripToChannel.ToArray());
    }

    [Fact]
    public void Generate_refuses_a_series_not_coprime_with_p()
    {
        var e = Assert.Throws<MultiplexingMapException>(() => MultiplexingMap.Generate([1, 7, 14, 19, 25], 64, 5));
        Assert.Contains("k[2] = 14", e.Message);
        Assert.Contains("coprime with channels p = 64", e.Message);
        e = Assert.Throws<MultiplexingMapException>(() => MultiplexingMap.Generate([1, 7], 64, 5));
        Assert.Contains("series has 2 entries", e.Message);
    }

    private static string SetupText(Func<int, int, int> channelOf, string? series = "1 7 13 19 25", int channels = 64, int m = 5)
    {
        var sb = new StringBuilder($"channels {channels}\nmultiplicity {m}\n");
        if (series is not null) sb.Append("series ").Append(series).Append('\n');
        var map = MultiplexingMap.Na64;
        for (int s = 0; s < channels * m; s++)
            sb.Append(s).Append(' ').Append(channelOf(s, s < map.StripCount ? map.ChannelOfStrip(s) : 0)).Append('\n');
        return sb.ToString();
    }

    [Fact]
    public void A_channel_with_the_wrong_number_of_strips_is_refused_with_file_line_and_reason()
    {
        // Strip 5 moved from channel 5 to channel 0: channel 0 drives 6 strips, channel 5 drives 4.
        string text = SetupText((s, c) => s == 5 ? 0 : c, series: null);
        var e = Assert.Throws<MultiplexingMapException>(() => MultiplexingMap.Parse(new StringReader(text), "bad.mux.txt"));
        Assert.Equal("bad.mux.txt", e.MapSource);
        Assert.Equal(3, e.Line);    // header is 2 lines, strip 0 (channel 0's first strip) on line 3
        Assert.Contains("channel 0 drives 6 strips, every channel must drive 5", e.Message);
        Assert.StartsWith("bad.mux.txt:3: ", e.Message);
    }

    [Fact]
    public void A_list_that_disagrees_with_its_series_is_refused_at_the_first_differing_strip()
    {
        // Swap the channels of strips 70 and 71: still 5 strips per channel, but not the rule.
        var map = MultiplexingMap.Na64;
        string text = SetupText((s, c) => s == 70 ? map.ChannelOfStrip(71) : s == 71 ? map.ChannelOfStrip(70) : c);
        var e = Assert.Throws<MultiplexingMapException>(() => MultiplexingMap.Parse(new StringReader(text), "swap.mux.txt"));
        Assert.Equal(3 + 1 + 70, e.Line);
        Assert.Contains($"strip 70 is on channel {map.ChannelOfStrip(71)}, the series 1 7 13 19 25 (p = 64) puts it on channel {map.ChannelOfStrip(70)}", e.Message);
    }

    [Theory]
    [InlineData("channels 64\nmultiplicity 5\n0 x\n", 3, "channel = 'x' is not an integer")]
    [InlineData("channels 64\nmultiplicity 5\n1 0\n", 3, "strip = 1, expected 0")]
    [InlineData("channels 64\nmultiplicity 5\n0 64\n", 3, "channel = 64, outside 0..63")]
    [InlineData("0 0\n", 1, "strip line before 'channels'")]
    [InlineData("channels 64\nmultiplicity 5\n0 0\n", 3, "1 strip lines, channels 64 × multiplicity 5 needs 320")]
    [InlineData("channels -3\n", 1, "channels = -3, must be > 0")]
    [InlineData("channels 64\nmultiplicity 5\nseries 1 7 13 19 26\n", 0, "series: series k[4] = 26 must be positive and coprime")]
    public void Malformed_setup_files_are_refused_naming_line_field_and_value(string text, int line, string reason)
    {
        if (text.StartsWith("channels 64\nmultiplicity 5\nseries", StringComparison.Ordinal))
            text += string.Concat(Enumerable.Range(0, 320).Select(s => $"{s} {MultiplexingMap.Na64.ChannelOfStrip(s)}\n"));
        var e = Assert.Throws<MultiplexingMapException>(() => MultiplexingMap.Parse(new StringReader(text), "f.txt"));
        Assert.Equal(line, e.Line);
        Assert.Contains(reason, e.Message);
    }

    [Fact]
    public void Dense_file_with_a_strip_on_two_channels_or_a_bad_flag_is_refused()
    {
        string dense = MultiplexingMap.Na64.ToDenseText();
        var lines = dense.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        // Channel 1, strip 0 set connected: strip 0 is already on channel 0 (line 1).
        int idx = 1 * 320 + 0;
        lines[idx] = "1\t0\t1";
        var e = Assert.Throws<MultiplexingMapException>(() => MultiplexingMap.ParseDense(new StringReader(string.Join('\n', lines)), "d.txt"));
        Assert.Equal(idx + 1, e.Line);
        Assert.Contains("strip 0 connected to channel 1 and already to channel 0 (line 1)", e.Message);

        lines = dense.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        lines[7] = "0\t7\t2";
        e = Assert.Throws<MultiplexingMapException>(() => MultiplexingMap.ParseDense(new StringReader(string.Join('\n', lines)), "d.txt"));
        Assert.Equal(8, e.Line);
        Assert.Contains("connected = 2, must be 0 or 1", e.Message);
    }

    [Fact]
    public void Dense_file_where_a_channel_drives_four_strips_is_refused()
    {
        // Move strip 64 from channel 0 to channel 2: channel 0 drives 4, channel 2 drives 6.
        var lines = MultiplexingMap.Na64.ToDenseText().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        lines[0 * 320 + 64] = "0\t64\t0";
        lines[2 * 320 + 64] = "2\t64\t1";
        var e = Assert.Throws<MultiplexingMapException>(() => MultiplexingMap.ParseDense(new StringReader(string.Join('\n', lines)), "d.txt"));
        Assert.Contains("channel 0 drives 4 strips, every channel must drive 5", e.Message);
        Assert.Equal(1, e.Line);    // channel 0's first strip (strip 0) is on line 1
    }

    [Fact]
    public void A_map_with_a_channel_pair_adjacent_twice_is_reported()
    {
        // 8 strips on 4 channels: pairs (0,1) at strips 0-1 and again at 4-5.
        var map = MultiplexingMap.FromStripChannels([0, 1, 2, 3, 0, 1, 3, 2], 4);
        Assert.False(map.Properties.EachChannelPairAdjacentAtMostOnce);
        Assert.Contains((0, 1, 2), map.Properties.RepeatedAdjacentPairs);
        Assert.Equal(3, map.Properties.MinSameChannelSeparation);   // channel 3 at strips 3 and 6
    }

    [Property(MaxTest = 200)]
    public Property Any_series_coprime_with_p_gives_m_strips_per_channel_and_round_trips_through_both_formats()
    {
        return Prop.ForAll(Gen.Choose(0, int.MaxValue).ToArbitrary(), seed =>
        {
            var rng = new Random(seed);
            int p = rng.Next(2, 100), m = rng.Next(1, 7);
            var coprime = Enumerable.Range(1, p).Where(k => Gcd(k, p) == 1).ToArray();
            var series = Enumerable.Range(0, m).Select(_ => coprime[rng.Next(coprime.Length)]).ToArray();
            var map = MultiplexingMap.Generate(series, p, m);
            bool uniform = Enumerable.Range(0, p).All(c => map.StripsOfChannel(c).Length == m
                && map.StripsOfChannel(c).ToArray().All(st => map.ChannelOfStrip(st) == c));
            var setup = MultiplexingMap.Parse(new StringReader(map.ToSetupText()), "p.mux.txt");
            var dense = MultiplexingMap.ParseDense(new StringReader(map.ToDenseText()), "p.txt");
            return uniform && map.StripCount == p * m && map.SameWiring(setup) && map.SameWiring(dense)
                && (m == 1 || map.Properties.MinSameChannelSeparation >= 1);
        });
    }

    private static int Gcd(int a, int b) => b == 0 ? a : Gcd(b, a % b);
}
