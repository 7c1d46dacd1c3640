namespace NA64.Hardware.Digitizers.Msadc;

/// <summary>Per-channel settings: the two interleaved ADC paths' pedestals and the sparse-mode threshold, in ADC counts.</summary>
public readonly record struct MsadcChannelSettings(int PedestalEven, int PedestalOdd, int Threshold);

/// <summary>Everything <see cref="IDigitizer.ConfigureAsync"/> loads into one module.</summary>
public sealed record MsadcConfiguration(
    MsadcMode Mode, int SamplesPerChannel, int Latency, IReadOnlyList<MsadcChannelSettings> Channels)
{
    /// <summary>The same settings for all 64 channels.</summary>
    public static MsadcConfiguration Uniform(
        MsadcMode mode, int samplesPerChannel, int latency, MsadcChannelSettings channel) =>
        new(mode, samplesPerChannel, latency, Enumerable.Repeat(channel, MsadcRegisters.ChannelsPerModule).ToArray());
}

/// <summary>What STATUS and the counters say about a module.</summary>
public readonly record struct MsadcStatus(MsadcRunState State, uint TriggerCount);
