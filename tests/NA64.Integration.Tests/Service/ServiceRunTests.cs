using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using NA64.Readout.Formats;
using NA64.SlowControl.Security;
using NA64.SlowControl.Service;

namespace NA64.Integration.Tests.Service;

/// <summary>Readout runs started, followed and stopped through the service, with the CLI as client; the files read back.</summary>
[Collection(CliCollection.Name)]
public sealed class ServiceRunTests
{
    [Fact]
    public async Task A_two_spill_run_writes_SOR_then_SOB_physics_EOB_twice_then_EOR()
    {
        await using var rig = await ServiceRig.StartAsync(ServiceRig.Readout);
        var (exit, output) = await rig.CliAsync("readout", "run", "--spills", "2");
        Assert.True(exit == 0, output);
        Assert.Contains("completed", output, StringComparison.Ordinal);

        string file = Directory.GetFiles(Path.Combine(rig.DataDirectory, "runs"), "*.dat", SearchOption.AllDirectories)
            .Single(f => DateFileChecker.Check(f).Count(DateEventType.Physics) > 0);
        var types = new List<DateEventType>();
        using (var reader = DateFileReader.Open(file))
        {
            while (reader.ReadNext() is { } view)
                types.Add(view.Header.Type);
        }

        // Collapse the physics events between the bursts' markers.
        var shape = new List<DateEventType>();
        foreach (var t in types)
        {
            if (t != DateEventType.Physics || shape.Count == 0 || shape[^1] != DateEventType.Physics)
                shape.Add(t);
        }

        Assert.Equal(
        [
            DateEventType.StartOfRun,
            DateEventType.StartOfBurst, DateEventType.Physics, DateEventType.EndOfBurst,
            DateEventType.StartOfBurst, DateEventType.Physics, DateEventType.EndOfBurst,
            DateEventType.EndOfRun,
        ], shape);
        Assert.True(DateFileChecker.Check(file).IsGood);
    }

