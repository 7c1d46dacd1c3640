using System.Data.Common;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace NA64.SlowControl.History;

/// <summary>
/// What differs between the databases the history can live in: the provider, the schema's column types and the
/// per-connection settings. Every statement that reads or writes rows is shared (<see cref="HistoryStore"/>): named
/// <c>@</c> parameters, <c>INSERT … ON CONFLICT … DO UPDATE SET … = excluded.…</c>, integer division and
/// <c>LIMIT</c> mean the same in SQLite (≥ 3.35) and PostgreSQL (≥ 9.5).
/// </summary>
public sealed record HistoryDialect(HistoryProvider Provider, DbProviderFactory Factory, string Schema, string? SessionSetup)
{
    /// <summary>
    /// SQLite: WAL so that queries never block the writer; NORMAL sync (a power cut may lose the last batch, never
    /// corrupt the file); samples clustered by (signal, t) without a rowid, so one channel's day is one range scan.
    /// </summary>
    public static HistoryDialect Sqlite { get; } = new(HistoryProvider.Sqlite, SqliteFactory.Instance, """
        CREATE TABLE IF NOT EXISTS signals (
            id   INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            unit TEXT NOT NULL
        );
        CREATE TABLE IF NOT EXISTS samples (
            signal INTEGER NOT NULL REFERENCES signals (id),
            t      INTEGER NOT NULL,
            value  REAL NOT NULL,
            PRIMARY KEY (signal, t)
        ) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS events (
            t      INTEGER NOT NULL,
            source TEXT NOT NULL,
            kind   TEXT NOT NULL,
            text   TEXT NOT NULL
        );
        CREATE INDEX IF NOT EXISTS events_by_time ON events (t);
        CREATE INDEX IF NOT EXISTS events_by_source ON events (source, t);
        """, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;");

    /// <summary>
    /// PostgreSQL: the same tables with its types (BIGSERIAL, BIGINT milliseconds, DOUBLE PRECISION). The primary key of
    /// samples is (signal, t) as in SQLite; on TimescaleDB the table can be made a hypertable on t (History/README.md).
    /// </summary>
    public static HistoryDialect PostgreSql { get; } = new(HistoryProvider.PostgreSql, NpgsqlFactory.Instance, """
        CREATE TABLE IF NOT EXISTS signals (
            id   BIGSERIAL PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            unit TEXT NOT NULL
        );
        CREATE TABLE IF NOT EXISTS samples (
            signal BIGINT NOT NULL REFERENCES signals (id),
            t      BIGINT NOT NULL,
            value  DOUBLE PRECISION NOT NULL,
            PRIMARY KEY (signal, t)
        );
        CREATE TABLE IF NOT EXISTS events (
            t      BIGINT NOT NULL,
            source TEXT NOT NULL,
            kind   TEXT NOT NULL,
            text   TEXT NOT NULL
        );
        CREATE INDEX IF NOT EXISTS events_by_time ON events (t);
        CREATE INDEX IF NOT EXISTS events_by_source ON events (source, t);
        """, null);

    public static HistoryDialect For(HistoryProvider provider) => provider switch
    {
        HistoryProvider.Sqlite => Sqlite,
        HistoryProvider.PostgreSql => PostgreSql,
        _ => throw new ArgumentOutOfRangeException(nameof(provider), provider, "history provider must be sqlite or postgresql"),
    };
}
