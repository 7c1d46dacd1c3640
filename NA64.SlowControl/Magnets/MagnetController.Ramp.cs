using NA64.Hardware.Errors;
using NA64.Hardware.Magnets;
using NA64.SlowControl.Hv;
using Transition = Stateless.StateMachine<NA64.SlowControl.Magnets.MagnetState, NA64.SlowControl.Magnets.MagnetController.Trigger>.Transition;

namespace NA64.SlowControl.Magnets;

/// <summary>
/// Ramps: what RampTo, SwitchOn, SwitchOff and Standby send, and the stepping done on each readback. The controller
/// steps a ramp (one setpoint step per readback of at most dI/dt x (time since the last step, capped at the poll
/// period)) unless the supply ramps itself no faster than asked: a supply that ramps itself gets each leg's setpoint
/// once only when its own rate (<see cref="MagnetCapabilities.OwnRampAmpsPerSecond"/>) is at most the ramp's dI/dt or
/// is unknown (a beam-line converter: each request goes to an operator, the rate is CERN's). A unit set to slew at
/// 20 A/s asked for 5 A/s is therefore stepped. The choice is made per ramp (<see cref="RampPlan.Stepped"/>). A
/// polarity change goes to zero, waits <see cref="MagnetSettings.ZeroCrossingWait"/> with |I| within tolerance,
/// switches, and ramps out again, in either mode.
/// </summary>
public sealed partial class MagnetController
{
    private RampPlan? _plan;
    // The last setpoint carried out and when (signed): a step sent after the last readback is not in it yet.
    private double _lastSentAmps;
    private DateTimeOffset? _lastSentTime;
    // The setpoint on the supply was left to its own ramp (sent once per leg, or found there at contact).
    private bool _setpointLeftToSupply;

    /// <summary>
    /// A ramp under way: signed target and rate, whether the controller steps it, the last setpoint sent (signed) and when.
    /// </summary>
    private sealed class RampPlan(double target, double rate, bool stepped, double lastSent, DateTimeOffset lastStep, bool safe)
    {
        public double Target { get; } = target;
        public double Rate { get; } = rate;
        /// <summary>The controller sends a step per readback (never above dI/dt); otherwise each leg's setpoint once.</summary>
        public bool Stepped { get; } = stepped;
        public double LastSent { get; set; } = lastSent;
        public DateTimeOffset LastStep { get; set; } = lastStep;
        public DateTimeOffset? ZeroSince { get; set; }
        public bool PolaritySent { get; set; }
        /// <summary>A ramp down to zero as the safe action of a fault (ends with the output off).</summary>
        public bool Safe { get; } = safe;
        public MagnetRampPhase Phase { get; set; } = MagnetRampPhase.ToTarget;
    }

    private double SignedSetpoint(MagnetReadback r) => Signed(r.SetpointAmps, r.Polarity);

    /// <summary>
    /// True when a ramp at <paramref name="ampsPerSecond"/> must be stepped by the controller: the supply does not ramp
    /// itself, or it does so at a known rate above the one asked for. A supply whose own rate is unknown is left to it
    /// (a beam-line converter's setpoint goes to an operator once per leg; stepping it would flood CESAR).
    /// </summary>
    private bool ControllerSteps(double ampsPerSecond) =>
        !_hw.Capabilities.RampsItself || (_hw.Capabilities.OwnRampAmpsPerSecond is { } own && own > ampsPerSecond);

    /// <summary>
    /// Where a new ramp starts (signed), and whether the supply must be held there at once. A ramp continues from the
    /// setpoint last sent, even one the readbacks do not show yet (sent after the last readback): starting from an older
    /// readback would make the next step steeper than dI/dt. A setpoint left to the supply's own ramp, though, may be far
    /// from the current (the unit still slewing at its own rate, faster than the new ramp's): a stepped ramp then starts
    /// where the current is now (the last readback, moved on at the unit's own rate for the time since) and holds the
    /// unit there at once, rather than letting it slew on at its own rate until the first step.
    /// </summary>
    private (double From, bool Hold) RampStart(MagnetReadback r, bool stepped)
    {
        var now = _time.GetUtcNow();
        double setpoint = _lastSentTime is { } sent && (_lastTime is not { } read || sent >= read) ? _lastSentAmps : SignedSetpoint(r);
        double amps = Signed(r.Amps, r.Polarity);
        if (!stepped || !_setpointLeftToSupply || r.Output != MagnetOutput.On || Math.Abs(setpoint - amps) <= _settings.ToleranceAmps
            || _hw.Capabilities.OwnRampAmpsPerSecond is not { } own)
            return (setpoint, false);
        double seconds = Math.Max(0, (now - (_lastTime ?? now)).TotalSeconds);
        double moved = Math.Min(Math.Abs(setpoint - amps), own * seconds);
        return (amps + Math.CopySign(moved, setpoint - amps), true);
    }

