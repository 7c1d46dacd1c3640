namespace NA64.SlowControl.Hv;

/// <summary>An operator command to one channel (the name shown when it is refused).</summary>
public enum HvCommand
{
    SwitchOn,
    SwitchOff,
    SetVoltage,
    SetCurrentLimit,
    SetRampUp,
    SetRampDown,
    Apply,
}

/// <summary>A setting of one channel that the controller writes, expects in the readbacks, or remembers.</summary>
[Flags]
public enum HvParameter
{
    None = 0,

    /// <summary>Voltage set point (CAEN VSET).</summary>
    VSet = 1 << 0,

    /// <summary>Current limit (CAEN ISET).</summary>
    ISet = 1 << 1,

    /// <summary>Ramp-up rate (CAEN RUP).</summary>
    RampUp = 1 << 2,

    /// <summary>Ramp-down rate (CAEN RDW).</summary>
    RampDown = 1 << 3,

    /// <summary>Output switched on or off (CAEN ON/OFF).</summary>
    Power = 1 << 4,
}

/// <summary>The settings the controller writes at a switch-on: the setup's, overridden by what an operator set.</summary>
public sealed record HvChannelSettings(
    double VoltsSet, double CurrentLimitMicroamps, double RampUpVoltsPerSecond, double RampDownVoltsPerSecond);

/// <summary>
/// One parameter that <see cref="HvChannelController.ApplyAsync"/> would write: its value in the last readback
/// (null when the device does not report it in a poll, "not read back") and in the setup.
/// </summary>
public sealed record HvSettingDifference(HvParameter Parameter, double? OnDevice, double InSetup)
{
    public bool ReadBack => OnDevice is not null;
}
