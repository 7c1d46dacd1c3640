using System.Globalization;

namespace NA64.Hardware.Digitizers.Msadc;

/// <summary>Acquisition mode register values. Format 3 has no mode flag; the mode shows only in which channels appear.</summary>
public enum MsadcMode : uint
{
    LatchAll = 0,
    Sparse = 1,
}

/// <summary>Run state register values: Idle -ARM-> Armed -START-> Running -STOP-> Idle.</summary>
public enum MsadcRunState : uint
{
    Idle = 0,
    Armed = 1,
    Running = 2,
}

/// <summary>One register of the map: where it is, what it is called, which values it takes.</summary>
public sealed record MsadcRegister(ushort Address, string Name, uint Minimum, uint Maximum, bool Writable);

/// <summary>
/// The register map (README.md, "Register map") as data. The driver checks ranges from this table before any byte
/// is sent; the simulator keeps its own checks so that it can disagree with a driver bug.
/// </summary>
public static class MsadcRegisters
{
    public const ushort FirmwareVersion = 0x0000;
    public const ushort SourceId = 0x0001;
    public const ushort HotLinkPort = 0x0002;
    public const ushort Mode = 0x0010;
    public const ushort SamplesPerChannel = 0x0011;
    public const ushort Latency = 0x0012;
    public const ushort RunState = 0x0013;
    public const ushort TriggerCount = 0x0014;

    public const ushort ChannelBase = 0x1000;
    public const int ChannelStride = 4;
    public const int PedestalEvenOffset = 0;
    public const int PedestalOddOffset = 1;
    public const int ThresholdOffset = 2;

    public const int ChipsPerModule = 4;
    public const int ChannelsPerChip = 16;
    public const int ChannelsPerModule = ChipsPerModule * ChannelsPerChip;

    public const int MinSamples = 25;
    public const int MaxSamples = 32;
    /// <summary>Window position in sample clocks; 320 × 12.5 ns = 4 µs, the on-board memory depth of the SADC.</summary>
    public const int MaxLatency = 320;
    public const int MaxAdc = 4095;

    private static readonly MsadcRegister[] GlobalTable =
    [
        new(FirmwareVersion, "FirmwareVersion", 0, uint.MaxValue, false),
        new(SourceId, "SourceId", 0, 1023, false),
        new(HotLinkPort, "HotLinkPort", 0, 7, false),
        new(Mode, "Mode", (uint)MsadcMode.LatchAll, (uint)MsadcMode.Sparse, true),
        new(SamplesPerChannel, "SamplesPerChannel", MinSamples, MaxSamples, true),
        new(Latency, "Latency", 0, MaxLatency, true),
        new(RunState, "RunState", (uint)MsadcRunState.Idle, (uint)MsadcRunState.Running, false),
        new(TriggerCount, "TriggerCount", 0, uint.MaxValue, false),
    ];

    private static readonly MsadcRegister?[] ChannelTable = BuildChannelTable();

    public static IReadOnlyList<MsadcRegister> Global => GlobalTable;

    public static ushort PedestalEven(int chipChannel) => ChannelRegister(chipChannel, PedestalEvenOffset);
    public static ushort PedestalOdd(int chipChannel) => ChannelRegister(chipChannel, PedestalOddOffset);
    public static ushort Threshold(int chipChannel) => ChannelRegister(chipChannel, ThresholdOffset);

    /// <summary>The register at <paramref name="address"/>, or null if the map has none there.</summary>
    public static MsadcRegister? Find(ushort address)
    {
        if (address >= ChannelBase)
        {
            int index = address - ChannelBase;
            return index < ChannelTable.Length ? ChannelTable[index] : null;
        }
        foreach (var register in GlobalTable)
            if (register.Address == address)
                return register;
        return null;
    }

    /// <summary>Name of a register for messages, e.g. <c>Threshold[17]</c>; hex for addresses outside the map.</summary>
    public static string NameOf(ushort address) =>
        Find(address)?.Name ?? string.Create(CultureInfo.InvariantCulture, $"0x{address:X4}");

    private static ushort ChannelRegister(int chipChannel, int offset)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(chipChannel);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(chipChannel, ChannelsPerModule);
        return (ushort)(ChannelBase + chipChannel * ChannelStride + offset);
    }

    private static MsadcRegister?[] BuildChannelTable()
    {
        // Slot 3 of each channel block is reserved: left null so READ/WRITE there answer UnknownRegister.
        var table = new MsadcRegister?[ChannelsPerModule * ChannelStride];
        for (int c = 0; c < ChannelsPerModule; c++)
        {
            string cc = c.ToString(CultureInfo.InvariantCulture);
            table[c * ChannelStride + PedestalEvenOffset] =
                new(PedestalEven(c), $"PedestalEven[{cc}]", 0, MaxAdc, true);
            table[c * ChannelStride + PedestalOddOffset] =
                new(PedestalOdd(c), $"PedestalOdd[{cc}]", 0, MaxAdc, true);
            table[c * ChannelStride + ThresholdOffset] =
                new(Threshold(c), $"Threshold[{cc}]", 0, MaxAdc, true);
        }
        return table;
    }
}
