using NA64.Readout.Formats;
using NA64.Readout.Pipeline;
using NA64.SlowControl.Readout;
using NA64.SlowControl.Runs;
using NA64.SlowControl.Setup;

namespace NA64.SlowControl.Tests.Readout;

/// <summary>Runs as the registry numbers them and as their directories hold them: DATE structure, summary, failures, stop.</summary>
public sealed class RunDirectoryTests
{
    private static List<DateEventHeader> Headers(string file)
    {
        var list = new List<DateEventHeader>();
        using var reader = DateFileReader.Open(file);
        while (reader.ReadNext() is { } ev)
            list.Add(ev.Header);
        return list;
    }

    [Fact]
    public async Task A_two_spill_physics_run_writes_SOR_then_SOB_physics_EOB_twice_then_EOR_in_its_run_directory()
    {
        await using var kit = ReadoutTestKit.Create(particlesPerSpill: 300);
        var pedestals = await kit.Run.PedestalRunAsync(50);
        kit.Run.Latency = 44;

        var result = await kit.Run.PhysicsRunAsync(new PhysicsRunRequest { Spills = 2, Note = "two spills" });

        Assert.Equal((1001u, 1002u), (pedestals.RunNumber, result.RunNumber));
        Assert.Equal(RunStatus.Completed, result.Status);
        Assert.Null(result.Reason);
        Assert.Equal(Path.Combine(kit.Directory, "runs", "1002"), result.RunDirectory);
        Assert.Equal(Path.Combine(result.RunDirectory, "cdr01001-001002.dat"), result.DataFile);
        var headers = Headers(result.DataFile);
        var types = headers.Select(h => h.Type).ToList();
        int physics1 = headers.Count(h => h.Type == DateEventType.Physics && h.Burst == 1);
        int physics2 = headers.Count(h => h.Type == DateEventType.Physics && h.Burst == 2);
        Assert.True(physics1 > 0 && physics2 > 0);
        Assert.Equal(
            [DateEventType.StartOfRun,
             DateEventType.StartOfBurst, .. Enumerable.Repeat(DateEventType.Physics, physics1), DateEventType.EndOfBurst,
             DateEventType.StartOfBurst, .. Enumerable.Repeat(DateEventType.Physics, physics2), DateEventType.EndOfBurst,
             DateEventType.EndOfRun],
            types);
        Assert.All(headers, h => Assert.Equal(1002u, h.RunNumber));
        Assert.Equal((1, 1), (headers[1].Burst, headers[1 + physics1 + 1].Burst));
        Assert.Equal((2, 2), (headers[headers.Count - 2 - physics2 - 1].Burst, headers[^2].Burst));
        Assert.Equal(physics2, headers[^2].NbInBurst);
        Assert.Equal((uint)(physics1 + physics2), headers[^1].NbInRun);

        // Registry row, summary files, effective setup with this run's latency.
        var row = await kit.Run.Registry.GetAsync(1002);
        Assert.Equal((RunType.Physics, RunStatus.Completed, (long)(physics1 + physics2), result.BytesWritten, "two spills"),
            (row!.Type, row.Status, row.Events, row.Bytes, row.Note));
        Assert.Equal(new FileInfo(result.DataFile).Length, row.Bytes);
        Assert.Equal(Path.Combine(result.RunDirectory, "summary.txt"), result.SummaryFile);
        string text = await File.ReadAllTextAsync(result.SummaryFile);
        Assert.StartsWith("run 1002 (physics): completed", text, StringComparison.Ordinal);
        var json = RunReport.FromJson(await File.ReadAllTextAsync(Path.Combine(result.RunDirectory, "summary.json")));
        Assert.Equal((1002u, "completed", (long)(physics1 + physics2), 0L, 44), (json.Run, json.Status, json.EventsWritten, json.EventsLost, json.Latency));
        Assert.Equal(2, json.DateEvents["START_OF_BURST"]);
        string effective = await File.ReadAllTextAsync(Path.Combine(result.RunDirectory, ReadoutRun.SetupFileName));
        Assert.Contains("readout.latency = 44", effective, StringComparison.Ordinal);
        var reloaded = SetupLoader.LoadFromText(effective, "setup.yaml", result.RunDirectory);
        Assert.Equal(44, reloaded.Readout!.Latency);
        foreach (var module in kit.Run.Map.Modules)
            Assert.True(File.Exists(Path.Combine(result.RunDirectory, module.Name + ".pedestals.txt")));
        Assert.True(File.Exists(result.MapFile));
    }

