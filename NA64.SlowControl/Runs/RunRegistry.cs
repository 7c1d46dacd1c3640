using System.Globalization;
using Microsoft.Data.Sqlite;
using Serilog;

namespace NA64.SlowControl.Runs;

/// <summary>What a run takes.</summary>
public enum RunType
{
    Physics,
    Pedestal,
}

/// <summary>Where a run is in its life. Starting: number allocated, files being created; Running: taking data.</summary>
public enum RunStatus
{
    Starting,
    Running,
    Completed,
    Stopped,
    Failed,
}

/// <summary>One row of the run registry.</summary>
/// <param name="Directory">The run directory (<c>&lt;dataDirectory&gt;/runs/&lt;number&gt;</c>).</param>
public sealed record RunRecord(
    uint Number,
    RunType Type,
    DateTimeOffset Start,
    DateTimeOffset? End,
    long Events,
    long Bytes,
    RunStatus Status,
    string? Reason,
    string Directory,
    string? Note);

/// <summary>
/// The runs of one data directory, in SQLite (<c>&lt;dataDirectory&gt;/runs.sqlite</c>). Run numbers are allocated by one
/// INSERT … SELECT inside an immediate (write-locked) transaction, so two threads or two processes never get the same
/// number; the number is the largest known + 1 (known: rows, and run directories left on disk without a row), never below
/// the setup's first run number. A start that fails deletes its row again (<see cref="DeleteAsync"/>), so it does not use
/// up a number. Every method opens its own pooled connection: the registry is safe to share between threads.
/// </summary>
public sealed class RunRegistry : IDisposable
{
    /// <summary>Folder under the data directory holding one directory per run.</summary>
    public const string RunsFolder = "runs";

    public const string DatabaseFileName = "runs.sqlite";

    private readonly string _connectionString;
    private readonly uint _first;
    private readonly TimeProvider _time;
    private readonly ILogger _log;

