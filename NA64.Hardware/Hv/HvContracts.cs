namespace NA64.Hardware.Hv;

/// <summary>
/// Channel status in the detector's terms. The bit values are those of the CAEN N1470 STAT word
/// (device-protocols.md §1.6), so that a CAEN status maps one to one; other HV families map their own words onto it.
/// </summary>
[Flags]
public enum HvChannelStatus
{
    None = 0,
    On = 0x0001,
    RampingUp = 0x0002,
    RampingDown = 0x0004,
    OverCurrent = 0x0008,
    OverVoltage = 0x0010,
    UnderVoltage = 0x0020,
    MaxVoltage = 0x0040,
    Tripped = 0x0080,
    OverPower = 0x0100,
    OverTemperature = 0x0200,
    Disabled = 0x0400,
    Killed = 0x0800,
    Interlock = 0x1000,
    CalibrationError = 0x2000,
}

/// <summary>One channel's readbacks from one poll cycle.</summary>
public readonly record struct HvChannelReadback(
    int Channel, double VSet, double VMon, double ISet, double IMon, HvChannelStatus Status);

/// <summary>A whole board's readbacks from one poll cycle, with the board-level flags.</summary>
public sealed record HvBoardReadback(
    DateTimeOffset Time,
    IReadOnlyList<HvChannelReadback> Channels,
    bool InterlockActive,
    bool LocalMode,
    int AlarmBits);

/// <summary>Per-channel limits from the setup file; enforced by the driver before any byte is sent.</summary>
public sealed record HvChannelLimits(string Name, double MaxVolts, double MaxMicroamps, double MaxRampVoltsPerSecond);

/// <summary>
/// An HV board (CAEN N1470 today, iseg later). The same driver runs on the bench and at CERN: a simulated
/// board is the real driver over a transport that ends in a simulator.
/// </summary>
public interface IHvBoard
{
    string Name { get; }
    int ChannelCount { get; }

    /// <summary>Names and limits of the channels, index = channel number.</summary>
    IReadOnlyList<HvChannelLimits> Limits { get; }

    /// <summary>Reads board identity and ranges; must be called once after (re)connecting.</summary>
    Task InitializeAsync(CancellationToken cancellationToken = default);

    /// <summary>One poll cycle: one all-channel query per parameter, plus board flags.</summary>
    Task<HvBoardReadback> PollAsync(CancellationToken cancellationToken = default);

    Task SetVoltageAsync(int channel, double volts, CancellationToken cancellationToken = default);
    Task SetCurrentLimitAsync(int channel, double microamps, CancellationToken cancellationToken = default);
    Task SetRampUpAsync(int channel, double voltsPerSecond, CancellationToken cancellationToken = default);
    Task SetRampDownAsync(int channel, double voltsPerSecond, CancellationToken cancellationToken = default);
    Task SwitchOnAsync(int channel, CancellationToken cancellationToken = default);
    Task SwitchOffAsync(int channel, CancellationToken cancellationToken = default);
    Task ClearAlarmsAsync(CancellationToken cancellationToken = default);
}
