using System.Globalization;
using NA64.Hardware.Magnets.Genesys;
using Serilog;

namespace NA64.Simulators.Magnets.Genesys;

/// <summary>Who has control of the unit: <c>RMT 0|1|2</c>, <c>RMT?</c> = LOC, REM, LLO.</summary>
public enum GenesysRemoteMode
{
    Local,
    Remote,
    LocalLockout,
}

/// <summary>
/// State and physics of one TDK-Lambda Genesys unit driving a magnet (no bytes; <see cref="GenesysWire"/> is the
/// protocol side). Advanced lazily and exactly from the <see cref="TimeProvider"/> on every access; thread-safe under
/// <see cref="Gate"/>. Settings return null when accepted, else the error code the unit answers (device-protocols.md §3.2).
/// Methods marked "backdoor" stand for the front panel, the rear-panel inputs, the mains and the temperature; they are
/// never reachable through the wire protocol.
/// </summary>
public sealed class GenesysUnitModel
{
    private readonly TimeProvider _time;
    private readonly ILogger _log;
    private long _lastTimestamp;
    private string _pvText = "0.00";
    private double _pv;
    private double _pc;
    private double _ovp;
    private double _uvl;
    private bool _foldback;
    private bool _autoRestart;
    private bool _output;
    private bool _frontPanelLocal;
    private GenesysRemoteMode _remote = GenesysRemoteMode.Remote;
    private GenesysFault _conditions;
    private GenesysFault _latched;
    private GenesysStatus _previousStatus;
    private GenesysFault _previousFault;
    private GenesysStatus _statusEvents;
    private GenesysFault _faultEvents;
    private int _statusEnable;
    private int _faultEnable;
    private bool _srqPending;
    private bool _restoreOutput;
    private (string PvText, double Pv, double Pc, double Ovp, double Uvl, bool Fld, bool Ast)? _saved;

    /// <param name="address">unit address on the line, 0..30.</param>
    /// <param name="model">the model and its ratings (<see cref="GenesysFacts.ParseModel"/>).</param>
    /// <param name="load">the magnet; a bench dipole (0.5 H, 0.01 ohm) when null.</param>
    public GenesysUnitModel(int address, GenesysModel model, TimeProvider time, MagnetLoad? load = null, ILogger? log = null)
    {
        if (address is < GenesysFacts.MinAddress or > GenesysFacts.MaxAddress)
        {
            throw new ArgumentOutOfRangeException(nameof(address), address, $"address is {address}; a Genesys line has addresses {GenesysFacts.MinAddress} to {GenesysFacts.MaxAddress}.");
        }

        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(time);
        Address = address;
        Model = model;
        _time = time;
        Load = load ?? MagnetLoad.BenchDipole(seed: address + 1);
        _log = (log ?? Serilog.Core.Logger.None).ForContext<GenesysUnitModel>().ForContext("Unit", address);
        _lastTimestamp = time.GetTimestamp();
        _ovp = OvpMaximum;
        _previousStatus = ComputeStatus();
    }

    public int Address { get; }

    public GenesysModel Model { get; }

    public MagnetLoad Load { get; }

    /// <summary>Held by the wire around one command so that a command sees one consistent instant.</summary>
    public Lock Gate { get; } = new();

    /// <summary>Highest OVP (also what OVM and RST set): 110 % of the rated voltage (our choice from the manual's OVP range).</summary>
    public double OvpMaximum => Model.RatedVolts * 1.10;

    public string PvText { get { lock (Gate) { return _pvText; } } }

    public double Pv { get { lock (Gate) { return _pv; } } }

    public double Pc { get { lock (Gate) { return _pc; } } }

    public double Ovp { get { lock (Gate) { return _ovp; } } }

    public double Uvl { get { lock (Gate) { return _uvl; } } }

    public bool Foldback { get { lock (Gate) { return _foldback; } } }

    public bool AutoRestart { get { lock (Gate) { return _autoRestart; } } }

    public GenesysRemoteMode RemoteMode { get { lock (Gate) { return _remote; } } }

