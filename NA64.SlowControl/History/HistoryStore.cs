using System.Data;
using System.Data.Common;
using System.Globalization;
using Microsoft.Data.Sqlite;

namespace NA64.SlowControl.History;

/// <summary>One stored readback: signal name (e.g. <c>MM1.strips/vmon</c>), its unit, time and value.</summary>
public readonly record struct HistorySample(string Signal, string Unit, DateTimeOffset Time, double Value);

/// <summary>A state change, alarm or interlock action, e.g. (<c>MM1.strips</c>, <c>state</c>, <c>On -> Tripped</c>).</summary>
public readonly record struct HistoryEvent(DateTimeOffset Time, string Source, string Kind, string Text);

/// <summary>One point of a range: the raw value, or one bucket of a downsampled range (first time, min, max, mean).</summary>
public readonly record struct HistoryPoint(DateTimeOffset Time, double Min, double Max, double Mean, int Count);

/// <summary>
/// A signal over a range: <see cref="Before"/> is the last stored value before the range (the value the signal had at
/// its start, since a deadband stores only changes), <see cref="Points"/> the range itself, downsampled to at most the
/// points asked for.
/// </summary>
public sealed record HistoryRange(string Signal, string Unit, DateTimeOffset From, DateTimeOffset To, HistoryPoint? Before,
    IReadOnlyList<HistoryPoint> Points, long StoredSamples);

/// <summary>
/// The history database: signals, samples and events (schema in <see cref="HistoryDialect"/>, History/README.md). Every
/// method opens its own pooled connection, so a query never waits for the writer's connection. Times are stored as
/// Unix milliseconds; two readbacks of one signal in the same millisecond keep the last.
/// </summary>
public sealed class HistoryStore : IDisposable
{
    private readonly HistoryDialect _dialect;
    private readonly string _connectionString;
    // Signal ids by name; a name is inserted once and never renamed, so the cache never goes stale.
    private readonly Dictionary<string, long> _ids = new(StringComparer.Ordinal);
    private readonly Lock _idsLock = new();

    private HistoryStore(HistoryDialect dialect, string connectionString)
    {
        _dialect = dialect;
        _connectionString = connectionString;
    }

    public HistoryProvider Provider => _dialect.Provider;

    /// <summary>Where the data is, without credentials (for logs and status).</summary>
    public string Location { get; private set; } = "";

