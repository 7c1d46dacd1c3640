using FsCheck.Xunit;
using NA64.Hardware.Digitizers.Apv.Format;

namespace NA64.Hardware.Tests.Digitizers.Apv.Format;

/// <summary>Output order (§7.9), Gray-coded pipeline addresses (§7.5) and the sparse amplitude compression (§7.8).</summary>
public class ApvTablesTests
{
    [Fact]
    public void Output_order_is_a_bijection_on_0_to_127_and_both_tables_agree_with_the_formula()
    {
        var physical = ApvOutputOrder.PhysicalByPosition.ToArray();
        Assert.Equal(128, physical.Length);
        Assert.Equal(Enumerable.Range(0, 128), physical.Select(b => (int)b).Order());
        for (int r = 0; r < 128; r++)
        {
            int p = (32 * (r % 4)) + (8 * (r / 4)) - (31 * (r / 16));
            Assert.Equal(p, ApvOutputOrder.PhysicalChannel(r));
            Assert.Equal(r, ApvOutputOrder.OutputPosition(p));
            Assert.Equal(r, ApvOutputOrder.PositionByPhysical[ApvOutputOrder.PhysicalByPosition[r]]);
        }
    }

    [Fact]
    public void Output_order_starts_as_the_reference_says_and_channel_1_comes_at_position_16()
    {
        Assert.Equal(new[] { 0, 32, 64, 96, 8, 40, 72, 104, 16 }, ApvOutputOrder.PhysicalByPosition[..9].ToArray().Select(b => (int)b));
        Assert.Equal(16, ApvOutputOrder.OutputPosition(1));
        Assert.Equal(36, ApvOutputOrder.OutputPosition(10));
        Assert.Equal(52, ApvOutputOrder.OutputPosition(11));
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(128)]
    public void Output_order_refuses_positions_outside_the_chip(int bad)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => ApvOutputOrder.PhysicalChannel(bad));
        Assert.Contains("0..127", e.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => ApvOutputOrder.OutputPosition(bad));
    }

    [Theory]
    [InlineData(0, 0x30)]
    [InlineData(191, 0xB0)]
    [InlineData(100, 0xC6)]
    [InlineData(101, 0xC7)]
    [InlineData(102, 0xC5)]
    public void Pipeline_addresses_match_the_reference_examples(int column, int address)
    {
        Assert.Equal(address, ApvPipelineAddress.Encode(column));
        Assert.Equal(column, ApvPipelineAddress.Decode(address));
    }

    [Fact]
    public void Every_column_round_trips_and_exactly_the_64_codes_outside_the_image_are_invalid()
    {
        var image = new HashSet<int>();
        for (int c = 0; c < ApvFacts.PipelineColumns; c++)
        {
            int a = ApvPipelineAddress.Encode(c);
            Assert.True(image.Add(a));
            Assert.Equal(c, ApvPipelineAddress.Decode(a));
        }

        for (int code = 0; code < 256; code++)
        {
            Assert.Equal(image.Contains(code), ApvPipelineAddress.IsValid(code));
            if (!image.Contains(code))
                Assert.Equal(ApvPipelineAddress.Invalid, ApvPipelineAddress.Decode(code));
        }

        Assert.Equal(64, 256 - image.Count);
        Assert.Throws<ArgumentOutOfRangeException>(() => ApvPipelineAddress.Encode(192));
    }

    [Fact]
    public void Consecutive_columns_wrap_modulo_192()
    {
        Assert.Equal(new ApvPipeline(190, 191, 0), ApvPipeline.Consecutive(190));
        Assert.True(ApvPipeline.Consecutive(191).IsConsecutive);
        Assert.False(new ApvPipeline(5, 7, 8).IsConsecutive);
    }

    [Theory]
    [InlineData(0, 100, 200)]
    [InlineData(0, 128, 256)]
    [InlineData(0, 200, 544)]
    [InlineData(1, 255, 764)]
    [InlineData(2, 511, 766)]
    public void Two_slope_decoding_matches_the_reference_examples(int frame, int raw, int amplitude)
    {
        Assert.Equal(amplitude, ApvSparseAmplitude.Decode(ApvSparseVariant.TwoSlope, ApvFormatFlags.None, frame, raw));
        Assert.Equal(raw, ApvSparseAmplitude.Encode(ApvSparseVariant.TwoSlope, ApvFormatFlags.None, frame, amplitude));
    }

    [Theory]
    [InlineData(ApvFormatFlags.AdcVersion2, 20, 40)]
    [InlineData(ApvFormatFlags.None, 20, 80)]
    public void Gem_si_decoding_shifts_by_v_from_format_bit_6(ApvFormatFlags format, int raw, int amplitude)
    {
        Assert.Equal(amplitude, ApvSparseAmplitude.Decode(ApvSparseVariant.GemSi, format, 0, raw));
        Assert.Equal(amplitude, ApvSparseAmplitude.Decode(ApvSparseVariant.GemSi, format, 1, raw));
        Assert.Equal(40, ApvSparseAmplitude.Decode(ApvSparseVariant.GemSi, format, 2, 20));
    }

    [Property(MaxTest = 500)]
    public void Encoding_truncates_within_the_step_and_clamps_above_the_range(bool twoSlope, bool v2, byte frameSeed, ushort amplitudeSeed)
    {
        var variant = twoSlope ? ApvSparseVariant.TwoSlope : ApvSparseVariant.GemSi;
        var format = v2 ? ApvFormatFlags.AdcVersion2 : ApvFormatFlags.None;
        int frame = frameSeed % 3;
        int a = amplitudeSeed % (ApvFacts.MaxAmplitude + 1);
        int raw = ApvSparseAmplitude.Encode(variant, format, frame, a);
        Assert.InRange(raw, 0, ApvSparseAmplitude.RawMax(frame));
        int back = ApvSparseAmplitude.Decode(variant, format, frame, raw);
        int max = ApvSparseAmplitude.MaxDecoded(variant, format, frame);
        if (a >= max)
        {
            Assert.Equal(max, back);
        }
        else
        {
            Assert.InRange(a - back, 0, ApvSparseAmplitude.Step(variant, format, frame, a) - 1);
        }
    }
}
