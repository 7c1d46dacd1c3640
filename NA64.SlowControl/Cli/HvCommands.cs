using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using NA64.SlowControl.Service;
using Spectre.Console;

namespace NA64.SlowControl.Cli;

/// <summary><c>na64hw hv status|set|on|off</c>: what a detector expert does with the HV, through the service.</summary>
internal static class HvCommands
{
    public static Command Build()
    {
        var hv = new Command("hv", "High voltage: status, set, on, off (through the running service)");

        var watch = new Option<bool>("--watch") { Description = "Follow the live stream and redraw the table at poll rate (Ctrl-C ends)" };
        var status = new Command("status", "Table of every HV channel: state, VSET/VMON, ISET/IMON, flags (reads only)") { watch };
        status.SetAction((parse, ct) => ExitCodes.ClientAsync(parse, ct, async client =>
        {
            var channels = await client.GetAsync<List<HvChannelView>>("/api/hv/channels", ct).ConfigureAwait(false);
            if (parse.GetValue(watch))
                return await WatchAsync(client, channels, ct).ConfigureAwait(false);
            AnsiConsole.Write(StatusTable(channels));
            return StatusExit(channels);
        }));
        hv.Subcommands.Add(status);

        var channelArg = new Argument<string>("channel") { Description = "Channel name from the setup, e.g. MM1.strips" };
        var volts = InvariantNumber.Option("--volts", "Target voltage (magnitude, V)");
        volts.Required = true;
        var ramp = InvariantNumber.NullableOption("--ramp", "Ramp-up rate, V/s (checked against the channel's limit; stays until changed)");
        var noWait = new Option<bool>("--no-wait") { Description = "Return once the command is on the wire instead of when the readbacks say On" };
        var set = new Command("set", "Set a channel's voltage (and ramp) and ramp there; expert") { channelArg, volts, ramp, noWait };
        set.SetAction((parse, ct) => ExitCodes.ClientAsync(parse, ct, client =>
        {
            string name = parse.GetValue(channelArg)!;
            double v = parse.GetValue(volts);
            var request = new SetpointRequest(v, parse.GetValue(ramp), Wait: !parse.GetValue(noWait));
            return CommandWithProgressAsync(client, name, v, request.Wait,
                c => client.SendAsync<HvChannelView>(HttpMethod.Put, $"/api/hv/channels/{Uri.EscapeDataString(name)}/setpoint", request, c), ct);
        }));
        hv.Subcommands.Add(set);

        var onArg = new Argument<string>("channel") { Description = "Channel name from the setup" };
        var on = new Command("on", "Switch a channel on at its target (nominal unless set) and wait until it is On; shifter") { onArg, noWait };
        on.SetAction((parse, ct) => ExitCodes.ClientAsync(parse, ct, async client =>
        {
            string name = parse.GetValue(onArg)!;
            var channel = await client.GetAsync<HvChannelView>($"/api/hv/channels/{Uri.EscapeDataString(name)}", ct).ConfigureAwait(false);
            bool wait = !parse.GetValue(noWait);
            return await CommandWithProgressAsync(client, name, channel.TargetVolts, wait,
                c => client.SendAsync<HvChannelView>(HttpMethod.Post, $"/api/hv/channels/{Uri.EscapeDataString(name)}/on?wait={(wait ? "true" : "false")}", null, c), ct).ConfigureAwait(false);
        }));
        hv.Subcommands.Add(on);

        var offArg = new Argument<string>("channel") { Description = "Channel name from the setup" };
        var off = new Command("off", "Switch a channel off (following its power-down mode) and wait until it is Off; shifter") { offArg, noWait };
        off.SetAction((parse, ct) => ExitCodes.ClientAsync(parse, ct, client =>
        {
            string name = parse.GetValue(offArg)!;
            bool wait = !parse.GetValue(noWait);
            return CommandWithProgressAsync(client, name, 0, wait,
                c => client.SendAsync<HvChannelView>(HttpMethod.Post, $"/api/hv/channels/{Uri.EscapeDataString(name)}/off?wait={(wait ? "true" : "false")}", null, c), ct);
        }));
        hv.Subcommands.Add(off);

        var applyArg = new Argument<string?>("channel") { Description = "Channel name from the setup (or --all)", Arity = ArgumentArity.ZeroOrOne };
        var all = new Option<bool>("--all") { Description = "Every channel of the setup" };
        var dryRun = new Option<bool>("--dry-run") { Description = "Only show what differs from the setup; write nothing" };
        var apply = new Command("apply", "Write the setup's settings (ISET, RUP, RDW; VSET of channels not on) on purpose, showing what differs first; expert") { applyArg, all, dryRun };
        apply.SetAction((parse, ct) => ExitCodes.ClientAsync(parse, ct, async client =>
        {
            var request = new ApplyRequest(parse.GetValue(applyArg), parse.GetValue(all), parse.GetValue(dryRun));
            var result = await client.SendAsync<ApplyResultView>(HttpMethod.Post, "/api/hv/apply", request, ct).ConfigureAwait(false);
            var table = new Table().Border(TableBorder.Simple).AddColumn("Channel").AddColumn("Setting")
                .AddColumn(new TableColumn("on device").RightAligned()).AddColumn(new TableColumn("setup").RightAligned());
            foreach (var d in result.Differences)
            {
                table.AddRow(Markup.Escape(d.Channel), d.Parameter,
                    d.OnDevice is { } v ? v.ToString("0.###", CultureInfo.InvariantCulture) : "(not read back)",
                    d.InSetup.ToString("0.###", CultureInfo.InvariantCulture));
            }

            if (result.Differences.Count == 0)
                AnsiConsole.WriteLine("Every setting read back equals the setup.");
            else
                AnsiConsole.Write(table);
            AnsiConsole.WriteLine(result.DryRun
                ? "Dry run: nothing written."
                : $"Written to {result.Applied.Count} channel(s): {string.Join(", ", result.Applied)}");
            return ExitCodes.Ok;
        }));
        hv.Subcommands.Add(apply);
        return hv;
    }

