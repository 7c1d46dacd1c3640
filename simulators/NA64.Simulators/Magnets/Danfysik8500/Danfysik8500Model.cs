using NA64.Hardware.Magnets;
using NA64.Hardware.Magnets.Danfysik8500;
using Serilog;

namespace NA64.Simulators.Magnets.Danfysik8500;

/// <summary>
/// Physics and state of one Danfysik 8500 and its magnet (no bytes; <see cref="Danfysik8500Wire"/> is the protocol side).
/// The magnet is an inductive load kept here (the shared MagnetLoad helper was not in the tree when this was written):
/// with main power on the current follows the setpoint at the slew rate, never faster than the voltage compliance
/// allows, dI/dt = (V - I·R)/L; with power off it decays through the freewheel path with the time constant L/R.
/// Advanced lazily from the <see cref="TimeProvider"/> on every access; thread-safe through <see cref="Gate"/>.
/// Methods marked "backdoor" stand for the interlock inputs and the front panel; the wire never reaches them.
/// </summary>
public sealed class Danfysik8500Model
{
    /// <summary>Integration step while the current moves (compliance makes the rate depend on the current).</summary>
    private const double StepSeconds = 0.01;

    /// <summary>Conditions an interlock input can raise (the fault positions of S1, sum interlock excluded).</summary>
    public const Danfysik8500Conditions InterlockInputs = Danfysik8500Codec.FaultConditions & ~Danfysik8500Conditions.SumInterlock;

    private readonly TimeProvider _time;
    private readonly long _origin;
    private readonly Random _noise;
    private readonly ILogger _log;
    private double _lastSeconds;
    private double _amps;
    private double _volts;
    private bool _powerOn;
    private int _setpointPpm;
    private MagnetPolarity _polarity = MagnetPolarity.Normal;
    private Danfysik8500Conditions _persisting;
    private Danfysik8500Conditions _latched;
    private bool _remote;
    private bool _locked;

    public Danfysik8500Model(int address, TimeProvider time, Danfysik8500SimSettings? settings = null, ILogger? log = null)
    {
        if (address is < Danfysik8500Facts.MinAddress or > Danfysik8500Facts.MaxAddress)
        {
            throw new ArgumentOutOfRangeException(nameof(address), address,
                $"address is {address}; a Danfysik 8500 address is {Danfysik8500Facts.MinAddress} to {Danfysik8500Facts.MaxAddress}.");
        }

        ArgumentNullException.ThrowIfNull(time);
        Settings = settings ?? Danfysik8500SimSettings.Default;
        Settings.Validate();
        Address = address;
        _time = time;
        _origin = time.GetTimestamp();
        _noise = new Random(Settings.NoiseSeed);
        _log = (log ?? Serilog.Core.Logger.None).ForContext<Danfysik8500Model>().ForContext("Unit", address);
    }

    public int Address { get; }

    public Danfysik8500SimSettings Settings { get; }

    /// <summary>Held by the wire for one whole request, so a reply is consistent.</summary>
    public Lock Gate { get; } = new();

    public bool PowerOn => Read(() => _powerOn);

    public int SetpointPpm => Read(() => _setpointPpm);

    public double SetpointAmps => Read(() => SetpointAmpsLocked);

    public MagnetPolarity Polarity => Read(() => _polarity);

    /// <summary>True current through the magnet (magnitude; the polarity switch gives the direction), A.</summary>
    public double Amps => Read(() => _amps);

    /// <summary>True output voltage (magnitude), V: I·R plus L·dI/dt while slewing.</summary>
    public double Volts => Read(() => _volts);

    /// <summary>Remote control selected (<c>REM</c>); directives are refused in local.</summary>
    public bool Remote => Read(() => _remote);

    /// <summary>Locked in local (<c>LOCK</c>): <c>REM</c> is refused until <c>UNLOCK</c>.</summary>
    public bool LockedLocal => Read(() => _locked);

    /// <summary>Interlock inputs active right now.</summary>
    public Danfysik8500Conditions PersistingInterlocks => Read(() => _persisting);

    /// <summary>Interlocks latched until <c>RS</c> (every persisting one is latched too).</summary>
    public Danfysik8500Conditions LatchedInterlocks => Read(() => _latched);

    /// <summary>The S1 conditions now (what position by position the status string shows).</summary>
    public Danfysik8500Conditions Conditions => Read(() => ConditionsLocked);

    private double SetpointAmpsLocked => _setpointPpm / (double)Danfysik8500Facts.FullScalePpm * Settings.FullScaleAmps;

    internal Danfysik8500Conditions ConditionsLocked
    {
        get
        {
            AdvanceLocked();
            var c = _latched | _persisting;
            if (c != Danfysik8500Conditions.None)
            {
                c |= Danfysik8500Conditions.SumInterlock;
            }

            if (!_powerOn)
            {
                // The ISIS example shows "not ready" (23) with main power off.
                c |= Danfysik8500Conditions.MainPowerOff | Danfysik8500Conditions.MpsNotReady;
            }

            c |= _polarity == MagnetPolarity.Normal ? Danfysik8500Conditions.PolarityNormal : Danfysik8500Conditions.PolarityReversed;
            return c;
        }
    }

    /// <summary><c>N</c>: refused (false) while an interlock is latched or persists.</summary>
    internal bool TryPowerOnLocked()
    {
        AdvanceLocked();
        if ((_latched | _persisting) != Danfysik8500Conditions.None)
        {
            return false;
        }

        _powerOn = true;
        return true;
    }

    /// <summary><c>F</c>.</summary>
    internal void PowerOffLocked()
    {
        AdvanceLocked();
        _powerOn = false;
    }

