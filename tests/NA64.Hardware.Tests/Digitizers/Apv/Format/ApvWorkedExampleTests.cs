using NA64.Hardware.Digitizers.Apv.Format;
using NA64.Hardware.Digitizers.Msadc.Format;

namespace NA64.Hardware.Tests.Digitizers.Apv.Format;

/// <summary>The worked example of data-formats §7.14 (sparse, CM word present): exactly those words, and back.</summary>
public class ApvWorkedExampleTests
{
    /// <summary>ADC header, APV header, 2 sparse words, CM word as printed in §7.14.</summary>
    public static readonly uint[] PayloadWords =
    [
        0x4F000007, 0x4F23CACE, 0x24D20005, 0x662F1F8D, 0x482D3C14, 0x681E280F, 0x80501405,
    ];

    /// <summary>The whole S-Link block (spill 17 chosen here; §7.14 gives only event_size = 10).</summary>
    public static uint[] BlockWords() =>
        [0x026E000A, 0x011004D2, 0x00000800, .. PayloadWords];

    internal static int Write(Span<byte> buffer)
    {
        var w = new ApvBlockWriter(buffer, sourceId: 622, eventNumber: 1234, spillNumber: 17);
        w.BeginAdc(adcId: 0, format: (ApvFormatFlags)0x4F, timeTag: 2_345_678);
        w.AddApvSparse(chipId: 2, ApvPipeline.Consecutive(100), [new ApvHit(10, 40, 120, 90), new ApvHit(11, 30, 80, 60)], new ApvCommonMode(5, 5, 5));
        return w.Finish();
    }

    [Fact]
    public void Encoder_writes_exactly_the_reference_words()
    {
        var buffer = new byte[64];
        int bytes = Write(buffer);
        Assert.Equal(40, bytes);
        var words = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, uint>(buffer.AsSpan(0, bytes)).ToArray();
        Assert.Equal(10, (int)(words[0] & 0xFFFF));
        Assert.Equal(622, (int)((words[0] >> 16) & 0x3FF));
        Assert.Equal(PayloadWords.Select(x => x.ToString("X8", System.Globalization.CultureInfo.InvariantCulture)),
            words[3..].Select(x => x.ToString("X8", System.Globalization.CultureInfo.InvariantCulture)));
        Assert.Equal(BlockWords(), words);
    }

    [Fact]
    public void Decoder_reads_the_reference_words_back()
    {
        var output = new ApvEventData();
        var result = ApvDecoder.Decode(BlockWords(), output, expectedEventNumber: 1234);
        Assert.Empty(output.Problems);
        Assert.False(result.Discarded);
        Assert.False(result.Stopped);
        Assert.Equal(1, result.Apvs);

        var adc = Assert.Single(output.AdcBlocks.ToArray());
        Assert.Equal(new ApvAdcBlock(622, 0, (ApvFormatFlags)0x4F, 0x4F, 2_345_678, 7, 1, 3, 12), adc);

        var chip = Assert.Single(output.Chips.ToArray());
        Assert.Equal(622, chip.SourceId);
        Assert.Equal(0, chip.AdcId);
        Assert.Equal(2, chip.ChipId);
        Assert.Equal(0x4D2, chip.EventNumber);
        Assert.Equal(new ApvPipeline(100, 101, 102), chip.Columns);
        Assert.True(chip.ApvSync && chip.GlobalSync && chip.Sparse && chip.HasData);
        Assert.Equal(new ApvCommonMode(5, 5, 5), chip.CommonMode);
        Assert.Equal(ApvChipFlags.None, chip.Flags);
        Assert.Equal(5, chip.WordOffset);
        Assert.Equal([new ApvHit(10, 40, 120, 90), new ApvHit(11, 30, 80, 60)], output.Hits(chip).ToArray());
        Assert.True(output.LatchAll(chip).IsEmpty);
    }

    [Fact]
    public void Payload_only_writer_and_decoder_agree_with_the_reference()
    {
        var buffer = new byte[64];
        var w = ApvBlockWriter.PayloadOnly(buffer, eventNumber: 1234);
        w.BeginAdc(0, (ApvFormatFlags)0x4F, 2_345_678);
        w.AddApvSparse(2, ApvPipeline.Consecutive(100), [new ApvHit(11, 30, 80, 60), new ApvHit(10, 40, 120, 90)], new ApvCommonMode(5, 5, 5));
        int bytes = w.Finish();
        Assert.Equal(PayloadWords, System.Runtime.InteropServices.MemoryMarshal.Cast<byte, uint>(buffer.AsSpan(0, bytes)).ToArray());

        var output = new ApvEventData();
        Assert.True(ApvDecoder.DecodePayload(PayloadWords, 622, 1234, output));
        Assert.Empty(output.Problems);
        Assert.Equal(2, output.Chips[0].WordOffset);
        Assert.Equal(2, output.Hits(output.Chips[0]).Length);
    }

    [Fact]
    public void Slink_header_of_the_example_is_a_good_one()
    {
        var h = SlinkHeader.FromWords(BlockWords()[0], BlockWords()[1], BlockWords()[2]);
        Assert.Equal(SlinkHeader.ForData(622, 1234, 17, 10), h);
    }
}
