using System.Runtime.InteropServices;
using NA64.Hardware.Digitizers.Apv.Format;
using NA64.Hardware.Digitizers.Msadc.Format;

namespace NA64.Hardware.Tests.Digitizers.Apv.Format;

/// <summary>
/// Every check of data-formats §7.10 (DDD's and ours), each with one deliberately broken field of a good event, found with
/// its location (byte and word offset, ADC, chip), and what survives. The good event, word by word:
/// 0..2 S-Link; 3,4 ADC 0 header (latch-all + CM, size 264); 5,6 chip 0 header, 7..134 data, 135 CM; 136,137 chip 1 header,
/// 138..265 data, 266 CM; 267,268 ADC 1 header (sparse + CM, size 14); 269,270 chip 0, 271..273 hits, 274 CM;
/// 275,276 chip 1, 277..279 hits, 280 CM. 281 words.
/// </summary>
public class ApvDecoderCheckTests
{
    private const int Event = 1234;
    private const long Base = 1000;
    private const ApvFormatFlags LatchAllCm = ApvFormatFlags.TripleFrame | ApvFormatFlags.PedestalSubtracted | ApvFormatFlags.CommonMode;
    private const ApvFormatFlags SparseCm = LatchAllCm | ApvFormatFlags.Sparse | ApvFormatFlags.AdcVersion2;

    internal static ushort[] Ramp(int chip)
    {
        var f = new ushort[ApvEventData.LatchAllValues];
        for (int i = 0; i < f.Length; i++)
        {
            f[i] = (ushort)(((chip * 7) + i) % 1000);
        }

        return f;
    }

    internal static ApvHit[] SparseHits(int chip) =>
        [new ApvHit(1 + chip, 100, 200, 300), new ApvHit(10, 40, 120, 90), new ApvHit(127, 500, 400, 300)];

    internal static uint[] Good()
    {
        var buffer = new byte[4 * 281];
        var w = new ApvBlockWriter(buffer, 622, Event, 17);
        w.BeginAdc(0, LatchAllCm, 5000);
        w.AddApvLatchAll(0, ApvPipeline.Consecutive(100), Ramp(0), new ApvCommonMode(1, 2, 3));
        w.AddApvLatchAll(1, ApvPipeline.Consecutive(100), Ramp(1), new ApvCommonMode(4, 5, 6));
        w.BeginAdc(1, SparseCm, 5000);
        w.AddApvSparse(0, ApvPipeline.Consecutive(100), SparseHits(0), new ApvCommonMode(7, 8, 9));
        w.AddApvSparse(1, ApvPipeline.Consecutive(100), SparseHits(1), new ApvCommonMode(7, 8, 9));
        Assert.Equal(buffer.Length, w.Finish());
        return MemoryMarshal.Cast<byte, uint>(buffer).ToArray();
    }

    private static (ApvEventData Output, ApvSourceResult Result) Decode(uint[] words, ApvDecoderOptions? options = null)
    {
        var output = new ApvEventData();
        var result = ApvDecoder.Decode(words, output, options, Event, Base);
        return (output, result);
    }

    /// <summary>The only problem is of <paramref name="kind"/>, at word <paramref name="word"/> of ADC/chip.</summary>
    private static FormatProblem Only(ApvEventData o, FormatProblemKind kind, int word, int adc, int chip)
    {
        var p = Assert.Single(o.Problems);
        Assert.Equal(kind, p.Kind);
        AssertAt(o, 0, word, adc, chip);
        return p;
    }

    private static void AssertAt(ApvEventData o, int index, int word, int adc, int chip)
    {
        Assert.Equal(Base + (4L * word), o.Problems[index].ByteOffset);
        Assert.Equal(622, o.Problems[index].SourceId);
        Assert.Equal(new ApvProblemLocation(word, adc, chip), o.ProblemLocations[index]);
    }

