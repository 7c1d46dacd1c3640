using System.Globalization;
using Microsoft.Extensions.Time.Testing;
using NA64.Hardware.Magnets;
using NA64.Hardware.Magnets.Danfysik8500;
using NA64.Hardware.Magnets.Genesys;
using NA64.Hardware.Transport;
using NA64.Simulators.Magnets;
using NA64.Simulators.Magnets.Danfysik8500;
using NA64.Simulators.Magnets.Genesys;
using NA64.Simulators.Serving;
using NA64.SlowControl.Magnets;

namespace NA64.Benchmarks;

/// <summary>
/// What bounds a ramp of a current-regulated supply on an inductive load: dI/dt = min(rate, (V_max - I·R)/L). The
/// rate is the smaller of the controller's dI/dt and the supply's own slew limit; V_max is the voltage compliance.
/// </summary>
/// <param name="Henries">inductance L of the magnet.</param>
/// <param name="Ohms">resistance R of the magnet.</param>
/// <param name="MaxVolts">voltage compliance V_max of the supply.</param>
/// <param name="AmpsPerSecond">dI/dt allowed (controller's rate, supply's slew, whichever is smaller).</param>
public sealed record MagnetRampLimits(double Henries, double Ohms, double MaxVolts, double AmpsPerSecond)
{
    /// <summary>Current above which the voltage limit binds: (V_max - rate·L)/R; infinite for L = 0.</summary>
    public double VoltageBindsAboveAmps => Henries == 0 ? double.PositiveInfinity : (MaxVolts - AmpsPerSecond * Henries) / Ohms;

    /// <summary>Largest current the compliance can hold: V_max/R.</summary>
    public double ReachableAmps => MaxVolts / Ohms;

    /// <summary>dI/dt allowed at <paramref name="amps"/>.</summary>
    public double RateAt(double amps) =>
        Henries == 0 ? AmpsPerSecond : Math.Min(AmpsPerSecond, (MaxVolts - amps * Ohms) / Henries);

    /// <summary>
    /// Shortest time from <paramref name="from"/> to <paramref name="to"/> A (0 ≤ from ≤ to &lt; V_max/R), closed form:
    /// (I_v - from)/rate below I_v = <see cref="VoltageBindsAboveAmps"/>, then τ·ln((V/R - I_v)/(V/R - to)) with τ = L/R.
    /// </summary>
    public double MinimumSeconds(double from, double to)
    {
        if (!(from >= 0) || !(to >= from) || to >= ReachableAmps)
        {
            throw new ArgumentOutOfRangeException(nameof(to), to, string.Create(CultureInfo.InvariantCulture,
                $"ramp {from} -> {to} A: needs 0 <= from <= to < V_max/R = {ReachableAmps} A"));
        }

        double knee = Math.Clamp(VoltageBindsAboveAmps, from, to);
        double seconds = (knee - from) / AmpsPerSecond;
        if (to > knee)
        {
            seconds += Henries / Ohms * Math.Log((ReachableAmps - knee) / (ReachableAmps - to));
        }

        return seconds;
    }
}

/// <summary>One measured ramp: simulated seconds from the command, and the bound it is compared with.</summary>
/// <param name="Case">which supply and load.</param>
/// <param name="Limits">the bounds, read from the simulator's load and settings objects.</param>
/// <param name="TargetAmps">where the ramp goes (from 0 A).</param>
/// <param name="ToleranceAmps">"there" is |I - target| at or below this (the controller's tolerance).</param>
/// <param name="ReachedSeconds">simulated time until the true current was within tolerance of the target.</param>
/// <param name="AtSetpointSeconds">simulated time until the controller showed AtSetpoint (includes its stable time).</param>
/// <param name="MinimumSeconds">shortest time the limits allow for 0 to target - tolerance (the same event).</param>
public sealed record MagnetRampResult(
    string Case,
    MagnetRampLimits Limits,
    double TargetAmps,
    double ToleranceAmps,
    double ReachedSeconds,
    double AtSetpointSeconds,
    double MinimumSeconds)
{
    public double Ratio => ReachedSeconds / MinimumSeconds;

    /// <summary>True when the voltage compliance, not dI/dt, limits part of this ramp.</summary>
    public bool VoltageBinds => Limits.VoltageBindsAboveAmps < TargetAmps - ToleranceAmps;
}

