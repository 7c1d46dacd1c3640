using System.Net;
using Microsoft.Extensions.DependencyInjection;
using System.Net.Http.Json;
using NA64.Simulators.Magnets.BeamLine;
using NA64.SlowControl.Magnets;
using NA64.SlowControl.Magnets.BeamLine;
using NA64.SlowControl.Magnets.Danfysik8500;
using NA64.SlowControl.Magnets.Genesys;
using NA64.SlowControl.Service;

namespace NA64.Integration.Tests.Service;

/// <summary>
/// The magnets as device kinds of the service: the MBPL circuit behind the simulated beam-line gateway, a Genesys and a
/// Danfysik 8500 bench magnet, each on its simulated line; the CLI is the client. Fake time moves one poll at a time.
/// </summary>
[Collection(CliCollection.Name)]
public sealed class ServiceMagnetTests
{
    /// <summary>
    /// The built-in setup's magnets with a quick SPS cycle (2 s) and converter (50 A/s) so that a ramp takes tens of
    /// polls, not hundreds; everything else as built in.
    /// </summary>
    public const string Magnets = """

        magnets:
          - name: MBPL
            kind: beamline
            transport: sim:h4-gateway
            elements: [MBPL1, MBPL2]
            maxAmps: 900
            bendingAngleMrad: 21
            calibration: [[0, 0], [800, 7.0], [900, 7.875]]
            cycleSeconds: 2
            slewAmpsPerSecond: 50
          - { name: BENCH-GEN, kind: genesys, transport: "sim:bench-genesys", address: 6, model: GEN8-400, maxAmps: 400, maxVolts: 8 }
          - { name: BENCH-DFK, kind: danfysik8500, transport: "sim:bench-danfysik", fullScaleAmps: 1000, ampsPerCurrentCount: 0.001, voltsPerVoltageCount: 0.001, slewAmpsPerSecond: 20, maxAmps: 800 }
        """;

    private static Task<ServiceRig> StartAsync() => ServiceRig.StartAsync(Magnets, simulated: true);

    /// <summary>
    /// Runs a waiting CLI command on <paramref name="magnet"/> while fake time moves one poll at a time, until it returns.
    /// Time starts to move only once the service waits for the readbacks: a request of the command itself still on the
    /// line would otherwise see its reply timeout pass in fake time.
    /// </summary>
    private static async Task<(int Exit, string Output)> CliWhilePollingAsync(ServiceRig rig, string magnet, int maxPolls, params string[] args)
    {
        Assert.True(rig.Owner.Magnets.TryFind(magnet, out var controller, out _), magnet);
        var cli = rig.CliAsync(args);
        await Safety.Within(Task.Run(async () =>
        {
            while (controller.Waiting == 0 && !cli.IsCompleted)
                await Task.Delay(1);
        }));
        for (int i = 0; i < maxPolls && !cli.IsCompleted; i++)
            await rig.NextPollAsync();
        Assert.True(cli.IsCompleted || await Task.WhenAny(cli, Task.Delay(TimeSpan.FromSeconds(5))) == cli,
            $"'{string.Join(' ', args)}' still waiting after {maxPolls} polls");
        return await cli;
    }

    private static async Task<MagnetView> GetAsync(ServiceRig rig, string name)
    {
        using var http = new HttpClient { BaseAddress = rig.Address };
        return (await http.GetFromJsonAsync<MagnetView>(new Uri($"/api/magnets/{name}", UriKind.Relative), ServiceClientJson.Options))!;
    }

    private static BeamLineGatewayModel Gateway(ServiceRig rig) =>
        BeamLineKind.SimulatedGateway(rig.Owner.Magnets.SimulatedLines["sim:h4-gateway"].Port);

    [Fact]
    public async Task Magnet_set_MBPL1_amps_735_ends_AtSetpoint_with_current_and_field_in_status()
    {
        await using var rig = await StartAsync();
        var (exit, output) = await CliWhilePollingAsync(rig, "MBPL1", 200, "magnet", "set", "MBPL1", "--amps", "735");
        Assert.True(exit == 0, output);
        Assert.Contains("AtSetpoint", output, StringComparison.Ordinal);

        var (statusExit, status) = await rig.CliAsync("magnet", "status");
        Assert.Equal(0, statusExit);
        var row = status.Split('\n').Single(l => l.Contains("feeds MBPL1+MBPL2", StringComparison.Ordinal));
        Assert.Contains("AtSetpoint", row, StringComparison.Ordinal);
        Assert.Contains("735.0", row, StringComparison.Ordinal);
        // 735 A on the 7 T·m at 800 A line is 6.431 T·m (the measured current carries the converter's noise).
        Assert.Contains(row.Split(' ', StringSplitOptions.RemoveEmptyEntries),
            t => double.TryParse(t, System.Globalization.CultureInfo.InvariantCulture, out double f) && f is > 6.42 and < 6.44);

        var view = await GetAsync(rig, "MBPL2");
        Assert.Equal("MBPL", view.Magnet);
        Assert.InRange(view.Amps!.Value, 734, 736);
        Assert.Equal(735 * 7.0 / 800, view.FieldTeslaMetres!.Value, 2);
        // The gateway saw STANDBY, ON and the current: the documented order, one circuit for both MBPLs.
        Assert.Equal([BeamLineOperation.Standby, BeamLineOperation.On, BeamLineOperation.SetCurrent],
            Gateway(rig).Requests.Select(r => r.Request.Operation).Distinct());
    }