    public bool OutputOn { get { lock (Gate) { Advance(); return _output; } } }

    /// <summary>True current through the magnet (no noise).</summary>
    public double Amps { get { lock (Gate) { Advance(); return Load.Amps; } } }

    public double MeasuredAmps { get { lock (Gate) { Advance(); return Load.MeasureAmps(); } } }

    public double MeasuredVolts { get { lock (Gate) { Advance(); return Load.Volts; } } }

    public GenesysMode Mode { get { lock (Gate) { Advance(); return ModeLocked(); } } }

    public GenesysStatus StatusCondition { get { lock (Gate) { Advance(); return ComputeStatus(); } } }

    public GenesysFault FaultCondition { get { lock (Gate) { Advance(); return _conditions | _latched; } } }

    public int StatusEnable { get { lock (Gate) { return _statusEnable; } } }

    public int FaultEnable { get { lock (Gate) { return _faultEnable; } } }

    /// <summary>Reads and clears the status event register (clear-on-read, as assumed in §3.4).</summary>
    public GenesysStatus TakeStatusEvents()
    {
        lock (Gate)
        {
            Advance();
            var events = _statusEvents;
            _statusEvents = GenesysStatus.None;
            return events;
        }
    }

    /// <summary>Reads and clears the fault event register.</summary>
    public GenesysFault TakeFaultEvents()
    {
        lock (Gate)
        {
            Advance();
            var events = _faultEvents;
            _faultEvents = GenesysFault.None;
            return events;
        }
    }

    /// <summary>True once after each 0 → non-zero transition of the enabled status events (the wire then sends <c>!nn</c>).</summary>
    public bool TakeServiceRequest()
    {
        lock (Gate)
        {
            Advance();
            var pending = _srqPending;
            _srqPending = false;
            return pending;
        }
    }

    /// <summary>Setting commands are refused while the front panel holds the unit local (backdoor <see cref="SetFrontPanelLocal"/>).</summary>
    public bool AcceptsSettings { get { lock (Gate) { return !_frontPanelLocal && _remote != GenesysRemoteMode.Local; } } }

    public string? SetPv(string text, double volts)
    {
        lock (Gate)
        {
            Advance();
            if (volts > Model.RatedVolts * GenesysFacts.ProgrammingHeadroom || volts > _ovp * 0.95)
            {
                return "E01";
            }

            if (volts < _uvl * GenesysFacts.ProgrammingHeadroom && !(volts == 0 && _uvl == 0))
            {
                return "E02";
            }

            _pvText = text;
            _pv = volts;
            Changed();
            return null;
        }
    }

    public string? SetPc(double amps)
    {
        lock (Gate)
        {
            Advance();
            if (amps < 0 || amps > Model.RatedAmps * GenesysFacts.ProgrammingHeadroom)
            {
                return "C05";
            }

            _pc = amps;
            Changed();
            return null;
        }
    }

    public string? SetOvp(double volts)
    {
        lock (Gate)
        {
            Advance();
            if (volts < Model.RatedVolts * 0.05 || volts > OvpMaximum)
            {
                return "C05";
            }

            if (volts < _pv * GenesysFacts.ProgrammingHeadroom)
            {
                return "E04";
            }

            _ovp = volts;
            Changed();
            return null;
        }
    }

    public void SetOvpMaximum()
    {
        lock (Gate)
        {
            Advance();
            _ovp = OvpMaximum;
        }
    }

    public string? SetUvl(double volts)
    {
        lock (Gate)
        {
            Advance();
            if (volts < 0 || volts > Model.RatedVolts * 0.95)
            {
                return "C05";
            }

            if (volts > 0 && volts * GenesysFacts.ProgrammingHeadroom > _pv)
            {
                return "E06";
            }

            _uvl = volts;
            Changed();
            return null;
        }
    }

    public void SetFoldback(bool on)
    {
        lock (Gate)
        {
            Advance();
            _foldback = on;
            Changed();
        }
    }

