using NA64.Hardware.Digitizers.Msadc.Format;
using NA64.Hardware.Errors;

namespace NA64.Hardware.Tests.Digitizers.Msadc.Format;

public class SlinkHeaderTests
{
    [Theory]
    [InlineData(896)]
    [InlineData(1000)]
    [InlineData(1023)]
    public void Multiplexer_source_ids_are_refused_with_the_range_named(int sourceId)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => SlinkHeader.ForData(sourceId, 1, 1, 3));
        Assert.Contains("multiplexer", e.Message, StringComparison.Ordinal);
        Assert.Contains(sourceId.ToString(System.Globalization.CultureInfo.InvariantCulture), e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(1024)]
    [InlineData(-1)]
    public void Source_ids_outside_10_bits_are_refused(int sourceId)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => SlinkHeader.ForData(sourceId, 1, 1, 3));
        Assert.Contains("0..1023", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Highest_plain_source_id_is_accepted_and_tcs_error_is_0x08()
    {
        var h = SlinkHeader.ForData(895, 0xFFFFF, 2047, 3, eventType: 31, format: 0x7F);
        Assert.Equal(SlinkHeader.TcsNoError, h.TcsError);
        Assert.Equal(h, SlinkHeader.FromWords(h.Word0, h.Word1, h.Word2));
    }

    [Theory]
    [InlineData(0x100000, 0, 3, "EventNumber")]
    [InlineData(0, 2048, 3, "SpillNumber")]
    [InlineData(0, 0, 2, "eventSizeWords")]
    [InlineData(0, 0, 65536, "eventSizeWords")]
    public void Values_wider_than_their_field_are_refused(int eventNumber, int spill, int size, string field)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => SlinkHeader.ForData(600, eventNumber, spill, size));
        Assert.Equal(field, e.ParamName);
    }

    [Fact]
    public void All_fields_round_trip_through_the_three_words()
    {
        var h = new SlinkHeader(0xFFFF, 1023, 31, true, 0xFFFFF, 0x7FF, true, 0xAB, 0x49, 0x12, 0x80);
        var bytes = new byte[12];
        h.WriteTo(bytes);
        Assert.Equal(h, SlinkHeader.Read(bytes));
        Assert.True(h.IsMultiplexer);
        Assert.True(h.IsFirstEventOfRun);
    }

    [Fact]
    public void Reading_a_short_block_throws_frame_format_exception_with_offset()
    {
        var e = Assert.Throws<FrameFormatException>(() => SlinkHeader.Read(new byte[11], 100));
        Assert.Equal(100, e.ByteOffset);
    }

    [Fact]
    public void Spill_from_burst_keeps_the_11_bit_counter()
    {
        Assert.Equal(17, SlinkHeader.SpillFromBurst(17));
        Assert.Equal(1, SlinkHeader.SpillFromBurst(2049));
    }
}
