using NA64.Hardware.Digitizers.Msadc.Format;

namespace NA64.Hardware.Tests.Digitizers.Msadc.Format;

/// <summary>Every decoder check, each with one deliberately broken field of the §6.11 worked example.</summary>
public class SadcDecoderCheckTests
{
    private static uint[] Example() => (uint[])WorkedExampleTests.ExpectedWords.Clone();

    private static (SadcEventData Output, SadcSourceResult Result) Decode(uint[] words, int expected = 1234, long baseOffset = 0)
    {
        var output = new SadcEventData();
        var result = SadcDecoder.Decode(words, output, expected, baseOffset);
        return (output, result);
    }

    private static FormatProblem Only(SadcEventData output, FormatProblemKind kind)
    {
        var p = Assert.Single(output.Problems);
        Assert.Equal(kind, p.Kind);
        return p;
    }

    [Fact]
    public void Bad_adc_header_key_stops_the_source()
    {
        var w = Example();
        w[3] = (w[3] & 0x3FFFFFFF) | (2u << 30);
        var (o, r) = Decode(w, baseOffset: 1000);
        var p = Only(o, FormatProblemKind.BadAdcHeader);
        Assert.Equal(1012, p.ByteOffset);
        Assert.Equal(623, p.SourceId);
        Assert.Contains("key = 2", p.Message, StringComparison.Ordinal);
        Assert.True(p.DataLost);
        Assert.Empty(o.Channels.ToArray());
        Assert.False(r.Discarded);
    }

    [Fact]
    public void Key_0_with_size_other_than_1_is_a_bad_header_but_earlier_blocks_survive()
    {
        var w = Example();
        w[8] = 0x300024D2;   // key 0, size 2
        var (o, _) = Decode(w);
        Assert.Equal(32, Only(o, FormatProblemKind.BadAdcHeader).ByteOffset);
        Assert.Single(o.Channels.ToArray());
        Assert.Empty(o.MissingModules.ToArray());
    }

    [Fact]
    public void Slink_event_number_plus_4096_is_accepted()
    {
        var w = Example();
        w[1] = (w[1] & ~0xFFFFFu) | (1234 + 4096);
        var (o, _) = Decode(w, expected: 1234 + 4096);
        Assert.Empty(o.Problems);
        Assert.Single(o.Channels.ToArray());
    }

    [Fact]
    public void Slink_event_number_plus_1_gives_wrong_event_and_no_digits()
    {
        var w = Example();
        w[1] = (w[1] & ~0xFFFFFu) | 1235;
        var (o, _) = Decode(w, expected: 1235);
        var p = Only(o, FormatProblemKind.WrongEvent);
        Assert.Equal(12, p.ByteOffset);
        Assert.Contains("1234", p.Message, StringComparison.Ordinal);
        Assert.Contains("1235", p.Message, StringComparison.Ordinal);
        Assert.Empty(o.Channels.ToArray());
    }

    [Fact]
    public void Missing_module_marker_with_wrong_event_stops_the_source_after_the_good_block()
    {
        var w = Example();
        w[8] = 0x300014D3;
        var (o, _) = Decode(w);
        Assert.Equal(32, Only(o, FormatProblemKind.WrongEvent).ByteOffset);
        Assert.Single(o.Channels.ToArray());
        Assert.Empty(o.MissingModules.ToArray());
    }

