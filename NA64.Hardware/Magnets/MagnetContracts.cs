namespace NA64.Hardware.Magnets;

/// <summary>
/// The output of a magnet supply in the detector's words. Each family maps its own status onto it: a Genesys has
/// no standby (OUT 0/1), a Danfysik 8500 has N/F, a CERN beam-line converter OFF/STANDBY/ON/FAULT.
/// </summary>
public enum MagnetOutput
{
    Off,
    Standby,
    On,
    Fault,
}

/// <summary>Current direction through the magnet; a family without a polarity switch is always <see cref="Normal"/>.</summary>
public enum MagnetPolarity
{
    Normal,
    Reversed,
}

/// <summary>Conditions a supply reports beside its output (any number at once).</summary>
[Flags]
public enum MagnetConditions
{
    None = 0,
    /// <summary>An interlock input is active (sum interlock); the output is held off until reset.</summary>
    Interlock = 0x0001,
    /// <summary>Magnet or supply over-temperature.</summary>
    OverTemperature = 0x0002,
    /// <summary>Cooling water flow failure (magnet or supply).</summary>
    WaterFlow = 0x0004,
    /// <summary>Door switch / access interlock.</summary>
    Door = 0x0008,
    /// <summary>Front-panel (local) control: remote setpoints are refused.</summary>
    Local = 0x0010,
    /// <summary>Regulating the current (constant-current mode).</summary>
    CurrentRegulated = 0x0020,
    /// <summary>At its voltage limit (constant-voltage mode: the current is not what was asked).</summary>
    VoltageLimited = 0x0040,
    /// <summary>Over-voltage protection tripped.</summary>
    OverVoltage = 0x0080,
    /// <summary>AC input failure.</summary>
    AcFailure = 0x0100,
    /// <summary>Not ready (supply-specific).</summary>
    NotReady = 0x0200,
    /// <summary>A fault not covered above (the readback's <see cref="MagnetReadback.Detail"/> names it).</summary>
    OtherFault = 0x0400,
}

/// <summary>One read of a supply.</summary>
/// <param name="Time">When it was read (the driver's clock).</param>
/// <param name="SetpointAmps">The current setpoint the device holds (read back, not what the host sent).</param>
/// <param name="Amps">Measured current.</param>
/// <param name="Volts">Measured voltage, when the family measures it.</param>
/// <param name="Detail">Device-specific text worth showing (e.g. the raw status word), or null.</param>
public sealed record MagnetReadback(
    DateTimeOffset Time,
    MagnetOutput Output,
    double SetpointAmps,
    double Amps,
    double? Volts,
    MagnetPolarity Polarity,
    MagnetConditions Conditions,
    string? Detail = null);

/// <summary>Per-supply limits from the setup, enforced by the driver before any byte is sent.</summary>
/// <param name="MaxAmps">Largest current setpoint (magnitude) this installation allows.</param>
/// <param name="MaxVolts">Largest voltage (compliance) setting, for families that take one.</param>
public sealed record MagnetLimits(string Name, double MaxAmps, double? MaxVolts = null);

/// <summary>What a family can do, so that a controller does not ask for what it does not have.</summary>
/// <param name="HasStandby">Has a standby state distinct from off (beam-line converters).</param>
/// <param name="HasPolaritySwitch">Can reverse the current (only at zero current).</param>
/// <param name="RampsItself">Slews to a new setpoint by itself at a rate of its own; otherwise the controller steps the setpoint.</param>
/// <param name="RequestsNeedApproval">Requests may be held for an operator or denied (a permissioned remote device).</param>
/// <param name="OwnRampAmpsPerSecond">
/// How fast the supply moves the current on its own when given a new setpoint (with <paramref name="RampsItself"/>);
/// null: unknown or not ours to know (a beam-line converter ramps at CERN's rate). A controller asked for a slower
/// dI/dt than a known own rate steps the setpoint itself.
/// </param>
public sealed record MagnetCapabilities(bool HasStandby, bool HasPolaritySwitch, bool RampsItself, bool RequestsNeedApproval,
    double? OwnRampAmpsPerSecond = null);

/// <summary>What became of a request: carried out, held for an operator, or denied (with the reason).</summary>
public enum MagnetRequestOutcome
{
    Done,
    PendingOperator,
    Denied,
}

public sealed record MagnetRequestResult(MagnetRequestOutcome Outcome, string? Reason = null)
{
    public static MagnetRequestResult Done { get; } = new(MagnetRequestOutcome.Done);
}

/// <summary>
/// A magnet power supply (TDK-Lambda Genesys, Danfysik 8500, a CERN beam-line converter behind its gateway). The same
/// driver runs on the bench and in the experiment: a simulated supply is the real driver over a transport that ends in
/// a simulator. A request a device refuses throws the driver's <see cref="Errors.DeviceException"/>; one out of the
/// setup's limits throws <see cref="Errors.SetpointOutOfRangeException"/> with nothing sent.
/// </summary>
public interface IMagnetSupply
{
    string Name { get; }

    MagnetLimits Limits { get; }

    MagnetCapabilities Capabilities { get; }

    /// <summary>Identifies the device and reads its ratings; only reads (first contact changes nothing).</summary>
    Task InitializeAsync(CancellationToken cancellationToken = default);

    /// <summary>One read of output, setpoint, current, voltage, polarity and conditions.</summary>
    Task<MagnetReadback> ReadAsync(CancellationToken cancellationToken = default);

    /// <summary>New current setpoint (magnitude, A); the device slews or steps there as it does.</summary>
    Task<MagnetRequestResult> SetCurrentAsync(double amps, CancellationToken cancellationToken = default);

    Task<MagnetRequestResult> SwitchOnAsync(CancellationToken cancellationToken = default);

    Task<MagnetRequestResult> SwitchOffAsync(CancellationToken cancellationToken = default);

    /// <summary>Standby (only with <see cref="MagnetCapabilities.HasStandby"/>; otherwise refused with nothing sent).</summary>
    Task<MagnetRequestResult> StandbyAsync(CancellationToken cancellationToken = default);

    /// <summary>Clears latched faults; refused by the device while the cause persists.</summary>
    Task<MagnetRequestResult> ResetAsync(CancellationToken cancellationToken = default);

    /// <summary>Selects the polarity (only with <see cref="MagnetCapabilities.HasPolaritySwitch"/>, only at zero current).</summary>
    Task<MagnetRequestResult> SetPolarityAsync(MagnetPolarity polarity, CancellationToken cancellationToken = default);
}
