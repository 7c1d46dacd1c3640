using System.Globalization;

namespace NA64.Hardware.Digitizers.Msadc;

/// <summary>
/// One MSADC channel as DDD names it: (S-Link source id, HotLink port, ADC chip, channel in chip).
/// A module sits on one port: 4 chips × 16 channels; map files number them <see cref="ChipChannel"/> = 16 × chip + channel.
/// </summary>
public readonly record struct MsadcChannelAddress
{
    public MsadcChannelAddress(int sourceId, int port, int chip, int channel)
    {
        Check(nameof(SourceId), sourceId, 1023);
        Check(nameof(Port), port, 7);
        Check(nameof(Chip), chip, MsadcRegisters.ChipsPerModule - 1);
        Check(nameof(Channel), channel, MsadcRegisters.ChannelsPerChip - 1);
        SourceId = sourceId;
        Port = port;
        Chip = chip;
        Channel = channel;
    }

    public int SourceId { get; }
    public int Port { get; }
    public int Chip { get; }
    public int Channel { get; }

    /// <summary>0..63 within the module, as in ChipSADC map files.</summary>
    public int ChipChannel => Chip * MsadcRegisters.ChannelsPerChip + Channel;

    public static MsadcChannelAddress FromChipChannel(int sourceId, int port, int chipChannel)
    {
        Check(nameof(ChipChannel), chipChannel, MsadcRegisters.ChannelsPerModule - 1);
        return new MsadcChannelAddress(sourceId, port, chipChannel >> 4, chipChannel & 0xF);
    }

    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"src {SourceId} port {Port} chip {Chip} ch {Channel}");

    private static void Check(string field, int value, int maximum)
    {
        if (value < 0 || value > maximum)
            throw new ArgumentOutOfRangeException(field, value,
                string.Create(CultureInfo.InvariantCulture, $"{field} = {value} is outside 0..{maximum}"));
    }
}

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