    [Fact]
    public async Task Magnet_set_99999_A_is_refused_naming_the_limit_with_nothing_sent()
    {
        await using var rig = await StartAsync();
        var (exit, output) = await rig.CliAsync("magnet", "set", "MBPL1", "--amps", "99999");
        Assert.Equal(2, exit);
        Assert.Contains("99999", output, StringComparison.Ordinal);
        Assert.Contains("maxAmps is 900", output, StringComparison.Ordinal);
        Assert.Single(output.Trim().Split('\n'));
        Assert.Empty(Gateway(rig).Requests);
    }

    [Fact]
    public async Task A_momentum_goes_through_the_bending_angle_and_the_calibration()
    {
        await using var rig = await StartAsync();
        var (exit, output) = await rig.CliAsync("magnet", "set", "MBPL1", "--momentum", "100GeV", "--no-wait");
        Assert.True(exit == 0, output);
        var view = await GetAsync(rig, "MBPL");
        // p = 0.299792458 B·dl / theta: 100 GeV at 21 mrad is 7.005 T·m, 800.6 A on the table.
        Assert.Equal(100 * 0.021 / 0.299792458 * 800 / 7.0, view.TargetAmps, 3);

        (exit, output) = await rig.CliAsync("magnet", "set", "BENCH-GEN", "--momentum", "100GeV");
        Assert.Equal(2, exit);
        Assert.Contains("bendingAngleMrad", output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("BENCH-GEN", "--ramp", "50", "maxRampAmpsPerSecond")]
    [InlineData("BENCH-GEN", "--amps", "-10", "minimum without a polarity switch")]
    [InlineData("BENCH-DFK", "--amps", "801", "supply maxAmps is 800")]
    public async Task A_limit_is_refused_before_any_byte_is_sent_naming_it(string magnet, string option, string value, string limit)
    {
        await using var rig = await StartAsync();
        var lines = rig.Owner.Magnets.SimulatedLines.Values.ToDictionary(l => l.Name, l => l.Server.LinesReceived);
        string[] args = option == "--ramp" ? ["magnet", "set", magnet, "--amps", "10", option, value, "--no-wait"] : ["magnet", "set", magnet, option, value, "--no-wait"];
        var (exit, output) = await rig.CliAsync(args);
        Assert.Equal(2, exit);
        Assert.Contains(limit, output, StringComparison.Ordinal);
        // Nothing went on any magnet line (the pollers were not stepped, so nothing else did either).
        Assert.All(rig.Owner.Magnets.SimulatedLines.Values, l => Assert.Equal(lines[l.Name], l.Server.LinesReceived));
    }

    [Theory]
    [InlineData("--amps", "1,5", "not a number")]
    [InlineData("--field", "3.5Gauss", "not a number")]
    public async Task A_malformed_value_is_one_line_naming_the_option_and_exit_2(string option, string value, string rule)
    {
        await using var rig = await StartAsync();
        var (exit, output) = await rig.CliAsync("magnet", "set", "MBPL1", option, value);
        Assert.Equal(2, exit);
        Assert.Contains($"{option} = '{value}'", output, StringComparison.Ordinal);
        Assert.Contains(rule, output, StringComparison.Ordinal);
        Assert.Empty(Gateway(rig).Requests);
    }

    [Fact]
    public async Task Two_targets_at_once_and_an_unknown_magnet_are_refused()
    {
        await using var rig = await StartAsync();
        var (exit, output) = await rig.CliAsync("magnet", "set", "MBPL1", "--amps", "700", "--field", "6");
        Assert.Equal(2, exit);
        Assert.Contains("exactly one of --amps, --field or --momentum", output, StringComparison.Ordinal);

        (exit, output) = await rig.CliAsync("magnet", "off", "MBPL3");
        Assert.Equal(2, exit);
        Assert.Contains("MBPL1", output, StringComparison.Ordinal); // the known names are listed
        Assert.Empty(Gateway(rig).Requests);
    }

    [Fact]
    public async Task A_request_held_for_the_beam_line_operator_is_reported_pending_and_done_only_when_confirmed()
    {
        await using var rig = await StartAsync();
        await rig.CliAsync("sim", "inject", "MBPL1", "pending");
        var (exit, output) = await rig.CliAsync("magnet", "set", "MBPL1", "--amps", "700");
        Assert.Equal(1, exit);
        Assert.Contains("Pending", output, StringComparison.Ordinal);
        await rig.NextPollAsync();
        Assert.NotNull((await GetAsync(rig, "MBPL")).PendingRequest);
        Assert.Equal(0, Gateway(rig).Circuit("H4-MBPL")!.Amps, 3);

        // The CESAR operator carries it out: only now does the circuit move, and the readbacks end the request.
        await rig.CliAsync("sim", "inject", "MBPL1", "confirm");
        await rig.CliAsync("sim", "inject", "MBPL1", "clear");
        await rig.UntilAsync(() => rig.Owner.Magnets.Controllers.First().State == MagnetState.Standby, "standby carried out", 20);
    }

    [Fact]
    public async Task A_Genesys_interlock_latches_the_output_off_with_an_alarm_and_a_reset_releases_it_only_once_the_cause_is_gone()
    {
        await using var rig = await StartAsync();
        var (exit, output) = await CliWhilePollingAsync(rig, "BENCH-GEN", 100, "magnet", "set", "BENCH-GEN", "--amps", "50");
        Assert.True(exit == 0, output);
        var unit = GenesysKind.SimulatedUnit(rig.Owner.Magnets.SimulatedLines["sim:bench-genesys"].Port, "BENCH-GEN");
        Assert.InRange(unit.Amps, 49, 51);

        (exit, output) = await rig.CliAsync("sim", "inject", "BENCH-GEN", "interlock");
        Assert.True(exit == 0, output);
        var controller = rig.Owner.Magnets.Controllers.Single(c => c.Name == "BENCH-GEN");
        await rig.UntilAsync(() => controller.State == MagnetState.Interlocked, "interlocked", 10);
        Assert.False(unit.OutputOn);
        Assert.Contains(rig.Owner.MagnetAlarms(), a => a.Magnet == "BENCH-GEN" && a.Kind == MagnetAlarmKind.Interlocked);

        // Cause still there: the supply keeps its fault after CLS, the reset is refused saying so, the latch stays.
        (exit, output) = await rig.CliAsync("magnet", "reset", "BENCH-GEN");
        Assert.Equal(2, exit);
        Assert.Contains("fault persists", output, StringComparison.Ordinal);
        Assert.Contains("EnableOpen", output, StringComparison.Ordinal);
        await rig.NextPollAsync();
        await rig.NextPollAsync();
        Assert.Equal(MagnetState.Interlocked, controller.State);
        (exit, output) = await rig.CliAsync("magnet", "set", "BENCH-GEN", "--amps", "50", "--no-wait");
        Assert.Equal(2, exit);
        Assert.Contains("latched", output, StringComparison.Ordinal);

        await rig.CliAsync("sim", "inject", "BENCH-GEN", "clear");
        (exit, output) = await rig.CliAsync("magnet", "reset", "BENCH-GEN");
        Assert.True(exit == 0, output);
        // Released at once; Off when the magnet has discharged through the supply's freewheel path (L/R = 50 s).
        await rig.UntilAsync(() => controller.State != MagnetState.Interlocked, "latch released", 3);
        await rig.UntilAsync(() => controller.State == MagnetState.Off, "discharged to Off", 400);
        (exit, output) = await CliWhilePollingAsync(rig, "BENCH-GEN", 100, "magnet", "set", "BENCH-GEN", "--amps", "20");
        Assert.True(exit == 0, output);
    }

    [Fact]
    public async Task A_Danfysik_directive_that_did_not_take_effect_is_refused_as_such_not_believed()
    {
        await using var rig = await StartAsync();
        var unit = Danfysik8500Kind.SimulatedUnit(rig.Owner.Magnets.SimulatedLines["sim:bench-danfysik"].Port, "BENCH-DFK");
        var (exit, output) = await CliWhilePollingAsync(rig, "BENCH-DFK", 100, "magnet", "set", "BENCH-DFK", "--amps", "20");
        Assert.True(exit == 0, output);

        // The unit takes the next F without a word and stays on: the read-back after it shows power still on.
        await rig.CliAsync("sim", "inject", "BENCH-DFK", "ignore");
        (exit, output) = await rig.CliAsync("magnet", "off", "BENCH-DFK", "--no-wait");
        Assert.NotEqual(0, exit);
        Assert.Contains("BENCH-DFK: Danfysik 8500 did not take 'F'", output, StringComparison.Ordinal);
        Assert.True(unit.PowerOn);
        await rig.NextPollAsync();
        var view = await GetAsync(rig, "BENCH-DFK");
        Assert.Equal("On", view.Output); // shown as it is, not as it was asked to be
    }

    [Fact]
    public async Task The_magnets_their_kinds_and_their_faults_are_listed_and_an_unknown_one_is_a_404()
    {
        await using var rig = await StartAsync();
        using var http = new HttpClient { BaseAddress = rig.Address };
        var magnets = await http.GetFromJsonAsync<List<MagnetView>>(new Uri("/api/magnets", UriKind.Relative), ServiceClientJson.Options);
        Assert.Equal(["MBPL", "BENCH-GEN", "BENCH-DFK"], magnets!.Select(m => m.Magnet));
        Assert.Equal(["beamline", "genesys", "danfysik8500"], magnets!.Select(m => m.Kind));
        var faults = await http.GetStringAsync(new Uri("/api/sim/faults", UriKind.Relative));
        Assert.Contains("genesys interlock", faults, StringComparison.Ordinal);
        Assert.Contains("danfysik8500 water", faults, StringComparison.Ordinal);
        Assert.Contains("beamline trip", faults, StringComparison.Ordinal);
        var response = await http.GetAsync(new Uri("/api/magnets/NOPE", UriKind.Relative));
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public async Task The_live_stream_carries_magnet_readbacks_and_state_changes()
    {
        await using var rig = await StartAsync();
        var feed = rig.App.Services.GetRequiredService<LiveFeed>();
        using var stop = new CancellationTokenSource();
        var seen = new List<LiveEvent>();
        var reading = Task.Run(async () =>
        {
            await foreach (var e in feed.SubscribeAsync(stop.Token))
            {
                lock (seen)
                    seen.Add(e);
            }
        });
        await Safety.Within(Task.Run(async () =>
        {
            while (feed.Subscribers == 0)
                await Task.Delay(1);
        }));

        var (exit, output) = await CliWhilePollingAsync(rig, "BENCH-DFK", 100, "magnet", "set", "BENCH-DFK", "--amps", "40");
        Assert.True(exit == 0, output);
        await rig.NextPollAsync();
        await stop.CancelAsync();
        try
        {
            await Safety.Within(reading);
        }
        catch (OperationCanceledException)
        {
            // The subscription ends by cancellation: either way of ending is fine here.
        }

        List<LiveEvent> events;
        lock (seen)
            events = [.. seen];
        var readbacks = events.Where(e => e.Kind == "magnet").Select(e => (MagnetView)e.Data).Where(v => v.Magnet == "BENCH-DFK").ToList();
        Assert.Contains(readbacks, v => v.State == "AtSetpoint" && v.Amps is > 39 and < 41);
        Assert.Contains(events, e => e.Kind == "magnet-state" && e.Data.ToString()!.Contains("AtSetpoint", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_silent_supply_goes_Disconnected_after_three_failed_reads_with_an_alarm_and_comes_back_by_itself()
    {
        await using var rig = await StartAsync();
        var controller = rig.Owner.Magnets.Controllers.Single(c => c.Name == "BENCH-GEN");
        await rig.CliAsync("sim", "inject", "BENCH-GEN", "silence");
        for (int i = 1; i <= 3; i++)
        {
            Assert.NotEqual(MagnetState.Disconnected, controller.State);
            await rig.ReplyTimeoutAsync();
        }

        Assert.Equal(MagnetState.Disconnected, controller.State);
        Assert.Contains(rig.Owner.MagnetAlarms(), a => a.Magnet == "BENCH-GEN" && a.Kind == MagnetAlarmKind.Disconnected);
        var (exit, output) = await rig.CliAsync("magnet", "set", "BENCH-GEN", "--amps", "10", "--no-wait");
        Assert.Equal(2, exit);
        Assert.Contains("disconnected", output, StringComparison.Ordinal);

        await rig.CliAsync("sim", "inject", "BENCH-GEN", "clear");
        await rig.UntilAsync(() => controller.State == MagnetState.Off, "back to Off", 5);
        Assert.Equal(0, controller.Snapshot().ConsecutiveFailures);
    }
}
