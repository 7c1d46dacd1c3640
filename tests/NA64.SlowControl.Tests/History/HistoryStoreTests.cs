using System.Diagnostics;
using Microsoft.Extensions.Time.Testing;
using NA64.SlowControl.History;
using Xunit;

namespace NA64.SlowControl.Tests.History;

public sealed class HistoryStoreTests : IDisposable
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 3, 12, 0, 0, TimeSpan.Zero);
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "na64-history-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    private HistoryStore Open(HistoryOptions? options = null) => HistoryStore.Open(options ?? new HistoryOptions(), _dir);

    [Fact]
    public void Samples_and_events_come_back_with_units_times_and_the_value_before_the_range()
    {
        using var store = Open();
        store.Write(
        [
            new("MM1.strips/vmon", "V", T0, 0),
            new("MM1.strips/vmon", "V", T0.AddSeconds(10), 250.5),
            new("MM1.strips/vmon", "V", T0.AddSeconds(20), 540.0),
            new("MM1.strips/imon", "uA", T0.AddSeconds(20), 0.7),
        ],
        [
            new(T0.AddSeconds(15), "MM1.strips", "state", "Off -> RampingUp"),
            new(T0.AddSeconds(16), "MM10.strips", "state", "Off -> RampingUp"),
        ]);

        var range = store.Range("MM1.strips/vmon", T0.AddSeconds(5), T0.AddSeconds(30));
        Assert.NotNull(range);
        Assert.Equal("V", range.Unit);
        Assert.Equal(0, range.Before!.Value.Mean);
        Assert.Equal(T0, range.Before.Value.Time);
        Assert.Equal([250.5, 540.0], range.Points.Select(p => p.Mean));
        Assert.Equal(2, range.StoredSamples);
        Assert.Null(store.Range("MM9.strips/vmon", T0, T0.AddHours(1)));

        // MM1's events, not MM10's: a source and its sub-sources only.
        var events = store.Events(T0, T0.AddMinutes(1), "MM1");
        Assert.Equal("Off -> RampingUp", Assert.Single(events).Text);
        Assert.Equal(2, store.Events(T0, T0.AddMinutes(1)).Count);
        Assert.Equal(["MM1.strips/imon", "MM1.strips/vmon"], store.Signals("MM1.").Select(s => s.Name));
    }

    [Fact]
    public void A_long_range_is_downsampled_into_buckets_that_keep_the_spike()
    {
        using var store = Open();
        var samples = new List<HistorySample>();
        for (int s = 0; s < 3600; s++)
            samples.Add(new("ECAL0/vmon", "V", T0.AddSeconds(s), s == 1234 ? 0 : 1000 + s % 2));
        store.Write(samples, []);

        var range = store.Range("ECAL0/vmon", T0, T0.AddHours(1), maxPoints: 60)!;
        Assert.Equal(3600, range.StoredSamples);
        Assert.Equal(60, range.Points.Count);
        Assert.All(range.Points, p => Assert.Equal(60, p.Count));
        // The trip at 1234 s is in bucket 20 (1200..1259 s) as its minimum; the mean barely moves.
        Assert.Equal(0, range.Points[20].Min);
        Assert.Equal(1001, range.Points[20].Max);
        Assert.Equal(1000, range.Points[19].Min);
        Assert.InRange(range.Points[20].Mean, 983, 984);
    }

    [Fact]
    public void Two_readbacks_in_one_millisecond_keep_the_last_and_old_rows_are_purged()
    {
        using var store = Open();
        store.Write([new("HALL/pressure", "hPa", T0, 965.1), new("HALL/pressure", "hPa", T0, 965.3)], [new(T0, "HALL", "alarm", "x")]);
        Assert.Equal(965.3, Assert.Single(store.Range("HALL/pressure", T0, T0.AddSeconds(1))!.Points).Mean);

        store.Write([new("HALL/pressure", "hPa", T0.AddDays(40), 966.0)], []);
        Assert.Equal(2, store.DeleteOlderThan(T0.AddDays(10)));
        Assert.Equal(966.0, Assert.Single(store.Range("HALL/pressure", T0, T0.AddDays(41))!.Points).Mean);
    }

    [Fact]
    public void Bad_ranges_and_options_are_refused_naming_the_field_and_the_limit()
    {
        using var store = Open();
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => store.Range("x", T0, T0));
        Assert.Contains("is not after its start", e.Message);
        Assert.Contains("maxPoints = 0", Assert.Throws<ArgumentOutOfRangeException>(() => store.Range("x", T0, T0.AddSeconds(1), 0)).Message);
        Assert.Contains("Retention = -", Assert.Throws<ArgumentOutOfRangeException>(() =>
            new HistoryOptions { Retention = TimeSpan.FromDays(-1) }.Validate()).Message);
        Assert.Contains("deadband of '*/vmon' = -1", Assert.Throws<ArgumentOutOfRangeException>(() =>
            new HistoryOptions { Deadbands = [new("*/vmon", -1)] }.Validate()).Message);
        Assert.Contains("needs a connectionString", Assert.Throws<ArgumentException>(() =>
            new HistoryOptions { Provider = HistoryProvider.PostgreSql }.Validate()).Message);
    }

    [Theory]
    [InlineData("*/vmon", "MM1.strips/vmon", true)]
    [InlineData("*/vmon", "MM1.strips/imon", false)]
    [InlineData("MM1.*", "MM1.drift/vmon", true)]
    [InlineData("MM1.*", "MM10.drift/vmon", false)]
    [InlineData("*strips*", "MM1.strips/vmon", true)]
    [InlineData("HALL/pressure", "HALL/pressure", true)]
    [InlineData("HALL/pressure", "HALL/pressure2", false)]
    public void Deadband_patterns_match_names_prefixes_and_suffixes(string pattern, string signal, bool matches) =>
        Assert.Equal(matches, new HistoryDeadband(pattern, 1).Matches(signal));

    /// <summary>Only the schema differs between the dialects; PostgreSQL's is checked as text (no server here).</summary>
    [Fact]
    public void The_postgresql_dialect_differs_only_in_types_and_has_no_sqlite_pragmas()
    {
        var pg = HistoryDialect.PostgreSql;
        Assert.Contains("BIGSERIAL PRIMARY KEY", pg.Schema);
        Assert.Contains("DOUBLE PRECISION", pg.Schema);
        Assert.DoesNotContain("WITHOUT ROWID", pg.Schema);
        Assert.Null(pg.SessionSetup);
        Assert.Equal("Npgsql", pg.Factory.GetType().Namespace);
        Assert.Contains("WITHOUT ROWID", HistoryDialect.Sqlite.Schema);
        // The same table and column names in both, so every shared statement reads the same rows.
        foreach (string name in (string[])["signals (", "samples (", "events (", "signal ", "value ", "source ", "kind ", "text "])
            Assert.Contains(name, pg.Schema);
    }
}

