using NA64.Readout.Formats;

namespace NA64.Readout.Tests.Formats;

public class SadcMapWriterTests
{
    [Fact]
    public void Writes_the_decoder_checks_example_map_exactly()
    {
        string xml = SadcMapWriter.ToXml(
            [
                new SadcMapEntry("SADCT03", 610, 5, 2, 3, 3, 13),
                new SadcMapEntry("SADCT07", 610, 5, 2, 7, 7, 17),
                new SadcMapEntry("SADCT12", 610, 5, 2, 12, 12, 22),
            ],
            1, 999999);
        const string expected = """
            <Maps>
              <DaqOptions>
                <ChipsCreation>
                  -1 -1 -1 610 -1 ChipSADC s
                </ChipsCreation>
              </DaqOptions>
              <ChipSADC version="2" options="xy data_format3" runs="1-999999">
                SADCT03 610 5 0x23 3 13
                SADCT07 610 5 0x27 7 17
                SADCT12 610 5 0x2c 12 22
              </ChipSADC>
            </Maps>

            """;
        Assert.Equal(expected.Replace("\r\n", "\n", StringComparison.Ordinal), xml);
        Assert.NotNull(System.Xml.Linq.XDocument.Parse(xml));
    }

    [Fact]
    public void One_chips_creation_rule_per_source_id_sorted()
    {
        string xml = SadcMapWriter.ToXml(
            [new SadcMapEntry("ECAL0", 624, 0, 0, 0, 0, 0), new SadcMapEntry("HCAL0", 610, 1, 3, 15, 2, 1), new SadcMapEntry("ECAL0", 624, 0, 0, 1, 1, 0)],
            4242, 4242);
        Assert.Contains("      -1 -1 -1 610 -1 ChipSADC s\n      -1 -1 -1 624 -1 ChipSADC s\n", xml, StringComparison.Ordinal);
        Assert.Contains("runs=\"4242-4242\"", xml, StringComparison.Ordinal);
        Assert.Contains("HCAL0 610 1 0x3f 2 1", xml, StringComparison.Ordinal);
    }

    [Fact]
    public void Duplicate_channel_is_refused()
    {
        var e = Assert.Throws<ArgumentException>(() => SadcMapWriter.ToXml(
            [new SadcMapEntry("A", 610, 0, 0, 0, 0, 0), new SadcMapEntry("B", 610, 0, 0, 0, 1, 0)], 1, 2));
        Assert.Contains("already mapped", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("two words")]
    [InlineData("")]
    [InlineData("A<B")]
    public void Names_that_break_the_line_format_are_refused(string name)
    {
        Assert.Throws<ArgumentException>(() => SadcMapWriter.ToXml([new SadcMapEntry(name, 610, 0, 0, 0, 0, 0)], 1, 2));
    }

    [Fact]
    public void Run_0_multiplexer_source_and_wide_fields_are_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => SadcMapWriter.ToXml([new SadcMapEntry("A", 610, 0, 0, 0, 0, 0)], 0, 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => SadcMapWriter.ToXml([new SadcMapEntry("A", 900, 0, 0, 0, 0, 0)], 1, 2));
        Assert.Equal("chan_id", Assert.Throws<ArgumentOutOfRangeException>(() => SadcMapWriter.ToXml([new SadcMapEntry("A", 610, 0, 0, 16, 0, 0)], 1, 2)).ParamName);
    }
}