/// <summary>
/// The real driver, controller and poller of one magnet supply against its simulator over an in-memory line, all on one
/// <see cref="FakeTimeProvider"/>. <see cref="RampAsync"/> switches the output on at 0 A, waits for AtSetpoint, commands
/// a ramp at the configured dI/dt, polls every poll period and samples the simulator's true current every
/// <see cref="SampleStep"/> of simulated time in between. Shared by the benchmark and the test that guards it.
/// </summary>
public sealed class MagnetRampRig : IAsyncDisposable
{
    /// <summary>Resolution of the ramp-time measurement (simulated).</summary>
    public static readonly TimeSpan SampleStep = TimeSpan.FromMilliseconds(10);

    /// <summary>The defaults with dI/dt 10 A/s (the default maximum): 0 to 800 A in 80 s when only dI/dt binds.</summary>
    public static MagnetSettings BenchSettings { get; } = MagnetSettings.Default with { RampAmpsPerSecond = 10 };

    /// <summary>Genesys model of the voltage-bound case: 10 V, 1000 A.</summary>
    public const string GenesysModelName = "GEN10-1000";

    /// <summary>Compliance written as PV: 10 V on 0.5 H, 10 mΩ holds 1000 A, and binds above (10 - 10·0.5)/0.01 = 500 A at 10 A/s.</summary>
    public const double GenesysMaxVolts = 10;

    private static readonly DateTimeOffset Start = new(2026, 9, 1, 8, 0, 0, TimeSpan.Zero);

    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _serving = [];
    private readonly LineTransport _transport;
    private readonly Func<double> _trueAmps;
    private readonly Func<MagnetRampLimits> _limits;

    private MagnetRampRig(string name, ILineDevice device, LineFraming framing, Func<LineTransport, IMagnetSupply> supply,
        Func<double> trueAmps, Func<MagnetRampLimits> limits, MagnetSettings settings, FakeTimeProvider time)
    {
        Name = name;
        Time = time;
        var server = new LineDeviceServer(device, Time);
        _transport = new LineTransport(new InMemoryEndpoint(() =>
        {
            var (host, dev) = InMemoryDuplex.CreatePair();
            _serving.Add(Task.Run(async () =>
            {
                await server.ServeAsync(dev, _stop.Token).ConfigureAwait(false);
                await dev.DisposeAsync().ConfigureAwait(false);
            }));
            return host;
        }), framing, Time);
        Supply = supply(_transport);
        Controller = new MagnetController(Supply, settings, time: Time);
        Poller = new MagnetPoller(Controller, Time);
        _trueAmps = trueAmps;
        _limits = limits;
    }

    /// <summary>
    /// The voltage-bound case: a Genesys (the controller steps PC) on the bench dipole (0.5 H, 10 mΩ) with PV = 10 V:
    /// only dI/dt binds up to 500 A, the compliance from there to 800 A.
    /// </summary>
    public static MagnetRampRig Genesys(MagnetSettings? settings = null)
    {
        var s = settings ?? BenchSettings;
        var time = new FakeTimeProvider(Start);
        var unit = new GenesysUnitModel(6, GenesysFacts.ParseModel(GenesysModelName), time, new MagnetLoad(0.5, 0.01, noiseAmps: 0.02, seed: 6));
        return new MagnetRampRig(
            $"Genesys {GenesysModelName}, PV {GenesysMaxVolts} V",
            new GenesysWire([unit]),
            GenesysProtocol.Framing,
            t => new GenesysSupply(t, unit.Address, new MagnetLimits("MAG-GEN", unit.Model.RatedAmps, GenesysMaxVolts), time: time),
            () => unit.Amps,
            // PV as the unit holds it (what the driver wrote), L and R of the simulated load.
            () => new MagnetRampLimits(unit.Load.Henries, unit.Load.Ohms, unit.Pv, Math.Min(s.RampAmpsPerSecond, unit.Load.SlewAmpsPerSecond ?? double.PositiveInfinity)),
            s,
            time);
    }