    private RunRegistry(string dataDirectory, uint firstRunNumber, TimeProvider time, ILogger log)
    {
        DataDirectory = dataDirectory;
        DatabasePath = Path.Combine(dataDirectory, DatabaseFileName);
        _first = firstRunNumber;
        _time = time;
        _log = log;
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = DatabasePath,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = true,
            // Another process holding the write lock makes SQLite answer BUSY; Microsoft.Data.Sqlite retries until this.
            DefaultTimeout = 30,
        }.ToString();
    }

    public string DataDirectory { get; }

    public string DatabasePath { get; }

    /// <summary>Opens (creating if needed) the registry of <paramref name="dataDirectory"/>.</summary>
    /// <param name="firstRunNumber">The setup's <c>readout.runNumber</c>: the first number given out (≠ 0: DDD loads no maps for run 0).</param>
    public static RunRegistry Open(string dataDirectory, uint firstRunNumber, TimeProvider? time = null, ILogger? log = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(dataDirectory);
        if (firstRunNumber == 0)
        {
            throw new ArgumentOutOfRangeException(nameof(firstRunNumber), firstRunNumber, "first run number = 0 refused: DDD loads no maps for run 0");
        }

        var full = Path.GetFullPath(dataDirectory);
        Directory.CreateDirectory(Path.Combine(full, RunsFolder));
        var registry = new RunRegistry(full, firstRunNumber, time ?? TimeProvider.System, log ?? Serilog.Core.Logger.None);
        registry.CreateSchema();
        return registry;
    }

    /// <summary>The directory of a run: <c>&lt;dataDirectory&gt;/runs/&lt;number&gt;</c>.</summary>
    public string RunDirectory(uint run) => Path.Combine(DataDirectory, RunsFolder, run.ToString(CultureInfo.InvariantCulture));

    /// <summary>Allocates the next run number and records the run as <see cref="RunStatus.Starting"/>. Does not create the directory.</summary>
    public async Task<RunRecord> BeginAsync(RunType type, string? note, CancellationToken cancellationToken = default)
    {
        var start = _time.GetUtcNow();
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        // Immediate: the write lock is taken at BEGIN, so the read of the largest number and the insert are one step.
        await using var transaction = connection.BeginTransaction(deferred: false);
        long onDisk = LargestRunDirectory();
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = """
            INSERT INTO runs (number, type, start, events, bytes, status, directory, note)
            SELECT MAX(COALESCE(MAX(number) + 1, $first), $first, $disk + 1), $type, $start, 0, 0, 'starting', '', $note FROM runs
            RETURNING number
            """;
        command.Parameters.AddWithValue("$first", (long)_first);
        command.Parameters.AddWithValue("$disk", onDisk);
        command.Parameters.AddWithValue("$type", Name(type));
        command.Parameters.AddWithValue("$start", start.ToString("O", CultureInfo.InvariantCulture));
        command.Parameters.AddWithValue("$note", (object?)note ?? DBNull.Value);
        var number = Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false), CultureInfo.InvariantCulture);
        if (number > uint.MaxValue)
        {
            throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture,
                $"run number {number} refused: DATE run numbers are 32 bits (limit {uint.MaxValue})"));
        }

        var run = (uint)number;
        var directory = RunDirectory(run);
        await using (var update = connection.CreateCommand())
        {
            update.Transaction = transaction;
            update.CommandText = "UPDATE runs SET directory = $dir WHERE number = $n";
            update.Parameters.AddWithValue("$dir", directory);
            update.Parameters.AddWithValue("$n", number);
            await update.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        _log.Information("Run {Run} ({Type}) allocated in {Registry}", run, type, DatabasePath);
        return new RunRecord(run, type, start, null, 0, 0, RunStatus.Starting, null, directory, note);
    }

    /// <summary>The run's files exist and data taking begins.</summary>
    public Task MarkRunningAsync(uint run, CancellationToken cancellationToken = default) =>
        UpdateAsync(run, "UPDATE runs SET status = 'running' WHERE number = $n", null, cancellationToken);

    /// <summary>Live counters of a running run (events and bytes in the file so far).</summary>
    public Task UpdateCountsAsync(uint run, long events, long bytes, CancellationToken cancellationToken = default) =>
        UpdateAsync(run, "UPDATE runs SET events = $events, bytes = $bytes WHERE number = $n",
            c =>
            {
                c.Parameters.AddWithValue("$events", events);
                c.Parameters.AddWithValue("$bytes", bytes);
            }, cancellationToken);

    /// <summary>The end of a run: completed, stopped (operator) or failed (with the reason).</summary>
    public Task CompleteAsync(uint run, RunStatus status, long events, long bytes, string? reason, CancellationToken cancellationToken = default)
    {
        if (status is RunStatus.Starting or RunStatus.Running)
        {
            throw new ArgumentOutOfRangeException(nameof(status), status, "a run ends as completed, stopped or failed");
        }

        var end = _time.GetUtcNow();
        return UpdateAsync(run, "UPDATE runs SET status = $status, end = $end, events = $events, bytes = $bytes, reason = $reason WHERE number = $n",
            c =>
            {
                c.Parameters.AddWithValue("$status", Name(status));
                c.Parameters.AddWithValue("$end", end.ToString("O", CultureInfo.InvariantCulture));
                c.Parameters.AddWithValue("$events", events);
                c.Parameters.AddWithValue("$bytes", bytes);
                c.Parameters.AddWithValue("$reason", (object?)reason ?? DBNull.Value);
            }, cancellationToken);
    }

    /// <summary>Forgets a run whose start failed (its files are already removed), so that its number is given out again.</summary>
    public async Task DeleteAsync(uint run, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = "DELETE FROM runs WHERE number = $n";
        command.Parameters.AddWithValue("$n", (long)run);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        _log.Information("Run {Run} removed from {Registry}", run, DatabasePath);
    }

    /// <summary>Every run, by number.</summary>
    public async Task<IReadOnlyList<RunRecord>> ListAsync(CancellationToken cancellationToken = default) =>
        await QueryAsync("SELECT * FROM runs ORDER BY number", null, cancellationToken).ConfigureAwait(false);

    public async Task<RunRecord?> GetAsync(uint run, CancellationToken cancellationToken = default)
    {
        var rows = await QueryAsync("SELECT * FROM runs WHERE number = $n", c => c.Parameters.AddWithValue("$n", (long)run), cancellationToken)
            .ConfigureAwait(false);
        return rows.Count == 0 ? null : rows[0];
    }

    /// <summary>Closes the pooled connections (the database file can then be moved or deleted).</summary>
    public void Dispose()
    {
        using var connection = new SqliteConnection(_connectionString);
        SqliteConnection.ClearPool(connection);
    }

    private void CreateSchema()
    {
        using var connection = new SqliteConnection(_connectionString);
        connection.Open();
        using var command = connection.CreateCommand();
        // WAL: readers (status, lists) never block the writer that allocates a number.
        command.CommandText = """
            PRAGMA journal_mode = WAL;
            CREATE TABLE IF NOT EXISTS runs (
                number    INTEGER PRIMARY KEY,
                type      TEXT NOT NULL CHECK (type IN ('physics', 'pedestal')),
                start     TEXT NOT NULL,
                end       TEXT,
                events    INTEGER NOT NULL DEFAULT 0,
                bytes     INTEGER NOT NULL DEFAULT 0,
                status    TEXT NOT NULL CHECK (status IN ('starting', 'running', 'completed', 'stopped', 'failed')),
                reason    TEXT,
                directory TEXT NOT NULL,
                note      TEXT
            );
            """;
        command.ExecuteNonQuery();
    }

    private async Task<SqliteConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        return connection;
    }

    private async Task UpdateAsync(uint run, string sql, Action<SqliteCommand>? bind, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Parameters.AddWithValue("$n", (long)run);
        bind?.Invoke(command);
        if (await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) != 1)
        {
            throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture, $"run {run} is not in the registry {DatabasePath}"));
        }
    }

    private async Task<List<RunRecord>> QueryAsync(string sql, Action<SqliteCommand>? bind, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        bind?.Invoke(command);
        var list = new List<RunRecord>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            list.Add(new RunRecord(
                (uint)reader.GetInt64(reader.GetOrdinal("number")),
                ParseType(reader.GetString(reader.GetOrdinal("type"))),
                DateTimeOffset.Parse(reader.GetString(reader.GetOrdinal("start")), CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind),
                reader.IsDBNull(reader.GetOrdinal("end")) ? null
                    : DateTimeOffset.Parse(reader.GetString(reader.GetOrdinal("end")), CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind),
                reader.GetInt64(reader.GetOrdinal("events")),
                reader.GetInt64(reader.GetOrdinal("bytes")),
                ParseStatus(reader.GetString(reader.GetOrdinal("status"))),
                reader.IsDBNull(reader.GetOrdinal("reason")) ? null : reader.GetString(reader.GetOrdinal("reason")),
                reader.GetString(reader.GetOrdinal("directory")),
                reader.IsDBNull(reader.GetOrdinal("note")) ? null : reader.GetString(reader.GetOrdinal("note"))));
        }

        return list;
    }

    // A run directory without a row (the database was replaced, or a crash between mkdir and insert) still owns its number.
    private long LargestRunDirectory()
    {
        long largest = 0;
        foreach (var dir in Directory.EnumerateDirectories(Path.Combine(DataDirectory, RunsFolder)))
        {
            if (uint.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > largest)
            {
                largest = n;
            }
        }

        return largest;
    }

    public static string Name(RunType type) => type == RunType.Physics ? "physics" : "pedestal";

    public static string Name(RunStatus status) => status.ToString().ToLowerInvariant();

    private static RunType ParseType(string text) => text switch
    {
        "physics" => RunType.Physics,
        "pedestal" => RunType.Pedestal,
        _ => throw new InvalidDataException($"run registry: type = '{text}' is not physics or pedestal"),
    };

    private static RunStatus ParseStatus(string text) => Enum.TryParse<RunStatus>(text, ignoreCase: true, out var s) && Name(s) == text
        ? s
        : throw new InvalidDataException($"run registry: status = '{text}' is not starting, running, completed, stopped or failed");
}