    private static uint[] Remove(uint[] w, int index, int apvHeader, int adcHeader) =>
        Resize(w.Take(index).Concat(w.Skip(index + 1)).ToArray(), apvHeader, adcHeader, -1);

    private static uint[] Insert(uint[] w, int index, uint value, int apvHeader, int adcHeader) =>
        Resize(w.Take(index).Append(value).Concat(w.Skip(index)).ToArray(), apvHeader, adcHeader, +1);

    /// <summary>Adjusts the sizes that enclose a removed/inserted word: APV data_len (if any), ADC size, S-Link event_size.</summary>
    private static uint[] Resize(uint[] w, int apvHeader, int adcHeader, int delta)
    {
        if (apvHeader >= 0)
            w[apvHeader] = (uint)(w[apvHeader] + delta);
        w[adcHeader] = (uint)(w[adcHeader] + delta);
        w[0] = (uint)(w[0] + delta);
        return w;
    }

    [Fact]
    public void The_good_event_decodes_without_problems()
    {
        var (o, r) = Decode(Good());
        Assert.Empty(o.Problems);
        Assert.Equal(4, r.Apvs);
        Assert.False(r.Stopped);
        Assert.Equal(Ramp(1), o.LatchAll(o.Chips[1]).ToArray());
        Assert.Equal(3, o.Hits(o.Chips[3]).Length);
        Assert.Equal([2, 2], o.AdcBlocks.ToArray().Select(b => b.Apvs));
    }

    [Fact]
    public void Adc_block_ending_past_the_payload_stops_the_source_and_the_first_adc_survives()
    {
        var w = Good();
        w[267] += 1;
        var (o, r) = Decode(w);
        var p = Only(o, FormatProblemKind.ApvAdcBlockSize, 267, 1, -1);
        Assert.Contains("size = 15", p.Message, StringComparison.Ordinal);
        Assert.True(p.DataLost);
        Assert.True(r.Stopped);
        Assert.Equal(2, o.Chips.Length);
        Assert.Equal(Ramp(0), o.LatchAll(o.Chips[0]).ToArray());
    }

    [Theory]
    [InlineData(0u)]
    [InlineData(1u)]
    public void Adc_block_ending_before_its_header_does_stops_the_source(uint size)
    {
        var w = Good();
        w[267] = (w[267] & 0xFFFF0000) | size;
        var (o, _) = Decode(w);
        Only(o, FormatProblemKind.ApvAdcBlockSize, 267, 1, -1);
        Assert.Equal(2, o.Chips.Length);
    }

    [Fact]
    public void A_single_trailing_word_cannot_be_an_adc_header()
    {
        var w = Good().Append(0x0000_0002u).ToArray();
        w[0] += 1;
        var (o, r) = Decode(w);
        Only(o, FormatProblemKind.ApvAdcBlockSize, 281, -1, -1);
        Assert.Equal(4, r.Apvs);
    }

    [Fact]
    public void Time_tag_differing_between_adc_blocks_is_flagged_unless_switched_off()
    {
        var w = Good();
        w[268] += 1;
        var (o, r) = Decode(w);
        var p = Only(o, FormatProblemKind.ApvTimeTagMismatch, 268, 1, -1);
        Assert.Contains("5001", p.Message, StringComparison.Ordinal);
        Assert.Contains("5000", p.Message, StringComparison.Ordinal);
        Assert.False(p.DataLost);
        Assert.Equal(4, r.Apvs);

        var (o2, _) = Decode(w, new ApvDecoderOptions { CheckTimeTag = false });
        Assert.Empty(o2.Problems);
    }

    [Fact]
    public void Apv_event_number_mismatch_stops_the_source_after_the_apvs_before_it()
    {
        var w = Good();
        w[275] = (w[275] & 0xF000FFFF) | ((uint)(Event + 1) << 16);
        var (o, r) = Decode(w);
        var p = Only(o, FormatProblemKind.ApvWrongEvent, 275, 1, 1);
        Assert.Contains("1235", p.Message, StringComparison.Ordinal);
        Assert.Contains("1234", p.Message, StringComparison.Ordinal);
        Assert.True(r.Stopped);
        Assert.Equal(3, o.Chips.Length);
    }

