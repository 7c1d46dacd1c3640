using NA64.Hardware.Magnets.BeamLine;
using NA64.Simulators.Physics;

namespace NA64.Simulators.Magnets.BeamLine;

/// <summary>One simulated converter circuit and the magnets it feeds in series.</summary>
/// <param name="SlewAmpsPerSecond">How fast the converter moves the current (real ramp rates unknown, §5.1).</param>
/// <param name="StandbyAmps">Current held in STANDBY (level unverified, §5.3).</param>
/// <param name="ToleranceAmps">Settle band: |I_meas - I_ref| within it in ON is "in reference".</param>
/// <param name="NoiseAmps">Standard deviation of the I_meas noise while the converter runs.</param>
/// <param name="DischargeAmpsPerSecond">How fast the current falls when the converter is off or tripped.</param>
/// <param name="MaxAmps">The converter's own rating: an I_ref above it is denied by the gateway.</param>
public sealed record BeamLineCircuitOptions(
    string Name,
    IReadOnlyList<string> Elements,
    double SlewAmpsPerSecond = 10,
    double StandbyAmps = 20,
    double ToleranceAmps = 0.5,
    double NoiseAmps = 0.05,
    double DischargeAmpsPerSecond = 200,
    double MaxAmps = 1000)
{
    /// <summary>The NA64 spectrometer: MBPL1 and MBPL2 in series.</summary>
    public static BeamLineCircuitOptions Mbpl { get; } = new(BeamLineFacts.MbplCircuit, BeamLineFacts.MbplElements);

    public void Validate()
    {
        if (!BeamLineProtocol.IsName(Name) || Elements.Count == 0 || Elements.Any(e => !BeamLineProtocol.IsName(e)))
        {
            throw new ArgumentException($"Circuit '{Name}' with elements '{string.Join(",", Elements)}': names must be 1 to 64 of A-Z a-z 0-9 . _ - and at least one element");
        }

        foreach (var (field, value) in new[] { ("SlewAmpsPerSecond", SlewAmpsPerSecond), ("ToleranceAmps", ToleranceAmps), ("DischargeAmpsPerSecond", DischargeAmpsPerSecond), ("MaxAmps", MaxAmps) })
        {
            if (!double.IsFinite(value) || value <= 0)
            {
                throw new ArgumentOutOfRangeException(field, value, $"{Name}: {field} is {value}; it must be greater than 0");
            }
        }

        if (!double.IsFinite(StandbyAmps) || StandbyAmps < 0 || StandbyAmps > MaxAmps || !double.IsFinite(NoiseAmps) || NoiseAmps < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(StandbyAmps), StandbyAmps, $"{Name}: StandbyAmps must be 0..MaxAmps and NoiseAmps 0 or more");
        }
    }
}

/// <summary>What the gateway publishes for a circuit at one SPS cycle boundary.</summary>
public sealed record BeamLineSnapshot(
    BeamLineState State, double RefAmps, double MeasuredAmps, bool InReference, long Cycle, DateTimeOffset Timestamp,
    string? BeamFile, string? FaultCause);

/// <summary>
/// A converter circuit (device-protocols.md §5.3): OFF, STANDBY, ON, FAULT with the documented transitions; the current
/// slews at a configured rate; I_meas carries seeded noise. The physics runs continuously on the
/// <see cref="TimeProvider"/>, but what the gateway shows (<see cref="Published"/>) is refreshed only at SPS cycle
/// boundaries, as CESAR's status is. Backdoor faults: trip, water, over-temperature, communication loss, drift.
/// </summary>
public sealed class BeamLineCircuitModel
{
    private readonly TimeProvider _time;
    private readonly TimeSpan _period;
    private readonly DateTimeOffset _origin;
    private readonly Random _noise;
    private readonly Lock _gate = new();
    private DateTimeOffset _physicsTime;
    private long _cycle;
    private BeamLineState _state = BeamLineState.Off;
    private double _refAmps;
    private double _amps;
    private double _drift;
    private string? _latchedCause;
    private bool _water;
    private bool _overTemperature;
    private bool _communicationLost;
    private string? _beamFile;
    private BeamLineSnapshot _published;

