using NA64.Hardware.Hv.CaenN1470;

namespace NA64.Simulators.Hv.CaenN1470;

/// <summary>The numeric channel settings (the SET parameters with a number).</summary>
internal enum CaenSetting
{
    VSet,
    ISet,
    MaxV,
    RampUp,
    RampDown,
    Trip,
}

/// <summary>
/// One HV channel of a <see cref="CaenN1470BoardModel"/>: setpoints, output voltage, load current, trip timer
/// and latched flags. Every read first integrates the physics up to the present simulated time.
/// Setters return false when the value is outside the personality's range (the wire answers <c>VAL:ERR</c>).
/// </summary>
public sealed class CaenN1470Channel
{
    /// <summary>Flags that latch until ON or BDCLR once their cause is gone.</summary>
    [Flags]
    internal enum Latch
    {
        None = 0,
        Trip = 1,
        Kill = 2,
        Interlock = 4,
        Disabled = 8,
    }

    private const double Epsilon = 1e-9;

    private readonly CaenN1470BoardModel _board;
    private double _t;
    private double _volts;
    private bool _on;
    private double _overCurrentSeconds;
    private Latch _latched;
    private bool _disableSwitch;
    private double _injectedMicroamps;
    private double _voltageOffset;
    private double _vset;
    private double _iset;
    private double _maxv;
    private double _rampUp;
    private double _rampDown;
    private double _trip;
    private CaenPowerDownMode _powerDown = CaenPowerDownMode.Ramp;
    private CaenCurrentMonitorRange _range = CaenCurrentMonitorRange.High;
    private CaenN1470Load _load;

    internal CaenN1470Channel(CaenN1470BoardModel board, int index, char polarity, CaenN1470Load load)
    {
        _board = board;
        Index = index;
        Polarity = polarity;
        _load = load;
        var p = board.Personality;
        _iset = p.InitialCurrentLimit;
        _maxv = p.MaxVoltage.Max;
        _rampUp = p.InitialRampUp;
        _rampDown = p.InitialRampDown;
        _trip = p.InitialTrip;
    }

    public int Index { get; }

    internal CaenN1470BoardModel Board => _board;

    /// <summary>POL: '+' or '-', a hardware setting.</summary>
    public char Polarity { get; }

    /// <summary>The load model; may be replaced at run time (e.g. to raise the beam current).</summary>
    public CaenN1470Load Load
    {
        get => Read(() => _load);
        set
        {
            ArgumentNullException.ThrowIfNull(value);
            Write(() => _load = value);
        }
    }

    public double VSet => Read(() => _vset);

    public double ISet => Read(() => _iset);

    public double MaxV => Read(() => _maxv);

    public double RampUp => Read(() => _rampUp);

    public double RampDown => Read(() => _rampDown);

    public double TripTime => Read(() => _trip);

    public CaenPowerDownMode PowerDown => Read(() => _powerDown);

    public CaenCurrentMonitorRange CurrentRange => Read(() => _range);

    public bool IsOn => Read(() => _on);

    /// <summary>VMON, V (magnitude).</summary>
    public double VMon => Read(() => Math.Max(0, _volts + _voltageOffset));

    /// <summary>IMON, µA (held at ISET while the channel limits current).</summary>
    public double IMon => Read(() => MonitoredCurrentLocked());

    /// <summary>STAT (same bit values as the CAEN word).</summary>
    public CaenChannelStatus Status => Read(StatusLocked);

    /// <summary>VSET; false if outside VMIN..VMAX, or above MAXV with <see cref="CaenMaxVoltageBehaviour.RejectSetpoint"/>.</summary>
    public bool TrySetVSet(double volts) => TrySet(CaenSetting.VSet, volts);

    /// <summary>ISET, µA; false if outside IMIN..IMAX.</summary>
    public bool TrySetISet(double microamps) => TrySet(CaenSetting.ISet, microamps);

    /// <summary>MAXV, V; false if outside MVMIN..MVMAX.</summary>
    public bool TrySetMaxV(double volts) => TrySet(CaenSetting.MaxV, volts);

    /// <summary>RUP, V/s; false if outside RUPMIN..RUPMAX.</summary>
    public bool TrySetRampUp(double voltsPerSecond) => TrySet(CaenSetting.RampUp, voltsPerSecond);

    /// <summary>RDW, V/s; false if outside RDWMIN..RDWMAX.</summary>
    public bool TrySetRampDown(double voltsPerSecond) => TrySet(CaenSetting.RampDown, voltsPerSecond);

    /// <summary>TRIP, s; false if outside TRIPMIN..TRIPMAX.</summary>
    public bool TrySetTripTime(double seconds) => TrySet(CaenSetting.Trip, seconds);

