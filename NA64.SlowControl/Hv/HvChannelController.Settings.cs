using System.Globalization;
using NA64.Hardware.Errors;
using NA64.Hardware.Hv;
using Transition = Stateless.StateMachine<NA64.SlowControl.Hv.HvChannelState, NA64.SlowControl.Hv.HvChannelController.Trigger>.Transition;

namespace NA64.SlowControl.Hv;

/// <summary>
/// What the controller writes: operator commands, operator settings, apply, and the push-back after a reconnect.
/// Settings reach the device only through these; a readback never causes a write except the push-back of what an
/// operator set during this process's life.
/// </summary>
public sealed partial class HvChannelController
{
    /// <summary>One operator setting: the parameter (ISET, RUP or RDW) and its value.</summary>
    internal readonly record struct OperatorSetting(HvParameter Parameter, double Value);

    // What a switch-on writes: the setup's values, replaced by the operator's as they are set.
    private double _targetVolts;
    private double _currentLimit;
    private double _rampUp;
    private double _rampDown;
    // Parameters written on purpose (switch-on, set, apply) during this life: the ones pushed back after a reconnect.
    private HvParameter _operatorSet;
    private bool _wantOn;
    private bool _pushBackPending;

    /// <summary>The values a switch-on writes now (VSET: the target).</summary>
    private HvChannelSettings CurrentSettings => new(_targetVolts, _currentLimit, _rampUp, _rampDown);

    /// <summary>
    /// What <see cref="ApplyAsync"/> would write now, from the last readback and the setup: ISET where it differs,
    /// RUP and RDW always (a poll does not read them: listed with <see cref="HvSettingDifference.OnDevice"/> null),
    /// VSET = nominal where it differs and the channel is neither on (ON or RDW bit) nor switched on by a command not
    /// yet seen: a live voltage, or the target of a ramp under way, is moved only by an explicit ramp.
    /// Reads the snapshot only: safe from any thread, writes nothing (the <c>--dry-run</c> of apply).
    /// </summary>
    public IReadOnlyList<HvSettingDifference> PlanApply() => Plan(_snapshot.Readback);

    private IReadOnlyList<HvSettingDifference> Plan(HvChannelReadback? readback)
    {
        var plan = new List<HvSettingDifference>(4);
        bool on = _wantOn || (readback is { } r && (r.Status & (HvChannelStatus.On | HvChannelStatus.RampingDown)) != 0);
        if (!on && (readback is not { } rv || Math.Abs(rv.VSet - _channel.NominalVolts) > VSetTolerance))
            plan.Add(new HvSettingDifference(HvParameter.VSet, readback?.VSet, _channel.NominalVolts));
        if (readback is not { } ri || Math.Abs(ri.ISet - _channel.CurrentLimitMicroamps) > 1e-6 * Math.Max(1, _channel.CurrentLimitMicroamps))
            plan.Add(new HvSettingDifference(HvParameter.ISet, readback?.ISet, _channel.CurrentLimitMicroamps));
        plan.Add(new HvSettingDifference(HvParameter.RampUp, null, _channel.RampUpVoltsPerSecond));
        plan.Add(new HvSettingDifference(HvParameter.RampDown, null, _channel.RampDownVoltsPerSecond));
        return plan;
    }

    /// <summary>First readback (from Unknown): adopt what the device does, write nothing.</summary>
    private void AdoptFirstReadback(Transition t)
    {
        if (t.Parameters is not [HvObservation o]) return; // left Unknown by a failed poll: nothing read to adopt
        _wantOn = o.Readback.Status.HasFlag(HvChannelStatus.On);
        if (_wantOn) _targetVolts = o.Readback.VSet; // bumpless: a live channel stays at the VSET it has
        _log.Information("HV {Channel}: first contact, {State} at VSET {Volts} V; nothing written", Name, o.State, o.Readback.VSet);
    }

    // ---------------------------------------------------------------------------------------------
    // Limits: checked before the gate, so a refused value never reaches the wire
    // ---------------------------------------------------------------------------------------------

    private void CheckVoltage(double volts) => CheckLimit(HvParameter.VSet, volts);