    /// <param name="cycle">Only its <see cref="SpillCycle.Period"/> is used: one read-back refresh per SPS cycle.</param>
    public BeamLineCircuitModel(BeamLineCircuitOptions options, TimeProvider time, SpillCycle cycle, int seed = 64)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(cycle);
        options.Validate();
        cycle.Validate();
        Options = options;
        _time = time;
        _period = cycle.Period;
        _origin = _physicsTime = time.GetUtcNow();
        _noise = new Random(seed);
        _published = Snapshot(_origin);
    }

    public BeamLineCircuitOptions Options { get; }

    public string Name => Options.Name;

    /// <summary>The converter's true state now (the gateway shows it only from the next cycle on).</summary>
    public BeamLineState State
    {
        get
        {
            lock (_gate)
            {
                Update();
                return _state;
            }
        }
    }

    public double RefAmps
    {
        get
        {
            lock (_gate)
            {
                return _refAmps;
            }
        }
    }

    /// <summary>The true current now (no noise, no drift).</summary>
    public double Amps
    {
        get
        {
            lock (_gate)
            {
                Update();
                return _amps;
            }
        }
    }

    /// <summary>The read-back of the last SPS cycle boundary (frozen while communication is lost).</summary>
    public BeamLineSnapshot Published
    {
        get
        {
            lock (_gate)
            {
                Update();
                return _published;
            }
        }
    }

    /// <summary>New I_ref; null when done, else why the converter refuses (FAULT, above its rating).</summary>
    public string? TrySetCurrent(double amps) => Change(() =>
        _state == BeamLineState.Fault ? $"{Name} is in FAULT ({_latchedCause}): reset first"
        : !double.IsFinite(amps) || amps < 0 || amps > Options.MaxAmps ? $"I_ref {Format(amps)} A is outside the converter's 0..{Format(Options.MaxAmps)} A"
        : Do(() => _refAmps = amps));

    public string? TryStandby() => Change(() => _state switch
    {
        BeamLineState.Fault => $"{Name} is in FAULT ({_latchedCause}): reset first",
        _ => Do(() => _state = BeamLineState.Standby),
    });

    public string? TryOn() => Change(() => _state switch
    {
        BeamLineState.Standby or BeamLineState.On => Do(() => _state = BeamLineState.On),
        BeamLineState.Off => $"{Name} is OFF: STANDBY first, then ON",
        _ => $"{Name} is in FAULT ({_latchedCause}): reset first",
    });

    public string? TryOff() => Change(() => _state switch
    {
        BeamLineState.Fault => $"{Name} is in FAULT ({_latchedCause}): reset first",
        _ => Do(() => _state = BeamLineState.Off),
    });

    /// <summary>FAULT to OFF, refused while a cause (water, over-temperature) persists; a no-op in any other state.</summary>
    public string? TryReset() => Change(() =>
        _state != BeamLineState.Fault ? null
        : ActiveCause() is { } cause ? $"{Name}: fault cause {cause} persists, reset refused"
        : Do(() =>
        {
            _state = BeamLineState.Off;
            _latchedCause = null;
        }));

    /// <summary>Backdoor: converter trip (latched; nothing persists, so a Reset clears it).</summary>
    public void Trip() => Fault(BeamLineFacts.Causes.Trip);

    /// <summary>Backdoor: magnet cooling water flow lost (true) or back (false); the FAULT stays latched until Reset.</summary>
    public void SetWaterFault(bool active)
    {
        lock (_gate)
        {
            Update();
            _water = active;
            if (active)
            {
                Latch(BeamLineFacts.Causes.Water);
            }
        }
    }

    /// <summary>Backdoor: magnet over-temperature (true) or cooled down (false).</summary>
    public void SetOverTemperature(bool active)
    {
        lock (_gate)
        {
            Update();
            _overTemperature = active;
            if (active)
            {
                Latch(BeamLineFacts.Causes.OverTemperature);
            }
        }
    }

    /// <summary>Backdoor: the gateway loses its source: the published read-back (cycle, timestamp) stops advancing.</summary>
    public void SetCommunicationLost(bool lost)
    {
        lock (_gate)
        {
            Update();
            _communicationLost = lost;
        }
    }

    /// <summary>Backdoor: the regulation holds the current off I_ref by this many amperes (out of reference in ON).</summary>
    public void SetDrift(double amps)
    {
        lock (_gate)
        {
            Update();
            _drift = amps;
        }
    }

    /// <summary>Clears every backdoor cause (a latched FAULT still needs a Reset).</summary>
    public void ClearFaults()
    {
        lock (_gate)
        {
            Update();
            _water = _overTemperature = _communicationLost = false;
            _drift = 0;
        }
    }

    internal void SetBeamFile(string name, double amps)
    {
        lock (_gate)
        {
            Update();
            _refAmps = amps;
            _beamFile = name;
        }
    }

    internal string? CanTake(double amps)
    {
        lock (_gate)
        {
            Update();
            return _state == BeamLineState.Fault ? $"{Name} is in FAULT ({_latchedCause}): reset first"
                : amps < 0 || amps > Options.MaxAmps ? $"{Name}: I_ref {Format(amps)} A is outside the converter's 0..{Format(Options.MaxAmps)} A"
                : null;
        }
    }

    private void Fault(string cause)
    {
        lock (_gate)
        {
            Update();
            Latch(cause);
        }
    }

    private void Latch(string cause)
    {
        _state = BeamLineState.Fault;
        _latchedCause ??= cause;
    }

    private string? ActiveCause() =>
        _water ? BeamLineFacts.Causes.Water : _overTemperature ? BeamLineFacts.Causes.OverTemperature : null;

    private string? Change(Func<string?> change)
    {
        lock (_gate)
        {
            // The physics up to now first, so that the change acts from this instant on.
            Update();
            return change();
        }
    }

    private static string? Do(Action action)
    {
        action();
        return null;
    }

    private void Update()
    {
        var now = _time.GetUtcNow();
        var due = (now - _origin).Ticks / _period.Ticks;
        while (_cycle < due)
        {
            _cycle++;
            var boundary = _origin + (_period * _cycle);
            Advance(boundary);
            if (!_communicationLost)
            {
                _published = Snapshot(boundary);
            }
        }

        Advance(now);
    }

    private void Advance(DateTimeOffset to)
    {
        var dt = (to - _physicsTime).TotalSeconds;
        if (dt <= 0)
        {
            return;
        }

        _physicsTime = to;
        var (target, rate) = _state switch
        {
            BeamLineState.On => (_refAmps, Options.SlewAmpsPerSecond),
            BeamLineState.Standby => (Options.StandbyAmps, Options.SlewAmpsPerSecond),
            _ => (0.0, Options.DischargeAmpsPerSecond),
        };
        var step = rate * dt;
        _amps = Math.Abs(target - _amps) <= step ? target : _amps + (Math.Sign(target - _amps) * step);
    }

    private BeamLineSnapshot Snapshot(DateTimeOffset at)
    {
        var running = _state is BeamLineState.On or BeamLineState.Standby;
        var measured = running ? _amps + _drift + (Gaussian() * Options.NoiseAmps) : _amps;
        var inReference = _state == BeamLineState.On && Math.Abs(measured - _refAmps) <= Options.ToleranceAmps;
        return new BeamLineSnapshot(_state, _refAmps, Math.Max(0, measured), inReference, _cycle, at, _beamFile, _latchedCause);
    }

    // Box-Muller on the seeded generator: reproducible noise for a given seed and sequence of cycles.
    private double Gaussian()
    {
        var u1 = 1.0 - _noise.NextDouble();
        var u2 = _noise.NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }

    private static string Format(double amps) => amps.ToString("0.###", System.Globalization.CultureInfo.InvariantCulture);
}
