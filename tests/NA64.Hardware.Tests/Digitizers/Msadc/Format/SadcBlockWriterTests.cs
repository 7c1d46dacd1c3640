using NA64.Hardware.Digitizers.Msadc.Format;

namespace NA64.Hardware.Tests.Digitizers.Msadc.Format;

public class SadcBlockWriterTests
{
    [Fact]
    public void Channels_must_come_in_increasing_chan_id()
    {
        var buffer = new byte[256];
        var w = new SadcBlockWriter(buffer, 600, 1, 1);
        w.BeginAdc(0, 0);
        w.AddChannel(4, [1], 0);
        try
        {
            w.AddChannel(4, [1], 0);
            Assert.Fail("a repeated chan_id was accepted");
        }
        catch (ArgumentOutOfRangeException e)
        {
            Assert.Contains("increasing chan_id", e.Message, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(512)]
    public void Sample_count_outside_1_to_511_is_refused(int n)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() =>
        {
            var w = new SadcBlockWriter(new byte[4096], 600, 1, 1);
            w.BeginAdc(0, 0);
            w.AddChannel(0, new ushort[n], 0);
        });
        Assert.Contains("1..511", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Sample_above_12_bits_is_refused_naming_its_index()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() =>
        {
            var w = new SadcBlockWriter(new byte[256], 600, 1, 1);
            w.BeginAdc(0, 0);
            w.AddChannel(0, [1, 2, 4096], 0);
        });
        Assert.Contains("sample[2] = 4096", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Too_small_destination_is_refused_with_the_size_needed()
    {
        var e = Assert.Throws<ArgumentException>(() =>
        {
            var w = new SadcBlockWriter(new byte[20], 600, 1, 1);
            w.BeginAdc(0, 0);
            w.AddChannel(0, new ushort[32], 0);
        });
        Assert.Contains("needs at least 84 bytes, the destination has 20", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Channel_without_open_block_is_refused()
    {
        Assert.Throws<InvalidOperationException>(() =>
        {
            var w = new SadcBlockWriter(new byte[256], 600, 1, 1);
            w.AddChannel(0, [1], 0);
        });
    }

    [Theory]
    [InlineData(8, 0, "hl_port")]
    [InlineData(0, 4, "adc_id")]
    public void Port_and_adc_out_of_range_are_refused(int port, int adc, string field)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() =>
        {
            var w = new SadcBlockWriter(new byte[256], 600, 1, 1);
            w.BeginAdc(port, adc);
        });
        Assert.Equal(field, e.ParamName);
    }

    [Fact]
    public void Block_above_4095_words_is_refused()
    {
        // 16 channels x 511 samples = 16 x 257 words + 1 > 4095.
        var e = Assert.Throws<InvalidOperationException>(() =>
        {
            var w = new SadcBlockWriter(new byte[1 << 16], 600, 1, 1);
            w.BeginAdc(0, 0);
            for (int ch = 0; ch < 16; ch++)
            {
                w.AddChannel(ch, new ushort[511], 0);
            }
        });
        Assert.Contains("4095", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Odd_sample_count_pads_data2_with_zero_and_ids_are_0x40_then_0x80()
    {
        var buffer = new byte[64];
        var w = new SadcBlockWriter(buffer, 600, 1, 1);
        w.BeginAdc(0, 0);
        w.AddChannel(0, [1, 2, 3], 0);
        w.Finish();
        Assert.Equal(0x40002001u, BitConverter.ToUInt32(buffer, 20));
        Assert.Equal(0x80000003u, BitConverter.ToUInt32(buffer, 24));
    }
}
