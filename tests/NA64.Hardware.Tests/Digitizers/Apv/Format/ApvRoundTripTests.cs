using FsCheck;
using FsCheck.Xunit;
using NA64.Hardware.Digitizers.Apv.Format;
using NA64.Hardware.Digitizers.Msadc.Format;

namespace NA64.Hardware.Tests.Digitizers.Apv.Format;

/// <summary>Encode → decode → equal, in latch-all and in sparse (both amplitude variants, within the quantisation step).</summary>
public class ApvRoundTripTests
{
    private const ApvFormatFlags LatchAll = ApvFormatFlags.TripleFrame | ApvFormatFlags.PedestalSubtracted;
    private const ApvFormatFlags Sparse = ApvFormatFlags.TripleFrame | ApvFormatFlags.Sparse | ApvFormatFlags.PedestalSubtracted;

    private static ushort[] Frames(Random r)
    {
        var a = new ushort[ApvEventData.LatchAllValues];
        for (int i = 0; i < a.Length; i++)
        {
            a[i] = (ushort)r.Next(0, ApvFacts.MaxAmplitude + 1);
        }

        return a;
    }

    private static ApvHit[] Hits(Random r, int count)
    {
        var channels = Enumerable.Range(0, ApvFacts.ChannelsPerApv).OrderBy(_ => r.Next()).Take(count).ToArray();
        return channels.Select(c => new ApvHit(c, r.Next(0, 1024), r.Next(0, 1024), r.Next(0, 1024))).ToArray();
    }

    [Property(MaxTest = 60)]
    public void Latch_all_round_trips_every_amplitude(int seed, PositiveInt adcCount, bool commonMode, byte column)
    {
        var r = new Random(seed);
        int adcs = 1 + (adcCount.Get % 4);
        var format = commonMode ? LatchAll | ApvFormatFlags.CommonMode : LatchAll;
        var buffer = new byte[4 * (3 + (adcs * ApvBlockWriter.LatchAllAdcWords(ApvFacts.ApvsPerAdc, commonMode)))];
        var w = new ApvBlockWriter(buffer, 622, 4097, 3);
        var expected = new Dictionary<(int Adc, int Chip), (ushort[] Frames, ApvCommonMode Cm)>();
        var columns = ApvPipeline.Consecutive(column % ApvFacts.PipelineColumns);
        for (int adc = 0; adc < adcs; adc++)
        {
            w.BeginAdc(adc * 3, format, 123_456);
            for (int chip = 0; chip < ApvFacts.ApvsPerAdc; chip++)
            {
                var f = Frames(r);
                var cm = new ApvCommonMode(r.Next(1024), r.Next(1024), r.Next(1024));
                expected[(adc * 3, chip)] = (f, cm);
                w.AddApvLatchAll(chip, columns, f, cm);
            }
        }

        int bytes = w.Finish();
        Assert.Equal(buffer.Length, bytes);

        var output = new ApvEventData(initialChips: 1, initialHits: 1);
        var result = ApvDecoder.Decode(buffer, output, expectedEventNumber: 4097);
        Assert.Empty(output.Problems);
        Assert.Equal(adcs * ApvFacts.ApvsPerAdc, result.Apvs);
        foreach (var chip in output.Chips)
        {
            var (f, cm) = expected[(chip.AdcId, chip.ChipId)];
            Assert.Equal(f, output.LatchAll(chip).ToArray());
            Assert.Equal(commonMode ? cm : null, chip.CommonMode);
            Assert.Equal(4097 & 0xFFF, chip.EventNumber);
            Assert.Equal(columns, chip.Columns);
            Assert.Equal(ApvFacts.ChannelsPerApv, chip.DataWords);
        }
    }

    [Property(MaxTest = 100)]
    public void Sparse_round_trips_within_the_quantisation_step(int seed, bool twoSlope, bool v2, bool commonMode, byte hitSeed)
    {
        var r = new Random(seed);
        var variant = twoSlope ? ApvSparseVariant.TwoSlope : ApvSparseVariant.GemSi;
        var format = Sparse | (v2 ? ApvFormatFlags.AdcVersion2 : 0) | (commonMode ? ApvFormatFlags.CommonMode : 0);
        // 0 hits (all suppressed), a few, and all 128 channels.
        int[] counts = [0, 1 + (hitSeed % 20), ApvFacts.ChannelsPerApv, hitSeed % 129];
        var buffer = new byte[4 * (3 + ApvBlockWriter.SparseAdcWords(counts.Length, counts.Sum(), commonMode))];
        var w = new ApvBlockWriter(buffer, 622, 77, 1);
        w.BeginAdc(1, format, 99, variant);
        var expected = new Dictionary<int, ApvHit[]>();
        for (int chip = 0; chip < counts.Length; chip++)
        {
            expected[chip] = Hits(r, counts[chip]);
            w.AddApvSparse(chip, ApvPipeline.Consecutive(190), expected[chip], new ApvCommonMode(chip, 2 * chip, 3 * chip));
        }

        int bytes = w.Finish();
        Assert.Equal(buffer.Length, bytes);

        var output = new ApvEventData();
        ApvDecoder.Decode(buffer, output, new ApvDecoderOptions { SparseVariant = variant }, 77);
        Assert.DoesNotContain(output.Problems, p => p.Kind != FormatProblemKind.ApvImpossibleAmplitude);
        Assert.Equal(counts.Length, output.Chips.Length);
        foreach (var chip in output.Chips)
        {
            var got = output.Hits(chip).ToArray();
            var want = expected[chip.ChipId].OrderBy(h => ApvOutputOrder.OutputPosition(h.Channel)).ToArray();
            Assert.Equal(want.Select(h => h.Channel), got.Select(h => h.Channel));
            for (int i = 0; i < want.Length; i++)
            {
                Near(want[i].A0, got[i].A0, 0);
                Near(want[i].A1, got[i].A1, 1);
                Near(want[i].A2, got[i].A2, 2);
            }

            Assert.Equal(commonMode ? new ApvCommonMode(chip.ChipId, 2 * chip.ChipId, 3 * chip.ChipId) : null, chip.CommonMode);
        }

        void Near(int sent, int back, int frame)
        {
            int max = ApvSparseAmplitude.MaxDecoded(variant, format, frame);
            if (sent >= max)
                Assert.Equal(max, back);
            else
                Assert.InRange(sent - back, 0, ApvSparseAmplitude.Step(variant, format, frame, sent) - 1);
        }
    }

