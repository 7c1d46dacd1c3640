using System.Globalization;

namespace NA64.SlowControl.History;

/// <summary>Which database the history lives in. The SQL is the same; only the schema's types and pragmas differ.</summary>
public enum HistoryProvider
{
    /// <summary>An embedded file (default: <c>&lt;dataDirectory&gt;/history.sqlite</c>).</summary>
    Sqlite,
    /// <summary>A PostgreSQL server, with or without the TimescaleDB extension (see History/README.md).</summary>
    PostgreSql,
}

/// <summary>
/// A deadband for the signals whose name matches <see cref="Pattern"/>: a readback is stored when it moved more than
/// <see cref="Absolute"/> from the last stored value of its signal, or when <see cref="HistoryOptions.Heartbeat"/> has
/// passed since then. Pattern: an exact name, or <c>*</c> at the start and/or end (<c>*/vmon</c>, <c>MM1.*</c>).
/// </summary>
public sealed record HistoryDeadband(string Pattern, double Absolute)
{
    public bool Matches(string signal)
    {
        ArgumentNullException.ThrowIfNull(signal);
        bool head = Pattern.StartsWith('*'), tail = Pattern.EndsWith('*') && Pattern.Length > 1;
        string core = Pattern.Trim('*');
        return (head, tail) switch
        {
            (true, true) => signal.Contains(core, StringComparison.Ordinal),
            (true, false) => signal.EndsWith(core, StringComparison.Ordinal),
            (false, true) => signal.StartsWith(core, StringComparison.Ordinal),
            _ => string.Equals(signal, Pattern, StringComparison.Ordinal),
        };
    }
}

/// <summary>Where the history is kept, what is stored and for how long.</summary>
public sealed record HistoryOptions
{
    public const string DefaultFileName = "history.sqlite";

    public HistoryProvider Provider { get; init; } = HistoryProvider.Sqlite;

    /// <summary>ADO.NET connection string; empty: the SQLite file <see cref="DefaultFileName"/> in the data directory.</summary>
    public string ConnectionString { get; init; } = "";

    /// <summary>Samples and events older than this are deleted (checked every <see cref="PurgeInterval"/>).</summary>
    public TimeSpan Retention { get; init; } = TimeSpan.FromDays(30);

    public TimeSpan PurgeInterval { get; init; } = TimeSpan.FromHours(1);

    /// <summary>A signal that does not move is still stored this often, so a plot shows it was being read.</summary>
    public TimeSpan Heartbeat { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>First matching pattern wins; a signal matching none stores every change (deadband 0).</summary>
    public IReadOnlyList<HistoryDeadband> Deadbands { get; init; } = [];

    /// <summary>Readbacks waiting for the writer; beyond this a readback is dropped and counted, the poll never waits.</summary>
    public int QueueCapacity { get; init; } = 100_000;

    /// <summary>Rows per transaction.</summary>
    public int BatchSize { get; init; } = 5_000;

    /// <summary>First wait after a failed write (disk full, server gone); doubled per failure up to 30 s.</summary>
    public TimeSpan RetryDelay { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Deadband of <paramref name="signal"/>.</summary>
    public double DeadbandOf(string signal)
    {
        foreach (var d in Deadbands)
        {
            if (d.Matches(signal)) return d.Absolute;
        }
        return 0;
    }

    /// <summary>Refuses values no history can run with, naming the field, the value and the limit.</summary>
    public void Validate()
    {
        static void Positive(string field, TimeSpan value)
        {
            if (value <= TimeSpan.Zero)
                throw new ArgumentOutOfRangeException(field, value, string.Create(CultureInfo.InvariantCulture, $"{field} = {value}, must be > 0"));
        }

        Positive(nameof(Retention), Retention);
        Positive(nameof(PurgeInterval), PurgeInterval);
        Positive(nameof(Heartbeat), Heartbeat);
        Positive(nameof(RetryDelay), RetryDelay);
        if (QueueCapacity < 1)
            throw new ArgumentOutOfRangeException(nameof(QueueCapacity), QueueCapacity, $"QueueCapacity = {QueueCapacity}, must be >= 1");
        if (BatchSize < 1)
            throw new ArgumentOutOfRangeException(nameof(BatchSize), BatchSize, $"BatchSize = {BatchSize}, must be >= 1");
        foreach (var d in Deadbands)
        {
            if (!double.IsFinite(d.Absolute) || d.Absolute < 0)
                throw new ArgumentOutOfRangeException(nameof(Deadbands), d.Absolute,
                    string.Create(CultureInfo.InvariantCulture, $"deadband of '{d.Pattern}' = {d.Absolute}, must be a finite number >= 0"));
            if (d.Pattern.Trim('*').Length == 0)
                throw new ArgumentException($"deadband pattern '{d.Pattern}' matches nothing in particular: name a signal, '*/suffix' or 'prefix*'", nameof(Deadbands));
        }
        if (Provider == HistoryProvider.PostgreSql && string.IsNullOrWhiteSpace(ConnectionString))
            throw new ArgumentException("history provider postgresql needs a connectionString (Host=...;Database=...;Username=...)", nameof(ConnectionString));
    }
}
