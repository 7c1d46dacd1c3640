using System.CommandLine;
using System.Globalization;
using NA64.SlowControl.Service;
using Serilog;
using Spectre.Console;

namespace NA64.SlowControl.Cli;

/// <summary>
/// <c>na64hw demo</c>: the whole product on simulators with no hardware and no setup file. Starts a service in-process
/// (simulators behind the same transports real devices use) and drives it through the same API the CLI uses: powers
/// the NA64 2018 HV setup, shows a trip of a micromegas strip channel recovered the NA64 way (nominal - 20 V, wait,
/// nominal), sets the spectrometer magnet for 100 GeV through the simulated beam-line gateway and the bench magnets on
/// their Genesys and Danfysik 8500, then takes a pedestal run and a short physics run on the simulated digitizers.
/// </summary>
internal static class DemoCommand
{
    private const long DemoPedestalEvents = 1000;
    private const long DemoEvents = 20_000;

    public static Command Build(ILogger log)
    {
        var demo = new Command("demo", "Run the whole product on its built-in simulated NA64 setup (service in-process, driven through its API)");
        demo.SetAction(async (parse, ct) =>
        {
            if (CommonOptions.ContextOrRefusal(parse) is not { } context)
                return ExitCodes.Refused;

            if (context.Setup.Devices.Select(d => (d.Name, d.Transport)).Concat(context.Setup.Magnets.Select(m => (m.Name, m.Transport)))
                    .FirstOrDefault(d => !Hosting.HvHardware.IsSimulated(d.Transport)) is { Name: not null } real)
            {
                AnsiConsole.MarkupLine($"[red]Refused:[/] the demo switches every channel and magnet on and injects faults; device {Markup.Escape(real.Name)} is real ({Markup.Escape(real.Transport)}). Use a setup whose transports are all 'sim'.");
                return ExitCodes.Refused;
            }

            await using var app = ServiceApp.Build(context, "http://127.0.0.1:0", log);
            await app.StartAsync(ct).ConfigureAwait(false);
            try
            {
                using var client = new ServiceClient(ServiceApp.Addresses(app)[0], DemoToken(app));
                return await ScriptAsync(client, context, ct).ConfigureAwait(false);
            }
            catch (ServiceRefusedException e)
            {
                Console.Error.WriteLine($"Refused: {e.Message}");
                return ExitCodes.Failed;
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                AnsiConsole.MarkupLine("[yellow]Interrupted.[/]");
                return ExitCodes.Interrupted;
            }
            finally
            {
                await app.StopAsync(CancellationToken.None).ConfigureAwait(false);
            }
        });
        return demo;
    }

    /// <summary>The demo is the service's own local user (an expert on this machine).</summary>
    private static string? DemoToken(Microsoft.AspNetCore.Builder.WebApplication app) => ApiSecurity.LocalToken(app);

    private static async Task<int> ScriptAsync(ServiceClient client, ServiceContext context, CancellationToken ct)
    {
        var status = await client.GetAsync<ServiceStatusView>("/api/status", ct).ConfigureAwait(false);
        AnsiConsole.MarkupLine(string.Create(CultureInfo.InvariantCulture,
            $"[bold]NA64.Hw demo[/] on [blue]{Markup.Escape(status.Setup)}[/]: a service at {client.BaseAddress} owns {status.HvChannels} HV channels on {status.HvBoards} simulated CAEN N1470 boards, simulated time x{status.SimulationSpeed}; this demo is its client."));

        AnsiConsole.MarkupLine("[bold]1. HV on[/]: every channel ramps to nominal at its RUP; done when the readbacks say On.");
        var channels = await client.GetAsync<List<HvChannelView>>("/api/hv/channels", ct).ConfigureAwait(false);
        if (!await RampAllAsync(client, channels, ct).ConfigureAwait(false))
            return ExitCodes.Failed;

        if (channels.FirstOrDefault(c => c.Channel.EndsWith(".strips", StringComparison.Ordinal)) is { } strips)
        {
            if (!await TripAndRecoverAsync(client, strips, context, ct).ConfigureAwait(false))
                return ExitCodes.Failed;
        }

        if (!await MagnetsAsync(client, ct).ConfigureAwait(false))
            return ExitCodes.Failed;

        AnsiConsole.MarkupLine(string.Create(CultureInfo.InvariantCulture,
            $"[bold]4. Readout[/]: pedestal run of {DemoPedestalEvents} random triggers, then a physics run of {DemoEvents} triggers, started through the API."));
        foreach (var request in new[] { new RunStartRequest("pedestal", DemoPedestalEvents), new RunStartRequest("physics", DemoEvents) })
        {
            var started = await client.SendAsync<RunView>(HttpMethod.Post, "/api/runs", request, ct).ConfigureAwait(false);
            uint? number = null;
            while (true)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(500), ct).ConfigureAwait(false);
                var current = await client.GetAsync<RunView?>("/api/runs/current", ct).ConfigureAwait(false);
                if (current is null || current.Started != started.Started)
                    break;
                number ??= current.Number;
                AnsiConsole.WriteLine(ReadoutCommands.LiveLine(current));
            }

