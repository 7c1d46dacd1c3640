using System.Text;
using NA64.Hardware.Hv;

namespace NA64.SlowControl.Hv;

/// <summary>
/// States of one HV channel controller. <c>Connected</c>, <c>Operating</c> and <c>Recovering</c> are superstates
/// (never reported as <see cref="HvChannelController.State"/>); the others are where a channel can be.
/// </summary>
public enum HvChannelState
{
    /// <summary>Before the first readback: nothing is known about the channel.</summary>
    Unknown,
    /// <summary>Polls fail; the last readbacks are stale.</summary>
    Disconnected,
    Connected,
    Operating,
    Off,
    RampingUp,
    /// <summary>ON bit, no RUP/RDW, |VMON - VSET| within tolerance.</summary>
    On,
    RampingDown,
    /// <summary>ON bit, not ramping, but VMON away from VSET: current limiting (OVC), MAXV hold, OVV/UNV.</summary>
    OutOfTolerance,
    Tripped,
    Recovering,
    /// <summary>Recovery step 1: on at nominal minus the step.</summary>
    RecoveryStepDown,
    /// <summary>Recovery step 1 reached: waiting for the stable time.</summary>
    RecoveryHold,
    /// <summary>Recovery step 2: back to nominal.</summary>
    RecoveryToNominal,
    Interlocked,
    Killed,
    Disabled,
}

/// <summary>One readback with the state the device status says the channel is in.</summary>
public readonly record struct HvObservation(HvChannelReadback Readback, HvChannelState State);

public static class HvStatus
{
    /// <summary>
    /// What the device says the channel is doing, from the STAT bits and VMON/VSET (device-protocols.md §1.6).
    /// Priority: interlock, kill, disable, trip (the channel is off for a reason), then the ON bit and ramp bits.
    /// </summary>
    public static HvChannelState Classify(HvChannelReadback r, bool boardInterlock, double onToleranceVolts)
    {
        var s = r.Status;
        if (boardInterlock || s.HasFlag(HvChannelStatus.Interlock)) return HvChannelState.Interlocked;
        if (s.HasFlag(HvChannelStatus.Killed)) return HvChannelState.Killed;
        if (s.HasFlag(HvChannelStatus.Disabled)) return HvChannelState.Disabled;
        if (s.HasFlag(HvChannelStatus.Tripped)) return HvChannelState.Tripped;
        if (s.HasFlag(HvChannelStatus.RampingUp)) return HvChannelState.RampingUp;
        if (s.HasFlag(HvChannelStatus.RampingDown)) return HvChannelState.RampingDown;
        if (s.HasFlag(HvChannelStatus.On))
            return Math.Abs(r.VMon - r.VSet) <= onToleranceVolts ? HvChannelState.On : HvChannelState.OutOfTolerance;
        // Off but still charged (e.g. PDWN=KILL discharging without the RDW bit): not Off yet.
        return Math.Abs(r.VMon) <= onToleranceVolts ? HvChannelState.Off : HvChannelState.RampingDown;
    }

    /// <summary>The STAT bits by their CAEN names, e.g. <c>ON RUP OVC</c>.</summary>
    public static string Format(HvChannelStatus status)
    {
        if (status == HvChannelStatus.None) return "";
        var sb = new StringBuilder();
        foreach (var (bit, name) in Names)
        {
            if (!status.HasFlag(bit)) continue;
            if (sb.Length > 0) sb.Append(' ');
            sb.Append(name);
        }
        return sb.ToString();
    }

    private static readonly (HvChannelStatus Bit, string Name)[] Names =
    [
        (HvChannelStatus.On, "ON"), (HvChannelStatus.RampingUp, "RUP"), (HvChannelStatus.RampingDown, "RDW"),
        (HvChannelStatus.OverCurrent, "OVC"), (HvChannelStatus.OverVoltage, "OVV"), (HvChannelStatus.UnderVoltage, "UNV"),
        (HvChannelStatus.MaxVoltage, "MAXV"), (HvChannelStatus.Tripped, "TRIP"), (HvChannelStatus.OverPower, "OVP"),
        (HvChannelStatus.OverTemperature, "OVT"), (HvChannelStatus.Disabled, "DIS"), (HvChannelStatus.Killed, "KILL"),
        (HvChannelStatus.Interlock, "ILK"), (HvChannelStatus.CalibrationError, "NOCAL"),
    ];
}

/// <summary>
/// A channel as the CLI and the service show it; Readback values are null until the first readback.
/// <paramref name="Settings"/> are what a switch-on writes (the setup's, overridden by the operator's);
/// <paramref name="OperatorSet"/> says which of them were written on purpose during this life (pushed back after a
/// reconnect).
/// </summary>
public sealed record HvChannelSnapshot(
    string Channel,
    string Board,
    int Index,
    HvChannelState State,
    double NominalVolts,
    double TargetVolts,
    HvChannelReadback? Readback,
    DateTimeOffset? ReadbackTime,
    int RecoveriesLastHour,
    HvChannelSettings Settings,
    HvParameter OperatorSet)
{
    public string Flags => Readback is { } r ? HvStatus.Format(r.Status) : "";
}

/// <summary>Progress of <see cref="HvChannelController.RampAsync"/>, reported on every readback.</summary>
public readonly record struct HvRampProgress(string Channel, HvChannelState State, double VMon, double TargetVolts);

/// <summary>A command the controller will not send in the channel's present state (nothing went on the wire).</summary>
public sealed class HvCommandRefusedException(string channel, HvCommand command, string reason)
    : InvalidOperationException($"{channel}: {command} refused: {reason}")
{
    public string Channel { get; } = channel;
    public HvCommand Command { get; } = command;
    public string Reason { get; } = reason;
}

/// <summary>A ramp that did not reach On at its target, with the reason and the state the channel ended in.</summary>
public sealed class HvRampFailedException(string channel, double targetVolts, HvChannelState state, string reason)
    : Exception(string.Create(System.Globalization.CultureInfo.InvariantCulture,
        $"{channel}: ramp to {targetVolts:0.0} V failed in state {state}: {reason}"))
{
    public string Channel { get; } = channel;
    public double TargetVolts { get; } = targetVolts;
    public HvChannelState State { get; } = state;
    public string Reason { get; } = reason;
}
