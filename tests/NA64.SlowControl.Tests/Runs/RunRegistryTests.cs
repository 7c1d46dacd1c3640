using Microsoft.Extensions.Time.Testing;
using NA64.SlowControl.Runs;

namespace NA64.SlowControl.Tests.Runs;

public sealed class RunRegistryTests : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "na64-registry-tests", Guid.NewGuid().ToString("N"));
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2018, 7, 1, 12, 0, 0, TimeSpan.Zero));

    public void Dispose()
    {
        if (Directory.Exists(_directory))
            Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public async Task TheFirstRun_GetsTheSetupsNumber_AndTheNextOneFollows()
    {
        using var registry = RunRegistry.Open(_directory, 1001, _time);

        var a = await registry.BeginAsync(RunType.Pedestal, "before beam");
        var b = await registry.BeginAsync(RunType.Physics, null);

        Assert.Equal((1001u, 1002u), (a.Number, b.Number));
        Assert.Equal(Path.Combine(Path.GetFullPath(_directory), "runs", "1001"), a.Directory);
        Assert.Equal(RunStatus.Starting, a.Status);
        var stored = await registry.GetAsync(1001);
        Assert.Equal(a, stored);
    }

    [Fact]
    public async Task ARunGoesFromStartingToRunningToItsEnd_WithCountsTimesAndReason()
    {
        using var registry = RunRegistry.Open(_directory, 7, _time);
        var run = await registry.BeginAsync(RunType.Physics, "latency scan 44");
        await registry.MarkRunningAsync(run.Number);
        Assert.Equal(RunStatus.Running, (await registry.GetAsync(run.Number))!.Status);
        await registry.UpdateCountsAsync(run.Number, 10, 2000);
        Assert.Equal((10L, 2000L), ((await registry.GetAsync(run.Number))!.Events, (await registry.GetAsync(run.Number))!.Bytes));
        _time.Advance(TimeSpan.FromMinutes(3));

        await registry.CompleteAsync(run.Number, RunStatus.Failed, 1234, 567_890, "write error on the DATE file: No space left on device");

        var end = await registry.GetAsync(run.Number);
        Assert.Equal(new RunRecord(7, RunType.Physics, _time.GetUtcNow() - TimeSpan.FromMinutes(3), _time.GetUtcNow(), 1234, 567_890, RunStatus.Failed,
            "write error on the DATE file: No space left on device", run.Directory, "latency scan 44"), end);
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => registry.CompleteAsync(run.Number, RunStatus.Running, 0, 0, null));
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => registry.CompleteAsync(99, RunStatus.Completed, 0, 0, null));
        Assert.Contains("run 99 is not in the registry", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ConcurrentAllocations_FromThreadsAndFromTwoRegistries_NeverShareANumber()
    {
        // Two registries on one data directory stand for two processes: each has its own connections to the database.
        using var first = RunRegistry.Open(_directory, 1001, _time);
        using var second = RunRegistry.Open(_directory, 1001, _time);
        var tasks = Enumerable.Range(0, 8).Select(i => Task.Run(async () =>
        {
            var registry = i % 2 == 0 ? first : second;
            var numbers = new List<uint>();
            for (int k = 0; k < 10; k++)
                numbers.Add((await registry.BeginAsync(RunType.Physics, null)).Number);
            return numbers;
        })).ToArray();

        var all = (await Task.WhenAll(tasks)).SelectMany(n => n).ToList();

        Assert.Equal(80, all.Distinct().Count());
        Assert.Equal(Enumerable.Range(1001, 80).Select(n => (uint)n), all.Order());
        Assert.Equal(80, (await first.ListAsync()).Count);
    }

    [Fact]
    public async Task ADeletedStart_GivesItsNumberBack()
    {
        using var registry = RunRegistry.Open(_directory, 1001, _time);
        var a = await registry.BeginAsync(RunType.Physics, null);

        await registry.DeleteAsync(a.Number);
        var b = await registry.BeginAsync(RunType.Physics, null);

        Assert.Equal(a.Number, b.Number);
        Assert.Single(await registry.ListAsync());
    }

    [Fact]
    public async Task ARunDirectoryLeftOnDisk_KeepsItsNumber_AndTheRegistrySurvivesReopening()
    {
        using (var registry = RunRegistry.Open(_directory, 1001, _time))
        {
            await registry.BeginAsync(RunType.Physics, null);
        }

        Directory.CreateDirectory(Path.Combine(_directory, "runs", "1500"));
        using var reopened = RunRegistry.Open(_directory, 1001, _time);

        Assert.Equal(1501u, (await reopened.BeginAsync(RunType.Physics, null)).Number);
        Assert.Equal([1001u, 1501u], (await reopened.ListAsync()).Select(r => r.Number));
    }

    [Fact]
    public void RunZero_IsRefused()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => RunRegistry.Open(_directory, 0));
        Assert.Contains("run 0", e.Message, StringComparison.Ordinal);
    }
}
