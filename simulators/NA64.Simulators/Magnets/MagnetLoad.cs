namespace NA64.Simulators.Magnets;

/// <summary>
/// A magnet as a supply sees it: an inductance L in series with a resistance R, fed by a current-regulated supply
/// with a voltage compliance (the largest voltage it may apply) and optionally a slew-rate limit. Shared by the magnet
/// supply simulators (Genesys writes it; Danfysik and the beam-line models use it).
/// <para>
/// The supply is single-quadrant (0 ≤ V ≤ compliance): to raise the current it applies the full compliance, so
/// dI/dt = (V<sub>c</sub> − I·R)/L; to lower it, it applies 0 V and the current decays with τ = L/R (freewheeling);
/// at the setpoint it applies I·R and regulates (constant current). A setpoint with I·R above the compliance is
/// never reached: the current tends to V<sub>c</sub>/R and the supply stays voltage-limited. Each step is solved
/// exactly (exponential between the switching points), so a large time step gives the same result as many small
/// ones; a slew limit caps |ΔI| per step (an approximation, exact while the slew limit binds for the whole step).
/// </para>
/// <para>The readback adds uniform noise from a seeded generator, so a test run is repeatable. Not thread-safe: the
/// owning supply model locks around it.</para>
/// </summary>
public sealed class MagnetLoad
{
    private readonly Random _noise;

    /// <param name="henries">inductance L, ≥ 0.</param>
    /// <param name="ohms">resistance R, &gt; 0 (a superconducting coil is out of scope).</param>
    /// <param name="noiseAmps">half-width of the uniform readback noise, ≥ 0.</param>
    /// <param name="seed">seed of the noise generator.</param>
    /// <param name="slewAmpsPerSecond">largest |dI/dt| the supply allows, or null for none.</param>
    public MagnetLoad(double henries, double ohms, double noiseAmps = 0, int seed = 64, double? slewAmpsPerSecond = null)
    {
        if (!double.IsFinite(henries) || henries < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(henries), henries, $"inductance is {henries} H; it must be 0 or more");
        }

        if (!double.IsFinite(ohms) || ohms <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(ohms), ohms, $"resistance is {ohms} ohm; it must be greater than 0");
        }

        if (!double.IsFinite(noiseAmps) || noiseAmps < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(noiseAmps), noiseAmps, $"noise is {noiseAmps} A; it must be 0 or more");
        }

        if (slewAmpsPerSecond is double s && (!double.IsFinite(s) || s <= 0))
        {
            throw new ArgumentOutOfRangeException(nameof(slewAmpsPerSecond), s, $"slew rate is {s} A/s; it must be greater than 0");
        }

        Henries = henries;
        Ohms = ohms;
        NoiseAmps = noiseAmps;
        SlewAmpsPerSecond = slewAmpsPerSecond;
        _noise = new Random(seed);
    }

    /// <summary>The NA64 bench default: L = 0.5 H, R = 0.01 ohm (τ = 50 s), 20 mA noise.</summary>
    public static MagnetLoad BenchDipole(int seed = 64) => new(0.5, 0.01, 0.02, seed);

    public double Henries { get; }

    public double Ohms { get; }

    public double NoiseAmps { get; }

    public double? SlewAmpsPerSecond { get; }

    /// <summary>Time constant L/R.</summary>
    public double TauSeconds => Henries / Ohms;

    /// <summary>The true current through the coil.</summary>
    public double Amps { get; private set; }

    /// <summary>The voltage the supply applied at the end of the last step.</summary>
    public double Volts { get; private set; }

    /// <summary>True while the supply regulates the current at its setpoint (constant current); false while voltage-limited or off.</summary>
    public bool Regulating { get; private set; }

    /// <summary>A reading of the current: the true value plus seeded noise, never below 0.</summary>
    public double MeasureAmps() => Math.Max(0, Amps + (NoiseAmps == 0 ? 0 : (_noise.NextDouble() * 2 - 1) * NoiseAmps));

    /// <summary>Advances by <paramref name="seconds"/> with the supply on (regulating to the setpoint within the compliance) or off (0 V).</summary>
    public void Advance(double seconds, bool outputOn, double setpointAmps, double complianceVolts)
    {
        if (!double.IsFinite(seconds) || seconds < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(seconds), seconds, $"time step is {seconds} s; it must be 0 or more");
        }

        var target = outputOn ? Math.Max(0, setpointAmps) : 0;
        var compliance = outputOn ? Math.Max(0, complianceVolts) : 0;
        var before = Amps;
        var reachable = compliance / Ohms;
        if (target > Amps)
        {
            // Rising at full compliance towards Vc/R; stops at the setpoint if it is reachable.
            Amps = Approach(Amps, reachable, target, seconds);
        }
        else if (target < Amps)
        {
            // Falling at 0 V towards 0; stops at the setpoint.
            Amps = Approach(Amps, 0, target, seconds);
        }

        if (SlewAmpsPerSecond is double slew)
        {
            var max = slew * seconds;
            Amps = before + Math.Clamp(Amps - before, -max, max);
        }

        if (Math.Abs(Amps) < 1e-12)
        {
            Amps = 0;
        }

        Regulating = outputOn && Amps == target && target * Ohms <= compliance;
        Volts = !outputOn ? 0
            : Regulating ? Amps * Ohms
            : Amps < target ? compliance
            : 0;
    }

    /// <summary>Exact first-order step from <paramref name="from"/> towards the asymptote, clamped at <paramref name="stop"/>.</summary>
    private double Approach(double from, double asymptote, double stop, double seconds)
    {
        double next;
        if (Henries == 0)
        {
            next = asymptote;
        }
        else
        {
            next = asymptote + ((from - asymptote) * Math.Exp(-seconds / TauSeconds));
        }

        // Clamp at the setpoint when the curve crosses it within this step.
        return from < stop ? Math.Min(next, stop) : Math.Max(next, stop);
    }
}
