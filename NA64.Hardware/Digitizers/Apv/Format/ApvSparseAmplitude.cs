using System.Globalization;

namespace NA64.Hardware.Digitizers.Apv.Format;

/// <summary>Which of DDD's two sparse amplitude decodings a source uses (data-formats §7.8); a per-source option.</summary>
public enum ApvSparseVariant
{
    /// <summary>GEM/Si ADC, DDD's default: a = raw &lt;&lt; v for frames 1-2 (v = 1 with format bit 6, else 2), a = raw &lt;&lt; 1 for frame 3.</summary>
    GemSi,

    /// <summary>Two-slope, map option <c>rich_adc</c>: a = 2·raw (frames 1-2) or raw (frame 3), then a ≥ 256 → 256 + 2·(a − 256).</summary>
    TwoSlope,
}

/// <summary>
/// The compressed amplitudes of sparse data words (data-formats §7.8): raw fields of 8 bits (frames 1-2) and 9 bits
/// (frame 3). <see cref="Decode"/> is DDD's reconstruction; <see cref="Encode"/> inverts it by truncation and clamps to the
/// field, so Decode(Encode(a)) ≤ a and a − Decode(Encode(a)) &lt; <see cref="Step"/>(a) below <see cref="MaxDecoded"/>.
/// </summary>
public static class ApvSparseAmplitude
{
    public const int TwoSlopeKnee = 256;

    /// <summary>Bits of the raw field of frame 0..2: 8, 8, 9.</summary>
    public static int RawMax(int frame) => frame == 2 ? ApvWords.SparseRaw3Mask : ApvWords.SparseRaw12Mask;

    /// <summary>v of the GEM/Si variant: 1 when format bit 6 (ADC version 2) is set, else 2.</summary>
    public static int Shift(int frame, ApvFormatFlags format) => frame == 2 ? 1 : (format & ApvFormatFlags.AdcVersion2) != 0 ? 1 : 2;

    /// <summary>The amplitude DDD reconstructs from a raw field of frame 0..2.</summary>
    public static int Decode(ApvSparseVariant variant, ApvFormatFlags format, int frame, int raw)
    {
        raw &= RawMax(frame);
        if (variant == ApvSparseVariant.GemSi)
        {
            return raw << Shift(frame, format);
        }

        int a = frame == 2 ? raw : 2 * raw;
        return a >= TwoSlopeKnee ? TwoSlopeKnee + (2 * (a - TwoSlopeKnee)) : a;
    }

    /// <summary>The raw field that decodes to the largest value ≤ <paramref name="amplitude"/> (clamped to the field; negative → 0).</summary>
    public static int Encode(ApvSparseVariant variant, ApvFormatFlags format, int frame, int amplitude)
    {
        CheckFrame(frame);
        if (amplitude <= 0)
        {
            return 0;
        }

        int raw;
        if (variant == ApvSparseVariant.GemSi)
        {
            raw = amplitude >> Shift(frame, format);
        }
        else
        {
            int a = amplitude >= TwoSlopeKnee ? TwoSlopeKnee + ((amplitude - TwoSlopeKnee) / 2) : amplitude;
            raw = frame == 2 ? a : a / 2;
        }

        return Math.Min(raw, RawMax(frame));
    }

    /// <summary>The largest amplitude the variant can carry in frame 0..2 (what larger amplitudes clamp to).</summary>
    public static int MaxDecoded(ApvSparseVariant variant, ApvFormatFlags format, int frame) => Decode(variant, format, frame, RawMax(frame));

    /// <summary>The quantisation step around <paramref name="amplitude"/>: the gap between neighbouring decodable values.</summary>
    public static int Step(ApvSparseVariant variant, ApvFormatFlags format, int frame, int amplitude)
    {
        CheckFrame(frame);
        if (variant == ApvSparseVariant.GemSi)
        {
            return 1 << Shift(frame, format);
        }

        int below = frame == 2 ? 1 : 2;
        return amplitude >= TwoSlopeKnee ? 2 * below : below;
    }

    private static void CheckFrame(int frame)
    {
        if ((uint)frame >= ApvFacts.Frames)
        {
            throw new ArgumentOutOfRangeException(nameof(frame), frame,
                string.Create(CultureInfo.InvariantCulture, $"frame = {frame} refused: triple-frame readout has frames 0..{ApvFacts.Frames - 1}"));
        }
    }
}