    private void CheckLimit(HvParameter parameter, double value)
    {
        var (field, limit, limitName) = parameter switch
        {
            HvParameter.VSet => ("VSET", _channel.MaxVolts, "setup maxVolts"),
            HvParameter.ISet => ("ISET", _channel.MaxMicroamps, "setup maxMicroamps"),
            HvParameter.RampUp => ("RUP", _channel.MaxRampVoltsPerSecond, "setup maxRampVoltsPerSecond"),
            HvParameter.RampDown => ("RDW", _channel.MaxRampVoltsPerSecond, "setup maxRampVoltsPerSecond"),
            _ => throw new ArgumentOutOfRangeException(nameof(parameter), parameter, "not a numeric setting"),
        };
        if (!double.IsFinite(value) || value < 0)
            throw new SetpointOutOfRangeException(Name, field, value, 0, "minimum");
        if (value > limit)
            throw new SetpointOutOfRangeException(Name, field, value, limit, limitName);
    }

    // ---------------------------------------------------------------------------------------------
    // Actions of the operator triggers (run inside the gate)
    // ---------------------------------------------------------------------------------------------

    private async Task SendSwitchOnAsync(double volts, Transition _)
    {
        await WriteSettingAsync(HvParameter.ISet, _currentLimit).ConfigureAwait(false);
        await WriteSettingAsync(HvParameter.RampUp, _rampUp).ConfigureAwait(false);
        await WriteSettingAsync(HvParameter.RampDown, _rampDown).ConfigureAwait(false);
        await WriteOnAsync(volts).ConfigureAwait(false);
        _targetVolts = volts;
        _operatorSet |= HvParameter.ISet | HvParameter.RampUp | HvParameter.RampDown | HvParameter.VSet | HvParameter.Power;
    }

    private async Task SendSwitchOffAsync(Transition _)
    {
        await WriteOffAsync().ConfigureAwait(false);
        _operatorSet |= HvParameter.Power;
    }

    private async Task SendVoltageAsync(double volts, Transition _)
    {
        await WriteVoltageAsync(volts).ConfigureAwait(false);
        _targetVolts = volts;
        _operatorSet |= HvParameter.VSet;
    }

    private async Task SendSettingAsync(OperatorSetting setting, Transition _)
    {
        await WriteSettingAsync(setting.Parameter, setting.Value).ConfigureAwait(false);
        Remember(setting.Parameter, setting.Value);
    }

    private async Task SendApplyAsync(Transition _)
    {
        var plan = Plan(_last);
        foreach (var d in plan)
        {
            if (d.Parameter == HvParameter.VSet)
            {
                await WriteVoltageAsync(d.InSetup).ConfigureAwait(false);
                _targetVolts = d.InSetup;
            }
            else
            {
                await WriteSettingAsync(d.Parameter, d.InSetup).ConfigureAwait(false);
            }
            Remember(d.Parameter, d.InSetup);
        }
        // Values already equal on the device are the setup's too: the operator's overrides are gone.
        _currentLimit = _channel.CurrentLimitMicroamps;
        _rampUp = _channel.RampUpVoltsPerSecond;
        _rampDown = _channel.RampDownVoltsPerSecond;
        _log.Information("HV {Channel}: setup applied, {Count} parameters written: {Parameters}",
            Name, plan.Count, string.Join(", ", plan.Select(d => d.Parameter)));
    }

    private void Remember(HvParameter parameter, double value)
    {
        switch (parameter)
        {
            case HvParameter.ISet: _currentLimit = value; break;
            case HvParameter.RampUp: _rampUp = value; break;
            case HvParameter.RampDown: _rampDown = value; break;
            case HvParameter.VSet: _targetVolts = value; break;
            default: throw new ArgumentOutOfRangeException(nameof(parameter), parameter, "not a numeric setting");
        }
        _operatorSet |= parameter;
    }

    // ---------------------------------------------------------------------------------------------
    // Writes (inside the gate); VSET and ON/OFF also record what the next readbacks must show
    // ---------------------------------------------------------------------------------------------

