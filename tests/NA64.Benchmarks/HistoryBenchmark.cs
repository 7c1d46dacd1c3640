using System.Diagnostics;
using System.Globalization;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;
using NA64.SlowControl.History;

namespace NA64.Benchmarks;

/// <summary>
/// History store (issue 11): insert throughput of the writer's batches into SQLite (WAL, one transaction per batch of
/// <see cref="HistoryOptions.BatchSize"/>), and the query time for one channel over 24 h of 1 Hz data (86 400 samples)
/// as a plot asks for it (downsampled to 2000 points) and raw. Reported, no target: the poll-cycle target with history
/// recording every readback is the HV poll benchmark's. The database lives in a temporary directory of the machine's
/// disk, so the numbers include its fsyncs.
/// </summary>
[SimpleJob(RunStrategy.Monitoring, launchCount: 1, warmupCount: 1, iterationCount: 3)]
public class HistoryBenchmark : IQuickBenchmark
{
    public const int Channels = 64;
    public const int SamplesPerChannel = 86_400;
    private static readonly DateTimeOffset T0 = new(2026, 12, 1, 0, 0, 0, TimeSpan.Zero);

    private string _dir = "";
    private HistoryStore? _store;

    [GlobalSetup]
    public void Setup()
    {
        _dir = Path.Combine(Path.GetTempPath(), "na64-history-bench-" + Guid.NewGuid().ToString("N"));
        _store = HistoryStore.Open(new HistoryOptions(), _dir);
        Fill(_store, 1, SamplesPerChannel);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _store?.Dispose();
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    [Benchmark]
    public int Query24hDownsampled() => _store!.Range("CH000/vmon", T0, T0.AddDays(1), 2000)!.Points.Count;

    [Benchmark]
    public int Query24hRaw() => _store!.Range("CH000/vmon", T0, T0.AddDays(1), SamplesPerChannel)!.Points.Count;

    /// <summary>A day of 1 Hz samples for <paramref name="channels"/> channels, written as the recorder's writer does; rows/s.</summary>
    private static double Fill(HistoryStore store, int channels, int seconds)
    {
        int batch = new HistoryOptions().BatchSize;
        var rows = new List<HistorySample>(batch);
        var watch = Stopwatch.StartNew();
        long n = 0;
        for (int s = 0; s < seconds; s++)
        {
            for (int c = 0; c < channels; c++)
            {
                // A voltage with noise above any deadband: every readback stored (the worst case).
                double v = 540 + 0.1 * Math.Sin(s * 0.01 + c);
                rows.Add(new HistorySample(string.Create(CultureInfo.InvariantCulture, $"CH{c:D3}/vmon"), "V", T0.AddSeconds(s), v));
                if (rows.Count == batch)
                {
                    store.Write(rows, []);
                    n += rows.Count;
                    rows.Clear();
                }
            }
        }
        store.Write(rows, []);
        n += rows.Count;
        return n / watch.Elapsed.TotalSeconds;
    }

    public bool RunQuick(QuickRunner runner)
    {
        ArgumentNullException.ThrowIfNull(runner);
        var inv = CultureInfo.InvariantCulture;
        Setup();
        try
        {
            // Throughput over a fresh store: an hour of the whole HV setup (64 channels at 1 Hz, 230 400 rows).
            string dir = Path.Combine(_dir, "insert");
            double rowsPerSecond;
            using (var fresh = HistoryStore.Open(new HistoryOptions(), dir))
                rowsPerSecond = Fill(fresh, Channels, 3600);
            var t = runner.Measure(() => Query24hDownsampled(), () => Query24hRaw());
            runner.Line("-- History (SQLite, WAL; one channel's day = 86,400 samples at 1 Hz)");
            runner.Line(string.Create(inv, $"   insert, batches of {new HistoryOptions().BatchSize}: {rowsPerSecond,12:N0} rows/s ({rowsPerSecond / Channels:N0} x the 64-channel HV setup at 1 Hz)"));
            runner.Line(string.Create(inv, $"   query 24 h, downsampled to 2000 points: {t[0].WallSeconds * 1e3,8:F1} ms"));
            runner.Line(string.Create(inv, $"   query 24 h, raw 86,400 points:          {t[1].WallSeconds * 1e3,8:F1} ms"));
            return true;
        }
        finally
        {
            Cleanup();
        }
    }
}