    /// <summary>Every channel disconnected or never read means the status says nothing about the detector.</summary>
    internal static int StatusExit(IReadOnlyList<HvChannelView> channels)
    {
        if (channels.Count > 0 && channels.All(c => c.State is "Disconnected" or "Unknown"))
        {
            AnsiConsole.MarkupLine("[red]No HV board answers:[/] every channel is Disconnected or not read yet.");
            return ExitCodes.Failed;
        }

        return ExitCodes.Ok;
    }

    /// <summary>
    /// Sends a command and, while the service waits for the readbacks, shows the channel's progress. Ctrl-C stops the
    /// waiting, not the ramp: the command says in which state it leaves the channel.
    /// </summary>
    private static async Task<int> CommandWithProgressAsync(ServiceClient client, string name, double target, bool wait,
        Func<CancellationToken, Task<HvChannelView>> send, CancellationToken ct)
    {
        if (!wait)
        {
            var sent = await send(ct).ConfigureAwait(false);
            AnsiConsole.Write(StatusTable([sent]));
            return ExitCodes.Ok;
        }

        var start = await client.GetAsync<HvChannelView>($"/api/hv/channels/{Uri.EscapeDataString(name)}", ct).ConfigureAwait(false);
        double from = start.VMon ?? 0;
        HvChannelView? done = null;
        try
        {
            await AnsiConsole.Progress()
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new SpinnerColumn())
                .StartAsync(async progress =>
                {
                    var bar = progress.AddTask(Label(name, from, target), maxValue: 1.0);
                    var command = send(ct);
                    while (!command.IsCompleted)
                    {
                        await Task.WhenAny(command, Task.Delay(TimeSpan.FromMilliseconds(250), ct)).ConfigureAwait(false);
                        ct.ThrowIfCancellationRequested();
                        var now = await client.GetAsync<HvChannelView>($"/api/hv/channels/{Uri.EscapeDataString(name)}", ct).ConfigureAwait(false);
                        double span = Math.Abs(target - from);
                        bar.Value = span < 1e-9 ? 1.0 : Math.Clamp(1.0 - (Math.Abs(target - (now.VMon ?? 0)) / span), 0, 1);
                        bar.Description = Label(name, now.VMon ?? 0, target);
                    }

                    done = await command.ConfigureAwait(false);
                    bar.Value = 1.0;
                    bar.Description = Label(name, done.VMon ?? target, target);
                }).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            await SayWhereLeftAsync(client, name, target).ConfigureAwait(false);
            return ExitCodes.Interrupted;
        }