    /// <summary>True if <see cref="TrySet"/> would accept the value now (lets a CH = N SET be all or nothing).</summary>
    internal bool Accepts(CaenSetting setting, double value)
    {
        var p = _board.Personality;
        lock (_board.Gate)
        {
            return setting switch
            {
                CaenSetting.VSet => p.Voltage.Contains(value) && (p.MaxVoltageBehaviour == CaenMaxVoltageBehaviour.ClipOutput || value <= _maxv),
                CaenSetting.ISet => p.Current.Contains(value),
                CaenSetting.MaxV => p.MaxVoltage.Contains(value),
                CaenSetting.RampUp => p.RampUp.Contains(value),
                CaenSetting.RampDown => p.RampDown.Contains(value),
                CaenSetting.Trip => p.Trip.Contains(value),
                _ => throw new ArgumentOutOfRangeException(nameof(setting), setting, "unknown setting"),
            };
        }
    }

    internal bool TrySet(CaenSetting setting, double value)
    {
        lock (_board.Gate)
        {
            if (!Accepts(setting, value))
            {
                return false;
            }

            _board.AdvanceLocked();
            switch (setting)
            {
                case CaenSetting.VSet: _vset = value; break;
                case CaenSetting.ISet: _iset = value; break;
                case CaenSetting.MaxV: _maxv = value; break;
                case CaenSetting.RampUp: _rampUp = value; break;
                case CaenSetting.RampDown: _rampDown = value; break;
                case CaenSetting.Trip: _trip = value; break;
            }

            return true;
        }
    }

    public void SetPowerDown(CaenPowerDownMode mode) => Write(() => _powerDown = mode);

    public void SetCurrentRange(CaenCurrentMonitorRange range) => Write(() => _range = range);

    /// <summary>ON: clears latched flags and switches on, unless KILL, interlock or DIS holds the channel off
    /// (then it stays off with the flag set; the wire still answers CMD:OK).</summary>
    public void SwitchOn()
    {
        lock (_board.Gate)
        {
            _board.AdvanceLocked();
            var cause = _board.BlockingCauseLocked(this);
            if (cause != Latch.None)
            {
                _latched |= cause;
                _board.Log.Information("HV channel {Channel} ON ignored, held off by {Cause}", Index, cause);
                return;
            }

            _latched = Latch.None;
            _board.SetChannelAlarmLocked(Index, false);
            _on = true;
            _overCurrentSeconds = 0;
            _board.Log.Information("HV channel {Channel} on, ramping to {Target} V", Index, TargetLocked());
        }
    }

    /// <summary>OFF following PDWN.</summary>
    public void SwitchOff()
    {
        lock (_board.Gate)
        {
            _board.AdvanceLocked();
            TurnOffLocked(_powerDown);
            _board.Log.Information("HV channel {Channel} off ({PowerDown})", Index, _powerDown);
        }
    }

    /// <summary>Backdoor: extra load current in µA from now on (0 removes it).</summary>
    public void InjectCurrent(double microamps) => Write(() => _injectedMicroamps = microamps);

    /// <summary>Backdoor: offset between the output and VMON, V (to show OVV/UNV).</summary>
    public void InjectVoltageOffset(double volts) => Write(() => _voltageOffset = volts);

    /// <summary>Backdoor: trip the channel now, as if the trip timer had expired.</summary>
    public void ForceTrip() => Write(TripLocked);

    /// <summary>Backdoor: the front-panel channel switch; OFF position disables the channel (DIS), following PDWN.</summary>
    public void SetDisableSwitch(bool disabled) => Write(() =>
    {
        _disableSwitch = disabled;
        if (disabled)
        {
            ForceOffLocked(Latch.Disabled, _powerDown);
        }
    });

    internal bool DisableSwitchLocked => _disableSwitch;

    internal void ClearLatchesLocked()
    {
        _latched &= _board.BlockingCauseLocked(this);
    }

    internal void ForceOffLocked(Latch cause, CaenPowerDownMode powerDown)
    {
        _latched |= cause;
        if (_on || powerDown == CaenPowerDownMode.Kill)
        {
            TurnOffLocked(powerDown);
        }
    }