    [Theory]
    [InlineData(7)]
    [InlineData(0)]
    public void Adc_block_size_overrun_or_zero_is_reported(int size)
    {
        var w = Example();
        w[3] = (w[3] & ~(0xFFFu << 12)) | ((uint)size << 12);
        var (o, _) = Decode(w);
        var p = Only(o, FormatProblemKind.AdcBlockSize);
        Assert.Contains(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"size = {size} words"), p.Message, StringComparison.Ordinal);
        Assert.Empty(o.Channels.ToArray());
    }

    [Fact]
    public void Bad_data_word_id_truncates_the_channel_and_the_rest_survives()
    {
        var w = Example();
        w[6] = (w[6] & 0x00FFFFFF) | 0xC0000000;
        var (o, _) = Decode(w);
        var p = Only(o, FormatProblemKind.BadDataWord);
        Assert.Equal(24, p.ByteOffset);
        var ch = Assert.Single(o.Channels.ToArray());
        Assert.Equal(SadcChannelFlags.Truncated, ch.Flags);
        Assert.Equal(new ushort[] { 210, 214 }, o.Samples(ch).ToArray());
        Assert.Single(o.MissingModules.ToArray());
    }

    [Fact]
    public void First_data_word_with_following_id_truncates_to_zero_samples()
    {
        var w = Example();
        w[5] = (w[5] & 0x00FFFFFF) | 0x80000000;
        var (o, _) = Decode(w);
        Only(o, FormatProblemKind.BadDataWord);
        Assert.Equal(0, o.Channels[0].SampleCount);
    }

    [Fact]
    public void Only_top_two_bits_of_data_word_id_are_checked()
    {
        var w = Example();
        w[5] = (w[5] & 0x00FFFFFF) | 0x7F000000;
        w[6] = (w[6] & 0x00FFFFFF) | 0xBF000000;
        var (o, _) = Decode(w);
        Assert.Empty(o.Problems);
        Assert.Equal(WorkedExampleTests.ExampleSamples, o.Samples(o.Channels[0]).ToArray());
    }

    [Fact]
    public void Bad_channel_header_id_drops_the_block_only()
    {
        var w = Example();
        w[4] &= 0x3FFFFFFF;
        var (o, _) = Decode(w);
        Assert.Equal(16, Only(o, FormatProblemKind.BadChannelHeader).ByteOffset);
        Assert.Empty(o.Channels.ToArray());
        Assert.Single(o.MissingModules.ToArray());
    }

    [Fact]
    public void Zero_samples_drops_the_block()
    {
        var w = Example();
        w[4] &= ~(0x1FFu << 16);
        var (o, _) = Decode(w);
        Only(o, FormatProblemKind.ZeroSamples);
        Assert.Empty(o.Channels.ToArray());
    }

    [Fact]
    public void Samples_needing_more_words_than_the_block_holds_is_data_outside()
    {
        var w = Example();
        w[4] = (w[4] & ~(0x1FFu << 16)) | (8u << 16);
        var (o, _) = Decode(w);
        Assert.Contains("8 samples = 4 data words, only 3", Only(o, FormatProblemKind.DataOutside).Message, StringComparison.Ordinal);
        Assert.Empty(o.Channels.ToArray());
    }

    [Fact]
    public void Zero_bit_is_flagged_and_the_channel_kept()
    {
        var w = Example();
        w[4] |= 1u << 25;
        var (o, _) = Decode(w);
        Assert.False(Only(o, FormatProblemKind.ZeroBitSet).DataLost);
        Assert.Equal(SadcChannelFlags.ZeroBitSet, o.Channels[0].Flags);
        Assert.Equal(6, o.Channels[0].SampleCount);
    }

    [Fact]
    public void Adc_error_bit_is_flagged_on_its_channels()
    {
        var w = Example();
        w[3] |= 1u << 24;
        var (o, _) = Decode(w);
        Only(o, FormatProblemKind.AdcErrorBit);
        Assert.Equal(SadcChannelFlags.AdcErrorBit, o.Channels[0].Flags);
        Assert.True(o.AdcBlocks[0].ErrorBit);
    }

    [Fact]
    public void Duplicate_channel_is_flagged_and_both_kept()
    {
        var buffer = new byte[128];
        var wr = new SadcBlockWriter(buffer, 610, 9, 1);
        wr.BeginAdc(2, 1);
        wr.AddChannel(3, [5, 6], 11);
        wr.BeginAdc(2, 1);
        wr.AddChannel(3, [7, 8], 15);
        int n = wr.Finish();
        var o = new SadcEventData();
        SadcDecoder.Decode(buffer.AsSpan(0, n), o, 9);
        Assert.Contains("port 2, adc_id 1, chan_id 3", Only(o, FormatProblemKind.DuplicateChannel).Message, StringComparison.Ordinal);
        Assert.Equal([SadcChannelFlags.None, SadcChannelFlags.Duplicate], o.Channels.ToArray().Select(c => c.Flags));
    }

    [Fact]
    public void Same_channel_in_two_sources_is_not_a_duplicate()
    {
        var o = new SadcEventData();
        SadcDecoder.Decode(WorkedExampleTests.ExpectedWords, o, 1234);
        var w = Example();
        w[0] = (w[0] & ~(0x3FFu << 16)) | (624u << 16);
        SadcDecoder.Decode(w, o, 1234);
        Assert.Empty(o.Problems);
        Assert.Equal(2, o.Channels.Length);
    }

    [Fact]
    public void Saturated_sample_is_flagged()
    {
        var buffer = new byte[128];
        var wr = new SadcBlockWriter(buffer, 610, 9, 1);
        wr.BeginAdc(0, 0);
        wr.AddChannel(0, [100, 4095, 100], 0);
        int n = wr.Finish();
        var o = new SadcEventData();
        SadcDecoder.Decode(buffer.AsSpan(0, n), o, 9);
        Only(o, FormatProblemKind.SaturatedSample);
        Assert.Equal(SadcChannelFlags.Saturated, o.Channels[0].Flags);
        Assert.Equal(new ushort[] { 100, 4095, 100 }, o.Samples(o.Channels[0]).ToArray());
    }

    [Theory]
    [InlineData(0x00, FormatProblemKind.TcsEccError)]
    [InlineData(0x09, FormatProblemKind.TcsFifoError)]
    [InlineData(0x48, FormatProblemKind.TcsSyncError)]
    [InlineData(0x0A, FormatProblemKind.TcsUndefinedError)]
    public void Tcs_error_bits_are_reported_and_data_kept(int tcs, FormatProblemKind kind)
    {
        var w = Example();
        w[2] = (w[2] & ~0xFF00u) | ((uint)tcs << 8);
        var (o, r) = Decode(w);
        Assert.Equal(8, Only(o, kind).ByteOffset);
        Assert.False(r.Discarded);
        Assert.Single(o.Channels.ToArray());
    }

    [Fact]
    public void Slink_error_flag_and_errors_counter_are_reported()
    {
        var w = Example();
        w[0] |= 1u << 31;
        w[2] |= 3u << 16;
        var (o, _) = Decode(w);
        Assert.Equal([FormatProblemKind.SlinkErrorFlag, FormatProblemKind.SlinkErrorsCounter], o.Problems.Select(p => p.Kind));
        Assert.Single(o.Channels.ToArray());
    }

    [Fact]
    public void Slink_size_disagreeing_with_the_block_discards_the_source()
    {
        var w = Example();
        w[0] = (w[0] & ~0xFFFFu) | 10;
        var (o, r) = Decode(w);
        Assert.Contains("event_size = 10 words, but the block holds 9", Only(o, FormatProblemKind.SlinkSizeMismatch).Message, StringComparison.Ordinal);
        Assert.True(r.Discarded);
        Assert.Empty(o.Channels.ToArray());
    }

    [Fact]
    public void Slink_event_number_different_from_date_nb_in_burst_discards_the_source()
    {
        var (o, r) = Decode(Example(), expected: 1235);
        Assert.Equal(4, Only(o, FormatProblemKind.SlinkEventNumber).ByteOffset);
        Assert.True(r.Discarded);
    }

    [Fact]
    public void Multiplexer_source_is_not_decoded_as_sadc()
    {
        var w = Example();
        w[0] = (w[0] & ~(0x3FFu << 16)) | (900u << 16);
        var (o, r) = Decode(w);
        Assert.Equal(900, Only(o, FormatProblemKind.SlinkMultiplexerSource).SourceId);
        Assert.True(r.Discarded);
    }

    [Fact]
    public void First_event_of_run_record_is_metadata()
    {
        var w = Example();
        w[2] |= 0x80u << 24;
        var (o, r) = Decode(w);
        Assert.False(Only(o, FormatProblemKind.FirstEventOfRun).DataLost);
        Assert.False(r.Discarded);
        Assert.Empty(o.Channels.ToArray());
    }

    [Fact]
    public void Byte_block_not_multiple_of_4_and_short_blocks_are_reported()
    {
        var o = new SadcEventData();
        SadcDecoder.Decode(new byte[14], o);
        SadcDecoder.Decode(new uint[2], o);
        SadcDecoder.Decode(ReadOnlySpan<uint>.Empty, o);
        Assert.Equal([FormatProblemKind.SlinkSizeMismatch, FormatProblemKind.SlinkTooShort, FormatProblemKind.SlinkTooShort], o.Problems.Select(p => p.Kind));
        Assert.Equal(3, o.Sources.Length);
        Assert.All(o.Sources.ToArray(), s => Assert.True(s.Discarded));
    }

    [Fact]
    public void Channels_need_not_be_ordered_when_decoding()
    {
        var w = new uint[]
        {
            0x02620009, 0x00000005, 0x00000800,
            Sadc3.AdcHeader(5, 5, false, 0, 0),
            Sadc3.ChannelHeader(0, 2, 9), Sadc3.DataWord(1, 2, true),
            Sadc3.ChannelHeader(0, 1, 2), Sadc3.DataWord(3, 0, true),
            Sadc3.MissingModule(5, 1, 0),
        };
        var (o, _) = Decode(w, expected: 5);
        Assert.Empty(o.Problems);
        Assert.Equal([9, 2], o.Channels.ToArray().Select(c => c.Address.ChanId));
    }

    [Theory]
    [InlineData(17, false)]
    [InlineData(17 + 2048, false)]
    [InlineData(18, true)]
    public void Slink_spill_is_compared_with_the_date_burst_modulo_2048(int burst, bool flagged)
    {
        var o = new SadcEventData();
        var r = SadcDecoder.Decode(WorkedExampleTests.ExpectedWords, o, 1234, 0, burst);
        Assert.False(r.Discarded);
        Assert.Single(o.Channels.ToArray());
        if (flagged)
        {
            Assert.False(Only(o, FormatProblemKind.SlinkSpillNumber).DataLost);
        }
        else
        {
            Assert.Empty(o.Problems);
        }
    }
}
