using System.Globalization;

namespace NA64.SlowControl.Setup;

/// <summary>One broken rule in a setup file, with where it is and what was found.</summary>
/// <param name="Field">Path of the field, e.g. <c>devices[1].channels[0].nominalVolts</c>.</param>
/// <param name="Value">The value as written in the file, or null when the field is missing.</param>
/// <param name="Rule">The rule the value breaks, with the limit where there is one.</param>
public sealed record SetupError(string SourceName, int Line, int Column, string Field, string? Value, string Rule)
{
    public override string ToString()
    {
        // Line 0: a problem with the file as a whole (missing, a folder), where no position exists.
        string where = Line == 0 ? SourceName : string.Create(CultureInfo.InvariantCulture, $"{SourceName}:{Line}:{Column}");
        return Value is null ? $"{where}: {Field}: {Rule}" : $"{where}: {Field} = '{Value}': {Rule}";
    }
}

/// <summary>A setup file that cannot be used. Lists every problem found, not just the first.</summary>
public sealed class SetupException : Exception
{
    public SetupException(string sourceName, IReadOnlyList<SetupError> errors)
        : base(errors.Count == 1
            // One problem, one line (the CLI prints it as it is).
            ? $"Setup '{sourceName}' is invalid: {errors[0]}"
            : $"Setup '{sourceName}' is invalid ({errors.Count} problems):{Environment.NewLine}" +
              string.Join(Environment.NewLine, errors.Select(e => "  " + e)))
    {
        SourceName = sourceName;
        Errors = errors;
    }

    public string SourceName { get; }
    public IReadOnlyList<SetupError> Errors { get; }
}
