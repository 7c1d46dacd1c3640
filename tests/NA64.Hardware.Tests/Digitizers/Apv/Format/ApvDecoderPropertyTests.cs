using FsCheck.Xunit;
using NA64.Hardware.Digitizers.Apv.Format;

namespace NA64.Hardware.Tests.Digitizers.Apv.Format;

/// <summary>Garbage in: results or FormatProblems, never an exception, never a read out of bounds, never a hang.</summary>
public class ApvDecoderPropertyTests
{
    private static void CheckInvariants(ApvEventData o, long lengthBytes)
    {
        Assert.Equal(o.Problems.Count, o.ProblemLocations.Count);
        foreach (var chip in o.Chips)
        {
            Assert.InRange(chip.ChipId, 0, 15);
            Assert.True(o.LatchAll(chip).IsEmpty || o.LatchAll(chip).Length == ApvEventData.LatchAllValues);
            foreach (ushort a in o.LatchAll(chip))
                Assert.InRange(a, 0, ApvFacts.MaxAmplitude);
            foreach (var h in o.Hits(chip))
            {
                Assert.InRange(h.Channel, 0, 127);
                Assert.InRange(h.A0, 0, ApvFacts.MaxAmplitude);
                Assert.InRange(h.A2, 0, ApvFacts.MaxAmplitude);
            }
        }

        foreach (var p in o.Problems)
        {
            Assert.InRange(p.ByteOffset, 0, Math.Max(0, lengthBytes - 1));
            Assert.False(string.IsNullOrEmpty(p.Message));
        }
    }

    [Property(MaxTest = 500)]
    public void Random_bytes_give_results_or_problems(byte[] data, bool twoSlope)
    {
        var o = new ApvEventData();
        ApvDecoder.Decode(data, o, new ApvDecoderOptions { SparseVariant = twoSlope ? ApvSparseVariant.TwoSlope : ApvSparseVariant.GemSi });
        CheckInvariants(o, data.Length);
        Assert.Single(o.Sources.ToArray());
    }

    [Property(MaxTest = 500)]
    public void Bit_flips_in_a_good_event_give_results_or_problems(ushort[] flips, bool cmAlways)
    {
        var w = ApvDecoderCheckTests.Good();
        foreach (ushort f in flips)
        {
            int bit = f % (32 * w.Length);
            w[bit / 32] ^= 1u << (bit % 32);
        }

        var o = new ApvEventData();
        ApvDecoder.Decode(w, o, new ApvDecoderOptions { CommonModeAlways = cmAlways, ExpectedAdcIds = new HashSet<int> { 0, 1 } }, 1234);
        CheckInvariants(o, w.Length * 4L);
    }

    [Property(MaxTest = 300)]
    public void Random_payload_words_walk_deep_and_stay_in_bounds(uint[] words, bool headerHeavy)
    {
        if (headerHeavy && words.Length > 2)
        {
            // Plausible sizes so the walk goes past the first header.
            words[0] = (words[0] & 0xFFFF0000) | (uint)Math.Min(words.Length, 2 + (int)(words[0] % 8));
            words[1] |= 1u << 24;
        }

        var o = new ApvEventData();
        ApvDecoder.DecodePayload(words, 622, ApvDecoder.AnyEventNumber, o);
        CheckInvariants(o, words.Length * 4L);
    }
}
