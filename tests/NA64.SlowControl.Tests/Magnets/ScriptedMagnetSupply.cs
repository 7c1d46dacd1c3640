using System.Globalization;
using NA64.Hardware.Errors;
using NA64.Hardware.Magnets;

namespace NA64.SlowControl.Tests.Magnets;

/// <summary>How a scripted supply answers requests (a permissioned beam-line gateway holds or denies them).</summary>
internal enum Approval
{
    Done,
    Pending,
    Deny,
}

/// <summary>
/// A supply with an inductive load, in the test's fake time: the current follows the regulator's reference at
/// dI/dt = (V_max - I·R)/L at most (voltage compliance), a supply that ramps itself slews its reference at its own
/// rate, polarity changes only at zero current, interlocks latch until a reset and refuse one while their cause is
/// there. Every request is recorded with the time it arrived.
/// </summary>
internal sealed class ScriptedMagnetSupply(TimeProvider time, MagnetCapabilities capabilities, double maxAmps = 900,
    double selfRampAmpsPerSecond = 4) : IMagnetSupply
{
    private const double Henry = 0.5;
    private const double Ohm = 0.05;
    private const double ComplianceVolts = 60;
    private const double DumpAmpsPerSecond = 200;
    private const double Step = 0.01;

    private DateTimeOffset _advanced = time.GetUtcNow();
    private double _reference;
    private double _dIdt;
    private Action? _held;

    public string Name => "MBPL";
    public MagnetLimits Limits { get; } = new("MBPL", maxAmps);
    public MagnetCapabilities Capabilities { get; } = capabilities;

    public MagnetOutput Output { get; set; } = MagnetOutput.Off;
    public double Setpoint { get; set; }
    public double Amps { get; set; }
    public MagnetPolarity Polarity { get; set; } = MagnetPolarity.Normal;
    /// <summary>Conditions whose cause is still there.</summary>
    public MagnetConditions Cause { get; set; }
    /// <summary>Conditions latched until a reset.</summary>
    public MagnetConditions Latched { get; set; }
    public bool RefuseResetWhileCause { get; set; } = true;
    public Approval Approval { get; set; } = Approval.Done;
    public int FailReads { get; set; }
    public List<(DateTimeOffset Time, string What, double Value)> Requests { get; } = [];

    public IEnumerable<(DateTimeOffset Time, double Amps)> SetpointRequests =>
        Requests.Where(r => r.What == "SetCurrent").Select(r => (r.Time, r.Value));

    /// <summary>Puts the magnet at a current at once (for a first contact with a live magnet).</summary>
    public void StartAt(double amps, MagnetPolarity polarity = MagnetPolarity.Normal)
    {
        Output = MagnetOutput.On;
        Setpoint = _reference = Amps = amps;
        Polarity = polarity;
    }

    public void InjectInterlock(MagnetConditions conditions, bool dropsOutput)
    {
        Advance();
        Cause |= conditions;
        Latched |= conditions;
        if (dropsOutput) Output = MagnetOutput.Off;
    }

    public void InjectFault(MagnetConditions conditions)
    {
        Advance();
        Cause |= conditions;
        Latched |= conditions;
        Output = MagnetOutput.Fault;
    }

    public void ClearCause() => Cause = MagnetConditions.None;

    /// <summary>The operator carries out the request held (in CESAR, for a beam-line magnet).</summary>
    public void Approve()
    {
        Advance();
        var held = _held ?? throw new InvalidOperationException("nothing held");
        _held = null;
        held();
    }

    public Task InitializeAsync(CancellationToken cancellationToken = default) => Task.CompletedTask;

    public Task<MagnetReadback> ReadAsync(CancellationToken cancellationToken = default)
    {
        if (FailReads > 0)
        {
            FailReads--;
            throw new DeviceTimeoutException("sim-magnet", "READ", TimeSpan.FromMilliseconds(500));
        }
        Advance();
        var conditions = Cause | Latched | (Output == MagnetOutput.On ? MagnetConditions.CurrentRegulated : MagnetConditions.None);
        return Task.FromResult(new MagnetReadback(time.GetUtcNow(), Output, Setpoint, Amps,
            (Amps * Ohm) + (Henry * _dIdt), Polarity, conditions));
    }

    public Task<MagnetRequestResult> SetCurrentAsync(double amps, CancellationToken cancellationToken = default)
    {
        if (amps < 0 || amps > maxAmps) throw new SetpointOutOfRangeException(Name, "current", amps, maxAmps, "maxAmps");
        return Request("SetCurrent", amps, () => Setpoint = amps);
    }

    public Task<MagnetRequestResult> SwitchOnAsync(CancellationToken cancellationToken = default)
    {
        if (Cause != MagnetConditions.None || Latched != MagnetConditions.None)
            throw new DeviceException($"MBPL: output on refused during a fault ({Latched | Cause})");
        return Request("SwitchOn", 1, () => Output = MagnetOutput.On);
    }

    public Task<MagnetRequestResult> SwitchOffAsync(CancellationToken cancellationToken = default) =>
        Request("SwitchOff", 0, () => Output = MagnetOutput.Off);

    public Task<MagnetRequestResult> StandbyAsync(CancellationToken cancellationToken = default)
    {
        if (!Capabilities.HasStandby) throw new DeviceException("MBPL: no standby");
        return Request("Standby", 0, () => Output = MagnetOutput.Standby);
    }

    public Task<MagnetRequestResult> ResetAsync(CancellationToken cancellationToken = default)
    {
        if (RefuseResetWhileCause && Cause != MagnetConditions.None)
            throw new DeviceException($"MBPL: reset refused, {Cause} still active");
        return Request("Reset", 0, () =>
        {
            Latched = MagnetConditions.None;
            if (Cause == MagnetConditions.None && Output == MagnetOutput.Fault) Output = MagnetOutput.Off;
        });
    }

    public Task<MagnetRequestResult> SetPolarityAsync(MagnetPolarity polarity, CancellationToken cancellationToken = default)
    {
        Advance();
        if (Amps > 0.5)
            throw new DeviceException(string.Create(CultureInfo.InvariantCulture, $"MBPL: polarity change at {Amps:0.00} A refused"));
        return Request("SetPolarity", polarity == MagnetPolarity.Reversed ? -1 : 1, () => Polarity = polarity);
    }

    private Task<MagnetRequestResult> Request(string what, double value, Action apply)
    {
        Advance();
        Requests.Add((time.GetUtcNow(), what, value));
        switch (Approval)
        {
            case Approval.Pending:
                _held = apply;
                return Task.FromResult(new MagnetRequestResult(MagnetRequestOutcome.PendingOperator, "queued for CESAR"));
            case Approval.Deny:
                return Task.FromResult(new MagnetRequestResult(MagnetRequestOutcome.Denied, "no beam-line control token"));
            default:
                apply();
                return Task.FromResult(MagnetRequestResult.Done);
        }
    }

    /// <summary>Integrates the load from the last call to now in 10 ms steps.</summary>
    private void Advance()
    {
        var now = time.GetUtcNow();
        double seconds = (now - _advanced).TotalSeconds;
        _advanced = now;
        _dIdt = 0;
        for (double t = 0; t < seconds - 1e-12; t += Step)
        {
            double h = Math.Min(Step, seconds - t);
            if (Output == MagnetOutput.On)
            {
                _reference = Capabilities.RampsItself
                    ? _reference + Math.Clamp(Setpoint - _reference, -selfRampAmpsPerSecond * h, selfRampAmpsPerSecond * h)
                    : Setpoint;
                double maxRate = (ComplianceVolts - (Amps * Ohm)) / Henry;
                double change = Math.Clamp(_reference - Amps, -maxRate * h, maxRate * h);
                Amps += change;
                _dIdt = change / h;
            }
            else
            {
                _reference = 0;
                Amps = Math.Max(0, Amps - (DumpAmpsPerSecond * h));
            }
        }
    }
}
