using System.Globalization;

namespace NA64.Simulators.Magnets.Danfysik8500;

/// <summary>
/// One simulated unit and its magnet: full scale, ADC scaling, slew rate, voltage compliance and the magnet's
/// inductance and resistance. The ADC scale factors are what a real unit's calibration would be: the driver gets them
/// from its own configuration, never from here.
/// </summary>
public sealed record Danfysik8500SimSettings
{
    /// <summary>A 1000 A unit on a dipole of 0.5 H and 10 mΩ (time constant 50 s), slewing at 20 A/s within 30 V.</summary>
    public static Danfysik8500SimSettings Default { get; } = new();

    public double FullScaleAmps { get; init; } = 1000;

    /// <summary>Amperes per count of <c>AD 8</c>.</summary>
    public double AmpsPerCurrentCount { get; init; } = 0.001;

    /// <summary>Volts per count of <c>AD 2</c>.</summary>
    public double VoltsPerVoltageCount { get; init; } = 0.001;

    /// <summary>Standard deviation of the ADC noise, in counts (both ADCs).</summary>
    public double NoiseCounts { get; init; } = 20;

    /// <summary>Seed of the ADC noise, so that a test sees the same numbers every run.</summary>
    public int NoiseSeed { get; init; } = 8500;

    /// <summary>Slew rate of the setpoint DAC, A/s.</summary>
    public double SlewAmpsPerSecond { get; init; } = 20;

    /// <summary>Voltage compliance of the supply, V: the current cannot rise faster than (V - I·R)/L.</summary>
    public double ComplianceVolts { get; init; } = 30;

    public double InductanceHenries { get; init; } = 0.5;

    public double ResistanceOhms { get; init; } = 0.01;

    /// <summary>Largest current at which the unit accepts <c>PO +</c>/<c>PO -</c> (our assumption; §4.3 unverified).</summary>
    public double PolarityZeroAmps { get; init; } = 0.1;

    public void Validate()
    {
        Positive(FullScaleAmps, nameof(FullScaleAmps));
        Positive(AmpsPerCurrentCount, nameof(AmpsPerCurrentCount));
        Positive(VoltsPerVoltageCount, nameof(VoltsPerVoltageCount));
        Positive(SlewAmpsPerSecond, nameof(SlewAmpsPerSecond));
        Positive(ComplianceVolts, nameof(ComplianceVolts));
        Positive(InductanceHenries, nameof(InductanceHenries));
        Positive(ResistanceOhms, nameof(ResistanceOhms));
        NotNegative(NoiseCounts, nameof(NoiseCounts));
        NotNegative(PolarityZeroAmps, nameof(PolarityZeroAmps));
        if (FullScaleAmps * ResistanceOhms >= ComplianceVolts)
        {
            throw new ArgumentOutOfRangeException(nameof(ComplianceVolts), ComplianceVolts,
                $"ComplianceVolts is {ComplianceVolts.ToString(CultureInfo.InvariantCulture)}; it must exceed FullScaleAmps x ResistanceOhms = " +
                $"{(FullScaleAmps * ResistanceOhms).ToString(CultureInfo.InvariantCulture)} V, or full scale could never be reached");
        }
    }

    private static void Positive(double value, string name)
    {
        if (!(value > 0) || double.IsInfinity(value))
        {
            throw new ArgumentOutOfRangeException(name, value, $"{name} is {value.ToString(CultureInfo.InvariantCulture)}; it must be a positive finite number");
        }
    }

    private static void NotNegative(double value, string name)
    {
        if (!(value >= 0) || double.IsInfinity(value))
        {
            throw new ArgumentOutOfRangeException(name, value, $"{name} is {value.ToString(CultureInfo.InvariantCulture)}; it must be 0 or more");
        }
    }
}