    public void SetAutoRestart(bool on)
    {
        lock (Gate)
        {
            Advance();
            _autoRestart = on;
            Changed();
        }
    }

    /// <summary><c>OUT 1</c>: E07 while a shutdown fault persists. <c>OUT 0</c> also clears a latched OVP or foldback trip.</summary>
    public string? SetOutput(bool on)
    {
        lock (Gate)
        {
            Advance();
            if (on && ((_conditions | _latched) & GenesysProtocol.ShutdownFaults) != 0)
            {
                return "E07";
            }

            _output = on;
            _conditions &= ~GenesysFault.FrontPanelOff;
            if (!on)
            {
                _latched = GenesysFault.None;
            }

            Changed();
            _log.Information("Genesys {Unit} output {State}", Address, on ? "on" : "off");
            return null;
        }
    }

    public string? SetRemote(GenesysRemoteMode mode)
    {
        lock (Gate)
        {
            Advance();
            if (_frontPanelLocal && mode != GenesysRemoteMode.Local)
            {
                return "C03";
            }

            _remote = mode;
            Changed();
            return null;
        }
    }

    public void SetStatusEnable(int mask)
    {
        lock (Gate)
        {
            Advance();
            _statusEnable = mask & 0xFF;
            Changed();
        }
    }

    public void SetFaultEnable(int mask)
    {
        lock (Gate)
        {
            Advance();
            _faultEnable = mask & 0xFF;
        }
    }

    /// <summary><c>CLS</c>: clears both event registers (conditions stay).</summary>
    public void ClearEvents()
    {
        lock (Gate)
        {
            Advance();
            _statusEvents = GenesysStatus.None;
            _faultEvents = GenesysFault.None;
        }
    }

    /// <summary><c>RST</c>: output off, PV 0, PC 0, OVP maximum, UVL 0, foldback and auto-restart off, trips and events cleared.</summary>
    public void Reset()
    {
        lock (Gate)
        {
            Advance();
            _output = false;
            _pvText = "0.00";
            _pv = 0;
            _pc = 0;
            _ovp = OvpMaximum;
            _uvl = 0;
            _foldback = false;
            _autoRestart = false;
            _latched = GenesysFault.None;
            _statusEvents = GenesysStatus.None;
            _faultEvents = GenesysFault.None;
            Changed();
            _log.Information("Genesys {Unit} reset to the safe state", Address);
        }
    }

    public void Save()
    {
        lock (Gate)
        {
            _saved = (_pvText, _pv, _pc, _ovp, _uvl, _foldback, _autoRestart);
        }
    }

    public void Recall()
    {
        lock (Gate)
        {
            Advance();
            if (_saved is { } s)
            {
                (_pvText, _pv, _pc, _ovp, _uvl, _foldback, _autoRestart) = s;
                Changed();
            }
        }
    }

    /// <summary>Backdoor: mains lost (true) or back (false). Back with auto-restart on, the output returns as it was.</summary>
    public void SetAcFailure(bool failed) => SetCondition(GenesysFault.AcFailure, failed, restoreWithAutoRestart: true);

    /// <summary>Backdoor: over-temperature (true) or cooled down (false). The output stays off afterwards.</summary>
    public void SetOverTemperature(bool hot) => SetCondition(GenesysFault.OverTemperature, hot, restoreWithAutoRestart: false);

    /// <summary>Backdoor: rear-panel enable input open (true) or closed (false). The output stays off afterwards.</summary>
    public void SetEnableOpen(bool open) => SetCondition(GenesysFault.EnableOpen, open, restoreWithAutoRestart: false);

    /// <summary>Backdoor: rear-panel shut-off asserted (true) or released (false).</summary>
    public void SetShutOff(bool asserted) => SetCondition(GenesysFault.ShutOff, asserted, restoreWithAutoRestart: false);

    /// <summary>Backdoor: over-voltage protection trip (latched until <c>OUT 0</c> or <c>RST</c>).</summary>
    public void TripOverVoltage()
    {
        lock (Gate)
        {
            Advance();
            _latched |= GenesysFault.OverVoltage;
            _output = false;
            Changed();
        }
    }

