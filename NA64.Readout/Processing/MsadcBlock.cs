namespace NA64.Readout.Processing;

/// <summary>
/// A block of MSADC channels as raw 12-bit samples in int16, laid out [channel][samplesPerChannel]:
/// channel c occupies <c>Samples[c*S .. c*S+S)</c>. Sample k of a channel comes from the even ADC path
/// when k is even and from the odd path when k is odd (data-formats.md 6.7), whatever the parity of
/// the channel's start in the block. Channels are in the chip's channel order
/// (chip_channel = 16 × adc_id + chan_id), so the block starts on a chip boundary.
/// </summary>
public readonly ref struct MsadcBlock
{
    /// <summary>The format's 9-bit sample count limits a channel to 511 samples.</summary>
    public const int MaxSamplesPerChannel = 511;

    public MsadcBlock(ReadOnlySpan<short> samples, int samplesPerChannel)
    {
        if (samplesPerChannel < 1 || samplesPerChannel > MaxSamplesPerChannel)
            throw new ArgumentOutOfRangeException(nameof(samplesPerChannel), samplesPerChannel,
                $"samplesPerChannel must be 1..{MaxSamplesPerChannel}");
        if (samples.Length % samplesPerChannel != 0)
            throw new ArgumentException(
                $"samples length {samples.Length} is not a multiple of samplesPerChannel {samplesPerChannel}",
                nameof(samples));
        Samples = samples;
        SamplesPerChannel = samplesPerChannel;
    }

    public ReadOnlySpan<short> Samples { get; }
    public int SamplesPerChannel { get; }
    public int ChannelCount => Samples.Length / SamplesPerChannel;

    public ReadOnlySpan<short> Channel(int channel) =>
        Samples.Slice(channel * SamplesPerChannel, SamplesPerChannel);
}