        AnsiConsole.Write(StatusTable([done!]));
        return ExitCodes.Ok;
    }

    private static async Task SayWhereLeftAsync(ServiceClient client, string name, double target)
    {
        try
        {
            using var brief = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            var now = await client.GetAsync<HvChannelView>($"/api/hv/channels/{Uri.EscapeDataString(name)}", brief.Token).ConfigureAwait(false);
            AnsiConsole.MarkupLine(string.Create(CultureInfo.InvariantCulture,
                $"[yellow]Interrupted:[/] {Markup.Escape(name)} left {now.State} at VMON {now.VMon ?? 0:0.0} V, VSET {now.VSet ?? 0:0.0} V (target {target:0.0} V); the board carries on with what it was sent. `na64hw hv off {Markup.Escape(name)}` stops it."));
        }
        catch (Exception e) when (e is ServiceUnreachableException or ServiceRefusedException or OperationCanceledException or HttpRequestException)
        {
            AnsiConsole.MarkupLine($"[yellow]Interrupted:[/] state of {Markup.Escape(name)} unknown ({Markup.Escape(e.Message)}); the board carries on with what it was sent.");
        }
    }

    /// <summary>Follows the live stream with the table (<see cref="LiveWatch"/>).</summary>
    private static Task<int> WatchAsync(ServiceClient client, List<HvChannelView> items, CancellationToken ct) =>
        LiveWatch.RunAsync(client, items, "readback", c => c.Channel, StatusTable, c => string.Create(CultureInfo.InvariantCulture,
            $"{c.Channel} {c.State} VSET {c.VSet:0.0} VMON {c.VMon:0.0} V IMON {c.IMon:0.000} uA {c.Flags}").TrimEnd(), c => c.ReadbackTime, ct);

    private static string Label(string channel, double vmon, double target) =>
        string.Create(CultureInfo.InvariantCulture, $"{channel,-12} {vmon,7:0.0} -> {target:0.0} V");

    public static Table StatusTable(IReadOnlyList<HvChannelView> channels)
    {
        var table = new Table().Border(TableBorder.Simple)
            .AddColumn("Channel").AddColumn("Board").AddColumn("State")
            .AddColumn(new TableColumn("VSET").RightAligned()).AddColumn(new TableColumn("VMON").RightAligned())
            .AddColumn(new TableColumn("ISET uA").RightAligned()).AddColumn(new TableColumn("IMON uA").RightAligned())
            .AddColumn("Flags");
        foreach (var c in channels)
        {
            string color = c.State switch
            {
                "On" => "green",
                "RampingUp" or "RampingDown" or "RecoveryStepDown" or "RecoveryHold" or "RecoveryToNominal" => "yellow",
                "Tripped" or "Interlocked" or "Killed" or "Disconnected" or "OutOfTolerance" => "red",
                _ => "grey",
            };
            static string F(double? v, string format) => v is { } x ? x.ToString(format, CultureInfo.InvariantCulture) : "-";
            table.AddRow(
                Markup.Escape(c.Channel),
                Markup.Escape(c.Board),
                $"[{color}]{c.State}[/]",
                F(c.VSet, "0.0"), F(c.VMon, "0.0"), F(c.ISet, "0.00"), F(c.IMon, "0.000"),
                Markup.Escape(c.Flags));
        }

        return table;
    }
}
