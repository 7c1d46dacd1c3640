using System.Globalization;

namespace NA64.Hardware.Digitizers.Apv;

/// <summary>
/// Bits of the APV-ADC mode register 0x1001 (data-formats.md §7.11). The register mirrors the data's format byte
/// (§7.3) except at b7. Typical value <c>0x8F</c> = <see cref="ApvAdcRegisters.TypicalMode"/>.
/// </summary>
[Flags]
public enum ApvAdcMode : uint
{
    None = 0,
    /// <summary>b0: three frames per channel. Presumed from the format byte, not from the designer's text (uncertain).</summary>
    TripleFrame = 1u << 0,
    /// <summary>b1: zero-suppressed readout; clear = latch-all (pedestal runs).</summary>
    Sparse = 1u << 1,
    /// <summary>b2: pedestals subtracted on board.</summary>
    PedestalSubtraction = 1u << 2,
    /// <summary>b3: common mode subtracted per APV and frame on board; the CM values are shipped in the data.</summary>
    CommonModeSubtraction = 1u << 3,
    /// <summary>b5: only headers are sent while the buffers are full ("data skipped" in the format byte).</summary>
    SkipWhenBuffersFull = 1u << 5,
    /// <summary>b6: sparse data format (ADC version 2, "standard sparse", §7.8).</summary>
    SparseDataFormat = 1u << 6,
    /// <summary>b7: time cut; what it requires is not public (na64-setup.md §9.3, uncertain).</summary>
    TimeCut = 1u << 7,
}

/// <summary>One register of the map: where it is, what it is called, which values it takes.</summary>
/// <param name="AllowedBits">For a bit-field register: the bits that may be set (the range is then 0..AllowedBits).</param>
/// <param name="Reference">True where the reference (data-formats.md §7.11) defines the register; false where the map is ours.</param>
public sealed record ApvAdcRegister(
    ushort Address, string Name, uint Minimum, uint Maximum, bool Writable, bool Reference, uint? AllowedBits = null);

/// <summary>The three per-channel tables an APV-ADC holds for its on-board zero suppression.</summary>
public enum ApvAdcTable
{
    Pedestal = 0,
    Sigma = 1,
    Threshold = 2,
}

/// <summary>
/// The APV-ADC register map (README.md, "Register map") as data. Only the mode register 0x1001 and its bits come from
/// the reference; every other address is NA64.Hw's own (the real APV-ADC interface, CATCH/GeSiCA + front-end database,
/// is not public). The driver checks ranges from this table before any byte is sent; the simulator keeps its own
/// checks so that it can disagree with a driver bug.
/// </summary>
public static class ApvAdcRegisters
{
    public const ushort FirmwareVersion = 0x0000;
    public const ushort SourceId = 0x0001;
    public const ushort AdcId = 0x0002;
    public const ushort BoardType = 0x0003;
    public const ushort Latency = 0x0010;
    public const ushort RunState = 0x0013;
    public const ushort TriggerCount = 0x0014;
    /// <summary>The reference's address (data-formats.md §7.11).</summary>
    public const ushort Mode = 0x1001;

    public const ushort PedestalBase = 0x2000;
    public const ushort SigmaBase = 0x3000;
    public const ushort ThresholdBase = 0x4000;

    /// <summary>What <see cref="BoardType"/> reads on an APV-ADC: the bytes 'A','P' as a little-endian word.</summary>
    public const uint BoardTypeApvAdc = 0x5041;

    public const int ChannelsPerApv = Format.ApvFacts.ChannelsPerApv;
    /// <summary>The register map has table room for this many APVs.</summary>
    public const int ApvsPerAdc = Format.ApvFacts.ApvsPerAdc;
    public const int ChannelsPerAdc = ApvsPerAdc * ChannelsPerApv;
    private const int PipelineColumns = Format.ApvFacts.PipelineColumns;
    private const int MaxAmplitude = Format.ApvFacts.MaxAmplitude;

    /// <summary>Trigger latency in 25 ns APV clocks: it selects a pipeline column, 0..191.</summary>
    public const int MaxLatency = PipelineColumns - 1;
    public const int MaxPedestal = MaxAmplitude;
    public const int MaxThreshold = MaxAmplitude;
    /// <summary>Sigma is held in quarter ADC counts (2 fractional bits): 4095 = 1023.75 counts.</summary>
    public const int SigmaFractionBits = 2;
    public const int MaxSigma = ((MaxAmplitude + 1) << SigmaFractionBits) - 1;
    public const int MaxSourceId = 1023;
    public const int MaxAdcId = 255;

    /// <summary>Mode bits the reference describes: all of b0..b7 but b4 (not described, uncertain).</summary>
    public const uint DefinedModeBits = 0xEF;
    /// <summary>The typical data-taking value 0x8F (b0..b3 and b7).</summary>
    public const ApvAdcMode TypicalMode = (ApvAdcMode)0x8F;

