using System.Globalization;
using System.Text.RegularExpressions;

namespace NA64.Hardware.Magnets.Genesys;

/// <summary>A Genesys model and its ratings, as <c>IDN?</c> names it: <c>LAMBDA,GEN8-400</c> is 8 V, 400 A.</summary>
/// <param name="Name">The model part of the identity, e.g. <c>GEN8-400</c>.</param>
public sealed record GenesysModel(string Name, double RatedVolts, double RatedAmps)
{
    public override string ToString() => Name;
}

/// <summary>What every TDK-Lambda Genesys is, written once (device-protocols.md §3.1, §3.2): the setup validates against these.</summary>
public static partial class GenesysFacts
{
    /// <summary>RS-485 multi-drop addresses 0..30.</summary>
    public const int MinAddress = 0;

    public const int MaxAddress = 30;

    /// <summary>PV may be programmed up to 105 % of the rated voltage (above: E01); PC likewise up to 105 % of the rated current (above: C05).</summary>
    public const double ProgrammingHeadroom = 1.05;

    /// <summary>Longest numeric argument the supply accepts (characters).</summary>
    public const int MaxNumericArgumentLength = 12;

    /// <summary>The manufacturer word that starts every identity.</summary>
    public const string Manufacturer = "LAMBDA";

    /// <summary>Parses the model part (<c>GEN8-400</c>, <c>GEN10-330</c>, <c>GEN6-200</c>, <c>GEN150-5</c>...); null when it is not one.</summary>
    public static GenesysModel? TryParseModel(string model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var m = ModelPattern().Match(model.Trim());
        if (!m.Success
            || !double.TryParse(m.Groups["v"].ValueSpan, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var volts)
            || !double.TryParse(m.Groups["i"].ValueSpan, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var amps)
            || volts <= 0 || amps <= 0)
        {
            return null;
        }

        return new GenesysModel(model.Trim().ToUpperInvariant(), volts, amps);
    }

    /// <summary>The ratings of a model name; an unknown form throws, naming the value and the form expected.</summary>
    public static GenesysModel ParseModel(string model) =>
        TryParseModel(model) ?? throw new FormatException($"Genesys model '{model}' is not of the form GEN<volts>-<amps>, e.g. GEN8-400");

    // The manuals list GEN<V>-<I> with integer or decimal ratings (GEN7.5-1000, GEN12.5-60). Anything else (an option
    // suffix, a foreign model) is refused rather than guessed at: the ratings bound every setpoint.
    [GeneratedRegex(@"^GEN(?<v>\d{1,4}(\.\d{1,3})?)-(?<i>\d{1,4}(\.\d{1,3})?)$", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex ModelPattern();
}