    /// <summary><c>RS</c>: clears the latches whose cause is gone; the output stays as it is.</summary>
    internal void ResetLocked()
    {
        AdvanceLocked();
        _latched = _persisting;
    }

    /// <summary><c>WA</c>: the setpoint DAC, ppm of full scale (the wire checks the range).</summary>
    internal void SetSetpointLocked(int ppm)
    {
        AdvanceLocked();
        _setpointPpm = ppm;
    }

    /// <summary><c>PO +</c>/<c>PO -</c>: refused (false) while current flows.</summary>
    internal bool TrySetPolarityLocked(MagnetPolarity polarity)
    {
        AdvanceLocked();
        if (_amps > Settings.PolarityZeroAmps)
        {
            return false;
        }

        _polarity = polarity;
        return true;
    }

    internal void SetRemoteLocked(bool remote) => _remote = remote;

    internal bool RemoteLocked => _remote;

    internal bool LockedLocalLocked => _locked;

    internal int SetpointPpmLocked => _setpointPpm;

    internal MagnetPolarity PolarityLocked => _polarity;

    internal void SetLockedLocal(bool locked) => _locked = locked;

    /// <summary><c>AD 8</c>: the current ADC, raw counts with seeded noise, never below 0.</summary>
    internal int CurrentCountsLocked()
    {
        AdvanceLocked();
        return Counts(_amps / Settings.AmpsPerCurrentCount);
    }

    /// <summary><c>AD 2</c>: the voltage ADC, raw counts with seeded noise, never below 0.</summary>
    internal int VoltageCountsLocked()
    {
        AdvanceLocked();
        return Counts(_volts / Settings.VoltsPerVoltageCount);
    }

    /// <summary>Backdoor: an interlock input goes active: main power drops and the condition latches until <c>RS</c>.</summary>
    public void RaiseInterlock(Danfysik8500Conditions condition)
    {
        CheckInterlock(condition);
        lock (Gate)
        {
            AdvanceLocked();
            _persisting |= condition;
            _latched |= condition;
            if (_powerOn)
            {
                _log.Warning("Danfysik 8500 {Unit} interlock {Condition}: main power off at {Amps} A", Address, condition, _amps);
            }

            _powerOn = false;
        }
    }

    /// <summary>Backdoor: an interlock input goes inactive; the latch stays until <c>RS</c>.</summary>
    public void ClearInterlock(Danfysik8500Conditions condition)
    {
        CheckInterlock(condition);
        lock (Gate)
        {
            AdvanceLocked();
            _persisting &= ~condition;
        }
    }

    /// <summary>Backdoor: the front panel takes control (local) or gives it back.</summary>
    public void SetLocal(bool local)
    {
        lock (Gate)
        {
            _remote = !local;
        }
    }

    /// <summary>Backdoor: a unit found on at the start (main power on, setpoint reached).</summary>
    public void StartOn(int ppm, MagnetPolarity polarity = MagnetPolarity.Normal)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(ppm);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(ppm, Danfysik8500Facts.FullScalePpm);
        lock (Gate)
        {
            AdvanceLocked();
            _setpointPpm = ppm;
            _polarity = polarity;
            _powerOn = true;
            _amps = SetpointAmpsLocked;
            _volts = _amps * Settings.ResistanceOhms;
        }
    }

    private static void CheckInterlock(Danfysik8500Conditions condition)
    {
        if (condition == Danfysik8500Conditions.None || (condition & ~InterlockInputs) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(condition), condition,
                $"condition is {condition}; an interlock input is one or more of {InterlockInputs}");
        }
    }

    private T Read<T>(Func<T> read)
    {
        lock (Gate)
        {
            AdvanceLocked();
            return read();
        }
    }

    private int Counts(double exact)
    {
        // Box-Muller: a normal deviate from two uniform ones of the seeded generator.
        var u1 = 1.0 - _noise.NextDouble();
        var u2 = _noise.NextDouble();
        var gauss = Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
        return (int)Math.Max(0, Math.Round(exact + gauss * Settings.NoiseCounts, MidpointRounding.AwayFromZero));
    }

    /// <summary>Brings the current to the present simulated time.</summary>
    internal void AdvanceLocked()
    {
        var now = _time.GetElapsedTime(_origin).TotalSeconds;
        var dt = now - _lastSeconds;
        _lastSeconds = now;
        var s = Settings;
        while (dt > 0)
        {
            if (!_powerOn)
            {
                // Freewheel: no drive, the stored energy decays through the magnet's resistance.
                _amps *= Math.Exp(-s.ResistanceOhms / s.InductanceHenries * dt);
                if (_amps < 1e-6)
                {
                    _amps = 0;
                }

                _volts = 0;
                return;
            }

            var target = SetpointAmpsLocked;
            var diff = target - _amps;
            if (Math.Abs(diff) < 1e-9)
            {
                _amps = target;
                _volts = _amps * s.ResistanceOhms;
                return;
            }

            var ir = _amps * s.ResistanceOhms;
            var rate = diff > 0
                ? Math.Min(s.SlewAmpsPerSecond, (s.ComplianceVolts - ir) / s.InductanceHenries)
                : -Math.Min(s.SlewAmpsPerSecond, (s.ComplianceVolts + ir) / s.InductanceHenries);
            var h = Math.Min(dt, StepSeconds);
            if (Math.Abs(rate * h) >= Math.Abs(diff))
            {
                dt -= diff / rate;
                _amps = target;
                _volts = Math.Abs(_amps * s.ResistanceOhms);
                continue;
            }

            _amps += rate * h;
            _volts = Math.Abs(ir + s.InductanceHenries * rate);
            dt -= h;
        }
    }
}
