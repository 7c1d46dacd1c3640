using System.Buffers.Binary;
using NA64.Hardware.Digitizers.Msadc.Format;

namespace NA64.Hardware.Tests.Digitizers.Msadc.Format;

/// <summary>The worked example of data-formats §6.11, word for word.</summary>
public class WorkedExampleTests
{
    internal static readonly uint[] ExpectedWords =
    [
        0x026F0009, 0x011004D2, 0x00000800,
        0xEA0054D2, 0x4C060A5C, 0x400D60D2, 0x805DC2BC, 0x80190384,
        0x300014D2,
    ];

    internal static readonly ushort[] ExampleSamples = [210, 214, 700, 1500, 900, 400];

    internal static byte[] EncodeExample()
    {
        var buffer = new byte[256];
        var w = new SadcBlockWriter(buffer, sourceId: 623, eventNumber: 1234, spillNumber: 17);
        w.BeginAdc(port: 5, adcId: 1);
        w.AddChannel(3, ExampleSamples, SadcSumMode.PedestalSubtracted, 212f, 212f);
        w.AddMissingModule(port: 6, adcId: 0);
        int bytes = w.Finish();
        return buffer.AsSpan(0, bytes).ToArray();
    }

    [Fact]
    public void Encoder_writes_the_worked_example_words()
    {
        byte[] bytes = EncodeExample();
        Assert.Equal(ExpectedWords.Length * 4, bytes.Length);
        for (int i = 0; i < ExpectedWords.Length; i++)
        {
            Assert.Equal(ExpectedWords[i], BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(i * 4)));
        }
    }

    [Fact]
    public void Decoder_reads_the_worked_example()
    {
        var output = new SadcEventData();
        var result = SadcDecoder.Decode(ExpectedWords, output, expectedEventNumber: 1234);

        Assert.False(result.Discarded);
        Assert.Empty(output.Problems);
        Assert.Equal(623, result.Header.SourceId);
        Assert.Equal(17, result.Header.SpillNumber);
        Assert.Equal(9, result.Header.EventSize);
        var ch = Assert.Single(output.Channels.ToArray());
        Assert.Equal(new SadcChannelAddress(623, 5, 1, 3), ch.Address);
        Assert.Equal(19, ch.Address.ChipChannel);
        Assert.Equal(2652, ch.Sum);
        Assert.Equal(SadcChannelFlags.None, ch.Flags);
        Assert.Equal(ExampleSamples, output.Samples(ch).ToArray());
        var missing = Assert.Single(output.MissingModules.ToArray());
        Assert.Equal((623, 6, 0, 32L), (missing.SourceId, missing.Port, missing.AdcId, missing.ByteOffset));
        var block = Assert.Single(output.AdcBlocks.ToArray());
        Assert.Equal((5, 1, 5), (block.Port, block.AdcId, block.SizeWords));
    }

    [Fact]
    public void Slink_header_fields_decode_as_the_worked_example_says()
    {
        var h = SlinkHeader.FromWords(0x026F0009, 0x011004D2, 0x00000800);
        Assert.Equal(new SlinkHeader(9, 623, 0, false, 1234, 17, false, 0, 0x08, 0, 0), h);
        Assert.Equal((0x026F0009u, 0x011004D2u, 0x00000800u), (h.Word0, h.Word1, h.Word2));
    }
}