public sealed class HistoryRecorderTests : IDisposable
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 3, 12, 0, 0, TimeSpan.Zero);
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "na64-history-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public async Task The_deadband_stores_changes_and_a_heartbeat_and_a_flush_stores_everything_queued()
    {
        var time = new FakeTimeProvider(T0);
        var options = new HistoryOptions { Deadbands = [new("*/vmon", 0.5)], Heartbeat = TimeSpan.FromSeconds(60) };
        using var store = HistoryStore.Open(options, _dir);
        var recorder = new HistoryRecorder(store, options, time);
        using var stop = new CancellationTokenSource();
        var writer = recorder.RunAsync(stop.Token);

        double[] volts = [540.0, 540.2, 540.4, 540.6, 540.6, 540.6];
        for (int s = 0; s < volts.Length; s++)
            recorder.Record("MM1.strips/vmon", "V", T0.AddSeconds(s), volts[s]);
        // Within the deadband but a minute after the last stored point: the heartbeat stores it.
        recorder.Record("MM1.strips/vmon", "V", T0.AddSeconds(65), 540.6);
        // No deadband for imon: every change.
        recorder.Record("MM1.strips/imon", "uA", T0, 0.70);
        recorder.Record("MM1.strips/imon", "uA", T0.AddSeconds(1), 0.71);
        recorder.RecordEvent(T0.AddSeconds(2), "MM1.strips", "state", "RampingUp -> On");
        await recorder.FlushAsync().WaitAsync(TimeSpan.FromMinutes(1));

        var stored = store.Range("MM1.strips/vmon", T0, T0.AddMinutes(2))!.Points.Select(p => (p.Time, p.Mean)).ToArray();
        Assert.Equal([(T0, 540.0), (T0.AddSeconds(3), 540.6), (T0.AddSeconds(65), 540.6)], stored);
        Assert.Equal(2, store.Range("MM1.strips/imon", T0, T0.AddMinutes(1))!.Points.Count);
        Assert.Single(store.Events(T0, T0.AddMinutes(1)));
        var c = recorder.Counters;
        Assert.Equal((10L, 4L, 5L, 1L, 0L), (c.Offered, c.Filtered, c.Written, c.Events, c.Dropped));
        Assert.Throws<ArgumentOutOfRangeException>(() => recorder.Record("MM1.strips/vmon", "V", T0, double.NaN));

        await stop.CancelAsync();
        await writer.WaitAsync(TimeSpan.FromMinutes(1));
    }

    [Fact]
    public async Task A_full_queue_drops_and_counts_and_the_poll_never_waits()
    {
        var options = new HistoryOptions { QueueCapacity = 3 };
        using var store = HistoryStore.Open(options, _dir);
        var recorder = new HistoryRecorder(store, options, new FakeTimeProvider(T0));
        // No writer yet: the queue fills after 3.
        var accepted = Enumerable.Range(0, 5).Select(s => recorder.Record("DOOR/state", "", T0.AddSeconds(s), s)).ToArray();
        Assert.Equal([true, true, true, false, false], accepted);
        Assert.False(recorder.RecordEvent(T0, "DOOR", "state", "open"));
        Assert.Equal(3, recorder.Counters.Dropped);

        using var stop = new CancellationTokenSource();
        var writer = recorder.RunAsync(stop.Token);
        await recorder.FlushAsync().WaitAsync(TimeSpan.FromMinutes(1));
        Assert.Equal(3, store.Range("DOOR/state", T0, T0.AddMinutes(1))!.StoredSamples);
        await stop.CancelAsync();
        await writer.WaitAsync(TimeSpan.FromMinutes(1));
    }

    [Fact]
    public async Task A_failed_write_keeps_its_batch_and_retries_until_the_database_is_back()
    {
        var time = new FakeTimeProvider(T0);
        var dbDir = Path.Combine(_dir, "db");
        var options = new HistoryOptions { ConnectionString = "Data Source=" + Path.Combine(dbDir, "history.sqlite"), RetryDelay = TimeSpan.FromSeconds(1) };
        Directory.CreateDirectory(dbDir);
        using var store = HistoryStore.Open(options, _dir);
        var recorder = new HistoryRecorder(store, options, time);
        using var stop = new CancellationTokenSource();
        var writer = recorder.RunAsync(stop.Token);

        // The database goes away (its directory removed, e.g. a full or unmounted disk): writes fail.
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(dbDir, recursive: true);
        recorder.Record("MM-GAS/pressure", "hPa", T0, 970.2);
        var flushed = recorder.FlushAsync();
        await Until(() => recorder.Counters.WriteFailures >= 1, "the first failed write");
        Assert.False(flushed.IsCompleted);

        // Back: the retry after the delay recreates the tables and stores the kept batch.
        Directory.CreateDirectory(dbDir);
        var watch = Stopwatch.StartNew();
        while (!flushed.IsCompleted)
        {
            // Simulated time moves the retry delay on; the safety net only guards against a hang.
            Assert.True(watch.Elapsed < TimeSpan.FromMinutes(1), "safety net: the kept batch was never written");
            time.Advance(TimeSpan.FromSeconds(1));
            await Task.Yield();
        }
        await flushed;
        Assert.Equal(970.2, Assert.Single(store.Range("MM-GAS/pressure", T0, T0.AddMinutes(1))!.Points).Mean);
        Assert.Equal(1, recorder.Counters.Written);
        await stop.CancelAsync();
        await writer.WaitAsync(TimeSpan.FromMinutes(1));
    }

    private static async Task Until(Func<bool> condition, string what)
    {
        var watch = Stopwatch.StartNew();
        while (!condition())
        {
            if (watch.Elapsed > TimeSpan.FromMinutes(1)) throw new TimeoutException($"Safety net: never reached: {what}");
            await Task.Yield();
        }
    }
}