    [Fact]
    public void Apv_event_number_keeps_12_bits_so_plus_4096_passes()
    {
        var w = Good();
        w[1] = (w[1] & ~0xFFFFFu) | (Event + 4096);
        var output = new ApvEventData();
        ApvDecoder.Decode(w, output, expectedEventNumber: Event + 4096);
        Assert.Empty(output.Problems);
    }

    [Fact]
    public void Apv_block_ending_past_its_adc_block_costs_the_rest_of_that_adc_only()
    {
        var w = Good();
        w[136] += 2;
        var (o, r) = Decode(w);
        var p = Only(o, FormatProblemKind.ApvBlockSize, 136, 0, 1);
        Assert.Contains("data_len = 133", p.Message, StringComparison.Ordinal);
        Assert.False(r.Stopped);
        Assert.Equal([(0, 0), (1, 0), (1, 1)], o.Chips.ToArray().Select(c => (c.AdcId, c.ChipId)));
    }

    [Fact]
    public void Apv_block_too_short_for_its_cm_word_is_a_size_problem()
    {
        var w = Good();
        // Chip 1 of ADC 1 becomes 2 words (no CM word although format bit 3 says there is one); the rest of the ADC is left over.
        w[275] = (w[275] & 0xFFFF0000) | 2u;
        var (o, _) = Decode(w);
        Assert.Equal(FormatProblemKind.ApvBlockSize, o.Problems[0].Kind);
        AssertAt(o, 0, 275, 1, 1);
        Assert.Contains("expected 3..6", o.Problems[0].Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_single_word_left_in_an_adc_block_cannot_be_an_apv_header()
    {
        var w = Insert(Good(), 281, 0x12345678u, -1, 267);
        var (o, r) = Decode(w);
        Only(o, FormatProblemKind.ApvBlockSize, 281, 1, -1);
        Assert.Equal(4, r.Apvs);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(9)]
    [InlineData(18)]
    public void A_clear_good_bit_drops_that_apv_and_counts_it(int bit)
    {
        var w = Good();
        w[6] &= ~(1u << bit);
        var (o, r) = Decode(w);
        var p = Only(o, FormatProblemKind.ApvHeaderSampleError, 6, 0, 0);
        Assert.True(p.DataLost);
        Assert.Contains("128 data words of the APV dropped", p.Message, StringComparison.Ordinal);
        Assert.Equal(4, r.Apvs);
        Assert.False(o.Chips[0].HasData);
        Assert.True(o.LatchAll(o.Chips[0]).IsEmpty);
        Assert.Equal(Ramp(1), o.LatchAll(o.Chips[1]).ToArray());
        Assert.Equal(3, o.Hits(o.Chips[2]).Length);
    }

    [Fact]
    public void Latch_all_with_127_words_keeps_them_and_flags_the_apv()
    {
        var w = Remove(Good(), 265, 136, 3);
        var (o, _) = Decode(w);
        var p = Only(o, FormatProblemKind.ApvLatchAllTooFewWords, 138, 0, 1);
        Assert.False(p.DataLost);
        var chip = o.Chips[1];
        Assert.Equal(ApvChipFlags.LatchAllIncomplete, chip.Flags);
        Assert.Equal(127, chip.DataWords);
        var want = Ramp(1);
        int missing = ApvOutputOrder.PhysicalChannel(127);
        for (int f = 0; f < 3; f++)
            want[(f * 128) + missing] = 0;
        Assert.Equal(want, o.LatchAll(chip).ToArray());
        Assert.Equal(4, o.Chips.Length);
    }

    [Fact]
    public void Latch_all_with_129_words_drops_the_extra_word()
    {
        var w = Insert(Good(), 266, 0x3FFFFFFFu, 136, 3);
        var (o, _) = Decode(w);
        var p = Only(o, FormatProblemKind.ApvLatchAllTooManyWords, 266, 0, 1);
        Assert.True(p.DataLost);
        Assert.Equal(Ramp(1), o.LatchAll(o.Chips[1]).ToArray());
        Assert.Equal(new ApvCommonMode(4, 5, 6), o.Chips[1].CommonMode);
    }

    [Fact]
    public void Sparse_channels_out_of_order_are_flagged_and_kept()
    {
        var w = Good();
        (w[271], w[272]) = (w[272], w[271]);
        var (o, _) = Decode(w);
        var p = Only(o, FormatProblemKind.ApvSparseChannelOrder, 272, 1, 0);
        Assert.False(p.DataLost);
        Assert.Equal(3, o.Hits(o.Chips[2]).Length);
        Assert.Equal(ApvChipFlags.ChannelOrder, o.Chips[2].Flags);
    }

    [Fact]
    public void A_duplicate_sparse_channel_is_flagged_and_kept()
    {
        var w = Good();
        w[278] = w[277];
        var (o, _) = Decode(w);
        Only(o, FormatProblemKind.ApvSparseChannelOrder, 278, 1, 1);
        Assert.Equal(3, o.Hits(o.Chips[3]).Length);
    }

    [Fact]
    public void A_pipeline_address_outside_the_gray_image_is_flagged_and_the_other_apv_disagrees()
    {
        var w = Good();
        w[6] &= ~(0xFFu << 10);   // frame 2 address 0x00 -> column -32: invalid
        var (o, _) = Decode(w);
        Assert.Equal(2, o.Problems.Count);
        Assert.Equal(FormatProblemKind.ApvPipelineAddressInvalid, o.Problems[0].Kind);
        AssertAt(o, 0, 6, 0, 0);
        Assert.Equal(ApvPipelineAddress.Invalid, o.Chips[0].Columns.Column2);
        Assert.Equal(FormatProblemKind.ApvPipelineDisagree, o.Problems[1].Kind);
        AssertAt(o, 1, 137, 0, 1);
        Assert.True(o.Chips[0].HasData);
    }

    [Fact]
    public void Pipeline_columns_that_are_not_consecutive_are_flagged()
    {
        var w = Good();
        foreach (int h1 in new[] { 6, 137 })
            w[h1] = (w[h1] & ~(0xFFu << 19)) | ((uint)ApvPipelineAddress.Encode(110) << 19);
        var (o, _) = Decode(w);
        Assert.Equal(2, o.Problems.Count);
        Assert.All(o.Problems, p => Assert.Equal(FormatProblemKind.ApvPipelineNotConsecutive, p.Kind));
        AssertAt(o, 0, 6, 0, 0);
        AssertAt(o, 1, 137, 0, 1);
        Assert.Equal(new ApvPipeline(100, 101, 110), o.Chips[0].Columns);
    }

    [Fact]
    public void Pipeline_addresses_that_disagree_between_apvs_of_one_adc_are_flagged()
    {
        var w = Good();
        var other = ApvPipeline.Consecutive(50);
        w[276] = ApvWords.ApvHeader1(ApvPipelineAddress.Encode(other.Column1), ApvPipelineAddress.Encode(other.Column2), ApvPipelineAddress.Encode(other.Column3));
        var (o, _) = Decode(w);
        var p = Only(o, FormatProblemKind.ApvPipelineDisagree, 276, 1, 1);
        Assert.False(p.DataLost);
        Assert.Equal(other, o.Chips[3].Columns);
    }

    [Fact]
    public void A_cm_word_without_bit_31_is_flagged_and_its_values_kept()
    {
        var w = Good();
        w[135] &= 0x7FFFFFFF;
        var (o, _) = Decode(w);
        var p = Only(o, FormatProblemKind.ApvCommonModeWord, 135, 0, 0);
        Assert.Contains("bit 31 = 0", p.Message, StringComparison.Ordinal);
        Assert.Equal(new ApvCommonMode(1, 2, 3), o.Chips[0].CommonMode);
        Assert.Equal(Ramp(0), o.LatchAll(o.Chips[0]).ToArray());
    }

    [Fact]
    public void A_sparse_word_with_all_amplitudes_zero_is_flagged_as_impossible()
    {
        var w = Good();
        w[273] &= 0xFE000000;
        var (o, _) = Decode(w);
        var p = Only(o, FormatProblemKind.ApvImpossibleAmplitude, 273, 1, 0);
        Assert.Contains("0/0/0", p.Message, StringComparison.Ordinal);
        Assert.Equal(new ApvHit(127, 0, 0, 0), o.Hits(o.Chips[2])[2]);
    }

    [Fact]
    public void Single_frame_adc_blocks_are_dropped_and_the_other_adc_survives()
    {
        var w = Good();
        w[268] &= ~(1u << 24);
        var (o, r) = Decode(w);
        var p = Only(o, FormatProblemKind.ApvSingleFrame, 268, 1, -1);
        Assert.True(p.DataLost);
        Assert.Equal(2, r.Apvs);
        Assert.Equal(2, o.AdcBlocks.Length);
    }

    [Fact]
    public void Missing_and_unexpected_adc_ids_are_reported_against_the_expected_set()
    {
        var (o, r) = Decode(Good(), new ApvDecoderOptions { ExpectedAdcIds = new HashSet<int> { 0, 1, 2 } });
        var p = Only(o, FormatProblemKind.ApvMissingAdc, 3, 2, -1);
        Assert.True(p.DataLost);
        Assert.Contains("adc_id 2", p.Message, StringComparison.Ordinal);
        Assert.Equal(4, r.Apvs);

        var (o2, _) = Decode(Good(), new ApvDecoderOptions { ExpectedAdcIds = new HashSet<int> { 0 } });
        var q = Only(o2, FormatProblemKind.ApvUnexpectedAdc, 267, 1, -1);
        Assert.False(q.DataLost);
        Assert.Equal(4, o2.Chips.Length);
    }

    [Fact]
    public void Duplicate_adc_and_chip_ids_are_flagged_and_kept()
    {
        var w = Good();
        w[267] &= ~(0xFFu << 16);
        w[136] &= 0x0FFFFFFF;
        var (o, _) = Decode(w);
        Assert.Equal([FormatProblemKind.ApvDuplicateChip, FormatProblemKind.ApvDuplicateAdc], o.Problems.Select(p => p.Kind));
        AssertAt(o, 0, 136, 0, 0);
        AssertAt(o, 1, 267, 0, -1);
        Assert.Equal(4, o.Chips.Length);
        Assert.Equal(ApvChipFlags.Duplicate, o.Chips[1].Flags);
    }

    [Fact]
    public void Slink_size_and_event_number_mismatches_discard_the_source()
    {
        var w = Good();
        w[0] += 1;
        var (o, r) = Decode(w);
        Assert.Equal(FormatProblemKind.SlinkSizeMismatch, Assert.Single(o.Problems).Kind);
        Assert.True(r.Discarded);
        Assert.Empty(o.Chips.ToArray());

        var output = new ApvEventData();
        var r2 = ApvDecoder.Decode(Good(), output, expectedEventNumber: Event + 1);
        Assert.Equal(FormatProblemKind.SlinkEventNumber, Assert.Single(output.Problems).Kind);
        Assert.True(r2.Discarded);
    }

    [Fact]
    public void Several_problems_in_one_event_are_all_reported_and_the_rest_survives()
    {
        var w = Good();
        w[6] &= ~1u;                 // chip 0 of ADC 0 dropped
        w[135] &= 0x7FFFFFFF;        // its CM word flagged
        (w[277], w[278]) = (w[278], w[277]);
        var (o, r) = Decode(w);
        Assert.Equal([FormatProblemKind.ApvCommonModeWord, FormatProblemKind.ApvHeaderSampleError, FormatProblemKind.ApvSparseChannelOrder], o.Problems.Select(p => p.Kind));
        Assert.Equal(3, o.Problems.Count(p => !p.DataLost) + 1);
        Assert.Equal(4, r.Apvs);
        Assert.Equal(Ramp(1), o.LatchAll(o.Chips[1]).ToArray());
    }
}

/// <summary>The S-Link level of an APV source: the same checks as the MSADC decoder, with APV locations.</summary>
public class ApvDecoderSlinkTests
{
    [Fact]
    public void Tcs_ecc_error_and_spill_mismatch_are_flagged_and_the_data_kept()
    {
        var w = ApvDecoderCheckTests.Good();
        w[2] &= ~0x0800u;
        var output = new ApvEventData();
        var r = ApvDecoder.Decode(w, output, expectedEventNumber: 1234, expectedBurst: 18);
        Assert.Equal([FormatProblemKind.SlinkSpillNumber, FormatProblemKind.TcsEccError], output.Problems.Select(p => p.Kind));
        Assert.Equal(new ApvProblemLocation(1, -1, -1), output.ProblemLocations[0]);
        Assert.Equal(new ApvProblemLocation(2, -1, -1), output.ProblemLocations[1]);
        Assert.Equal(4, r.Apvs);
    }

    [Fact]
    public void First_event_of_run_record_is_not_decoded_as_data()
    {
        var w = ApvDecoderCheckTests.Good();
        w[2] |= 0x80u << 24;
        var output = new ApvEventData();
        var r = ApvDecoder.Decode(w, output);
        Assert.Equal(FormatProblemKind.FirstEventOfRun, Assert.Single(output.Problems).Kind);
        Assert.False(output.Problems[0].DataLost);
        Assert.Equal(0, r.Apvs);
        Assert.False(r.Discarded);
    }

    [Fact]
    public void A_length_that_is_not_whole_words_discards_the_source()
    {
        var output = new ApvEventData();
        var r = ApvDecoder.Decode(new byte[13], output);
        Assert.Equal(FormatProblemKind.SlinkSizeMismatch, Assert.Single(output.Problems).Kind);
        Assert.True(r.Discarded);
    }

    [Fact]
    public void Output_is_reused_across_events_after_clear()
    {
        var output = new ApvEventData(initialChips: 1, initialHits: 1);
        for (int i = 0; i < 3; i++)
        {
            output.Clear();
            ApvDecoder.Decode(ApvDecoderCheckTests.Good(), output, expectedEventNumber: 1234);
            Assert.Equal(4, output.Chips.Length);
            Assert.Single(output.Sources.ToArray());
            Assert.Equal(2, output.AdcBlocks.Length);
            Assert.Equal(ApvDecoderCheckTests.Ramp(0), output.LatchAll(output.Chips[0]).ToArray());
        }
    }
}

public class ApvDecoderOptionsTests
{
    [Fact]
    public void Expected_adc_ids_outside_the_field_are_refused_at_configuration()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new ApvDecoderOptions { ExpectedAdcIds = new HashSet<int> { 0, 256 } });
        Assert.Contains("expected adc_id = 256 refused", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Several_missing_adcs_are_each_reported_in_increasing_id()
    {
        var output = new ApvEventData();
        ApvDecoder.Decode(ApvDecoderCheckTests.Good(), output, new ApvDecoderOptions { ExpectedAdcIds = new HashSet<int> { 200, 1, 0, 65 } }, 1234);
        Assert.Equal([65, 200], output.ProblemLocations.Select(l => l.AdcId));
        Assert.All(output.Problems, p => Assert.Equal(FormatProblemKind.ApvMissingAdc, p.Kind));
    }
}
