namespace NA64.Hardware.Magnets.Danfysik8500;

/// <summary>
/// Per-unit scaling and line settings of a Danfysik 8500 (device-protocols.md §4.3: scale factors are configuration,
/// never hard-coded). <c>WA</c>/<c>RA</c> are ppm of full scale; <c>AD 8</c>/<c>AD 2</c> are raw ADC counts.
/// </summary>
/// <param name="FullScaleAmps">The unit's full-scale current (1000000 ppm).</param>
/// <param name="AmpsPerPpm">Amperes per ppm of <c>WA</c>/<c>RA</c> (normally full scale / 1e6, per calibration).</param>
/// <param name="AmpsPerCurrentCount">Amperes per count of <c>AD 8</c>.</param>
/// <param name="VoltsPerVoltageCount">Volts per count of <c>AD 2</c>.</param>
/// <param name="Address">Multi-drop address sent as <c>ADR n</c> before every conversation; null when alone on its line.</param>
/// <param name="ZeroCurrentAmps">Largest measured current still taken as zero for a polarity change.</param>
public sealed record Danfysik8500Options(
    double FullScaleAmps,
    double AmpsPerPpm,
    double AmpsPerCurrentCount,
    double VoltsPerVoltageCount,
    int? Address = null,
    double ZeroCurrentAmps = 0.5)
{
    /// <summary>How long a status reply may take (the 9100 answers in about 5 ms; generous for RS-485 converters).</summary>
    public TimeSpan ReplyTimeout { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>
    /// The slew rate the unit is set to (its slew DACs, A/s), from its configuration; null when not known. Reported as
    /// <see cref="MagnetCapabilities.OwnRampAmpsPerSecond"/>, so that a controller asked for a slower dI/dt steps the
    /// setpoint instead of letting the unit slew at its own rate.
    /// </summary>
    public double? SlewAmpsPerSecond { get; init; }

    /// <summary>Throws one line naming the field, the value and the limit when a setting is meaningless.</summary>
    public void Validate()
    {
        Positive(FullScaleAmps, nameof(FullScaleAmps));
        Positive(AmpsPerPpm, nameof(AmpsPerPpm));
        Positive(AmpsPerCurrentCount, nameof(AmpsPerCurrentCount));
        Positive(VoltsPerVoltageCount, nameof(VoltsPerVoltageCount));
        if (!(ZeroCurrentAmps >= 0) || double.IsInfinity(ZeroCurrentAmps))
        {
            throw new ArgumentOutOfRangeException(nameof(ZeroCurrentAmps), ZeroCurrentAmps, $"{nameof(ZeroCurrentAmps)} is {ZeroCurrentAmps}; it must be 0 or more");
        }

        if (Address is { } a && a is < Danfysik8500Facts.MinAddress or > Danfysik8500Facts.MaxAddress)
        {
            throw new ArgumentOutOfRangeException(nameof(Address), a,
                $"{nameof(Address)} is {a}; a Danfysik 8500 address is {Danfysik8500Facts.MinAddress}..{Danfysik8500Facts.MaxAddress}");
        }

        if (SlewAmpsPerSecond is { } slew)
        {
            Positive(slew, nameof(SlewAmpsPerSecond));
        }

        if (ReplyTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(ReplyTimeout), ReplyTimeout, $"{nameof(ReplyTimeout)} is {ReplyTimeout}; it must be positive");
        }
    }

    private static void Positive(double value, string name)
    {
        if (!(value > 0) || double.IsInfinity(value))
        {
            throw new ArgumentOutOfRangeException(name, value, $"{name} is {value.ToString(System.Globalization.CultureInfo.InvariantCulture)}; it must be a positive finite number");
        }
    }
}