    private static readonly ApvAdcRegister[] GlobalTable =
    [
        new(FirmwareVersion, "FirmwareVersion", 0, uint.MaxValue, false, false),
        new(SourceId, "SourceId", 0, MaxSourceId, false, false),
        new(AdcId, "AdcId", 0, MaxAdcId, false, false),
        new(BoardType, "BoardType", 0, uint.MaxValue, false, false),
        new(Latency, "Latency", 0, MaxLatency, true, false),
        new(RunState, "RunState", 0, 2, false, false),
        new(TriggerCount, "TriggerCount", 0, uint.MaxValue, false, false),
        new(Mode, "Mode", 0, DefinedModeBits, true, true, DefinedModeBits),
    ];

    private static readonly ApvAdcRegister[] TableRegisters = BuildTables();

    public static IReadOnlyList<ApvAdcRegister> Global => GlobalTable;

    /// <summary>First address of a table; entry (apv, channel) is at base + 128 × apv + channel.</summary>
    public static ushort BaseOf(ApvAdcTable table) => table switch
    {
        ApvAdcTable.Pedestal => PedestalBase,
        ApvAdcTable.Sigma => SigmaBase,
        ApvAdcTable.Threshold => ThresholdBase,
        _ => throw new ArgumentOutOfRangeException(nameof(table), table, "not an APV-ADC table"),
    };

    /// <summary>Largest value a table entry takes.</summary>
    public static int MaximumOf(ApvAdcTable table) => table switch
    {
        ApvAdcTable.Pedestal => MaxPedestal,
        ApvAdcTable.Sigma => MaxSigma,
        ApvAdcTable.Threshold => MaxThreshold,
        _ => throw new ArgumentOutOfRangeException(nameof(table), table, "not an APV-ADC table"),
    };

    /// <summary>Address of one table entry; <paramref name="channel"/> is the APV's physical channel 0..127.</summary>
    public static ushort TableEntry(ApvAdcTable table, int apv, int channel)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(apv);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(apv, ApvsPerAdc);
        ArgumentOutOfRangeException.ThrowIfNegative(channel);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(channel, ChannelsPerApv);
        return (ushort)(BaseOf(table) + apv * ChannelsPerApv + channel);
    }

    public static ushort Pedestal(int apv, int channel) => TableEntry(ApvAdcTable.Pedestal, apv, channel);
    public static ushort Sigma(int apv, int channel) => TableEntry(ApvAdcTable.Sigma, apv, channel);
    public static ushort Threshold(int apv, int channel) => TableEntry(ApvAdcTable.Threshold, apv, channel);

    /// <summary>Table, APV and channel of a table address; false for any other address.</summary>
    public static bool TryDecodeTableEntry(ushort address, out ApvAdcTable table, out int apv, out int channel)
    {
        table = default;
        apv = channel = 0;
        foreach (var t in (ReadOnlySpan<ApvAdcTable>)[ApvAdcTable.Pedestal, ApvAdcTable.Sigma, ApvAdcTable.Threshold])
        {
            int index = address - BaseOf(t);
            if (index >= 0 && index < ChannelsPerAdc)
            {
                table = t;
                apv = index / ChannelsPerApv;
                channel = index % ChannelsPerApv;
                return true;
            }
        }
        return false;
    }

    /// <summary>The register at <paramref name="address"/>, or null if the map has none there.</summary>
    public static ApvAdcRegister? Find(ushort address)
    {
        if (TryDecodeTableEntry(address, out var table, out int apv, out int channel))
            return TableRegisters[(int)table * ChannelsPerAdc + apv * ChannelsPerApv + channel];
        foreach (var register in GlobalTable)
            if (register.Address == address)
                return register;
        return null;
    }

    /// <summary>Name of a register for messages, e.g. <c>Threshold[2][17]</c> (APV 2, channel 17); hex outside the map.</summary>
    public static string NameOf(ushort address) =>
        Find(address)?.Name ?? string.Create(CultureInfo.InvariantCulture, $"0x{address:X4}");

    /// <summary>Sigma in ADC counts as the register holds it (quarter counts, rounded to nearest).</summary>
    public static int SigmaToRegister(double sigmaCounts) =>
        (int)Math.Round(sigmaCounts * (1 << SigmaFractionBits), MidpointRounding.AwayFromZero);

    public static double SigmaFromRegister(int register) => register / (double)(1 << SigmaFractionBits);

    private static ApvAdcRegister[] BuildTables()
    {
        var registers = new ApvAdcRegister[3 * ChannelsPerAdc];
        foreach (var table in (ReadOnlySpan<ApvAdcTable>)[ApvAdcTable.Pedestal, ApvAdcTable.Sigma, ApvAdcTable.Threshold])
        {
            for (int apv = 0; apv < ApvsPerAdc; apv++)
            {
                for (int channel = 0; channel < ChannelsPerApv; channel++)
                {
                    string name = string.Create(CultureInfo.InvariantCulture, $"{table}[{apv}][{channel}]");
                    registers[(int)table * ChannelsPerAdc + apv * ChannelsPerApv + channel] = new(
                        TableEntry(table, apv, channel), name, 0, (uint)MaximumOf(table), true, false);
                }
            }
        }
        return registers;
    }
}