    /// <summary>Opens the history of the options (creating the SQLite file and the tables if needed).</summary>
    public static HistoryStore Open(HistoryOptions options, string dataDirectory)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var dialect = HistoryDialect.For(options.Provider);
        string connectionString = options.ConnectionString;
        string location;
        if (options.Provider == HistoryProvider.Sqlite)
        {
            var builder = new SqliteConnectionStringBuilder(connectionString);
            if (string.IsNullOrEmpty(builder.DataSource))
            {
                ArgumentException.ThrowIfNullOrWhiteSpace(dataDirectory);
                Directory.CreateDirectory(dataDirectory);
                builder.DataSource = Path.Combine(Path.GetFullPath(dataDirectory), HistoryOptions.DefaultFileName);
            }
            builder.Mode = SqliteOpenMode.ReadWriteCreate;
            builder.Pooling = true;
            // A query holding a read lock while the writer commits: Microsoft.Data.Sqlite retries BUSY until this.
            builder.DefaultTimeout = 30;
            connectionString = builder.ToString();
            location = builder.DataSource;
        }
        else
        {
            var builder = new DbConnectionStringBuilder { ConnectionString = connectionString };
            location = string.Create(CultureInfo.InvariantCulture,
                $"postgresql://{(builder.TryGetValue("Host", out var h) ? h : "?")}/{(builder.TryGetValue("Database", out var d) ? d : "?")}");
        }
        var store = new HistoryStore(dialect, connectionString) { Location = location };
        store.CreateSchema();
        return store;
    }

    /// <summary>Writes samples and events in one transaction (the writer's batch); new signal names are added first.</summary>
    public void Write(IReadOnlyList<HistorySample> samples, IReadOnlyList<HistoryEvent> events)
    {
        ArgumentNullException.ThrowIfNull(samples);
        ArgumentNullException.ThrowIfNull(events);
        if (samples.Count == 0 && events.Count == 0) return;
        using var connection = Open();
        foreach (var s in samples) IdOf(connection, s.Signal, s.Unit);
        using var transaction = connection.BeginTransaction();
        if (samples.Count > 0)
        {
            using var insert = Command(connection, transaction, """
                INSERT INTO samples (signal, t, value) VALUES (@signal, @t, @value)
                ON CONFLICT (signal, t) DO UPDATE SET value = excluded.value
                """);
            var signal = Parameter(insert, "@signal", DbType.Int64);
            var t = Parameter(insert, "@t", DbType.Int64);
            var value = Parameter(insert, "@value", DbType.Double);
            insert.Prepare();
            foreach (var s in samples)
            {
                signal.Value = IdOf(connection, s.Signal, s.Unit);
                t.Value = s.Time.ToUnixTimeMilliseconds();
                value.Value = s.Value;
                insert.ExecuteNonQuery();
            }
        }
        if (events.Count > 0)
        {
            using var insert = Command(connection, transaction, "INSERT INTO events (t, source, kind, text) VALUES (@t, @source, @kind, @text)");
            var t = Parameter(insert, "@t", DbType.Int64);
            var source = Parameter(insert, "@source", DbType.String);
            var kind = Parameter(insert, "@kind", DbType.String);
            var text = Parameter(insert, "@text", DbType.String);
            insert.Prepare();
            foreach (var e in events)
            {
                t.Value = e.Time.ToUnixTimeMilliseconds();
                source.Value = e.Source;
                kind.Value = e.Kind;
                text.Value = e.Text;
                insert.ExecuteNonQuery();
            }
        }
        transaction.Commit();
    }

    /// <summary>The stored signal names starting with <paramref name="prefix"/> (all when empty), with units, by name.</summary>
    public IReadOnlyList<(string Name, string Unit)> Signals(string prefix = "")
    {
        ArgumentNullException.ThrowIfNull(prefix);
        using var connection = Open();
        using var command = Command(connection, null, "SELECT name, unit FROM signals ORDER BY name");
        using var reader = command.ExecuteReader();
        var list = new List<(string, string)>();
        while (reader.Read())
        {
            string name = reader.GetString(0);
            // Filtered here, not with LIKE: '_' and '%' in a channel name would be wildcards there.
            if (name.StartsWith(prefix, StringComparison.Ordinal)) list.Add((name, reader.GetString(1)));
        }
        return list;
    }

    /// <summary>
    /// <paramref name="signal"/> from <paramref name="from"/> (inclusive) to <paramref name="to"/> (exclusive). More stored
    /// samples than <paramref name="maxPoints"/>: equal time buckets with min, max and mean, so a spike survives the
    /// downsampling. Null for a signal never stored.
    /// </summary>
    public HistoryRange? Range(string signal, DateTimeOffset from, DateTimeOffset to, int maxPoints = 2000)
    {
        ArgumentException.ThrowIfNullOrEmpty(signal);
        if (to <= from)
            throw new ArgumentOutOfRangeException(nameof(to), to, string.Create(CultureInfo.InvariantCulture, $"range end {to:O} is not after its start {from:O}"));
        if (maxPoints < 1)
            throw new ArgumentOutOfRangeException(nameof(maxPoints), maxPoints, $"maxPoints = {maxPoints}, must be >= 1");
        using var connection = Open();
        string? unit = null;
        long id;
        using (var find = Command(connection, null, "SELECT id, unit FROM signals WHERE name = @name"))
        {
            Parameter(find, "@name", DbType.String).Value = signal;
            using var reader = find.ExecuteReader();
            if (!reader.Read()) return null;
            id = reader.GetInt64(0);
            unit = reader.GetString(1);
        }
        long f = from.ToUnixTimeMilliseconds(), t = to.ToUnixTimeMilliseconds();

        HistoryPoint? before = null;
        using (var last = Command(connection, null, "SELECT t, value FROM samples WHERE signal = @signal AND t < @from ORDER BY t DESC LIMIT 1"))
        {
            Parameter(last, "@signal", DbType.Int64).Value = id;
            Parameter(last, "@from", DbType.Int64).Value = f;
            using var reader = last.ExecuteReader();
            if (reader.Read())
            {
                double v = reader.GetDouble(1);
                before = new HistoryPoint(DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(0)), v, v, v, 1);
            }
        }

        long count;
        using (var n = Command(connection, null, "SELECT COUNT(*) FROM samples WHERE signal = @signal AND t >= @from AND t < @to"))
        {
            Bind(n, id, f, t);
            count = Convert.ToInt64(n.ExecuteScalar(), CultureInfo.InvariantCulture);
        }

        var points = new List<HistoryPoint>((int)Math.Min(count, maxPoints));
        if (count <= maxPoints)
        {
            using var raw = Command(connection, null, "SELECT t, value FROM samples WHERE signal = @signal AND t >= @from AND t < @to ORDER BY t");
            Bind(raw, id, f, t);
            using var reader = raw.ExecuteReader();
            while (reader.Read())
            {
                double v = reader.GetDouble(1);
                points.Add(new HistoryPoint(DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(0)), v, v, v, 1));
            }
        }
        else
        {
            long bucket = Math.Max(1, (t - f + maxPoints - 1) / maxPoints);
            using var grouped = Command(connection, null, """
                SELECT MIN(t), MIN(value), MAX(value), AVG(value), COUNT(*)
                FROM samples WHERE signal = @signal AND t >= @from AND t < @to
                GROUP BY (t - @from) / @bucket ORDER BY 1
                """);
            Bind(grouped, id, f, t);
            Parameter(grouped, "@bucket", DbType.Int64).Value = bucket;
            using var reader = grouped.ExecuteReader();
            while (reader.Read())
            {
                points.Add(new HistoryPoint(DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(0)),
                    reader.GetDouble(1), reader.GetDouble(2), reader.GetDouble(3), Convert.ToInt32(reader.GetValue(4), CultureInfo.InvariantCulture)));
            }
        }
        return new HistoryRange(signal, unit, from, to, before, points, count);
    }

    /// <summary>Events from <paramref name="from"/> to <paramref name="to"/>, oldest first; of one source and its
    /// sub-sources (<c>MM1</c> also gives <c>MM1.strips</c>) when <paramref name="source"/> is given.</summary>
    public IReadOnlyList<HistoryEvent> Events(DateTimeOffset from, DateTimeOffset to, string? source = null, int limit = 10_000)
    {
        using var connection = Open();
        using var command = Command(connection, null,
            "SELECT t, source, kind, text FROM events WHERE t >= @from AND t < @to ORDER BY t LIMIT @limit");
        Parameter(command, "@from", DbType.Int64).Value = from.ToUnixTimeMilliseconds();
        Parameter(command, "@to", DbType.Int64).Value = to.ToUnixTimeMilliseconds();
        // Filtered in code: a source's events are few, and a prefix LIKE would treat '_' in a name as a wildcard.
        Parameter(command, "@limit", DbType.Int64).Value = source is null ? limit : long.MaxValue;
        using var reader = command.ExecuteReader();
        var list = new List<HistoryEvent>();
        while (reader.Read() && list.Count < limit)
        {
            string s = reader.GetString(1);
            if (source is not null && !(s == source || s.StartsWith(source + ".", StringComparison.Ordinal) || s.StartsWith(source + "/", StringComparison.Ordinal)))
                continue;
            list.Add(new HistoryEvent(DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(0)), s, reader.GetString(2), reader.GetString(3)));
        }
        return list;
    }

    /// <summary>Deletes samples and events older than <paramref name="cutoff"/>; returns the rows deleted.</summary>
    public long DeleteOlderThan(DateTimeOffset cutoff)
    {
        using var connection = Open();
        using var transaction = connection.BeginTransaction();
        long deleted = 0;
        foreach (string table in (string[])["samples", "events"])
        {
            using var command = Command(connection, transaction, $"DELETE FROM {table} WHERE t < @cutoff");
            Parameter(command, "@cutoff", DbType.Int64).Value = cutoff.ToUnixTimeMilliseconds();
            deleted += command.ExecuteNonQuery();
        }
        transaction.Commit();
        return deleted;
    }

    /// <summary>
    /// After a failed write: forgets the signal ids and pooled connections and creates the tables again if they are
    /// gone (a database file deleted or a server restored empty), so that the retry writes into what is there now.
    /// Throws what the database throws while it is still unreachable.
    /// </summary>
    public void Reset()
    {
        lock (_idsLock) _ids.Clear();
        if (_dialect.Provider == HistoryProvider.Sqlite)
        {
            using var connection = new SqliteConnection(_connectionString);
            SqliteConnection.ClearPool(connection);
        }
        CreateSchema();
    }

    /// <summary>Closes pooled SQLite connections (the file can then be moved or deleted).</summary>
    public void Dispose()
    {
        if (_dialect.Provider == HistoryProvider.Sqlite)
        {
            using var connection = new SqliteConnection(_connectionString);
            SqliteConnection.ClearPool(connection);
        }
    }

    private void CreateSchema()
    {
        using var connection = Open();
        using var command = Command(connection, null, _dialect.Schema);
        command.ExecuteNonQuery();
    }

    private DbConnection Open()
    {
        var connection = _dialect.Factory.CreateConnection()
            ?? throw new InvalidOperationException($"the {_dialect.Provider} provider creates no connection");
        connection.ConnectionString = _connectionString;
        connection.Open();
        if (_dialect.SessionSetup is { } setup)
        {
            using var command = connection.CreateCommand();
            command.CommandText = setup;
            command.ExecuteNonQuery();
        }
        return connection;
    }

    private long IdOf(DbConnection connection, string signal, string unit)
    {
        lock (_idsLock)
        {
            if (_ids.TryGetValue(signal, out long known)) return known;
        }
        using (var insert = Command(connection, null, "INSERT INTO signals (name, unit) VALUES (@name, @unit) ON CONFLICT (name) DO NOTHING"))
        {
            Parameter(insert, "@name", DbType.String).Value = signal;
            Parameter(insert, "@unit", DbType.String).Value = unit;
            insert.ExecuteNonQuery();
        }
        using var select = Command(connection, null, "SELECT id FROM signals WHERE name = @name");
        Parameter(select, "@name", DbType.String).Value = signal;
        long id = Convert.ToInt64(select.ExecuteScalar(), CultureInfo.InvariantCulture);
        lock (_idsLock) _ids[signal] = id;
        return id;
    }

    private static DbCommand Command(DbConnection connection, DbTransaction? transaction, string sql)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Transaction = transaction;
        return command;
    }

    private static DbParameter Parameter(DbCommand command, string name, DbType type)
    {
        var p = command.CreateParameter();
        p.ParameterName = name;
        p.DbType = type;
        command.Parameters.Add(p);
        return p;
    }

    private static void Bind(DbCommand command, long signal, long from, long to)
    {
        Parameter(command, "@signal", DbType.Int64).Value = signal;
        Parameter(command, "@from", DbType.Int64).Value = from;
        Parameter(command, "@to", DbType.Int64).Value = to;
    }
}