    [Fact]
    public async Task A_pedestal_run_writes_a_DATE_file_of_calibration_events_and_runs_take_distinct_numbers()
    {
        await using var rig = await ServiceRig.StartAsync(ServiceRig.Readout);
        var (exit, output) = await rig.CliAsync("readout", "pedestal-run", "--events", "40");
        Assert.True(exit == 0, output);
        (exit, output) = await rig.CliAsync("readout", "pedestal-run", "--events", "40");
        Assert.True(exit == 0, output);

        var runs = Directory.GetDirectories(Path.Combine(rig.DataDirectory, "runs")).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(["5001", "5002"], runs);
        foreach (var run in runs)
        {
            string file = Directory.GetFiles(Path.Combine(rig.DataDirectory, "runs", run!), "*.dat").Single();
            var check = DateFileChecker.Check(file);
            Assert.True(check.IsGood, check.FirstProblem?.ToString());
            Assert.Equal(40, check.Count(DateEventType.Calibration));
            Assert.Equal(0, check.Count(DateEventType.Physics));
            Assert.Equal(1, check.Count(DateEventType.StartOfRun));
            Assert.Equal(1, check.Count(DateEventType.EndOfRun));
            Assert.True(File.Exists(Path.Combine(rig.DataDirectory, "runs", run!, "summary.txt")));
        }

        (exit, output) = await rig.CliAsync("runs");
        Assert.Equal(0, exit);
        Assert.Contains("5002", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_second_run_while_one_goes_is_refused_and_an_operator_stop_closes_the_file_properly()
    {
        await using var rig = await ServiceRig.StartAsync(ServiceRig.Readout);
        var (exit, output) = await rig.CliAsync("readout", "run", "--events", "100000000", "--detach");
        Assert.True(exit == 0, output);

        using var http = new HttpClient { BaseAddress = rig.Address };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", LocalTokens.Find(rig.Address));
        using (var second = await http.PostAsJsonAsync(new Uri("/api/runs", UriKind.Relative), new RunStartRequest("physics", Events: 10)))
            Assert.Equal(HttpStatusCode.Conflict, second.StatusCode);

        // Let it take data, then stop it as an operator would.
        var manager = rig.App.Services.GetService(typeof(RunManager)) as RunManager;
        for (int i = 0; i < 400 && (manager!.Current?.EventsBuilt ?? 0) < 1000; i++)
            await Task.Delay(10);
        (exit, output) = await rig.CliAsync("readout", "stop");
        Assert.True(exit == 0, output);
        Assert.Contains("stopped", output, StringComparison.Ordinal);

        // The physics run took the pedestal run it needed first: two run directories.
        string file = Directory.GetFiles(Path.Combine(rig.DataDirectory, "runs"), "*.dat", SearchOption.AllDirectories)
            .Single(f => DateFileChecker.Check(f).Count(DateEventType.Physics) > 0);
        var check = DateFileChecker.Check(file);
        Assert.True(check.IsGood, check.FirstProblem?.ToString());
        Assert.Equal(1, check.Count(DateEventType.EndOfRun));
        Assert.True(check.Count(DateEventType.Physics) > 0);

        (exit, output) = await rig.CliAsync("runs", "check", file);
        Assert.Equal(0, exit);
        Assert.Contains("No problem found", output, StringComparison.Ordinal);
    }
}

/// <summary>Faults injected into the simulated readout modules of a running service, and what the run summary says.</summary>
[Collection(CliCollection.Name)]
public sealed class ServiceReadoutFaultTests
{
    [Fact]
    public async Task A_silenced_module_is_counted_as_missing_in_the_run_and_the_file_stays_valid()
    {
        await using var rig = await ServiceRig.StartWithPedestalsAsync();
        var (exit, output) = await rig.CliAsync("sim", "inject", "MSADC-B", "silence");
        Assert.True(exit == 0, output);
        Assert.Contains("silence injected on readout module MSADC-B", output, StringComparison.Ordinal);

        (exit, output) = await rig.CliAsync("readout", "run", "--events", "200");
        Assert.True(exit == 0, output);
        Assert.Contains("missing-module markers", output, StringComparison.Ordinal);
        string file = Directory.GetFiles(Path.Combine(rig.DataDirectory, "runs"), "*.dat", SearchOption.AllDirectories)
            .Single(f => DateFileChecker.Check(f).Count(DateEventType.Physics) > 0);
        Assert.True(DateFileChecker.Check(file).IsGood);

        // A pedestal run needs every module: with one silent it fails and says which, and keeps the old tables.
        (exit, output) = await rig.CliAsync("readout", "pedestal-run");
        Assert.Equal(1, exit);
        Assert.Contains("MSADC-B", output, StringComparison.Ordinal);

        (exit, output) = await rig.CliAsync("sim", "inject", "MSADC-B", "melt");
        Assert.Equal(2, exit);
        Assert.Contains("silence, garble, truncate, wrongevent, clear", output, StringComparison.Ordinal);
    }
}

/// <summary>A ZeroMQ push with no event builder pulling: the wait and the drops show live, as they happen.</summary>
[Collection(CliCollection.Name)]
public sealed class ServicePushTests
{
    private static string FreeTcpAddress() => $"tcp://127.0.0.1:{ServiceRig.FreeTcpPort()}";

    private static async Task<RunView> UntilLiveAsync(HttpClient http, Func<RunView, bool> seen)
    {
        for (int i = 0; i < 3000; i++)
        {
            if (await http.GetFromJsonAsync<RunView>(new Uri("/api/runs/current", UriKind.Relative), ServiceClientJson.Options) is { } now && seen(now))
                return now;
            await Task.Delay(10);
        }

        throw new TimeoutException("the live view never showed it");
    }

    [Fact]
    public async Task With_no_puller_a_waiting_push_shows_live_and_the_run_still_stops()
    {
        await using var rig = await ServiceRig.StartWithPedestalsAsync();
        var (exit, output) = await rig.CliAsync("readout", "run", "--events", "100000", "--zmq-push", FreeTcpAddress(), "--zmq-stall", "wait", "--detach");
        Assert.True(exit == 0, output);

        using var http = new HttpClient { BaseAddress = rig.Address };
        var waiting = await UntilLiveAsync(http, r => r.PushWaitingSeconds is not null);
        Assert.Contains("push WAITING for an event builder", SlowControl.Cli.ReadoutCommands.LiveLine(waiting), StringComparison.Ordinal);

        (exit, output) = await rig.CliAsync("readout", "stop");
        Assert.True(exit == 0, output);
        Assert.Contains("stopped", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task With_no_puller_and_a_timeout_the_drops_show_live_and_in_the_summary()
    {
        await using var rig = await ServiceRig.StartWithPedestalsAsync();
        var (exit, output) = await rig.CliAsync("readout", "run", "--events", "100000", "--zmq-push", FreeTcpAddress(), "--zmq-timeout", "0.01", "--detach");
        Assert.True(exit == 0, output);

        using var http = new HttpClient { BaseAddress = rig.Address };
        var dropping = await UntilLiveAsync(http, r => r.PushDroppedEvents > 0);
        Assert.Contains("push dropped", SlowControl.Cli.ReadoutCommands.LiveLine(dropping), StringComparison.Ordinal);
        (exit, output) = await rig.CliAsync("readout", "stop");
        Assert.True(exit == 0, output);
        Assert.Contains("PublisherQueueFull", output, StringComparison.Ordinal);
    }
}

/// <summary>Two services on one data directory (as two processes would be) share its run registry.</summary>
[Collection(CliCollection.Name)]
public sealed class ServiceRegistryTests
{
    [Fact]
    public async Task Runs_started_at_once_by_two_services_on_one_data_directory_get_distinct_numbers()
    {
        string data = Directory.CreateTempSubdirectory("na64-shared-").FullName;
        try
        {
            await using var first = await ServiceRig.StartAsync(ServiceRig.Readout, dataDirectory: data);
            await using var second = await ServiceRig.StartAsync(ServiceRig.Readout, dataDirectory: data);
            var clients = new[] { first, second }.Select(rig =>
            {
                var http = new HttpClient { BaseAddress = rig.Address };
                http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", LocalTokens.Find(rig.Address));
                return http;
            }).ToList();
            try
            {
                for (int round = 0; round < 3; round++)
                {
                    var starts = clients.Select(c => c.PostAsJsonAsync(new Uri("/api/runs", UriKind.Relative), new RunStartRequest("pedestal", Events: 20))).ToList();
                    foreach (var response in await Task.WhenAll(starts))
                    {
                        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
                        response.Dispose();
                    }

                    foreach (var rig in new[] { first, second })
                        await Safety.Within(((RunManager)rig.App.Services.GetService(typeof(RunManager))!).Completion);
                }
            }
            finally
            {
                clients.ForEach(c => c.Dispose());
            }

            var runs = Directory.GetDirectories(Path.Combine(data, "runs")).Select(d => uint.Parse(Path.GetFileName(d), System.Globalization.CultureInfo.InvariantCulture)).Order().ToList();
            Assert.Equal(Enumerable.Range(5001, 6).Select(n => (uint)n), runs);
            foreach (var run in runs)
            {
                var check = DateFileChecker.Check(Directory.GetFiles(Path.Combine(data, "runs", run.ToString(System.Globalization.CultureInfo.InvariantCulture)), "*.dat").Single());
                Assert.Equal(run, check.RunNumber);
                Assert.Equal(20, check.Count(DateEventType.Calibration));
            }
        }
        finally
        {
            Directory.Delete(data, recursive: true);
        }
    }

    [Fact]
    public async Task Ctrl_C_during_readout_run_stops_it_as_an_operator_stop_says_so_and_exits_130()
    {
        await using var rig = await ServiceRig.StartWithPedestalsAsync();
        var manager = (RunManager)rig.App.Services.GetService(typeof(RunManager))!;
        using var interrupt = new CancellationTokenSource();
        var command = rig.CliAsync(interrupt.Token, "readout", "run", "--events", "100000000");
        for (int i = 0; i < 3000 && (manager.Current?.EventsBuilt ?? 0) < 500; i++)
            await Task.Delay(10);
        await interrupt.CancelAsync();
        var (exit, output) = await command;
        Assert.Equal(130, exit);
        Assert.Contains("operator stop", output, StringComparison.Ordinal);
        Assert.Contains("stopped", output, StringComparison.Ordinal);
        Assert.Null(manager.Current);
    }
}

/// <summary>Runs refused at their start leave nothing behind.</summary>
[Collection(CliCollection.Name)]
public sealed class ServiceRunStartTests
{
    [Theory]
    [InlineData("--zmq", "notanaddress")]
    [InlineData("--zmq-push", "tcp://256.1.1.1:5")]
    public async Task A_bad_ZeroMQ_address_fails_the_run_in_one_line_and_uses_no_number_and_leaves_no_files(string option, string address)
    {
        await using var rig = await ServiceRig.StartWithPedestalsAsync();
        var (exit, output) = await rig.CliAsync("readout", "run", "--events", "10", option, address);
        Assert.Equal(1, exit);
        Assert.Contains(address, output, StringComparison.Ordinal);
        Assert.Contains("failed", output, StringComparison.Ordinal);
        Assert.Equal(["5001"], Directory.GetDirectories(Path.Combine(rig.DataDirectory, "runs")).Select(Path.GetFileName));

        (exit, output) = await rig.CliAsync("readout", "run", "--events", "10");
        Assert.True(exit == 0, output);
        Assert.Contains("Run 5002 completed", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Serve_on_an_address_in_use_is_refused_in_one_line_and_the_running_service_goes_on()
    {
        await using var rig = await ServiceRig.StartAsync();
        string address = rig.Address.ToString().TrimEnd('/');
        var (exit, output) = await rig.CliAsync("serve", "--listen", address);
        Assert.Equal(2, exit);
        Assert.Contains("address already in use", output, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", output, StringComparison.Ordinal);
        (exit, output) = await rig.CliAsync("hv", "status");
        Assert.True(exit == 0, output);
    }

    [Fact]
    public async Task A_command_line_that_does_not_parse_is_refused_in_one_line_with_exit_2()
    {
        await using var rig = await ServiceRig.StartAsync();
        var (exit, output) = await rig.CliAsync("hv", "set", ServiceRig.Strips, "--volts", "1e999");
        Assert.Equal(2, exit);
        Assert.Equal("Refused: --volts = '1e999': not a finite number", output.Trim());
    }
}

/// <summary>The trackers' GeSiCA in runs of the service: the per-plane table at the end of `readout run`, faults through `sim inject`.</summary>
[Collection(CliCollection.Name)]
public sealed class ServiceTrackerRunTests
{
    /// <summary>The rig's readout with the trackers' GeSiCA: two micromegas on one APV-ADC and a GEM on another.</summary>
    private const string Readout = ServiceRig.Readout + """

            - sourceId: 622
              kind: apv
              adcs:
                - { name: APV-ADC-MM, adcId: 0 }
                - { name: APV-ADC-GM1, adcId: 2 }
          trackers:
            detectors:
              - { name: MM1, kind: micromegas, adc: 0, chip: 0 }
              - { name: MM2, kind: micromegas, adc: 0, chip: 1 }
              - { name: GM1, kind: gem, adc: 2, chip: 0 }
        """;

    [Fact]
    public async Task Readout_run_prints_efficiency_and_resolution_per_tracker_plane_at_its_end()
    {
        await using var rig = await ServiceRig.StartAsync(Readout);
        var (exit, output) = await rig.CliAsync("readout", "pedestal-run");
        Assert.True(exit == 0, output);
        Assert.Contains("Trackers: 6 APVs", output, StringComparison.Ordinal);

        (exit, output) = await rig.CliAsync("readout", "run", "--events", "400");
        Assert.True(exit == 0, output);
        foreach (var plane in new[] { "MM1X", "MM1Y", "MM2X", "MM2Y", "GM1X", "GM1Y" })
        {
            var row = output.Split('\n').Single(l => l.Contains(" " + plane + " ", StringComparison.Ordinal));
            var cells = row.Split('│', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            double efficiency = double.Parse(cells[4], System.Globalization.CultureInfo.InvariantCulture);
            double resolution = double.Parse(cells[5], System.Globalization.CultureInfo.InvariantCulture);
            Assert.True(efficiency >= 97 && resolution < 100, row);
        }

        // The API's run view carries the planes too (what the live stream and a web panel show).
        using var http = new HttpClient { BaseAddress = rig.Address };
        var runs = await http.GetStringAsync(new Uri("/api/runs/last", UriKind.Relative));
        Assert.Contains("\"plane\":\"GM1Y\"", runs, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_tracker_fault_injected_through_the_service_is_counted_with_its_location_in_the_run_summary()
    {
        await using var rig = await ServiceRig.StartAsync(Readout);
        var (exit, output) = await rig.CliAsync("readout", "pedestal-run");
        Assert.True(exit == 0, output);
        (exit, output) = await rig.CliAsync("sim", "inject", "APV-ADC-GM1", "silence");
        Assert.True(exit == 0, output);
        Assert.Contains("silence injected on APV-ADC-GM1", output, StringComparison.Ordinal);

        (exit, output) = await rig.CliAsync("readout", "run", "--events", "100");
        Assert.True(exit == 0, output);
        Assert.Contains("APV decoder: ApvMissingAdc 100", output, StringComparison.Ordinal);
        Assert.Contains("ApvMissingAdc", output.Split('\n').First(l => l.Contains("source 622", StringComparison.Ordinal)), StringComparison.Ordinal);
        // The micromegas planes are unharmed; the GEM planes saw no data.
        Assert.Contains(output.Split('\n'), l => l.Contains(" MM1X ", StringComparison.Ordinal));
    }
}