    /// <summary>Backdoor: the operator presses OUT on the front panel: output off, fault bit OFF until the next <c>OUT 1</c>.</summary>
    public void FrontPanelOutputOff()
    {
        lock (Gate)
        {
            Advance();
            _output = false;
            _conditions |= GenesysFault.FrontPanelOff;
            Changed();
        }
    }

    /// <summary>Backdoor: the operator takes the unit local on the front panel (true) or gives it back (false). Not in local lockout.</summary>
    public void SetFrontPanelLocal(bool local)
    {
        lock (Gate)
        {
            Advance();
            if (local && _remote == GenesysRemoteMode.LocalLockout)
            {
                return;
            }

            _frontPanelLocal = local;
            Changed();
        }
    }

    private void SetCondition(GenesysFault bit, bool active, bool restoreWithAutoRestart)
    {
        lock (Gate)
        {
            Advance();
            if (active)
            {
                if ((_conditions & bit) == 0)
                {
                    _restoreOutput = _output;
                }

                _conditions |= bit;
                _output = false;
            }
            else
            {
                _conditions &= ~bit;
                if (restoreWithAutoRestart && _autoRestart && _restoreOutput && ((_conditions | _latched) & GenesysProtocol.ShutdownFaults) == 0)
                {
                    _output = true;
                }
            }

            Changed();
            _log.Information("Genesys {Unit} {Fault} {State}", Address, bit.ToString(), active ? "active" : "cleared");
        }
    }

    private GenesysMode ModeLocked() =>
        !_output ? GenesysMode.Off : Load.Regulating ? GenesysMode.ConstantCurrent : GenesysMode.ConstantVoltage;

    private GenesysStatus ComputeStatus()
    {
        var status = GenesysStatus.None;
        var mode = ModeLocked();
        if (mode == GenesysMode.ConstantVoltage)
        {
            status |= GenesysStatus.ConstantVoltage;
        }

        if (mode == GenesysMode.ConstantCurrent)
        {
            status |= GenesysStatus.ConstantCurrent;
        }

        status |= (_conditions | _latched) == GenesysFault.None ? GenesysStatus.NoFault : GenesysStatus.Fault;
        if (_autoRestart)
        {
            status |= GenesysStatus.AutoRestart;
        }

        if (_foldback)
        {
            status |= GenesysStatus.FoldbackEnabled;
        }

        if (_frontPanelLocal || _remote == GenesysRemoteMode.Local)
        {
            status |= GenesysStatus.Local;
        }

        return status;
    }

    /// <summary>Moves the load to now, trips foldback on entering CC, then latches register events.</summary>
    private void Advance()
    {
        var now = _time.GetTimestamp();
        var seconds = _time.GetElapsedTime(_lastTimestamp, now).TotalSeconds;
        _lastTimestamp = now;
        if (seconds > 0)
        {
            Load.Advance(seconds, _output, _pc, _pv);
        }

        if (_foldback && _output && Load.Regulating)
        {
            _output = false;
            _latched |= GenesysFault.Foldback;
            _log.Information("Genesys {Unit} foldback trip on entering CC", Address);
        }

        Changed();
    }

    /// <summary>Latches the rising edges of both registers and raises SRQ on a 0 → non-zero transition of the enabled status events.</summary>
    private void Changed()
    {
        // The load's mode follows the settings at once (no time passes): a step of 0 s re-evaluates it.
        Load.Advance(0, _output, _pc, _pv);
        var status = ComputeStatus();
        var fault = _conditions | _latched;
        var enabledBefore = (int)_statusEvents & _statusEnable;
        _statusEvents |= status & ~_previousStatus;
        _faultEvents |= fault & ~_previousFault;
        _previousStatus = status;
        _previousFault = fault;
        if (enabledBefore == 0 && ((int)_statusEvents & _statusEnable) != 0)
        {
            _srqPending = true;
        }
    }

    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"Genesys {Model} at {Address}");
}