public sealed class HistoryPlotTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 3, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void A_ramp_and_a_trip_are_drawn_with_the_scale_and_the_span()
    {
        // 0 V before the range, a ramp to 540 V in the first quarter, a trip to 0 in the third, back at the end.
        var points = new List<HistoryPoint>();
        for (int s = 0; s <= 15; s++) points.Add(new(T0.AddSeconds(s), s * 36, s * 36, s * 36, 1));
        points.Add(new(T0.AddSeconds(40), 0, 0, 0, 1));
        points.Add(new(T0.AddSeconds(55), 540, 540, 540, 1));
        var range = new HistoryRange("MM1.strips/vmon", "V", T0, T0.AddSeconds(60), new(T0.AddSeconds(-5), 0, 0, 0, 1), points, points.Count);
        var lines = HistoryPlot.Render(range, width: 12, height: 2);

        Assert.Equal(5, lines.Count);
        Assert.StartsWith("540 │", lines[0]);
        Assert.StartsWith("  0 │", lines[1]);
        // 5 s per column. Ramp: shaded, then solid up to where the slice started (it only rose); at 540 V: solid; the trip's slice shaded
        // from 0 to 540, the two slices at 0 V marked on the bottom row only; the recovery's slice shaded again.
        Assert.Equal("540 │ ░▂▇████░  ░", lines[0]);
        Assert.Equal("  0 │░▄██████░▁▁░", lines[1]);
        Assert.Equal("    └────────────", lines[2]);
        Assert.Equal("     2026-12-03 12:00:00 .. 12:01:00", lines[3]);
        Assert.Equal("MM1.strips/vmon [V]: 18 stored samples, min 0, max 540", lines[4]);
    }

    [Fact]
    public void An_empty_range_says_so()
    {
        var range = new HistoryRange("HALL/pressure", "hPa", T0, T0.AddHours(1), null, [], 0);
        Assert.Equal("HALL/pressure: no samples between 2026-12-03 12:00:00Z and 2026-12-03 13:00:00Z", Assert.Single(HistoryPlot.Render(range)));
    }
}
