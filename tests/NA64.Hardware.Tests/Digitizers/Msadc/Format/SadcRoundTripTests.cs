using NA64.Hardware.Digitizers.Msadc.Format;

namespace NA64.Hardware.Tests.Digitizers.Msadc.Format;

public class SadcRoundTripTests
{
    private static ushort[] Pulse(int n, int seed)
    {
        var r = new Random(seed);
        var s = new ushort[n];
        for (int i = 0; i < n; i++)
        {
            s[i] = (ushort)r.Next(0, 4095);
        }

        return s;
    }

    [Theory]
    [InlineData(1)]
    [InlineData(15)]    // 7 sample pairs: word by word
    [InlineData(16)]    // 8 pairs: one vector step
    [InlineData(17)]    // one vector step and an odd last sample
    [InlineData(25)]
    [InlineData(31)]
    [InlineData(32)]
    [InlineData(45)]    // the last vector step overlaps the one before
    [InlineData(255)]
    public void Latch_all_over_several_ports_and_chips_round_trips_every_sample(int samples)
    {
        (int Port, int Adc)[] modules = [(0, 0), (0, 3), (5, 1), (7, 2)];
        var buffer = new byte[SadcBlockWriter.LatchAllBytes(modules.Length, samples)];
        var w = new SadcBlockWriter(buffer, 610, 77, 3);
        var expected = new Dictionary<SadcChannelAddress, ushort[]>();
        foreach (var (port, adc) in modules)
        {
            w.BeginAdc(port, adc);
            for (int ch = 0; ch < 16; ch++)
            {
                var s = Pulse(samples, (port * 64) + (adc * 16) + ch);
                expected[new SadcChannelAddress(610, port, adc, ch)] = s;
                w.AddChannel(ch, s, SadcSumMode.Zero);
            }
        }

        int bytes = w.Finish();
        Assert.Equal(buffer.Length, bytes);

        var output = new SadcEventData(initialChannels: 1, initialSamples: 1);
        var result = SadcDecoder.Decode(buffer.AsSpan(0, bytes), output, expectedEventNumber: 77);
        Assert.False(result.Discarded);
        Assert.DoesNotContain(output.Problems, p => p.Kind != FormatProblemKind.SaturatedSample);
        Assert.Equal(64, result.Channels);
        Assert.Equal(modules.Length, output.AdcBlocks.Length);
        foreach (var ch in output.Channels)
        {
            Assert.Equal(expected[ch.Address], output.Samples(ch).ToArray());
            Assert.Equal(0, ch.Sum);
        }
    }

    [Fact]
    public void Sparse_keeps_only_given_channels_and_empty_blocks_stay_as_headers()
    {
        var buffer = new byte[4096];
        var w = new SadcBlockWriter(buffer, 623, 5000, 9);
        w.BeginAdc(3, 0);
        w.AddChannel(2, Pulse(32, 1), 1000);
        w.AddChannel(9, Pulse(31, 2), 65535);
        w.BeginAdc(3, 1);   // all suppressed: header only
        w.BeginAdc(5, 2);
        w.AddChannel(15, Pulse(1, 3), 7);
        w.AddMissingModule(6, 3);
        w.BeginAdc(6, 0);   // empty and last
        int bytes = w.Finish();

        var output = new SadcEventData();
        SadcDecoder.Decode(buffer.AsSpan(0, bytes), output, 5000);
        Assert.Empty(output.Problems);
        Assert.Equal(
            [(3, 0, 2, 1000, 32), (3, 0, 9, 65535, 31), (5, 2, 15, 7, 1)],
            output.Channels.ToArray().Select(c => (c.Address.Port, c.Address.AdcId, c.Address.ChanId, c.Sum, c.SampleCount)));
        Assert.Equal([(3, 0, 1 + 17 + 17), (3, 1, 1), (5, 2, 3), (6, 0, 1)],
            output.AdcBlocks.ToArray().Select(b => (b.Port, b.AdcId, b.SizeWords)));
        Assert.Equal((6, 3), (output.MissingModules[0].Port, output.MissingModules[0].AdcId));
        Assert.Equal(Pulse(31, 2), output.Samples(output.Channels[1]).ToArray());
        // ADC header keeps event & 4095.
        Assert.Equal(5000 & 4095, (int)(BitConverter.ToUInt32(buffer, 12) & 0xFFF));
    }

