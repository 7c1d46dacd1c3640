using NA64.Hardware.Magnets;
using NA64.SlowControl.Hv;

namespace NA64.SlowControl.Magnets;

/// <summary>
/// States of one magnet controller. <c>Connected</c>, <c>Operating</c> and <c>Latched</c> are superstates (never
/// reported as <see cref="MagnetController.State"/>); the others are where a magnet can be.
/// </summary>
public enum MagnetState
{
    /// <summary>Before the first readback: nothing is known about the magnet.</summary>
    Unknown,
    /// <summary>The configured number of consecutive reads failed; the last readback is stale.</summary>
    Disconnected,
    Connected,
    Operating,
    /// <summary>Output off and the current at zero.</summary>
    Off,
    /// <summary>Output in standby (beam-line converters).</summary>
    Standby,
    /// <summary>Output on and the current not (yet, or no longer) at the target, or a ramp under way; also an output off while current still flows.</summary>
    Ramping,
    /// <summary>Output on, no ramp under way, |I - I_target| within tolerance for the stable time.</summary>
    AtSetpoint,
    Latched,
    /// <summary>The supply reported a fault; latched until a reset the readbacks confirm.</summary>
    Fault,
    /// <summary>An interlock (water, temperature, door, sum interlock) is or was active; latched until a reset the readbacks confirm.</summary>
    Interlocked,
}

/// <summary>Where a ramp is: on its way, down to zero for a polarity change, waiting at zero, or switching polarity.</summary>
public enum MagnetRampPhase
{
    None,
    ToTarget,
    ToZero,
    WaitAtZero,
    SwitchingPolarity,
}

/// <summary>An operator command to one magnet (the name shown when it is refused).</summary>
public enum MagnetCommand
{
    RampTo,
    SwitchOn,
    SwitchOff,
    Standby,
    Reset,
}

public enum MagnetAlarmKind
{
    /// <summary>The supply reported a fault (output, over-voltage, AC, other).</summary>
    Fault,
    /// <summary>An interlock input is active (water flow, over-temperature, door, sum interlock).</summary>
    Interlocked,
    /// <summary>The safe action (off or ramp down) could not be sent.</summary>
    SafeActionFailed,
    /// <summary>A reset was accepted but the readbacks still show the cause.</summary>
    ResetIneffective,
    /// <summary>A request is held for an operator (beam-line gateway): not done until the readbacks show it.</summary>
    RequestPending,
    /// <summary>A request was denied (beam-line gateway), with its reason.</summary>
    RequestDenied,
    /// <summary>A ramp step or polarity change failed; the ramp stopped where it was.</summary>
    RampAbandoned,
    /// <summary>Reads fail: the readbacks are stale.</summary>
    Disconnected,
}

/// <summary>Something an operator must know about one magnet.</summary>
public sealed record MagnetAlarm(DateTimeOffset Time, string Magnet, AlarmSeverity Severity, MagnetAlarmKind Kind, string Message);

/// <summary>One readback with the state it says the magnet is in.</summary>
public readonly record struct MagnetObservation(MagnetReadback Readback, MagnetState State);

/// <summary>
/// A magnet as the API shows it: an immutable view replaced at every change, cheap to read at any rate. Currents are
/// signed (negative = reversed polarity); readback values are null until the first readback.
/// </summary>
/// <param name="TargetAmps">Where the controller takes the magnet (adopted from the supply at first contact).</param>
/// <param name="SetpointAmps">The setpoint the supply holds (read back), signed by its polarity.</param>
/// <param name="FieldTeslaMetres">Integral field from the calibration at the measured current; null without a calibration or outside its table.</param>
/// <param name="PendingRequest">A request held for an operator, until the readbacks show it carried out.</param>
/// <param name="LastDenied">The last request denied, with its reason (cleared by the next request accepted).</param>
/// <param name="ConsecutiveFailures">Failed reads since the last good one.</param>
public sealed record MagnetSnapshot(
    string Magnet,
    MagnetState State,
    double TargetAmps,
    double? SetpointAmps,
    double? Amps,
    double? Volts,
    MagnetOutput? Output,
    MagnetPolarity? Polarity,
    double? FieldTeslaMetres,
    MagnetConditions Conditions,
    MagnetRampPhase RampPhase,
    string? PendingRequest,
    string? LastDenied,
    int ConsecutiveFailures,
    DateTimeOffset? ReadbackTime,
    string? Detail);

/// <summary>A command the controller will not send in the magnet's present state (nothing went on the wire).</summary>
public sealed class MagnetCommandRefusedException(string magnet, MagnetCommand command, string reason)
    : InvalidOperationException($"{magnet}: {command} refused: {reason}")
{
    public string Magnet { get; } = magnet;
    public MagnetCommand Command { get; } = command;
    public string Reason { get; } = reason;
}

/// <summary>A magnet went where a waiting command cannot follow (fault, interlock, lost) before it reached its goal.</summary>
public sealed class MagnetWaitFailedException(string magnet, MagnetState state, string goal)
    : InvalidOperationException($"{magnet}: went {state} before reaching {goal}")
{
    public string Magnet { get; } = magnet;
    public MagnetState State { get; } = state;
}
