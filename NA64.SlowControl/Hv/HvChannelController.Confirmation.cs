using System.Globalization;
using NA64.Hardware.Hv;

namespace NA64.SlowControl.Hv;

/// <summary>
/// Confirmation by readbacks: what each command sent must show in the polls (VSET value, ON bit) within the confirm
/// time, and the ramp waiters of <see cref="HvChannelController.RampAsync"/>.
/// </summary>
public sealed partial class HvChannelController
{
    // Commands sent but not yet visible in the readbacks, by parameter (VSet, Power).
    private readonly Dictionary<HvParameter, Expectation> _expected = [];
    private RampWaiter? _ramp;

    private sealed record Expectation(string What, Func<HvChannelReadback, bool> Seen, DateTimeOffset Since);

    private sealed class RampWaiter(double target, IProgress<HvRampProgress>? progress)
    {
        public double Target { get; } = target;
        public IProgress<HvRampProgress>? Progress { get; } = progress;
        public TaskCompletionSource Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private void Expect(HvParameter parameter, string what, Func<HvChannelReadback, bool> seen) =>
        _expected[parameter] = new Expectation(what, seen, _time.GetUtcNow());

    private void CheckExpectations(HvChannelReadback r, DateTimeOffset now)
    {
        foreach (var (parameter, e) in _expected.ToList())
        {
            if (e.Seen(r))
            {
                _expected.Remove(parameter);
                continue;
            }
            if (now - e.Since < _settings.CommandConfirmTimeout) continue;
            _expected.Remove(parameter);
            string message = string.Create(CultureInfo.InvariantCulture,
                $"{e.What} acknowledged but not seen in the readbacks within {_settings.CommandConfirmTimeout.TotalSeconds:0.#} s");
            FailRamp(message);
            if (_recoveryActive)
            {
                _recoveryActive = false;
                Raise(AlarmSeverity.Major, HvAlarmKind.RecoveryFailed, "recovery abandoned: " + message);
            }
            else
            {
                Raise(AlarmSeverity.Minor, HvAlarmKind.CommandNotConfirmed, message);
            }
        }
    }

    /// <summary>
    /// The command is on the wire: an older ramp towards something else can no longer complete as asked. Settings
    /// (ISET, RUP, RDW) and apply leave a ramp alone: they do not change where it goes.
    /// </summary>
    private void SupersedeRamp(HvCommand command, double? volts, RampWaiter? waiter)
    {
        if (_ramp is { } old)
        {
            bool supersedes = waiter is not null || command switch
            {
                HvCommand.SwitchOff => true,
                HvCommand.SwitchOn or HvCommand.SetVoltage => volts is not { } v || Math.Abs(v - old.Target) > VSetTolerance,
                _ => false,
            };
            if (supersedes)
                FailRamp($"superseded by {command}{(volts is { } sv ? string.Create(CultureInfo.InvariantCulture, $" {sv:0.0} V") : "")}");
        }
        if (waiter is not null) _ramp = waiter;
    }

    private void EvaluateRamp(HvChannelReadback r)
    {
        if (_ramp is not { } w) return;
        w.Progress?.Report(new HvRampProgress(Name, State, r.VMon, w.Target));
        if (State == HvChannelState.On && Math.Abs(r.VSet - w.Target) <= VSetTolerance)
        {
            _ramp = null;
            w.Completion.TrySetResult();
        }
        else if (State == HvChannelState.OutOfTolerance && r.Status.HasFlag(HvChannelStatus.MaxVoltage))
        {
            FailRamp("output held by the board's MAXV protection (hardware limit below the target)");
        }
    }

    private void FailRamp(string reason)
    {
        if (_ramp is not { } w) return;
        _ramp = null;
        _log.Warning("HV {Channel}: ramp to {Volts} V failed: {Reason}", Name, w.Target, reason);
        w.Completion.TrySetException(new HvRampFailedException(Name, w.Target, State, reason));
    }
}
