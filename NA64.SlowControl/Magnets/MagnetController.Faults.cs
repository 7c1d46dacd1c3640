using System.Globalization;
using NA64.Hardware.Errors;
using NA64.Hardware.Magnets;
using NA64.SlowControl.Hv;
using Transition = Stateless.StateMachine<NA64.SlowControl.Magnets.MagnetState, NA64.SlowControl.Magnets.MagnetController.Trigger>.Transition;

namespace NA64.SlowControl.Magnets;

/// <summary>
/// Faults, interlocks, reset, disconnect, and what becomes of each request (done, held for an operator, denied).
/// </summary>
public sealed partial class MagnetController
{
    // The latched state (Fault or Interlocked) until a confirmed reset; kept across a disconnect.
    private MagnetState? _latch;
    private bool _resetSent;
    // Safe action RampDown: switch off once the current is at zero (or at once when the ramp-down cannot go on).
    private bool _safeOffPending;
    private bool _safeOffForced;
    private PendingRequest? _pending;
    private string? _lastDenied;

    /// <summary>A request held for an operator: shown until the readbacks show it carried out.</summary>
    private sealed record PendingRequest(string What, Func<MagnetReadback, bool> Seen, Action? OnSeen, DateTimeOffset Since);

    private bool IsLatched => _latch is not null;

    /// <summary>
    /// Sends one request and records its outcome: held for an operator (pending until the readbacks show it, alarm)
    /// or denied (shown with its reason, alarm). Never assumed done: the state follows the readbacks either way.
    /// </summary>
    private async Task<MagnetRequestResult> RequestAsync(string what, Func<CancellationToken, Task<MagnetRequestResult>> send,
        Func<MagnetReadback, bool> seen, Action? onSeen = null)
    {
        var result = await send(_ct).ConfigureAwait(false);
        switch (result.Outcome)
        {
            case MagnetRequestOutcome.Done:
                _log.Information("Magnet {Magnet}: {Request} sent", Name, what);
                break;
            case MagnetRequestOutcome.PendingOperator:
                _pending = new PendingRequest(what, seen, onSeen, _time.GetUtcNow());
                Raise(AlarmSeverity.Minor, MagnetAlarmKind.RequestPending,
                    $"{what}: held for an operator{(result.Reason is { } pr ? $" ({pr})" : "")}; not done until the readbacks show it");
                break;
            case MagnetRequestOutcome.Denied:
                _lastDenied = $"{what}: {result.Reason ?? "no reason given"}";
                Raise(AlarmSeverity.Major, MagnetAlarmKind.RequestDenied, $"{what} denied: {result.Reason ?? "no reason given"}");
                break;
            default:
                throw new InvalidOperationException($"{Name}: unknown request outcome {result.Outcome}");
        }
        if (result.Outcome != MagnetRequestOutcome.Done || _result.Outcome == MagnetRequestOutcome.Done) _result = result;
        return result;
    }

    /// <summary>A request held for an operator is done when the readbacks show it (and only then).</summary>
    private void CheckPending(MagnetReadback r)
    {
        if (_pending is not { } p || !p.Seen(r)) return;
        _pending = null;
        _lastDenied = null;
        p.OnSeen?.Invoke();
        _log.Information("Magnet {Magnet}: {Request} carried out by an operator after {Wait}", Name, p.What, _time.GetUtcNow() - p.Since);
    }

    /// <summary>Entry into Fault or Interlocked: stop any ramp, alarm, make the supply safe as configured.</summary>
    private async Task OnLatchedAsync(MagnetObservation o, MagnetAlarmKind kind)
    {
        var r = o.Readback;
        bool wasRamping = _plan is { Safe: false };
        _plan = null;
        _resetSent = false;
        _latch = o.State;
        _safeOffPending = false;
        _safeOffForced = false;
        string cause = r.Conditions == MagnetConditions.None ? $"output {r.Output}" : r.Conditions.ToString();
        Raise(AlarmSeverity.Major, kind, string.Create(CultureInfo.InvariantCulture,
            $"{kind} ({cause}{(r.Detail is { } d ? $", {d}" : "")}) at {A(Signed(r.Amps, r.Polarity))} A{(wasRamping ? " during a ramp" : "")}; latched until reset"));

        if (r.Output == MagnetOutput.Off)
        {
            _log.Warning("Magnet {Magnet}: {Kind}, output already off", Name, kind);
            return;
        }
        if (_settings.SafeAction == MagnetSafeAction.RampDown && r.Output == MagnetOutput.On
            && Math.Abs(Signed(r.Amps, r.Polarity)) > _settings.ToleranceAmps)
        {
            bool stepped = ControllerSteps(_settings.RampAmpsPerSecond);
            _plan = new RampPlan(0, _settings.RampAmpsPerSecond, stepped, RampStart(r, stepped).From, _time.GetUtcNow(), safe: true);
            _safeOffPending = true;
            _log.Warning("Magnet {Magnet}: {Kind}, ramping down to zero at {Rate} A/s, then off", Name, kind, _settings.RampAmpsPerSecond);
            // Left to the supply: its zero setpoint now; stepped: the first step on the next readback.
            if (!_plan.Stepped) await SafeStepAsync(r).ConfigureAwait(false);
            return;
        }
        await SafeOffAsync(kind.ToString()).ConfigureAwait(false);
    }