    [Fact]
    public void Data_skipped_writes_headers_only_and_the_decoder_counts_the_loss()
    {
        var buffer = new byte[256];
        var w = new ApvBlockWriter(buffer, 622, 5, 1);
        w.BeginAdc(0, LatchAll | ApvFormatFlags.CommonMode | ApvFormatFlags.DataSkipped, 7);
        w.AddApvLatchAll(0, ApvPipeline.Consecutive(0), new ushort[ApvEventData.LatchAllValues]);
        w.AddApvLatchAll(1, ApvPipeline.Consecutive(0), new ushort[ApvEventData.LatchAllValues]);
        int bytes = w.Finish();
        Assert.Equal(4 * (3 + 2 + 2 + 2), bytes);

        var output = new ApvEventData();
        var result = ApvDecoder.Decode(buffer.AsSpan(0, bytes), output, expectedEventNumber: 5);
        var p = Assert.Single(output.Problems);
        Assert.Equal(FormatProblemKind.ApvDataSkipped, p.Kind);
        Assert.True(p.DataLost);
        Assert.Equal(16, p.ByteOffset);
        Assert.Equal(2, result.Apvs);
        Assert.All(output.Chips.ToArray(), c => Assert.False(c.HasData));
        Assert.All(output.Chips.ToArray(), c => Assert.Equal(ApvChipFlags.DataSkipped, c.Flags));
    }

    [Fact]
    public void Forced_common_mode_is_written_without_format_bit_3_and_read_with_CMC_always()
    {
        var buffer = new byte[1024];
        var w = new ApvBlockWriter(buffer, 622, 5, 1);
        w.BeginAdc(0, Sparse, 7, forceCommonMode: true);
        w.AddApvSparse(3, ApvPipeline.Consecutive(4), [new ApvHit(1, 100, 100, 100)], new ApvCommonMode(1, 2, 3));
        int bytes = w.Finish();

        var output = new ApvEventData();
        ApvDecoder.Decode(buffer.AsSpan(0, bytes), output, new ApvDecoderOptions { CommonModeAlways = true }, 5);
        Assert.Empty(output.Problems);
        Assert.Equal(new ApvCommonMode(1, 2, 3), output.Chips[0].CommonMode);

        // Without the option the CM word reads as a hit: channel 64 (bit 31 set), which is why the option exists.
        output.Clear();
        ApvDecoder.Decode(buffer.AsSpan(0, bytes), output, ApvDecoderOptions.Default, 5);
        Assert.Equal(2, output.Hits(output.Chips[0]).Length);
    }

    [Fact]
    public void Writer_refuses_bad_input_with_one_line_naming_field_value_and_limit()
    {
        var buffer = new byte[4096];
        var e1 = Assert.Throws<ArgumentOutOfRangeException>(() =>
        {
            var w = new ApvBlockWriter(buffer, 622, 1, 1);
            w.BeginAdc(0, LatchAll, 1 << 24);
        });
        Assert.Contains("time_tag = 16777216", e1.Message, StringComparison.Ordinal);

        var e2 = Assert.Throws<ArgumentOutOfRangeException>(() =>
        {
            var w = new ApvBlockWriter(buffer, 622, 1, 1);
            w.BeginAdc(0, LatchAll, 0);
            var f = new ushort[ApvEventData.LatchAllValues];
            f[130] = 1024;
            w.AddApvLatchAll(0, ApvPipeline.Consecutive(0), f);
        });
        Assert.Contains("frame 1, channel 2", e2.Message, StringComparison.Ordinal);
        Assert.Contains("0..1023", e2.Message, StringComparison.Ordinal);

        var e3 = Assert.Throws<ArgumentException>(() =>
        {
            var w = new ApvBlockWriter(buffer, 622, 1, 1);
            w.BeginAdc(0, Sparse, 0);
            w.AddApvSparse(0, ApvPipeline.Consecutive(0), [new ApvHit(5, 1, 1, 1), new ApvHit(5, 2, 2, 2)]);
        });
        Assert.Contains("channel = 5", e3.Message, StringComparison.Ordinal);

        var e4 = Assert.Throws<InvalidOperationException>(() =>
        {
            var w = new ApvBlockWriter(buffer, 622, 1, 1);
            w.BeginAdc(0, LatchAll, 0);
            w.AddApvSparse(0, ApvPipeline.Consecutive(0), []);
        });
        Assert.Contains("bit 1 (sparse) clear", e4.Message, StringComparison.Ordinal);

        var e5 = Assert.Throws<ArgumentException>(() =>
        {
            var w = new ApvBlockWriter(new byte[40], 622, 1, 1);
            w.BeginAdc(0, LatchAll, 0);
            w.AddApvLatchAll(0, ApvPipeline.Consecutive(0), new ushort[ApvEventData.LatchAllValues]);
        });
        Assert.Contains("needs at least", e5.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => new ApvBlockWriter(buffer, 900, 1, 1));
    }
}
