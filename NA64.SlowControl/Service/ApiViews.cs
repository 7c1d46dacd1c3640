using NA64.SlowControl.Hv;
using NA64.SlowControl.Magnets;
using NA64.SlowControl.Setup;

namespace NA64.SlowControl.Service;

/// <summary>One HV channel as the API shows it (readback values are null before the first readback).</summary>
public sealed record HvChannelView(
    string Channel,
    string Board,
    int Index,
    string State,
    double NominalVolts,
    double TargetVolts,
    double? VSet,
    double? VMon,
    double? ISet,
    double? IMon,
    string Flags,
    DateTimeOffset? ReadbackTime,
    int RecoveriesLastHour);

/// <summary>An alarm as the API shows it.</summary>
public sealed record AlarmView(DateTimeOffset Time, string Channel, string Severity, string Kind, string Message);

/// <summary>Body of <c>POST /api/hv/channels/{name}/on</c>: volts default to the channel's present target.</summary>
public sealed record SwitchOnRequest(double? Volts, bool Wait = false);

/// <summary>Body of <c>PUT /api/hv/channels/{name}/setpoint</c> (expert): VSET and optionally RUP, then on.</summary>
public sealed record SetpointRequest(double Volts, double? RampUpVoltsPerSecond = null, bool Wait = false);

/// <summary>Body of <c>POST /api/sim/inject</c>: a named fault on a simulated channel, board or readout module.</summary>
public sealed record InjectRequest(string Target, string Fault);

/// <summary>What the service is and runs (<c>GET /api/status</c>).</summary>
public sealed record ServiceStatusView(
    string Setup,
    bool Simulated,
    double SimulationSpeed,
    string DataDirectory,
    int HvChannels,
    int HvBoards,
    int ConnectedBoards,
    IReadOnlyList<BoardView> Boards,
    int LiveSubscribers,
    long LiveDropped);

public sealed record BoardView(string Name, long Cycles, long FailedCycles, string? LastError);

/// <summary>
/// One magnet circuit as the API shows it. Currents are signed (negative = reversed polarity); readback values are null
/// before the first readback; the field is the circuit's B·dl from its calibration, the momentum the one bent by the
/// setup's bending angle at that field (null without calibration or angle).
/// </summary>
public sealed record MagnetView(
    string Magnet,
    string Kind,
    IReadOnlyList<string> Elements,
    string State,
    double TargetAmps,
    double? SetpointAmps,
    double? Amps,
    double? Volts,
    string? Output,
    string? Polarity,
    double? FieldTeslaMetres,
    double? MomentumGeV,
    double MaxAmps,
    string Conditions,
    string RampPhase,
    string? PendingRequest,
    string? LastDenied,
    int ConsecutiveFailures,
    DateTimeOffset? ReadbackTime,
    string? Detail);

/// <summary>
/// Body of <c>PUT /api/magnets/{name}/setpoint</c> (expert): exactly one of a current (A, signed), an integral field
/// (T·m) or a beam momentum (GeV/c, through the calibration and the bending angle); optionally the dI/dt.
/// </summary>
public sealed record MagnetSetpointRequest(
    double? Amps = null, double? TeslaMetres = null, double? MomentumGeV = null, double? RampAmpsPerSecond = null, bool Wait = false);

internal static class ApiViews
{
    public static HvChannelView Channel(HvChannelSnapshot s) => new(
        s.Channel, s.Board, s.Index, s.State.ToString(), s.NominalVolts, s.TargetVolts,
        s.Readback?.VSet, s.Readback?.VMon, s.Readback?.ISet, s.Readback?.IMon, s.Flags, s.ReadbackTime, s.RecoveriesLastHour);

    public static AlarmView Alarm(Alarm a) => new(a.Time, a.Channel, a.Severity.ToString(), a.Kind.ToString(), a.Message);

    public static AlarmView Alarm(MagnetAlarm a) => new(a.Time, a.Magnet, a.Severity.ToString(), a.Kind.ToString(), a.Message);

    public static MagnetView Magnet(MagnetSnapshot s, MagnetSetup m) => new(
        s.Magnet, m.Kind.Name, m.Elements, s.State.ToString(), s.TargetAmps, s.SetpointAmps, s.Amps, s.Volts, s.Output?.ToString(),
        s.Polarity?.ToString(), s.FieldTeslaMetres,
        s.FieldTeslaMetres is { } f && m.BendingAngleRadians is { } angle ? MagnetCalibration.MomentumFor(f, angle) : null,
        m.MaxAmps, s.Conditions.ToString(), s.RampPhase.ToString(), s.PendingRequest, s.LastDenied, s.ConsecutiveFailures,
        s.ReadbackTime, s.Detail);
}

/// <summary>Body of <c>POST /api/hv/apply</c> (expert): the setup's settings to one channel or to all, or only what would change.</summary>
public sealed record ApplyRequest(string? Channel = null, bool All = false, bool DryRun = false);

/// <summary>One setting that differs between a channel's device and the setup (<c>onDevice</c> null: not read back by a poll).</summary>
public sealed record SettingDifferenceView(string Channel, string Parameter, double? OnDevice, double InSetup);

/// <summary>What <c>POST /api/hv/apply</c> found and, unless a dry run, wrote.</summary>
public sealed record ApplyResultView(bool DryRun, IReadOnlyList<SettingDifferenceView> Differences, IReadOnlyList<string> Applied);
