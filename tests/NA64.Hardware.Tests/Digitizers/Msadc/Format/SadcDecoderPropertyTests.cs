using FsCheck.Xunit;
using NA64.Hardware.Digitizers.Msadc.Format;
using NA64.Hardware.Errors;

namespace NA64.Hardware.Tests.Digitizers.Msadc.Format;

/// <summary>Garbage in: results or FormatProblems, never another exception, never a read out of bounds, never a hang.</summary>
public class SadcDecoderPropertyTests
{
    private static void CheckInvariants(SadcEventData o, long length)
    {
        foreach (var ch in o.Channels)
        {
            Assert.InRange(ch.SampleCount, 0, Sadc3.MaxSamples);
            foreach (ushort s in o.Samples(ch))
            {
                Assert.InRange(s, 0, 4095);
            }
        }

        foreach (var p in o.Problems)
        {
            Assert.InRange(p.ByteOffset, 0, Math.Max(0, length - 1));
            Assert.False(string.IsNullOrEmpty(p.Message));
        }
    }

    [Property(MaxTest = 1000)]
    public void Random_bytes_give_results_or_problems(byte[] data)
    {
        var o = new SadcEventData();
        SadcDecoder.Decode(data, o, SadcDecoder.AnyEventNumber);
        CheckInvariants(o, data.Length);
        Assert.Single(o.Sources.ToArray());
    }

    [Property(MaxTest = 1000)]
    public void Random_words_with_a_consistent_slink_size_walk_deep_and_stay_in_bounds(uint[] words, bool keyHeavy)
    {
        if (words.Length < 3 || words.Length > 0xFFFF)
        {
            return;
        }

        words[0] = (words[0] & 0xFC00_0000) | (100u << 16) | (uint)words.Length;
        words[2] |= 0x0800;
        words[2] &= 0x7FFFFFFF;
        if (keyHeavy)
        {
            // Make ADC headers likely: key 3 and small sizes in the word after every header position guess.
            for (int i = 3; i < words.Length; i += 4)
            {
                words[i] = (words[i] | 0xC000_0000) & ~(0xFF0u << 12);
            }
        }

        var o = new SadcEventData();
        SadcDecoder.Decode(words, o, (int)(words[1] & 0xFFFFF));
        CheckInvariants(o, words.Length * 4L);
    }

    [Property(MaxTest = 500)]
    public void Bit_flips_in_a_valid_latch_all_fragment_never_throw(int seed, byte flips)
    {
        var buffer = new byte[SadcBlockWriter.LatchAllBytes(2, 31, 1)];
        var r = new Random(seed);
        var w = new SadcBlockWriter(buffer, 611, 42, 3);
        for (int adc = 0; adc < 2; adc++)
        {
            w.BeginAdc(1, adc);
            for (int ch = 0; ch < 16; ch++)
            {
                var s = new ushort[31];
                for (int i = 0; i < s.Length; i++)
                {
                    s[i] = (ushort)r.Next(4096);
                }

                w.AddChannel(ch, s, SadcSumMode.PedestalSubtracted, 200f, 210f);
            }
        }

        w.AddMissingModule(2, 0);
        int n = w.Finish();
        for (int i = 0; i < (flips % 8) + 1; i++)
        {
            int bit = r.Next(n * 8);
            buffer[bit / 8] ^= (byte)(1 << (bit % 8));
        }

        var o = new SadcEventData();
        SadcDecoder.Decode(buffer.AsSpan(0, n), o, 42);
        CheckInvariants(o, n);
    }

    [Property(MaxTest = 300)]
    public void Random_short_buffers_into_the_slink_reader_give_frame_format_exception_only(byte[] data)
    {
        if (data.Length >= SlinkHeader.Bytes)
        {
            var h = SlinkHeader.Read(data);
            Assert.InRange(h.SourceId, 0, 1023);
            return;
        }

        Assert.Throws<FrameFormatException>(() => SlinkHeader.Read(data));
    }

    [Property(MaxTest = 300)]
    public void Encode_decode_round_trips_random_sparse_channel_sets(ushort channelMask, byte sampleCount, int seed)
    {
        int samples = (sampleCount % 64) + 1;
        var r = new Random(seed);
        var buffer = new byte[SadcBlockWriter.LatchAllBytes(1, samples)];
        var w = new SadcBlockWriter(buffer, 700, 3, 3);
        w.BeginAdc(4, 2);
        var expected = new List<(int Chan, ushort[] Samples)>();
        for (int ch = 0; ch < 16; ch++)
        {
            if ((channelMask & (1 << ch)) == 0)
            {
                continue;
            }

            var s = Enumerable.Range(0, samples).Select(_ => (ushort)r.Next(4095)).ToArray();
            expected.Add((ch, s));
            w.AddChannel(ch, s, ch * 100);
        }

        int n = w.Finish();
        var o = new SadcEventData();
        SadcDecoder.Decode(buffer.AsSpan(0, n), o, 3);
        Assert.Empty(o.Problems);
        Assert.Equal(expected.Count, o.Channels.Length);
        for (int i = 0; i < expected.Count; i++)
        {
            Assert.Equal(expected[i].Chan, o.Channels[i].Address.ChanId);
            Assert.Equal(expected[i].Chan * 100, o.Channels[i].Sum);
            Assert.Equal(expected[i].Samples, o.Samples(o.Channels[i]).ToArray());
        }
    }
}