    /// <summary>
    /// The dI/dt-bound case: a Danfysik 8500 (ramps itself with its slew DAC, set on the unit to the controller's dI/dt)
    /// on 0.5 H, 10 mΩ within 30 V: the compliance would allow (30 - 8)/0.5 = 44 A/s even at 800 A, so only dI/dt binds.
    /// </summary>
    public static MagnetRampRig Danfysik8500(MagnetSettings? settings = null)
    {
        var s = settings ?? BenchSettings;
        var time = new FakeTimeProvider(Start);
        var model = new Danfysik8500Model(0, time, Danfysik8500SimSettings.Default with { SlewAmpsPerSecond = s.RampAmpsPerSecond });
        var m = model.Settings;
        return new MagnetRampRig(
            "Danfysik 8500, 30 V",
            new Danfysik8500Wire(model),
            LineFraming.DanfysikCrLfCr,
            t => new Danfysik8500Supply(t, new MagnetLimits("MAG-DAN", m.FullScaleAmps),
                new Danfysik8500Options(m.FullScaleAmps, m.FullScaleAmps / Danfysik8500Facts.FullScalePpm, m.AmpsPerCurrentCount, m.VoltsPerVoltageCount), time),
            () => model.Amps,
            () => new MagnetRampLimits(m.InductanceHenries, m.ResistanceOhms, m.ComplianceVolts, Math.Min(s.RampAmpsPerSecond, m.SlewAmpsPerSecond)),
            s,
            time);
    }

    public string Name { get; }

    public FakeTimeProvider Time { get; }

    public IMagnetSupply Supply { get; }

    public MagnetController Controller { get; }

    public MagnetPoller Poller { get; }

    /// <summary>
    /// Output on at 0 A until AtSetpoint, then a ramp to <paramref name="targetAmps"/> at the configured dI/dt, measured
    /// until the true current is within tolerance and until AtSetpoint. Throws when either takes ten times the minimum.
    /// </summary>
    public async Task<MagnetRampResult> RampAsync(double targetAmps = 800)
    {
        var settings = Controller.Settings;
        await Poller.PollOnceAsync().ConfigureAwait(false);
        Expect(await Controller.SwitchOnAsync().ConfigureAwait(false), "switch on");
        for (int i = 0; Controller.State != MagnetState.AtSetpoint; i++)
        {
            if (i > 100) throw new InvalidOperationException($"{Name}: not AtSetpoint at 0 A after {i} polls but {Controller.State}");
            Time.Advance(settings.PollPeriod);
            await Poller.PollOnceAsync().ConfigureAwait(false);
        }

        var limits = _limits();
        double tolerance = settings.ToleranceAmps;
        double minimum = limits.MinimumSeconds(0, targetAmps - tolerance);
        var giveUp = TimeSpan.FromSeconds(10 * minimum) + settings.StableTime;

        var start = Time.GetUtcNow();
        Expect(await Controller.RampToAsync(targetAmps).ConfigureAwait(false), $"ramp to {targetAmps} A");
        var nextPoll = start + settings.PollPeriod;
        double? reached = null;
        double? atSetpoint = null;
        while (reached is null || atSetpoint is null)
        {
            var now = Time.GetUtcNow();
            if (now - start > giveUp)
            {
                throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture,
                    $"{Name}: ramp to {targetAmps} A not done after {giveUp.TotalSeconds} s: I = {_trueAmps()} A, {Controller.State}"));
            }

            var step = nextPoll - now < SampleStep ? nextPoll - now : SampleStep;
            Time.Advance(step);
            now += step;
            if (reached is null && Math.Abs(_trueAmps() - targetAmps) <= tolerance) reached = (now - start).TotalSeconds;
            if (now < nextPoll) continue;
            await Poller.PollOnceAsync().ConfigureAwait(false);
            nextPoll += settings.PollPeriod;
            if (atSetpoint is null && Controller.State == MagnetState.AtSetpoint) atSetpoint = (now - start).TotalSeconds;
        }

        return new MagnetRampResult(Name, _limits(), targetAmps, tolerance, reached.Value, atSetpoint.Value, minimum);
    }

    private void Expect(MagnetRequestResult result, string what)
    {
        if (result.Outcome != MagnetRequestOutcome.Done)
            throw new InvalidOperationException($"{Name}: {what} not done: {result.Outcome} {result.Reason}");
    }

    public async ValueTask DisposeAsync()
    {
        await _transport.DisposeAsync().ConfigureAwait(false);
        await _stop.CancelAsync().ConfigureAwait(false);
        foreach (var serving in _serving)
        {
            try
            {
                await serving.ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                // Cancelled at teardown: the serving loop's normal way out.
            }
        }

        _stop.Dispose();
    }
}