    private async Task SendRampToAsync(RampRequest request, Transition _)
    {
        var r = _last!; // Operating states are reached only by a readback
        double previousTarget = _targetAmps;
        var now = _time.GetUtcNow();
        _targetAmps = request.Amps;
        bool stepped = ControllerSteps(request.AmpsPerSecond);
        var (from, hold) = RampStart(r, stepped);
        _plan = new RampPlan(request.Amps, request.AmpsPerSecond, stepped, from, now, safe: false);
        _log.Information("Magnet {Magnet}: ramp to {Target} A at {Rate} A/s from {Setpoint} A ({Output}), {Mode}",
            Name, request.Amps, request.AmpsPerSecond, from, r.Output, _plan.Stepped ? "stepped" : "the supply's own ramp");
        try
        {
            if (r.Output != MagnetOutput.On)
            {
                // From off or standby: a stepped ramp starts from setpoint 0 so that switching on moves nothing.
                if (_plan.Stepped && !await StepRequestAsync(0).ConfigureAwait(false))
                {
                    RestoreAfterRefusal(previousTarget);
                    return;
                }
                if (_plan.Stepped) _plan.LastSent = 0;
                var on = await RequestAsync("switch on", c => _hw.SwitchOnAsync(c), rb => rb.Output == MagnetOutput.On).ConfigureAwait(false);
                if (on.Outcome != MagnetRequestOutcome.Done) RestoreAfterRefusal(previousTarget);
                return;
            }
            // Output on: a ramp left to the supply gets its setpoint now; a stepped one its first step on the next readback
            // (after a hold where the current is, when the supply was still slewing on its own).
            if (_plan.Stepped && hold && !await StepRequestAsync(from).ConfigureAwait(false))
            {
                RestoreAfterRefusal(previousTarget);
                return;
            }
            if (!_plan.Stepped)
            {
                bool reverse = request.Amps != 0 && (request.Amps < 0) != (r.Polarity == MagnetPolarity.Reversed);
                double goal = reverse ? 0 : request.Amps;
                if (!await StepRequestAsync(goal).ConfigureAwait(false))
                {
                    RestoreAfterRefusal(previousTarget);
                    return;
                }
                _plan.LastSent = goal;
                _plan.Phase = reverse ? MagnetRampPhase.ToZero : MagnetRampPhase.ToTarget;
                if (!reverse) EndRamp(_plan);
            }
        }
        catch (DeviceException)
        {
            // Refused by the driver or the device: nothing is under way; the caller gets the exception.
            RestoreAfterRefusal(previousTarget);
            throw;
        }
    }

    /// <summary>A request not carried out leaves the target where it was and no ramp under way.</summary>
    private void RestoreAfterRefusal(double previousTarget)
    {
        _plan = null;
        _targetAmps = previousTarget;
    }

    private async Task SendSwitchOnAsync(Transition _)
    {
        var r = _last!;
        _plan = null;
        // A supply that would slew back to an old setpoint faster than the default dI/dt starts from 0 instead.
        if (ControllerSteps(_settings.RampAmpsPerSecond))
        {
            if (!await StepRequestAsync(0).ConfigureAwait(false)) return;
            _targetAmps = 0;
        }
        else
        {
            _targetAmps = SignedSetpoint(r);
        }
        await RequestAsync("switch on", c => _hw.SwitchOnAsync(c), rb => rb.Output == MagnetOutput.On).ConfigureAwait(false);
    }

    private async Task SendSwitchOffAsync(Transition _)
    {
        _plan = null;
        _safeOffPending = false;
        var result = await RequestAsync("switch off", c => _hw.SwitchOffAsync(c), rb => rb.Output == MagnetOutput.Off).ConfigureAwait(false);
        if (result.Outcome == MagnetRequestOutcome.Done && !IsLatched) _targetAmps = 0;
    }

    private async Task SendStandbyAsync(Transition _)
    {
        _plan = null;
        await RequestAsync("standby", c => _hw.StandbyAsync(c), rb => rb.Output == MagnetOutput.Standby).ConfigureAwait(false);
    }

