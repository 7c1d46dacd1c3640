using System.Buffers.Binary;
using NA64.Hardware.Digitizers.Msadc.Format;

namespace NA64.Readout.Tests.EndToEnd;

/// <summary>
/// The decoder's Vector256 unpack (channels of 18+ samples, added for the end-to-end speed target) against the
/// rules of the scalar loop: a bad data-word id at any position truncates the channel to the samples before it,
/// saturation is seen in any lane, and values are exact.
/// </summary>
public sealed class DecoderVectorPathTests
{
    [Theory]
    [InlineData(18)]
    [InlineData(25)]
    [InlineData(32)]
    [InlineData(33)]
    [InlineData(64)]
    public void A_bad_data_word_anywhere_truncates_the_channel_to_the_samples_before_it(int samples)
    {
        var values = Enumerable.Range(0, samples).Select(i => (ushort)((i * 977 + 13) % 4095)).ToArray();
        int words = Sadc3.DataWords(samples);
        for (int bad = 0; bad < words; bad++)
        {
            var buffer = new byte[SadcBlockWriter.LatchAllBytes(1, samples)];
            var w = new SadcBlockWriter(buffer, 610, 5, 1);
            w.BeginAdc(0, 0);
            w.AddChannel(0, values, 0);
            int length = w.Finish();
            // Data words start after S-Link header (3), ADC header (1), channel header (1).
            int at = (5 + bad) * 4;
            uint word = BinaryPrimitives.ReadUInt32LittleEndian(buffer.AsSpan(at));
            BinaryPrimitives.WriteUInt32LittleEndian(buffer.AsSpan(at), word ^ 0xC000_0000);

            var data = new SadcEventData();
            SadcDecoder.Decode(buffer.AsSpan(0, length), data, 5);
            var channel = Assert.Single(data.Channels.ToArray());
            Assert.Equal(2 * bad, channel.SampleCount);
            Assert.True(values.AsSpan(0, 2 * bad).SequenceEqual(data.Samples(channel)), $"samples {samples}, bad word {bad}");
            var problem = Assert.Single(data.Problems, p => p.Kind == FormatProblemKind.BadDataWord);
            Assert.Equal(at, problem.ByteOffset);
        }
    }

    [Theory]
    [InlineData(32, 0)]
    [InlineData(32, 1)]
    [InlineData(32, 17)]
    [InlineData(32, 31)]
    [InlineData(25, 24)]
    [InlineData(25, 9)]
    public void Saturation_is_flagged_whichever_sample_holds_4095(int samples, int saturatedAt)
    {
        var values = Enumerable.Range(0, samples).Select(i => (ushort)(200 + i)).ToArray();
        values[saturatedAt] = 4095;
        var buffer = new byte[SadcBlockWriter.LatchAllBytes(1, samples)];
        var w = new SadcBlockWriter(buffer, 610, 5, 1);
        w.BeginAdc(0, 0);
        w.AddChannel(0, values, 0);
        int length = w.Finish();
        var data = new SadcEventData();
        SadcDecoder.Decode(buffer.AsSpan(0, length), data, 5);
        var channel = Assert.Single(data.Channels.ToArray());
        Assert.Equal(SadcChannelFlags.Saturated, channel.Flags);
        Assert.True(values.AsSpan().SequenceEqual(data.Samples(channel)));
    }
}
