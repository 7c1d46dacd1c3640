using System.Globalization;
using NA64.Hardware.Errors;
using Transition = Stateless.StateMachine<NA64.SlowControl.Hv.HvChannelState, NA64.SlowControl.Hv.HvChannelController.Trigger>.Transition;

namespace NA64.SlowControl.Hv;

/// <summary>
/// Faults and trip recovery: what the controller does when the device reports a trip, an interlock, a kill or a
/// disabled channel, or stops answering; the two-step recovery (nominal - step, stable, nominal) within its budget.
/// </summary>
public sealed partial class HvChannelController
{
    private bool _recoveryActive;
    private DateTimeOffset _stableSince;
    private readonly Queue<DateTimeOffset> _recoveries = new();

    private double RecoveryStepVolts => Math.Max(0, _targetVolts - _settings.Recovery.StepBelowNominalVolts);

    private bool StableLongEnough() => _time.GetUtcNow() - _stableSince >= _settings.Recovery.StableTime;

    private bool RecoveryAllowed()
    {
        if (!_wantOn) return false;
        PruneRecoveries();
        return _recoveries.Count < _settings.Recovery.MaxPerHour;
    }

    private void PruneRecoveries()
    {
        var hourAgo = _time.GetUtcNow() - TimeSpan.FromHours(1);
        while (_recoveries.Count > 0 && _recoveries.Peek() <= hourAgo) _recoveries.Dequeue();
    }

    private void OnDisconnected(Exception error)
    {
        _pushBackPending = true;
        _expected.Clear();
        FailRamp($"board {BoardName} disconnected: {error.Message}");
        Raise(AlarmSeverity.Invalid, HvAlarmKind.Disconnected, $"board {BoardName} not answering: {error.Message}");
    }

    private async Task OnTrippedAsync()
    {
        _expected.Clear();
        var imon = _last?.IMon ?? double.NaN;
        var iset = _last?.ISet ?? double.NaN;
        FailRamp(string.Create(CultureInfo.InvariantCulture, $"tripped at {imon:0.###} uA (ISET {iset:0.###} uA)"));
        _log.Warning("HV {Channel} tripped at {Current} uA (ISET {CurrentLimit} uA, VMON {VMon} V)", Name, imon, iset, _last?.VMon);
        if (_machine.CanFire(Trigger.BeginRecovery))
        {
            Raise(AlarmSeverity.Minor, HvAlarmKind.Tripped, string.Create(CultureInfo.InvariantCulture,
                $"tripped at {imon:0.###} uA; automatic recovery {_recoveries.Count + 1} of {_settings.Recovery.MaxPerHour} this hour"));
            // Queued firing mode: this returns at once and the recovery starts when this transition is complete.
            await _machine.FireAsync(Trigger.BeginRecovery).ConfigureAwait(false);
        }
        else if (_wantOn)
        {
            Raise(AlarmSeverity.Major, HvAlarmKind.RecoveryBudgetExhausted, string.Create(CultureInfo.InvariantCulture,
                $"tripped at {imon:0.###} uA with {_recoveries.Count} automatic recoveries in the last hour (max {_settings.Recovery.MaxPerHour}); channel stays off until an operator switches it on"));
        }
        else
        {
            Raise(AlarmSeverity.Minor, HvAlarmKind.Tripped, string.Create(CultureInfo.InvariantCulture,
                $"tripped at {imon:0.###} uA while not wanted on; no recovery"));
        }
    }

    /// <summary>Step 1. Writes VSET and ON only: the recovery is automatic, not an operator setting.</summary>
    private async Task StartRecoveryAsync()
    {
        _recoveryActive = true;
        _recoveries.Enqueue(_time.GetUtcNow());
        _log.Information("HV {Channel}: recovery step 1, VSET {Volts} V (nominal {Nominal} V - {Step} V)",
            Name, RecoveryStepVolts, _targetVolts, _settings.Recovery.StepBelowNominalVolts);
        await RecoveryCommandAsync(() => WriteOnAsync(RecoveryStepVolts)).ConfigureAwait(false);
    }

    private Task FinishRecoveryAsync()
    {
        _log.Information("HV {Channel}: recovery step 2, stable at {Step} V for {Stable}; VSET {Volts} V",
            Name, RecoveryStepVolts, _settings.Recovery.StableTime, _targetVolts);
        return RecoveryCommandAsync(() => WriteVoltageAsync(_targetVolts));
    }

    /// <summary>A recovery command that the board refuses ends the recovery with an alarm (the poller must go on).</summary>
    private async Task RecoveryCommandAsync(Func<Task> send)
    {
        try
        {
            await send().ConfigureAwait(false);
        }
        catch (DeviceException e)
        {
            _recoveryActive = false;
            _log.Error(e, "HV {Channel}: recovery command failed", Name);
            Raise(AlarmSeverity.Major, HvAlarmKind.RecoveryFailed, $"recovery command failed: {e.Message}");
        }
    }

    private void EndRecovery(Transition t)
    {
        if (t.Destination is HvChannelState.RecoveryStepDown or HvChannelState.RecoveryHold or HvChannelState.RecoveryToNominal)
            return;
        if (t.Destination == HvChannelState.On)
            _log.Information("HV {Channel}: recovered, On at {Volts} V", Name, _targetVolts);
        else
            _log.Warning("HV {Channel}: recovery ended in {State}", Name, t.Destination);
        _recoveryActive = false;
    }

    private Task AbandonRecoveryAndSwitchOnAsync(double volts, Transition t) => TakeOverAsync(() => SendSwitchOnAsync(volts, t));

    private Task AbandonRecoveryAndSwitchOffAsync(Transition t) => TakeOverAsync(() => SendSwitchOffAsync(t));

    private Task AbandonRecoveryAndSetVoltageAsync(double volts, Transition t) => TakeOverAsync(() => SendVoltageAsync(volts, t));

    private async Task TakeOverAsync(Func<Task> send)
    {
        await send().ConfigureAwait(false);
        _log.Warning("HV {Channel}: operator command during recovery; recovery abandoned", Name);
        _recoveryActive = false;
    }

    private void OnReachedOn() => _log.Debug("HV {Channel}: On at {Volts} V", Name, _last?.VMon);

    private void OnInterlocked()
    {
        _interlockReleased = false;
        _recoveryActive = false;
        _expected.Clear();
        FailRamp("interlock");
        Raise(AlarmSeverity.Major, HvAlarmKind.Interlocked,
            $"interlock on board {BoardName}; channel off until an operator switches it on");
    }

    private async Task AcknowledgeInterlockAndSwitchOnAsync(double volts, Transition t)
    {
        await SendSwitchOnAsync(volts, t).ConfigureAwait(false);
        _interlockReleased = true;
        _log.Information("HV {Channel}: interlock acknowledged by operator", Name);
    }

    private void OnHardwareOff(HvAlarmKind kind, string what)
    {
        _recoveryActive = false;
        _expected.Clear();
        FailRamp(what);
        Raise(AlarmSeverity.Major, kind, what);
    }
}