    /// <summary>Readbacks while latched: safe ramp-down steps, then off; a reset whose cause is still shown is reported.</summary>
    private async Task WhileLatchedAsync(MagnetObservation o)
    {
        var r = o.Readback;
        if (_resetSent)
        {
            // Reached only when the cause is still shown (otherwise the latch is released).
            _resetSent = false;
            Raise(AlarmSeverity.Minor, MagnetAlarmKind.ResetIneffective,
                $"reset sent but the supply still reports {(r.Conditions == MagnetConditions.None ? $"output {r.Output}" : r.Conditions.ToString())}; still {State}");
        }
        if (_plan is { Safe: true }) await SafeStepAsync(r).ConfigureAwait(false);
        if (_safeOffPending && _plan is null && r.Output != MagnetOutput.Off
            && (_safeOffForced || Math.Abs(Signed(r.Amps, r.Polarity)) <= _settings.ToleranceAmps))
            await SafeOffAsync("ramp-down ended").ConfigureAwait(false);
    }

    private async Task SafeStepAsync(MagnetReadback r)
    {
        if (r.Output != MagnetOutput.On)
        {
            // The supply dropped its output by itself: nothing left to ramp.
            _plan = null;
            return;
        }
        await StepAsync(r).ConfigureAwait(false);
    }

    /// <summary>The safe action's switch-off; a refusal is an alarm (the poller must go on), never silent.</summary>
    private async Task SafeOffAsync(string why)
    {
        _safeOffPending = false;
        try
        {
            var result = await RequestAsync("switch off (safe action)", c => _hw.SwitchOffAsync(c), rb => rb.Output == MagnetOutput.Off)
                .ConfigureAwait(false);
            if (result.Outcome == MagnetRequestOutcome.Done)
                _log.Warning("Magnet {Magnet}: output switched off ({Why})", Name, why);
        }
        catch (DeviceException e)
        {
            _log.Error(e, "Magnet {Magnet}: safe switch-off refused", Name);
            Raise(AlarmSeverity.Major, MagnetAlarmKind.SafeActionFailed, $"safe switch-off ({why}) not sent: {e.Message}");
        }
    }

    private async Task SendResetAsync(Transition _)
    {
        MagnetRequestResult result;
        try
        {
            result = await RequestAsync("reset", c => _hw.ResetAsync(c),
                rb => (rb.Conditions & (InterlockConditions | FaultConditions)) == 0 && rb.Output != MagnetOutput.Fault,
                () => _resetSent = true).ConfigureAwait(false);
        }
        catch (DeviceException e)
        {
            // A supply that checks the reset itself (a Danfysik RS read back by S1) refuses it while the cause is there:
            // the latch stays, and the shift sees why in the alarms as well as in the command's answer.
            Raise(AlarmSeverity.Minor, MagnetAlarmKind.ResetIneffective, $"reset refused by the supply, {_latch} stays latched: {e.Message}");
            throw;
        }

        if (result.Outcome == MagnetRequestOutcome.Done)
            _resetSent = true;
    }

    private void OnReleased(Transition t)
    {
        if (t.Destination is MagnetState.Fault or MagnetState.Interlocked or MagnetState.Latched) return;
        if (t.Destination != MagnetState.Disconnected)
        {
            _log.Information("Magnet {Magnet}: {Latch} released by reset, now {State}", Name, _latch, t.Destination);
            _latch = null;
            // A released magnet is operated from where it is: an off output means target 0.
            if (_last is { } r) _targetAmps = r.Output == MagnetOutput.On ? SignedSetpoint(r) : 0;
        }
        _resetSent = false;
        _safeOffPending = false;
        _safeOffForced = false;
    }

    private void OnDisconnected(Exception error)
    {
        string ramp = _plan is { } p ? $"; ramp to {A(p.Target)} A stopped (target adopted from the supply on reconnect)" : "";
        _plan = null;
        _inToleranceSince = null;
        Raise(AlarmSeverity.Invalid, MagnetAlarmKind.Disconnected,
            $"{_failures} consecutive reads failed: {error.Message}{ramp}");
    }
}