    [Fact]
    public void A_source_with_only_empty_blocks_is_a_complete_record()
    {
        var buffer = new byte[64];
        var w = new SadcBlockWriter(buffer, 1, 1, 1);
        w.BeginAdc(0, 0);
        w.BeginAdc(0, 1);
        int bytes = w.Finish();
        Assert.Equal(20, bytes);
        var output = new SadcEventData();
        var r = SadcDecoder.Decode(buffer.AsSpan(0, bytes), output, 1);
        Assert.False(r.Discarded);
        Assert.Equal(0, r.Channels);
        Assert.Equal(2, output.AdcBlocks.Length);
        Assert.Empty(output.Problems);
    }

    [Fact]
    public void Pedestal_subtracted_sum_uses_even_and_odd_pedestals_and_clamps()
    {
        Assert.Equal((100 - 10) + (200 - 20) + (300 - 10), Sadc3.PedestalSubtractedSum([100, 200, 300], 10f, 20f));
        Assert.Equal(0, Sadc3.PedestalSubtractedSum([100, 100], 200f, 200f));
        var big = Enumerable.Repeat((ushort)4000, 32).ToArray();
        Assert.Equal(65535, Sadc3.PedestalSubtractedSum(big, 0f, 0f));
    }

    [Fact]
    public void Decoder_output_is_reused_across_events_and_sources()
    {
        var output = new SadcEventData();
        byte[] a = WorkedExampleTests.EncodeExample();
        SadcDecoder.Decode(a, output, 1234);
        var buffer = new byte[256];
        var w = new SadcBlockWriter(buffer, 624, 1234, 17);
        w.BeginAdc(0, 0);
        w.AddChannel(0, [1, 2, 3], 6);
        int n = w.Finish();
        SadcDecoder.Decode(buffer.AsSpan(0, n), output, 1234, baseOffset: 1000);
        Assert.Equal(2, output.Channels.Length);
        Assert.Equal(2, output.Sources.Length);
        Assert.Equal(1000, output.Sources[1].ByteOffset);
        Assert.Equal([1, 2, 3], output.Samples(output.Channels[1]).ToArray());
        Assert.Equal(WorkedExampleTests.ExampleSamples, output.Samples(output.Channels[0]).ToArray());

        output.Clear();
        Assert.Equal(0, output.Channels.Length);
        Assert.Equal(0, output.AllSamples.Length);
        Assert.Equal(0, output.Sources.Length);
    }

    [Fact]
    public void Chip_channel_is_adc_times_16_plus_chan()
    {
        var a = new SadcChannelAddress(610, 5, 2, 12);
        Assert.Equal(0x2c, a.ChipChannel);
        Assert.Equal(a, SadcChannelAddress.FromChipChannel(610, 5, 0x2c));
    }

    [Fact]
    public void Decoded_samples_feed_the_writer_directly_and_re_encode_to_the_same_bytes()
    {
        byte[] original = WorkedExampleTests.EncodeExample();
        var o = new SadcEventData();
        var src = SadcDecoder.Decode(original, o, 1234);
        var buffer = new byte[original.Length];
        var w = new SadcBlockWriter(buffer, src.Header.SourceId, src.Header.EventNumber, src.Header.SpillNumber);
        foreach (var block in o.AdcBlocks)
        {
            w.BeginAdc(block.Port, block.AdcId);
            foreach (var ch in o.Channels)
            {
                if (ch.Address.Port == block.Port && ch.Address.AdcId == block.AdcId)
                {
                    w.AddChannel(ch.Address.ChanId, o.Samples(ch), ch.Sum);
                }
            }
        }

        foreach (var m in o.MissingModules)
        {
            w.AddMissingModule(m.Port, m.AdcId);
        }

        Assert.Equal(original.Length, w.Finish());
        Assert.Equal(original, buffer);
    }
}
