namespace NA64.Hardware.Hv;

/// <summary>
/// Channel status in the detector's terms, with bit values of its own: each HV family's driver maps its status word
/// onto these flags explicitly (CAEN N1470: <c>CaenN1470Codec.DecodeStatus</c>), so that no family's bit layout leaks
/// into the controllers.
/// </summary>
[Flags]
public enum HvChannelStatus
{
    None = 0,

    /// <summary>Output enabled.</summary>
    On = 1 << 0,
    RampingUp = 1 << 1,
    RampingDown = 1 << 2,

    /// <summary>Switched off by the board after an over-current longer than its trip time; latched.</summary>
    Tripped = 1 << 3,

    /// <summary>Held off by the interlock input.</summary>
    Interlock = 1 << 4,

    /// <summary>Held off by the kill input.</summary>
    Killed = 1 << 5,

    /// <summary>Held off by the channel's own front-panel switch.</summary>
    Disabled = 1 << 6,

    /// <summary>Current limited at the current limit.</summary>
    OverCurrent = 1 << 7,
    OverVoltage = 1 << 8,
    UnderVoltage = 1 << 9,

    /// <summary>Output held at the hardware voltage limit.</summary>
    MaxVoltage = 1 << 10,
    OverPower = 1 << 11,
    OverTemperature = 1 << 12,
    CalibrationError = 1 << 13,
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
/// One HV channel, what a channel controller drives: its SET commands, whatever the family. Every setpoint is
/// checked against <see cref="Limits"/> (and the device's own ranges) before a byte is sent.
/// </summary>
public interface IHvChannel
{
    /// <summary>The channel's name in the setup, e.g. <c>MM1.strips</c>.</summary>
    string Name { get; }

    string BoardName { get; }

    /// <summary>Channel number on its board.</summary>
    int Index { get; }

    HvChannelLimits Limits { get; }

    /// <summary>Smallest VSET step the device takes (a device fact: CAEN N1470 VSET has one decimal, 0.1 V).</summary>
    double VoltageResolution { get; }

    Task SetVoltageAsync(double volts, CancellationToken cancellationToken = default);
    Task SetCurrentLimitAsync(double microamps, CancellationToken cancellationToken = default);
    Task SetRampUpAsync(double voltsPerSecond, CancellationToken cancellationToken = default);
    Task SetRampDownAsync(double voltsPerSecond, CancellationToken cancellationToken = default);
    Task SwitchOnAsync(CancellationToken cancellationToken = default);
    Task SwitchOffAsync(CancellationToken cancellationToken = default);
}

/// <summary>
/// An HV board (CAEN N1470 today, iseg later): what is done for all its channels at once. The same driver runs on the
/// bench and at CERN: a simulated board is the real driver over a transport that ends in a simulator.
/// </summary>
public interface IHvBoard
{
    string Name { get; }
    int ChannelCount { get; }

    /// <summary>Names and limits of the channels, index = channel number.</summary>
    IReadOnlyList<HvChannelLimits> Limits { get; }

    /// <summary>Reads board identity and ranges (never writes); must be called once after (re)connecting.</summary>
    Task InitializeAsync(CancellationToken cancellationToken = default);

    /// <summary>One poll cycle: one all-channel query per parameter, plus board flags.</summary>
    Task<HvBoardReadback> PollAsync(CancellationToken cancellationToken = default);

    Task ClearAlarmsAsync(CancellationToken cancellationToken = default);

    /// <summary>The channel at <paramref name="index"/> (0..<see cref="ChannelCount"/>-1); the same object on every call.</summary>
    IHvChannel Channel(int index);
}