    [Fact]
    public async Task A_pedestal_run_writes_SOR_calibration_events_and_EOR_and_keeps_its_tables_twice()
    {
        await using var kit = ReadoutTestKit.Create();

        var result = await kit.Run.PedestalRunAsync(150);

        Assert.Equal((RunStatus.Completed, 1001u), (result.Status, result.RunNumber));
        var headers = Headers(result.DataFile);
        Assert.Equal([DateEventType.StartOfRun, .. Enumerable.Repeat(DateEventType.Calibration, 150), DateEventType.EndOfRun], headers.Select(h => h.Type));
        Assert.Equal(Enumerable.Range(1, 150).Select(i => (uint)i), headers.Where(h => h.Type == DateEventType.Calibration).Select(h => h.NbInRun));
        var check = DateFileChecker.Check(result.DataFile);
        Assert.True(check.IsGood, check.FirstProblem?.ToString());
        // Calibration events carry every source's latch-all block, readable like physics events.
        using (var reader = DateFileReader.Open(result.DataFile))
        {
            reader.ReadNext();
            var first = reader.ReadNext()!;
            Assert.Equal(kit.Run.Map.SourceIds.Count, first.Equipments.Length);
            Assert.Empty(first.Problems);
        }

        foreach (var module in kit.Run.Map.Modules)
        {
            Assert.True(File.Exists(Path.Combine(result.RunDirectory, module.Name + ".pedestals.txt")));
            Assert.Contains(Path.Combine(kit.Directory, "pedestals", module.Name + ".pedestals.txt"), result.Files);
        }

        var row = await kit.Run.Registry.GetAsync(1001);
        Assert.Equal((RunType.Pedestal, RunStatus.Completed, 150L), (row!.Type, row.Status, row.Events));
        Assert.True(File.Exists(result.SummaryFile));
    }

    [Fact]
    public async Task A_start_that_fails_leaves_no_files_and_does_not_use_up_its_number()
    {
        await using var kit = ReadoutTestKit.Create();
        await kit.Run.PedestalRunAsync(50);

        var e = await Assert.ThrowsAsync<IOException>(() => kit.Run.PhysicsRunAsync(new PhysicsRunRequest
        {
            Events = 10,
            WrapDataStream = _ => throw new IOException("data disk not mounted"),
        }));

        Assert.Equal("data disk not mounted", e.Message);
        Assert.False(Directory.Exists(Path.Combine(kit.Directory, "runs", "1002")));
        Assert.Null(await kit.Run.Registry.GetAsync(1002));
        var next = await kit.Run.PhysicsRunAsync(new PhysicsRunRequest { Events = 10 });
        Assert.Equal((1002u, RunStatus.Completed), (next.RunNumber, next.Status));
    }

    [Fact]
    public async Task A_full_disk_during_a_run_fails_it_with_the_reason_counts_the_lost_events_and_leaves_complete_events()
    {
        await using var kit = ReadoutTestKit.Create();
        await kit.Run.PedestalRunAsync(50);
        DiskFullStream? disk = null;

        var result = await kit.Run.PhysicsRunAsync(new PhysicsRunRequest
        {
            Events = 3000,
            WrapDataStream = file => disk = new DiskFullStream(file, 400_000),
        });

        Assert.Equal(RunStatus.Failed, result.Status);
        Assert.Contains("No space left on device", result.Reason, StringComparison.Ordinal);
        Assert.True(disk!.Failures >= 1);
        var date = result.Pipeline.Sinks[0];
        long lost = date.Dropped[DropReason.SinkFailure];
        Assert.True(lost > 0);
        Assert.True(result.Pipeline.IsBalanced);
        Assert.True(result.Triggers < 3000, "the run stops at the write error");
        Assert.Equal(result.Pipeline.EventsBuilt, date.Written + lost);
        // The file holds whole events only: nothing is cut in the middle, at most EOB/EOR are missing.
        var check = DateFileChecker.Check(result.DataFile);
        Assert.Equal(new FileInfo(result.DataFile).Length, check.ValidBytes);
        Assert.True(check.IsGood || check.FirstProblem!.Kind == DateFileProblemKind.MissingEndOfRun, check.FirstProblem?.ToString());
        Assert.Equal(date.Written, check.Count(DateEventType.Physics));
        Assert.Equal(new FileInfo(result.DataFile).Length, result.BytesWritten);
        var row = await kit.Run.Registry.GetAsync(result.RunNumber);
        Assert.Equal((RunStatus.Failed, result.Reason, date.Written), (row!.Status, row.Reason, row.Events));
        var json = RunReport.FromJson(await File.ReadAllTextAsync(Path.Combine(result.RunDirectory, "summary.json")));
        // Besides the events the full disk refused, the pipeline may drop the triggers whose fragments were still arriving
        // when the write error stopped the reading; the summary counts every event lost, each with its reason.
        Assert.Equal("failed", json.Status);
        Assert.True(json.EventsLost >= lost, $"{json.EventsLost} lost in the summary, {lost} refused by the disk");
        Assert.Equal(json.EventsLost, json.LostByReason.Values.Sum());
        Assert.Equal(lost, json.LostByReason["SinkFailure"]);
    }

