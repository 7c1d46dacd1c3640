using System.Net;
using System.Net.Http.Json;
using NA64.SlowControl.Service;

namespace NA64.Integration.Tests.Service;

/// <summary>The service owns a CAEN board over TCP; the CLI commands are its clients. What reaches the board is checked on the wire.</summary>
[Collection(CliCollection.Name)]
public sealed class ServiceHvTests
{
    [Fact]
    public async Task Connecting_and_three_status_calls_send_no_SET_to_the_board()
    {
        await using var rig = await ServiceRig.StartAsync();
        for (int i = 0; i < 3; i++)
        {
            var (exit, output) = await rig.CliAsync("hv", "status");
            Assert.Equal(0, exit);
            Assert.Contains(ServiceRig.Strips, output, StringComparison.Ordinal);
            await rig.NextPollAsync();
        }

        Assert.Empty(rig.Sets);
        Assert.Contains(rig.Device.Requests, r => r.Contains("CMD:MON", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Hv_set_with_a_ramp_sends_that_RUP_and_no_SET_to_another_channel_and_the_next_client_sees_the_VSET()
    {
        await using var rig = await ServiceRig.StartAsync();
        var (exit, output) = await rig.CliAsync("hv", "set", ServiceRig.Strips, "--volts", "300", "--ramp", "7", "--no-wait");
        Assert.True(exit == 0, output);

        var sets = rig.Sets;
        Assert.Contains(sets, s => s.Contains("CH:0,PAR:RUP,VAL:7", StringComparison.Ordinal));
        Assert.DoesNotContain(sets, s => s.Contains("PAR:RUP,VAL:50", StringComparison.Ordinal));
        Assert.All(sets, s => Assert.Contains("CH:0,", s, StringComparison.Ordinal));

        await rig.NextPollAsync();
        using var other = new HttpClient { BaseAddress = rig.Address };
        var seen = await other.GetFromJsonAsync<HvChannelView>($"/api/hv/channels/{ServiceRig.Strips}", ServiceClientJson.Options);
        Assert.Equal(300, seen!.VSet);
    }

    [Fact]
    public async Task A_refused_setpoint_sends_nothing_and_says_field_value_and_limit()
    {
        await using var rig = await ServiceRig.StartAsync();
        var (exit, output) = await rig.CliAsync("hv", "set", ServiceRig.Strips, "--volts", "601", "--no-wait");
        Assert.Equal(2, exit);
        Assert.Contains("601", output, StringComparison.Ordinal);
        Assert.Contains("600", output, StringComparison.Ordinal);
        Assert.Empty(rig.Sets);
    }

    [Fact]
    public async Task An_unknown_channel_is_a_404_problem_listing_the_known_ones()
    {
        await using var rig = await ServiceRig.StartAsync();
        using var http = new HttpClient { BaseAddress = rig.Address };
        var response = await http.GetAsync(new Uri("/api/hv/channels/NOPE", UriKind.Relative));
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        string body = await response.Content.ReadAsStringAsync();
        Assert.Contains(ServiceRig.Strips, body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_command_with_no_service_says_so_in_one_line_and_exits_3()
    {
        await using var rig = await ServiceRig.StartAsync();
        var root = SlowControl.Cli.Na64hwCli.Build(Serilog.Core.Logger.None);
        var output = new StringWriter();
        var previous = Console.Error;
        Console.SetError(output);
        try
        {
            // A port nobody listens on: the loopback refuses at once.
            int port = ServiceRig.FreeTcpPort();
            int exit = await root.Parse(["hv", "status", "--server", $"http://127.0.0.1:{port}"]).InvokeAsync();
            Assert.Equal(3, exit);
        }
        finally
        {
            Console.SetError(previous);
        }

        string text = output.ToString().Trim();
        Assert.Single(text.Split('\n'));
        Assert.Contains("na64hw serve", text, StringComparison.Ordinal);
    }
}

internal static class ServiceClientJson
{
    public static System.Text.Json.JsonSerializerOptions Options { get; } = new(System.Text.Json.JsonSerializerDefaults.Web);
}

/// <summary>What the operator sees when things go wrong: Ctrl-C in a ramp, every board silent.</summary>
[Collection(CliCollection.Name)]
public sealed class ServiceHvFaultTests
{
    [Fact]
    public async Task Ctrl_C_during_hv_set_says_in_which_state_it_leaves_the_channel_and_exits_130()
    {
        await using var rig = await ServiceRig.StartAsync();
        using var interrupt = new CancellationTokenSource();
        var command = rig.CliAsync(interrupt.Token, "hv", "set", ServiceRig.Strips, "--volts", "300");
        // The ramp cannot finish: fake time stands still. Interrupt once the switch-on is on the wire.
        await Safety.Within(rig.Device.NextRequest(r => r.Contains("PAR:ON", StringComparison.Ordinal)));
        await interrupt.CancelAsync();
        var (exit, output) = await command;
        Assert.Equal(130, exit);
        Assert.Contains("Interrupted", output, StringComparison.Ordinal);
        Assert.Contains(ServiceRig.Strips + " left", output, StringComparison.Ordinal);
        Assert.Contains("300.0", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_status_where_every_board_is_silent_shows_Disconnected_and_exits_1()
    {
        await using var rig = await ServiceRig.StartAsync();
        rig.Server.Faults.Silent = true;
        var hv = rig.Owner.Hv;
        for (int i = 0; i < 10 && !hv.Channels.All(c => c.State == SlowControl.Hv.HvChannelState.Disconnected); i++)
            await rig.ReplyTimeoutAsync();
        Assert.All(hv.Channels, c => Assert.Equal(SlowControl.Hv.HvChannelState.Disconnected, c.State));
        var (exit, output) = await rig.CliAsync("hv", "status");
        Assert.Equal(1, exit);
        Assert.Contains("Disconnected", output, StringComparison.Ordinal);
        Assert.Contains("No HV board answers", output, StringComparison.Ordinal);
        Assert.Empty(rig.Sets);
    }

    [Fact]
    public async Task A_group_separator_in_a_voltage_is_refused_not_read_as_fifteen()
    {
        await using var rig = await ServiceRig.StartAsync();
        var (exit, output) = await rig.CliAsync("hv", "set", ServiceRig.Strips, "--volts", "1,5", "--no-wait");
        Assert.NotEqual(0, exit);
        Assert.Contains("1,5", output, StringComparison.Ordinal);
        Assert.Empty(rig.Sets);
    }

    [Fact]
    public async Task Fault_injection_reaches_the_simulator_only_and_is_refused_for_a_real_device()
    {
        await using var rig = await ServiceRig.StartAsync();
        // The rig's board is behind a real TCP transport: to the service it is a real device.
        var (exit, output) = await rig.CliAsync("sim", "inject", ServiceRig.Strips, "trip");
        Assert.Equal(2, exit);
        Assert.Contains("real device", output, StringComparison.Ordinal);
        (exit, output) = await rig.CliAsync("sim", "inject", "NOPE", "trip");
        Assert.Equal(2, exit);
        Assert.Contains("NOPE", output, StringComparison.Ordinal);
    }
}

/// <summary>Fault injection into the service's own simulators, and what the controller makes of it.</summary>
[Collection(CliCollection.Name)]
public sealed class ServiceSimulatorTests
{
    [Fact]
    public async Task An_injected_overcurrent_trips_the_channel_and_the_service_recovers_it_at_nominal()
    {
        await using var rig = await ServiceRig.StartSimulatedAsync();
        var strips = rig.Owner.Hv.Channel(ServiceRig.Strips);
        var (exit, output) = await rig.CliAsync("hv", "on", ServiceRig.Strips, "--no-wait");
        Assert.True(exit == 0, output);
        await rig.UntilAsync(() => strips.State == SlowControl.Hv.HvChannelState.On, "On at nominal");

        var seen = new List<SlowControl.Hv.HvChannelState>();
        strips.StateChanged += (_, to) => { lock (seen) seen.Add(to); };
        (exit, output) = await rig.CliAsync("sim", "inject", ServiceRig.Strips, "overcurrent");
        Assert.True(exit == 0, output);
        Assert.Contains("overcurrent injected", output, StringComparison.Ordinal);
        await rig.UntilAsync(() => { lock (seen) return seen.Contains(SlowControl.Hv.HvChannelState.Tripped); }, "Tripped");
        (exit, _) = await rig.CliAsync("sim", "inject", ServiceRig.Strips, "clear");
        Assert.Equal(0, exit);
        await rig.UntilAsync(() =>
        {
            lock (seen)
                return seen.Contains(SlowControl.Hv.HvChannelState.RecoveryHold) && strips.State == SlowControl.Hv.HvChannelState.On;
        }, "recovered to On");
        Assert.Equal(500, strips.Snapshot().Readback!.Value.VSet, 1);
        Assert.Contains(rig.Owner.Alarms(), a => a.Kind == SlowControl.Hv.HvAlarmKind.Tripped && a.Channel == ServiceRig.Strips);
    }
}

/// <summary><c>hv status --watch</c> follows the live stream until Ctrl-C.</summary>
[Collection(CliCollection.Name)]
public sealed class ServiceWatchTests
{
    [Fact]
    public async Task Hv_status_watch_follows_the_live_stream_and_Ctrl_C_ends_it_with_exit_0()
    {
        await using var rig = await ServiceRig.StartAsync();
        var feed = (LiveFeed)rig.App.Services.GetService(typeof(LiveFeed))!;
        using var interrupt = new CancellationTokenSource();
        var watch = rig.CliAsync(interrupt.Token, "hv", "status", "--watch");
        await Safety.Within(Task.Run(async () =>
        {
            while (feed.Subscribers == 0)
                await Task.Delay(5);
        }));
        await rig.NextPollAsync();
        await interrupt.CancelAsync();
        var (exit, output) = await watch;
        Assert.True(exit == 0, output);
        Assert.Contains(ServiceRig.Strips, output, StringComparison.Ordinal);
        Assert.Empty(rig.Sets);
    }
}
