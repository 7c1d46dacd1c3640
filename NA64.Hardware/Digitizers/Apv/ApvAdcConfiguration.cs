using NA64.Hardware.Digitizers.Msadc;

namespace NA64.Hardware.Digitizers.Apv;

/// <summary>
/// One APV channel's zero-suppression settings in register units: pedestal and threshold in ADC counts, sigma in
/// quarter ADC counts (<see cref="ApvAdcRegisters.SigmaToRegister"/>).
/// </summary>
public readonly record struct ApvChannelSettings(int Pedestal, int SigmaQuarterCounts, int Threshold);

/// <summary>
/// Everything <see cref="IApvAdc.ConfigureAsync"/> loads into one APV-ADC. <see cref="Channels"/> holds
/// 4 × 128 entries, index = 128 × apv + physical APV channel (<see cref="ChannelIndex"/>).
/// </summary>
public sealed record ApvAdcConfiguration(ApvAdcMode Mode, int Latency, IReadOnlyList<ApvChannelSettings> Channels)
{
    public static int ChannelIndex(int apv, int channel)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(apv);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(apv, ApvAdcRegisters.ApvsPerAdc);
        ArgumentOutOfRangeException.ThrowIfNegative(channel);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(channel, ApvAdcRegisters.ChannelsPerApv);
        return apv * ApvAdcRegisters.ChannelsPerApv + channel;
    }

    /// <summary>The same settings for all 512 channels.</summary>
    public static ApvAdcConfiguration Uniform(ApvAdcMode mode, int latency, ApvChannelSettings channel) =>
        new(mode, latency, Enumerable.Repeat(channel, ApvAdcRegisters.ChannelsPerAdc).ToArray());
}

/// <summary>What STATUS and the counters say about an APV-ADC (run states as the MSADC: Idle → Armed → Running).</summary>
public readonly record struct ApvAdcStatus(MsadcRunState State, uint TriggerCount);