            var end = await ReadoutCommands.FinalAsync(client, started, number, ct).ConfigureAwait(false);
            ReadoutCommands.PrintEnd(end);
            if (end.Status != "completed")
                return ExitCodes.Failed;
        }

        return ExitCodes.Ok;
    }

    private static async Task<bool> RampAllAsync(ServiceClient client, IReadOnlyList<HvChannelView> channels, CancellationToken ct)
    {
        var failures = new List<string>();
        await AnsiConsole.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new SpinnerColumn())
            .StartAsync(async progress =>
            {
                var bars = channels.ToDictionary(c => c.Channel, c => progress.AddTask(Label(c.Channel, c.VMon ?? 0, c.NominalVolts), maxValue: 1.0));
                var ramps = channels.Select(async c =>
                {
                    try
                    {
                        await client.SendAsync<HvChannelView>(HttpMethod.Post, $"/api/hv/channels/{Uri.EscapeDataString(c.Channel)}/on?wait=true", null, ct).ConfigureAwait(false);
                    }
                    catch (ServiceRefusedException e)
                    {
                        lock (failures)
                            failures.Add($"{c.Channel}: {e.Message}");
                    }
                }).ToList();
                var all = Task.WhenAll(ramps);
                while (!all.IsCompleted)
                {
                    await Task.WhenAny(all, Task.Delay(TimeSpan.FromMilliseconds(250), ct)).ConfigureAwait(false);
                    foreach (var now in await client.GetAsync<List<HvChannelView>>("/api/hv/channels", ct).ConfigureAwait(false))
                    {
                        var bar = bars[now.Channel];
                        bar.Value = now.NominalVolts <= 0 ? 1.0 : Math.Clamp((now.VMon ?? 0) / now.NominalVolts, 0, 1);
                        bar.Description = Label(now.Channel, now.VMon ?? 0, now.NominalVolts);
                    }
                }

                await all.ConfigureAwait(false);
            }).ConfigureAwait(false);
        AnsiConsole.Write(HvCommands.StatusTable(await client.GetAsync<List<HvChannelView>>("/api/hv/channels", ct).ConfigureAwait(false)));
        foreach (var f in failures)
            AnsiConsole.MarkupLine($"[red]Failed:[/] {Markup.Escape(f)}");
        return failures.Count == 0;
    }

    /// <summary>
    /// Every magnet of the setup to its demo target at once: a circuit with a calibration and a bending angle (MBPL) to the
    /// momentum of the beam, the others to a bench current; then a setpoint above a limit, refused with nothing sent.
    /// </summary>
    private static async Task<bool> MagnetsAsync(ServiceClient client, CancellationToken ct)
    {
        const double BeamGeV = 100;
        const double BenchAmps = 100;
        var magnets = await client.GetAsync<List<MagnetView>>("/api/magnets", ct).ConfigureAwait(false);
        if (magnets.Count == 0)
            return true;
        AnsiConsole.MarkupLine(string.Create(CultureInfo.InvariantCulture,
            $"[bold]3. Magnets[/]: the spectrometer to {BeamGeV} GeV (field from its calibration, bending angle from the setup) through the beam-line gateway, the bench magnets to {BenchAmps} A at the configured dI/dt; done when the readbacks say AtSetpoint."));
        var failures = new List<string>();
        await AnsiConsole.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new SpinnerColumn())
            .StartAsync(async progress =>
            {
                var bars = magnets.ToDictionary(m => m.Magnet, m => progress.AddTask(m.Magnet, maxValue: 1.0));
                var ramps = magnets.Select(async m =>
                {
                    var request = m.MomentumGeV is not null ? new MagnetSetpointRequest(MomentumGeV: BeamGeV, Wait: true) : new MagnetSetpointRequest(Amps: BenchAmps, Wait: true);
                    try
                    {
                        await client.SendAsync<MagnetView>(HttpMethod.Put, $"/api/magnets/{Uri.EscapeDataString(m.Magnet)}/setpoint", request, ct).ConfigureAwait(false);
                    }
                    catch (ServiceRefusedException e)
                    {
                        lock (failures)
                            failures.Add($"{m.Magnet}: {e.Message}");
                    }
                }).ToList();
                var all = Task.WhenAll(ramps);
                while (!all.IsCompleted)
                {
                    await Task.WhenAny(all, Task.Delay(TimeSpan.FromMilliseconds(250), ct)).ConfigureAwait(false);
                    foreach (var now in await client.GetAsync<List<MagnetView>>("/api/magnets", ct).ConfigureAwait(false))
                    {
                        var bar = bars[now.Magnet];
                        bar.Value = Math.Abs(now.TargetAmps) < 1e-9 ? 0 : Math.Clamp((now.Amps ?? 0) / now.TargetAmps, 0, 1);
                        bar.Description = string.Create(CultureInfo.InvariantCulture, $"{now.Magnet,-10} {now.Amps ?? 0,7:0.0} -> {now.TargetAmps:0.0} A {now.State}");
                    }
                }

                await all.ConfigureAwait(false);
            }).ConfigureAwait(false);
        AnsiConsole.Write(MagnetCommands.StatusTable(await client.GetAsync<List<MagnetView>>("/api/magnets", ct).ConfigureAwait(false)));
        foreach (var f in failures)
            AnsiConsole.MarkupLine($"[red]Failed:[/] {Markup.Escape(f)}");

        // A setpoint above the circuit's ceiling: refused by the controller before any request reaches the gateway.
        var first = magnets[0];
        try
        {
            await client.SendAsync<MagnetView>(HttpMethod.Put, $"/api/magnets/{Uri.EscapeDataString(first.Magnet)}/setpoint",
                new MagnetSetpointRequest(Amps: 99999), ct).ConfigureAwait(false);
            failures.Add($"{first.Magnet}: 99999 A was accepted");
        }
        catch (ServiceRefusedException e)
        {
            AnsiConsole.MarkupLine($"`magnet set {Markup.Escape(first.Magnet)} --amps 99999`: [yellow]refused[/] {Markup.Escape(e.Message)}");
        }

        return failures.Count == 0;
    }

    /// <summary>A discharge in a strip channel: the board trips it, the service's controller recovers it in two steps.</summary>
    private static async Task<bool> TripAndRecoverAsync(ServiceClient client, HvChannelView strips, ServiceContext context, CancellationToken ct)
    {
        AnsiConsole.MarkupLine($"[bold]2. Trip[/]: `sim inject {Markup.Escape(strips.Channel)} overcurrent` (a discharge in the mesh); the controller recovers it at nominal - {context.Setup.HvController.Recovery.StepBelowNominalVolts.ToString(CultureInfo.InvariantCulture)} V, then nominal.");
        using var follow = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var live = client.LiveAsync(follow.Token).GetAsyncEnumerator(follow.Token);
        // Subscribe first so that no transition is missed, then inject.
        var first = live.MoveNextAsync();
        await client.SendAsync<string>(HttpMethod.Post, "/api/sim/inject", new InjectRequest(strips.Channel, "overcurrent"), ct).ConfigureAwait(false);
        bool tripped = false;
        try
        {
            for (var next = first; await next.ConfigureAwait(false); next = live.MoveNextAsync())
            {
                var (kind, data) = live.Current;
                if (kind != "state" || data.GetProperty("channel").GetString() != strips.Channel)
                    continue;
                string to = data.GetProperty("to").GetString()!;
                var now = await client.GetAsync<HvChannelView>($"/api/hv/channels/{Uri.EscapeDataString(strips.Channel)}", ct).ConfigureAwait(false);
                AnsiConsole.MarkupLine(string.Create(CultureInfo.InvariantCulture,
                    $"   {Markup.Escape(strips.Channel)}: {data.GetProperty("from").GetString()} -> [yellow]{to}[/] (VMON {now.VMon ?? 0:0.0} V, IMON {now.IMon ?? 0:0.000} uA)"));
                if (to == "Tripped" && !tripped)
                {
                    tripped = true;
                    // The discharge is over; the recovery may go ahead.
                    await client.SendAsync<string>(HttpMethod.Post, "/api/sim/inject", new InjectRequest(strips.Channel, "clear"), ct).ConfigureAwait(false);
                }
                else if (tripped && to == "On")
                {
                    break;
                }
                else if (to is "Interlocked" or "Killed" or "Disconnected")
                {
                    AnsiConsole.MarkupLine($"[red]{Markup.Escape(strips.Channel)} went {to} during the trip demo[/]");
                    return false;
                }
            }
        }
        finally
        {
            await follow.CancelAsync().ConfigureAwait(false);
            await live.DisposeAsync().ConfigureAwait(false);
        }

        AnsiConsole.Write(HvCommands.StatusTable(await client.GetAsync<List<HvChannelView>>("/api/hv/channels", ct).ConfigureAwait(false)));
        return tripped;
    }

    private static string Label(string channel, double vmon, double target) =>
        string.Create(CultureInfo.InvariantCulture, $"{channel,-12} {vmon,7:0.0} -> {target:0.0} V");
}