    [Fact]
    public async Task An_operator_stop_ends_the_run_as_stopped_with_EOB_EOR_and_a_summary()
    {
        await using var kit = ReadoutTestKit.Create();
        await kit.Run.PedestalRunAsync(50);
        using var stop = new CancellationTokenSource();

        kit.Run.Crate.Simulator!.BeforeTrigger = (index, _) =>
        {
            if (index == 500)
                stop.Cancel();
        };
        var result = await kit.Run.PhysicsRunAsync(new PhysicsRunRequest { Events = 100_000 }, stop.Token);

        Assert.Equal((RunStatus.Stopped, "operator stop"), (result.Status, result.Reason));
        Assert.True(result.Pipeline.IsBalanced);
        var check = DateFileChecker.Check(result.DataFile);
        Assert.True(check.IsGood, check.FirstProblem?.ToString());
        Assert.Equal(result.Pipeline.Sinks[0].Written, check.Count(DateEventType.Physics));
        Assert.Equal(1, check.Count(DateEventType.EndOfRun));
        var row = await kit.Run.Registry.GetAsync(result.RunNumber);
        Assert.Equal((RunStatus.Stopped, "operator stop"), (row!.Status, row.Reason));
        Assert.NotNull(row.End);
        Assert.StartsWith($"run {result.RunNumber} (physics): stopped - operator stop", await File.ReadAllTextAsync(result.SummaryFile), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_stopped_pedestal_run_is_recorded_as_stopped_and_its_file_is_closed()
    {
        await using var kit = ReadoutTestKit.Create();
        using var stop = new CancellationTokenSource();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => kit.Run.PedestalRunAsync(500, stop.Token, new Stopper(stop, 100)));

        var row = Assert.Single(await kit.Run.Registry.ListAsync());
        Assert.Equal((RunType.Pedestal, RunStatus.Stopped, "operator stop"), (row.Type, row.Status, row.Reason));
        var file = Path.Combine(row.Directory, "cdr01001-001001.dat");
        var check = DateFileChecker.Check(file);
        Assert.True(check.IsGood, check.FirstProblem?.ToString());
        // Every trigger taken before the stop is in the file (the last partial batch included).
        Assert.Equal((100L, 1L), (check.Count(DateEventType.Calibration), check.Count(DateEventType.EndOfRun)));
        Assert.Equal(100L, row.Events);
        Assert.True(File.Exists(Path.Combine(row.Directory, "summary.json")));
        Assert.Null(kit.Run.Pedestals);
        Assert.False(File.Exists(kit.Run.PedestalFile(kit.Run.Map.Modules[0])));
    }

    [Fact]
    public async Task A_full_disk_during_a_pedestal_run_fails_it_keeps_the_old_tables_and_leaves_complete_events()
    {
        await using var kit = ReadoutTestKit.Create();
        var first = await kit.Run.PedestalRunAsync(50);
        string before = await File.ReadAllTextAsync(first.Files[0]);

        var result = await kit.Run.PedestalRunAsync(400, wrapDataStream: file => new DiskFullStream(file, 300_000));

        Assert.Equal(RunStatus.Failed, result.Status);
        Assert.Contains("No space left on device", result.Reason, StringComparison.Ordinal);
        Assert.Empty(result.Tables);
        Assert.Equal(before, await File.ReadAllTextAsync(first.Files[0]));
        Assert.Same(first.Tables, kit.Run.Pedestals);
        var check = DateFileChecker.Check(result.DataFile);
        Assert.Equal(new FileInfo(result.DataFile).Length, check.ValidBytes);
        Assert.True(check.IsGood || check.FirstProblem!.Kind == DateFileProblemKind.MissingEndOfRun, check.FirstProblem?.ToString());
        var row = await kit.Run.Registry.GetAsync(result.RunNumber);
        Assert.Equal((RunStatus.Failed, check.Count(DateEventType.Calibration)), (row!.Status, row.Events));
        var json = RunReport.FromJson(await File.ReadAllTextAsync(Path.Combine(result.RunDirectory, "summary.json")));
        Assert.True(json.EventsLost > 0);
        Assert.Equal(json.EventsLost + json.EventsWritten, json.Triggers);
    }

    [Fact]
    public async Task A_stop_before_the_run_starts_leaves_no_run()
    {
        await using var kit = ReadoutTestKit.Create();
        using var stop = new CancellationTokenSource();
        stop.Cancel();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => kit.Run.PedestalRunAsync(100, stop.Token));

        Assert.Empty(await kit.Run.Registry.ListAsync());
        Assert.Empty(Directory.EnumerateFileSystemEntries(Path.Combine(kit.Directory, "runs")));
    }

    /// <summary>Cancels at the given trigger, synchronously (Progress&lt;T&gt; would post it later).</summary>
    private sealed class Stopper(CancellationTokenSource stop, int atTrigger) : IProgress<int>
    {
        public void Report(int value)
        {
            if (value == atTrigger)
                stop.Cancel();
        }
    }
}
