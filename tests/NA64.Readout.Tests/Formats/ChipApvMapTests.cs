using NA64.Hardware.Digitizers.Apv.Format;
using NA64.Readout.Formats;

namespace NA64.Readout.Tests.Formats;

public class ChipApvMapTests
{
    private const string DecoderChecksExample = """
        <Maps>
          <DaqOptions>
            <ChipsCreation>
              -1 -1 -1 620 -1 ChipAPV s
            </ChipsCreation>
          </DaqOptions>
          <ChipAPV version="2" runs="1-999999">
            APVT05 620 3 5 0 1 128   0 127  1
            APVT09 620 3 9 0 1 128 127   0 -1
          </ChipAPV>
        </Maps>
        """;

    [Fact]
    public void Reads_the_decoder_checks_example_with_line_numbers()
    {
        var section = Assert.Single(ChipApvMap.Parse(DecoderChecksExample));
        Assert.Equal(2, section.Version);
        Assert.Equal((1, 999999), (section.FirstRun, section.LastRun));
        Assert.Equal(ChipApvMapOptions.None, section.Options);
        Assert.Equal([8, 9], section.LineNumbers);
        Assert.Equal(new ChipApvMapEntry("APVT05", 620, 3, 5, 0, 1, 128, 0, 127, 1), section.Entries[0]);
        Assert.Equal((127, 0), section.Entries[1].Channels().Last());
        Assert.Equal((0, 127), section.Entries[1].Channels().First());
    }

    [Fact]
    public void Writes_version_3_with_chips_creation_options_and_optional_wire_position_and_amplfact()
    {
        string xml = ChipApvMap.ToXml(
            [
                ChipApvMapEntry.Range("MM01X", 622, 0, 0, 0, 64, 0),
                ChipApvMapEntry.Range("MM01Y", 622, 0, 0, 64, 64, 0) with { AmplitudeFactor = 2.0 },
                new ChipApvMapEntry("GM01U", 622, 1, 3, 0, 2, 64, 255, 129, -2, WirePosition: -1),
            ],
            100, 200, ChipApvMapOptions.CmcAlways | ChipApvMapOptions.RichAdc);
        const string expected = """
            <Maps>
              <DaqOptions>
                <ChipsCreation>
                  -1 -1 -1 622 -1 ChipAPV s
                </ChipsCreation>
              </DaqOptions>
              <ChipAPV version="3" runs="100-200" options="CMC_always rich_adc">
                MM01X 622 0 0 0 1 64 0 63 1
                MM01Y 622 0 0 64 1 64 0 63 1 0 2
                GM01U 622 1 3 0 2 64 255 129 -2 -1
              </ChipAPV>
            </Maps>

            """;
        Assert.Equal(expected.Replace("\r\n", "\n", StringComparison.Ordinal), xml);
    }

    [Fact]
    public void What_is_written_parses_back_to_the_same_entries_and_decoder_options()
    {
        ChipApvMapEntry[] entries =
        [
            ChipApvMapEntry.Range("MM01X", 622, 0, 0, 0, 64, 0),
            ChipApvMapEntry.Range("MM01Y", 622, 0, 0, 64, 64, 0) with { AmplitudeFactor = 0.5 },
            new ChipApvMapEntry("GM01U", 622, 1, 3, 1, 2, 64, 255, 129, -2, WirePosition: 1, AmplitudeFactor: 1.25),
        ];
        var section = Assert.Single(ChipApvMap.Parse(ChipApvMap.ToXml(entries, 1, 5, ChipApvMapOptions.RichAdc | ChipApvMapOptions.CmcAlways)));
        Assert.Equal(entries, section.Entries);
        Assert.Equal(3, section.Version);
        var options = section.DecoderOptions();
        Assert.Equal(ApvSparseVariant.TwoSlope, options.SparseVariant);
        Assert.True(options.CommonModeAlways);
    }

    [Fact]
    public void Version_1_lines_carry_a_leading_detector_number()
    {
        var section = Assert.Single(ChipApvMap.Parse("""
            <Map>
            <ChipAPV version="1" runs="3-4" options="multi_digit bad_data_accept">
            7 GM02X 622 0x2 1 0 1 16 0 15 1
            8 GM02X 622 2 1 0 1 16 16 31 1 1
            </ChipAPV>
            </Map>
            """));
        Assert.Equal(2, section.Entries.Count);
        Assert.Equal(2, section.Entries[0].AdcId);
        Assert.Equal(1, section.Entries[1].WirePosition);
        Assert.Equal(ChipApvMapOptions.MultiDigit | ChipApvMapOptions.BadDataAccept, section.Options);
    }