    /// <summary>
    /// One step of the ramp under way, on a readback with the output on (a ramp waits while the output is not on).
    /// A step, a polarity change or a request that fails, is held or is denied stops the ramp where it is, with an alarm.
    /// </summary>
    private async Task StepAsync(MagnetReadback r)
    {
        if (_plan is not { } p || r.Output != MagnetOutput.On) return;
        var now = _time.GetUtcNow();
        double amps = Signed(r.Amps, r.Polarity);
        var wanted = p.Target < 0 ? MagnetPolarity.Reversed : MagnetPolarity.Normal;
        bool reverse = p.Target != 0 && wanted != r.Polarity;
        double goal = reverse ? 0 : p.Target;
        try
        {
            if (p.LastSent != goal)
            {
                p.Phase = reverse ? MagnetRampPhase.ToZero : MagnetRampPhase.ToTarget;
                double next = goal;
                if (p.Stepped)
                {
                    // Never faster than dI/dt: the step covers the time since the last one, at most one poll period.
                    double seconds = Math.Min((now - p.LastStep).TotalSeconds, _settings.PollPeriod.TotalSeconds);
                    if (seconds <= 0) return;
                    double maxStep = p.Rate * seconds;
                    double delta = goal - p.LastSent;
                    if (Math.Abs(delta) > maxStep) next = p.LastSent + Math.CopySign(maxStep, delta);
                }
                if (!await StepRequestAsync(next).ConfigureAwait(false))
                {
                    AbandonRamp($"setpoint {A(next)} A not carried out");
                    return;
                }
                p.LastSent = next;
                p.LastStep = now;
                if (!reverse && next == goal) EndRamp(p);
                return;
            }
            if (reverse)
            {
                if (Math.Abs(amps) > _settings.ToleranceAmps)
                {
                    p.ZeroSince = null;
                    p.Phase = MagnetRampPhase.ToZero;
                    return;
                }
                p.ZeroSince ??= now;
                p.Phase = MagnetRampPhase.WaitAtZero;
                if (now - p.ZeroSince.Value < _settings.ZeroCrossingWait || p.PolaritySent) return;
                p.Phase = MagnetRampPhase.SwitchingPolarity;
                var result = await RequestAsync($"polarity {wanted}", c => _hw.SetPolarityAsync(wanted, c), rb => rb.Polarity == wanted)
                    .ConfigureAwait(false);
                if (result.Outcome != MagnetRequestOutcome.Done)
                {
                    AbandonRamp($"polarity {wanted} not carried out");
                    return;
                }
                p.PolaritySent = true;
                _log.Information("Magnet {Magnet}: at zero for {Wait}, polarity {Polarity} sent", Name, _settings.ZeroCrossingWait, wanted);
                return;
            }
            EndRamp(p);
        }
        catch (DeviceException e)
        {
            _log.Error(e, "Magnet {Magnet}: ramp step refused", Name);
            AbandonRamp(e.Message);
        }
    }

    /// <summary>The last setpoint of the ramp is on the supply: from here the readbacks decide when it is AtSetpoint.</summary>
    private void EndRamp(RampPlan p)
    {
        _plan = null;
        _log.Information("Magnet {Magnet}: last setpoint {Target} A of the ramp sent", Name, A(p.Target));
    }

    /// <summary>Sends one current setpoint (signed; the supply takes the magnitude); true when carried out.</summary>
    private async Task<bool> StepRequestAsync(double signedAmps)
    {
        double magnitude = Math.Abs(signedAmps);
        double tolerance = _settings.ToleranceAmps;
        var result = await RequestAsync($"setpoint {A(signedAmps)} A", c => _hw.SetCurrentAsync(magnitude, c),
            rb => Math.Abs(rb.SetpointAmps - magnitude) <= tolerance, () => _targetAmps = signedAmps).ConfigureAwait(false);
        if (result.Outcome != MagnetRequestOutcome.Done) return false;
        _lastSentAmps = signedAmps;
        _lastSentTime = _time.GetUtcNow();
        _setpointLeftToSupply = _hw.Capabilities.RampsItself && _plan is not { Stepped: true };
        return true;
    }

    /// <summary>Stops the ramp where it is: the setpoint on the supply becomes the target (the readbacks say where that is).</summary>
    private void AbandonRamp(string reason)
    {
        if (_plan is not { } p) return;
        _plan = null;
        if (p.Safe)
        {
            // The safe ramp-down could not go on: switching off is what is left.
            _safeOffForced = true;
        }
        else if (_last is { } r)
        {
            _targetAmps = SignedSetpoint(r);
        }
        Raise(AlarmSeverity.Major, MagnetAlarmKind.RampAbandoned,
            $"ramp to {A(p.Target)} A stopped at setpoint {A(p.LastSent)} A: {reason}");
    }

    private void OnAtSetpoint() => _log.Information("Magnet {Magnet}: at setpoint {Target} A", Name, A(_targetAmps));
}