    private async Task WriteSettingAsync(HvParameter parameter, double value)
    {
        switch (parameter)
        {
            case HvParameter.ISet:
                await _hw.SetCurrentLimitAsync(value, _ct).ConfigureAwait(false);
                break;
            case HvParameter.RampUp:
                await _hw.SetRampUpAsync(value, _ct).ConfigureAwait(false);
                break;
            case HvParameter.RampDown:
                await _hw.SetRampDownAsync(value, _ct).ConfigureAwait(false);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(parameter), parameter, "not ISET, RUP or RDW");
        }
        _log.Information("HV {Channel}: {Parameter} {Value} sent", Name, parameter, value);
    }

    private async Task WriteVoltageAsync(double volts)
    {
        await _hw.SetVoltageAsync(volts, _ct).ConfigureAwait(false);
        _log.Information("HV {Channel}: VSET {Volts} V sent", Name, volts);
        double tolerance = VSetTolerance;
        Expect(HvParameter.VSet, string.Create(CultureInfo.InvariantCulture, $"VSET = {volts:0.0} V"), r => Math.Abs(r.VSet - volts) <= tolerance);
    }

    private async Task WriteOnAsync(double volts)
    {
        await WriteVoltageAsync(volts).ConfigureAwait(false);
        await _hw.SwitchOnAsync(_ct).ConfigureAwait(false);
        _log.Information("HV {Channel}: ON sent", Name);
        _wantOn = true;
        Expect(HvParameter.Power, "ON", r => r.Status.HasFlag(HvChannelStatus.On));
    }

    private async Task WriteOffAsync()
    {
        await _hw.SwitchOffAsync(_ct).ConfigureAwait(false);
        _log.Information("HV {Channel}: OFF sent", Name);
        _wantOn = false;
        Expect(HvParameter.Power, "OFF", r => !r.Status.HasFlag(HvChannelStatus.On));
    }

    // ---------------------------------------------------------------------------------------------
    // Push-back after a reconnect
    // ---------------------------------------------------------------------------------------------

    /// <summary>
    /// First readback after a reconnect: writes back, for this channel, only the parameters an operator set during this
    /// life (VSET, ISET, RUP, RDW; a switch-on counts as setting the values it wrote). ON/OFF is never pushed: the
    /// board may have been switched off for a reason while the host could not see it, so switching on stays an
    /// operator decision. Returns false when the board stopped answering (the channel then goes Disconnected).
    /// </summary>
    private async Task<bool> PushBackAsync(HvBoardReadback board)
    {
        var toPush = _operatorSet & (HvParameter.VSet | HvParameter.ISet | HvParameter.RampUp | HvParameter.RampDown);
        if (toPush == HvParameter.None)
        {
            _pushBackPending = false;
            return true;
        }
        if (board.LocalMode)
        {
            _log.Warning("HV {Channel}: board {Board} in LOCAL mode, operator settings not pushed back yet", Name, BoardName);
            return true;
        }
        try
        {
            if (toPush.HasFlag(HvParameter.ISet)) await WriteSettingAsync(HvParameter.ISet, _currentLimit).ConfigureAwait(false);
            if (toPush.HasFlag(HvParameter.RampUp)) await WriteSettingAsync(HvParameter.RampUp, _rampUp).ConfigureAwait(false);
            if (toPush.HasFlag(HvParameter.RampDown)) await WriteSettingAsync(HvParameter.RampDown, _rampDown).ConfigureAwait(false);
            if (toPush.HasFlag(HvParameter.VSet)) await WriteVoltageAsync(_targetVolts).ConfigureAwait(false);
            _log.Information("HV {Channel}: operator settings pushed back after reconnect: {Parameters}", Name, toPush);
            _pushBackPending = false;
            return true;
        }
        catch (DeviceException e) when (e is DeviceTimeoutException or TransportDisconnectedException)
        {
            _log.Warning(e, "HV {Channel}: board stopped answering while operator settings were pushed back", Name);
            await _machine.FireAsync(_pollFailed, e).ConfigureAwait(false);
            return false;
        }
        catch (DeviceException e)
        {
            // A refused value is reported once; the channel follows its readbacks anyway.
            _pushBackPending = false;
            _log.Error(e, "HV {Channel}: board refused the operator settings pushed back", Name);
            Raise(AlarmSeverity.Major, HvAlarmKind.SettingsRejected, $"board refused the operator settings pushed back after a reconnect: {e.Message}");
            return true;
        }
    }
}