    [Theory]
    [InlineData("MM01X 622 0 0 0 1 0 0 0 1", "chanN = 0")]
    [InlineData("MM01X 622 0 0 0 1 64 0 64 1", "wireL = 64 refused: wireF + (chanN - 1) x wireS = 0 + 63 x 1 = 63")]
    [InlineData("MM01X 622 0 0 100 1 64 0 63 1", "the channels run 100..163")]
    [InlineData("MM01X 622 0 16 0 1 64 0 63 1", "chipID = 16")]
    [InlineData("MM01X 622 256 0 0 1 64 0 63 1", "adcID = 256")]
    [InlineData("MM01X 900 0 0 0 1 64 0 63 1", "srcID = 900")]
    [InlineData("MM01X 622 0 0 0 1 64 0 63 1 2", "wire_position = 2")]
    [InlineData("MM01X 622 0 0 0 1 64 0 63 1 0 -1", "amplfact = -1")]
    [InlineData("MM01X 622 0 0 0 1 64 0 63 1 0 x", "amplfact = 'x'")]
    [InlineData("MM01X 622 0 0 0 1 6x4 0 63 1", "chanN = '6x4' refused: not an integer")]
    [InlineData("MM01X 622 0 0 0 1 64 0", "8 fields refused: a version 3 line has 10..12")]
    [InlineData("MM01X 622 0 0 0 0 64 0 0 0", "chanS = 0 refused")]
    public void A_bad_line_is_refused_with_its_line_field_value_and_rule(string line, string expected)
    {
        string xml = $"<Maps>\n<ChipAPV version=\"3\" runs=\"1-9\">\nMM01Y 622 0 0 64 1 64 0 63 1\n{line}\n</ChipAPV>\n</Maps>\n";
        var e = Assert.Throws<ChipApvMapException>(() => ChipApvMap.Parse(xml));
        Assert.Equal(4, e.Line);
        Assert.StartsWith("line 4: ", e.Message, StringComparison.Ordinal);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Amplfact_on_a_version_2_line_is_refused()
    {
        var e = Assert.Throws<ChipApvMapException>(() => ChipApvMap.Parse(
            "<Maps><ChipAPV version=\"2\" runs=\"1-9\">\nMM01X 622 0 0 0 1 64 0 63 1 0 2\n</ChipAPV></Maps>"));
        Assert.Equal(2, e.Line);
        Assert.Contains("12 fields refused: a version 2 line has 10..11", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_channel_mapped_twice_names_the_earlier_line_unless_multi_digit()
    {
        const string body = "\nMM01X 622 0 0 0 1 64 0 63 1\nMM01Y 622 0 0 63 1 2 0 1 1\n</ChipAPV></Maps>";
        var e = Assert.Throws<ChipApvMapException>(() => ChipApvMap.Parse("<Maps><ChipAPV version=\"3\" runs=\"1-9\">" + body));
        Assert.Equal(3, e.Line);
        Assert.Contains("channel 63 is already mapped on line 2", e.Message, StringComparison.Ordinal);

        var ok = ChipApvMap.Parse("<Maps><ChipAPV version=\"3\" runs=\"1-9\" options=\"multi_digit\">" + body);
        Assert.Equal(2, ok[0].Entries.Count);
    }

    [Theory]
    [InlineData("<Maps><ChipAPV version=\"4\" runs=\"1-9\"></ChipAPV></Maps>", "version = \"4\"")]
    [InlineData("<Maps><ChipAPV version=\"3\"></ChipAPV></Maps>", "no runs=")]
    [InlineData("<Maps><ChipAPV version=\"3\" runs=\"0-9\"></ChipAPV></Maps>", "runs = \"0-9\"")]
    [InlineData("<Maps><ChipAPV version=\"3\" runs=\"1-9\" options=\"pixel\"></ChipAPV></Maps>", "option 'pixel'")]
    [InlineData("<Maps><ChipAPV", "not well-formed XML")]
    public void Bad_elements_are_refused_with_their_line(string xml, string expected)
    {
        var e = Assert.Throws<ChipApvMapException>(() => ChipApvMap.Parse(xml));
        Assert.Equal(1, e.Line);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Writer_refuses_duplicates_bad_lines_and_run_0()
    {
        var dup = Assert.Throws<ArgumentException>(() => ChipApvMap.ToXml(
            [ChipApvMapEntry.Range("A", 622, 0, 0, 0, 4, 0), ChipApvMapEntry.Range("B", 622, 0, 0, 3, 4, 0)], 1, 2));
        Assert.Contains("channel 3 is already mapped by A", dup.Message, StringComparison.Ordinal);
        var bad = Assert.Throws<ArgumentException>(() => ChipApvMap.ToXml([new ChipApvMapEntry("A B", 622, 0, 0, 0, 1, 1, 0, 0, 1)], 1, 2));
        Assert.Contains("NAME = 'A B'", bad.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => ChipApvMap.ToXml([], 0, 2));
    }

    [Fact]
    public void Other_chip_elements_in_the_same_file_are_skipped()
    {
        string xml = DecoderChecksExample.Replace("</Maps>", "  <ChipSADC version=\"2\" options=\"xy data_format3\" runs=\"1-9\">\n    S 610 5 0x23 3 13\n  </ChipSADC>\n</Maps>", StringComparison.Ordinal);
        Assert.Single(ChipApvMap.Parse(xml));
    }
}
