using NA64.Hardware.Digitizers.Apv.Format;

namespace NA64.Readout.Processing.Apv;

/// <summary>Sizes of one APV25 readout (data-formats.md 7.7, 7.9).</summary>
public static class ApvLayout
{
    public const int ChannelsPerApv = ApvFacts.ChannelsPerApv;
    public const int Frames = ApvFacts.Frames;
    public const int MaxAmplitude = ApvFacts.MaxAmplitude;

    /// <summary>int16 words of one APV's latch-all event: 3 frames × 128 channels.</summary>
    public const int SamplesPerApv = Frames * ChannelsPerApv;

    /// <summary>Fixed-point scale of pedestals, σ, thresholds and common mode: 2 fractional bits (quarter ADC counts).</summary>
    public const int FractionalBits = 2;
    public const int Scale = 1 << FractionalBits;

    /// <summary>Where the decoder writes amplitude <paramref name="frame"/> (0 = a0) of physical channel
    /// <paramref name="physicalChannel"/> of the <paramref name="apv"/>-th APV of a block.</summary>
    public static int Index(int apv, int frame, int physicalChannel) =>
        ((apv * Frames) + frame) * ChannelsPerApv + physicalChannel;
}

/// <summary>
/// Latch-all samples of one or more APV25 chips of one event, struct-of-arrays:
/// <c>Samples[((apv × 3) + frame) × 128 + physicalChannel]</c>, raw 10-bit amplitudes 0..1023 in int16.
/// <para>Frame-major so that one frame of one APV is 128 contiguous int16 (256 bytes: 8 Vector256 or 4 Vector512
/// loads), which is what the per-frame common mode reduces over. Channels are <b>physical</b> channels: the decoder
/// applies the APV output order (data-formats.md 7.9) when it stores data word r at channel
/// <c>ApvOutputOrder.PhysicalChannel(r)</c>, so neighbouring channels are neighbouring APV inputs.</para>
/// </summary>
public readonly ref struct ApvBlock
{
    public ApvBlock(ReadOnlySpan<short> samples)
    {
        if (samples.Length % ApvLayout.SamplesPerApv != 0)
            throw new ArgumentException(
                $"samples length {samples.Length} is not a multiple of {ApvLayout.SamplesPerApv} (3 frames x 128 channels per APV)",
                nameof(samples));
        Samples = samples;
    }

    public ReadOnlySpan<short> Samples { get; }
    public int ApvCount => Samples.Length / ApvLayout.SamplesPerApv;

    /// <summary>The 128 physical channels of one frame of one APV.</summary>
    public ReadOnlySpan<short> Frame(int apv, int frame)
    {
        if ((uint)frame >= ApvLayout.Frames)
            throw new ArgumentOutOfRangeException(nameof(frame), frame, $"frame must be 0..{ApvLayout.Frames - 1}");
        return Samples.Slice(ApvLayout.Index(apv, frame, 0), ApvLayout.ChannelsPerApv);
    }

    /// <summary>The 3 × 128 samples of one APV.</summary>
    public ReadOnlySpan<short> Apv(int apv) => Samples.Slice(apv * ApvLayout.SamplesPerApv, ApvLayout.SamplesPerApv);
}