    /// <summary>
    /// Integrates the channel up to <paramref name="now"/> (seconds since the board origin). Steps end exactly
    /// at a ramp end, a spill edge and the trip expiry; while ramping they are no longer than the personality's maximum.
    /// </summary>
    internal void IntegrateLocked(double now)
    {
        var maxStep = _board.Personality.MaxIntegrationStep.TotalSeconds;
        while (_t < now)
        {
            // Between spill edges a channel that is not ramping draws a constant current, so it can jump;
            // while ramping the current changes continuously and small steps find the OVC onset.
            var dt = now - _t;
            var target = TargetLocked();
            var gap = target - _volts;
            var rate = gap > 0 ? _rampUp : _rampDown;
            if (Math.Abs(gap) > Epsilon)
            {
                dt = Math.Min(dt, Math.Min(maxStep, Math.Abs(gap) / rate));
            }

            dt = Math.Min(dt, _board.Spill.TimeToNextEdge(_t));
            var overCurrent = OverCurrentLocked();
            if (overCurrent)
            {
                dt = Math.Min(dt, Math.Max(0, _trip - _overCurrentSeconds));
            }

            if (Math.Abs(gap) > Epsilon)
            {
                var step = rate * dt;
                _volts = step >= Math.Abs(gap) ? target : _volts + Math.CopySign(step, gap);
            }

            _t = dt >= now - _t ? now : _t + dt;
            if (!overCurrent)
            {
                _overCurrentSeconds = 0;
                continue;
            }

            _overCurrentSeconds += dt;
            if (_overCurrentSeconds >= _trip - Epsilon)
            {
                TripLocked();
            }
        }
    }

    private double TargetLocked() => _on ? Math.Min(_vset, _maxv) : 0;

    private double SlopeLocked()
    {
        var gap = TargetLocked() - _volts;
        if (Math.Abs(gap) <= Epsilon)
        {
            return 0;
        }

        return gap > 0 ? _rampUp : -_rampDown;
    }

    /// <summary>Current the load would draw at the present state, µA, before current limiting.</summary>
    private double LoadCurrentLocked()
    {
        // No output voltage, no load current (an injected short draws nothing at 0 V) except the charging term.
        var current = 0.0;
        if (_volts > Epsilon)
        {
            current += _injectedMicroamps + _load.LeakageMicroamps + (_volts / _load.ResistanceMegaohms);
            if (_vset > 0 && _board.Spill.InSpill(_t))
            {
                current += _load.BeamMicroamps * Math.Min(1, _volts / _vset);
            }
        }

        current += _load.CapacitanceNanofarads * SlopeLocked() / 1000.0;
        return Math.Max(0, current);
    }

    private bool OverCurrentLocked() => _on && LoadCurrentLocked() >= _iset;

    private double MonitoredCurrentLocked()
    {
        var current = LoadCurrentLocked();
        return _on ? Math.Min(current, _iset) : current;
    }

    private CaenChannelStatus StatusLocked()
    {
        var status = CaenChannelStatus.None;
        var slope = SlopeLocked();
        if (_on)
        {
            status |= CaenChannelStatus.On;
        }

        if (slope > 0)
        {
            status |= CaenChannelStatus.RampingUp;
        }
        else if (slope < 0)
        {
            status |= CaenChannelStatus.RampingDown;
        }

        if (OverCurrentLocked())
        {
            status |= CaenChannelStatus.OverCurrent;
        }

        if (_on && slope == 0)
        {
            var vmon = Math.Max(0, _volts + _voltageOffset);
            var target = TargetLocked();
            var window = _board.Personality.VoltageWindow;
            if (vmon > target + window)
            {
                status |= CaenChannelStatus.OverVoltage;
            }
            else if (vmon < target - window)
            {
                status |= CaenChannelStatus.UnderVoltage;
            }
        }

        if (_on && _vset > _maxv)
        {
            status |= CaenChannelStatus.MaxVoltage;
        }

        if ((_latched & Latch.Trip) != 0)
        {
            status |= CaenChannelStatus.Tripped;
        }

        if ((_latched & Latch.Disabled) != 0)
        {
            status |= CaenChannelStatus.Disabled;
        }

        if ((_latched & Latch.Kill) != 0)
        {
            status |= CaenChannelStatus.Killed;
        }

        if ((_latched & Latch.Interlock) != 0)
        {
            status |= CaenChannelStatus.Interlock;
        }

        return status;
    }

    private void TripLocked()
    {
        _board.Log.Warning("HV channel {Channel} tripped at {Current} uA (ISET {Limit} uA, after {Seconds} s)",
            Index, MonitoredCurrentLocked(), _iset, _overCurrentSeconds);
        _latched |= Latch.Trip;
        _board.SetChannelAlarmLocked(Index, true);
        TurnOffLocked(_powerDown);
    }

    private void TurnOffLocked(CaenPowerDownMode powerDown)
    {
        _on = false;
        _overCurrentSeconds = 0;
        if (powerDown == CaenPowerDownMode.Kill)
        {
            _volts = 0;
        }
    }

    private T Read<T>(Func<T> read)
    {
        lock (_board.Gate)
        {
            _board.AdvanceLocked();
            return read();
        }
    }

    private void Write(Action write)
    {
        lock (_board.Gate)
        {
            _board.AdvanceLocked();
            write();
        }
    }
}
