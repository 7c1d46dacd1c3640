using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;

namespace NA64.SlowControl.Cli;

/// <summary>
/// Strict parsing of numbers given on the command line: invariant culture, decimal point only, no group separators
/// (<c>1,5</c> is refused, never read as 15 or 1.5), no NaN or infinities. A refusal is one line:
/// <c>--volts = '1,5': not a number (decimal point, no group separator)</c>.
/// </summary>
public static class InvariantNumber
{
    // Sign, digits with one decimal point, exponent. No thousands, no currency, no white space, no hex.
    private const NumberStyles Styles = NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint | NumberStyles.AllowExponent;

    internal const string NotANumber = "not a number (decimal point, no group separator)";
    internal const string NotFinite = "not a finite number";

    /// <summary>True and the value when <paramref name="text"/> is a finite number; else false and why (the rule, without the name).</summary>
    public static bool TryParse(string? text, out double value, out string? why)
    {
        value = 0;
        if (string.IsNullOrEmpty(text) || !double.TryParse(text, Styles, CultureInfo.InvariantCulture, out double parsed))
        {
            // "NaN", "Infinity" and "∞" are not accepted by these styles' grammar either, but say what they are.
            why = text is not null && IsNonFiniteWord(text) ? NotFinite : NotANumber;
            return false;
        }

        if (!double.IsFinite(parsed))
        {
            // 1e999 overflows to infinity in .NET.
            why = NotFinite;
            return false;
        }

        value = parsed;
        why = null;
        return true;
    }

    /// <summary>The value of <paramref name="text"/>, or a <see cref="FormatException"/> with the line <c>name = 'text': rule</c>.</summary>
    public static double Parse(string name, string? text) =>
        TryParse(text, out double value, out string? why) ? value : throw new FormatException(Refusal(name, text, why!));

    internal static string Refusal(string name, string? text, string why) => $"{name} = '{text}': {why}";

    /// <summary>An <c>Option&lt;double&gt;</c> that parses strictly; a bad value is a parse error naming option, value and rule.</summary>
    public static Option<double> Option(string name, string description) => new(name)
    {
        Description = description,
        CustomParser = result => Convert(name, result) ?? 0,
    };

    /// <summary>An <c>Option&lt;double?&gt;</c> (null when not given) that parses strictly.</summary>
    public static Option<double?> NullableOption(string name, string description) => new(name)
    {
        Description = description,
        CustomParser = result => Convert(name, result),
    };

    /// <summary>
    /// An <c>Option&lt;double?&gt;</c> whose value may end in one of <paramref name="units"/> (<c>3.5Tm</c>,
    /// <c>100GeV</c>; case-insensitive): the number before the unit parses as strictly as any other.
    /// </summary>
    public static Option<double?> WithUnit(string name, string description, params string[] units) => new(name)
    {
        Description = description,
        CustomParser = result =>
        {
            if (result.Tokens.Count == 0)
            {
                result.AddError($"{name}: a number is required");
                return null;
            }

            string text = result.Tokens[^1].Value;
            // Longest unit first, so that "GeV/c" is not cut as "GeV" leaving "/c".
            string number = units.OrderByDescending(u => u.Length)
                .Where(u => text.Length > u.Length && text.EndsWith(u, StringComparison.OrdinalIgnoreCase))
                .Select(u => text[..^u.Length]).FirstOrDefault() ?? text;
            if (TryParse(number, out double value, out string? why))
                return value;
            result.AddError(Refusal(name, text, $"{why} (unit, if any: {string.Join(", ", units)})"));
            return null;
        },
    };

    private static double? Convert(string name, ArgumentResult result)
    {
        if (result.Tokens.Count == 0)
        {
            result.AddError($"{name}: a number is required");
            return null;
        }

        string text = result.Tokens[^1].Value;
        if (TryParse(text, out double value, out string? why))
            return value;
        result.AddError(Refusal(name, text, why!));
        return null;
    }

    private static bool IsNonFiniteWord(string text)
    {
        string t = text.TrimStart('+', '-');
        return t.Equals("NaN", StringComparison.OrdinalIgnoreCase) || t.Equals("Infinity", StringComparison.OrdinalIgnoreCase)
            || t.Equals("inf", StringComparison.OrdinalIgnoreCase) || t == "∞";
    }
}
