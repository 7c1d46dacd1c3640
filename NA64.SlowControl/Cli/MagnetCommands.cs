using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using NA64.SlowControl.Service;
using Spectre.Console;

namespace NA64.SlowControl.Cli;

/// <summary>
/// <c>na64hw magnet status|set|on|off|standby|reset</c>: the magnets through the service. A magnet is named by its
/// circuit or by any element of it (<c>MBPL1</c> sets the MBPL circuit, which feeds MBPL1 and MBPL2 in series).
/// </summary>
internal static class MagnetCommands
{
    public static Command Build()
    {
        var magnet = new Command("magnet", "Magnets: status, set (current, field or momentum), on, off, standby, reset (through the running service)");

        var watch = new Option<bool>("--watch") { Description = "Follow the live stream and redraw the table at poll rate (Ctrl-C ends)" };
        var status = new Command("status", "Table of every magnet circuit: state, current, field, momentum (reads only)") { watch };
        status.SetAction((parse, ct) => ExitCodes.ClientAsync(parse, ct, async client =>
        {
            var magnets = await client.GetAsync<List<MagnetView>>("/api/magnets", ct).ConfigureAwait(false);
            if (parse.GetValue(watch))
                return await WatchAsync(client, magnets, ct).ConfigureAwait(false);
            AnsiConsole.Write(StatusTable(magnets));
            if (magnets.Count > 0 && magnets.All(m => m.State is "Disconnected" or "Unknown"))
            {
                AnsiConsole.MarkupLine("[red]No magnet supply answers:[/] every magnet is Disconnected or not read yet.");
                return ExitCodes.Failed;
            }

            return ExitCodes.Ok;
        }));
        magnet.Subcommands.Add(status);

        var noWait = new Option<bool>("--no-wait") { Description = "Return once the request is sent instead of when the readbacks show it done" };

        var setArg = new Argument<string>("magnet") { Description = "Magnet or circuit name from the setup, e.g. MBPL1" };
        var amps = InvariantNumber.WithUnit("--amps", "Target current, A (signed: negative reverses the polarity, through zero)", "A");
        var field = InvariantNumber.WithUnit("--field", "Target integral field B·dl of the circuit, T·m (through its calibration)", "Tm", "T*m", "T.m", "T·m");
        var momentum = InvariantNumber.WithUnit("--momentum", "Beam momentum, GeV/c (through the calibration and the setup's bending angle)", "GeV", "GeV/c");
        var ramp = InvariantNumber.WithUnit("--ramp", "dI/dt, A/s (default: the magnet's configured rate; checked against its maximum)", "A/s");
        var set = new Command("set", "Ramp a magnet to a current, a field or a momentum and wait until AtSetpoint; expert") { setArg, amps, field, momentum, ramp, noWait };
        set.Validators.Add(result =>
        {
            int given = new[] { amps, field, momentum }.Count(o => result.GetResult(o) is not null);
            if (given != 1)
                result.AddError("give exactly one of --amps, --field or --momentum");
        });
        set.SetAction((parse, ct) => ExitCodes.ClientAsync(parse, ct, client =>
        {
            string name = parse.GetValue(setArg)!;
            var request = new MagnetSetpointRequest(parse.GetValue(amps), parse.GetValue(field), parse.GetValue(momentum), parse.GetValue(ramp),
                Wait: !parse.GetValue(noWait));
            return CommandWithProgressAsync(client, name, request.Wait, "AtSetpoint",
                c => client.SendAsync<MagnetView>(HttpMethod.Put, Path(name, "setpoint"), request, c), ct);
        }));
        magnet.Subcommands.Add(set);

        AddCommand(magnet, "on", "Output on (a supply stepped by the controller starts from 0 A) and wait until AtSetpoint; expert", "AtSetpoint", noWait);
        AddCommand(magnet, "off", "Output off at once and wait until the current is at zero (to ramp down gently: set --amps 0 first); shifter", "Off", noWait);
        AddCommand(magnet, "standby", "Standby (beam-line converters) and wait until the readbacks say Standby; shifter", "Standby", noWait);
        AddCommand(magnet, "reset", "Clear a latched fault or interlock (released only when the readbacks show the cause gone); shifter", null, noWait);
        return magnet;
    }

    private static string Path(string name, string verb) => $"/api/magnets/{Uri.EscapeDataString(name)}/{verb}";

    private static void AddCommand(Command magnet, string verb, string description, string? goal, Option<bool> noWait)
    {
        var arg = new Argument<string>("magnet") { Description = "Magnet or circuit name from the setup" };
        var command = new Command(verb, description) { arg, noWait };
        command.SetAction((parse, ct) => ExitCodes.ClientAsync(parse, ct, client =>
        {
            string name = parse.GetValue(arg)!;
            bool wait = goal is not null && !parse.GetValue(noWait);
            return CommandWithProgressAsync(client, name, wait, goal ?? "",
                c => client.SendAsync<MagnetView>(HttpMethod.Post, $"{Path(name, verb)}?wait={(wait ? "true" : "false")}", null, c), ct);
        }));
        magnet.Subcommands.Add(command);
    }

    /// <summary>
    /// Sends a command and, while the service waits for the readbacks, shows the current on its way to the target. Ctrl-C
    /// stops the waiting, not the ramp: the command says where it leaves the magnet. A request held for an operator
    /// (beam-line gateway) is not done: it says so and exits 1.
    /// </summary>
    private static async Task<int> CommandWithProgressAsync(ServiceClient client, string name, bool wait, string goal,
        Func<CancellationToken, Task<MagnetView>> send, CancellationToken ct)
    {
        MagnetView done;
        if (!wait)
        {
            done = await send(ct).ConfigureAwait(false);
        }
        else
        {
            var start = await client.GetAsync<MagnetView>($"/api/magnets/{Uri.EscapeDataString(name)}", ct).ConfigureAwait(false);
            double from = start.Amps ?? 0;
            MagnetView? result = null;
            try
            {
                await AnsiConsole.Progress()
                    .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new SpinnerColumn())
                    .StartAsync(async progress =>
                    {
                        var bar = progress.AddTask(Label(start), maxValue: 1.0);
                        var command = send(ct);
                        while (!command.IsCompleted)
                        {
                            await Task.WhenAny(command, Task.Delay(TimeSpan.FromMilliseconds(250), ct)).ConfigureAwait(false);
                            ct.ThrowIfCancellationRequested();
                            var now = await client.GetAsync<MagnetView>($"/api/magnets/{Uri.EscapeDataString(name)}", ct).ConfigureAwait(false);
                            double target = goal == "AtSetpoint" ? now.TargetAmps : 0;
                            double span = Math.Abs(target - from);
                            bar.Value = span < 1e-9 ? 1.0 : Math.Clamp(1.0 - (Math.Abs(target - (now.Amps ?? from)) / span), 0, 1);
                            bar.Description = Label(now);
                        }

                        result = await command.ConfigureAwait(false);
                        bar.Value = result.PendingRequest is null ? 1.0 : bar.Value;
                        bar.Description = Label(result);
                    }).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                await SayWhereLeftAsync(client, name).ConfigureAwait(false);
                return ExitCodes.Interrupted;
            }

            done = result!;
        }

        AnsiConsole.Write(StatusTable([done]));
        if (done.PendingRequest is { } pending)
        {
            AnsiConsole.MarkupLine($"[yellow]Pending:[/] {Markup.Escape(done.Magnet)}: {Markup.Escape(pending)} is held for the beam-line operator; not done until the readbacks show it.");
            return ExitCodes.Failed;
        }

        return ExitCodes.Ok;
    }

    private static async Task SayWhereLeftAsync(ServiceClient client, string name)
    {
        try
        {
            using var brief = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            var now = await client.GetAsync<MagnetView>($"/api/magnets/{Uri.EscapeDataString(name)}", brief.Token).ConfigureAwait(false);
            AnsiConsole.MarkupLine(string.Create(CultureInfo.InvariantCulture,
                $"[yellow]Interrupted:[/] {Markup.Escape(now.Magnet)} left {now.State} at {now.Amps ?? 0:0.0} A (target {now.TargetAmps:0.0} A); the controller carries on. `na64hw magnet off {Markup.Escape(name)}` stops it."));
        }
        catch (Exception e) when (e is ServiceUnreachableException or ServiceRefusedException or OperationCanceledException or HttpRequestException)
        {
            AnsiConsole.MarkupLine($"[yellow]Interrupted:[/] state of {Markup.Escape(name)} unknown ({Markup.Escape(e.Message)}); the controller carries on.");
        }
    }

    /// <summary>Follows the live stream with the table (<see cref="LiveWatch"/>).</summary>
    private static Task<int> WatchAsync(ServiceClient client, List<MagnetView> items, CancellationToken ct) =>
        LiveWatch.RunAsync(client, items, "magnet", m => m.Magnet, StatusTable, m => string.Create(CultureInfo.InvariantCulture,
            $"{m.Magnet} {m.State} {m.Amps:0.0} A -> {m.TargetAmps:0.0} A {m.FieldTeslaMetres:0.000} Tm {m.Conditions}").TrimEnd(), m => m.ReadbackTime, ct);

    private static string Label(MagnetView m) =>
        string.Create(CultureInfo.InvariantCulture, $"{m.Magnet,-10} {m.Amps ?? 0,8:0.0} -> {m.TargetAmps:0.0} A {m.State}");

    /// <summary>One row per circuit; currents signed (negative: reversed polarity); the notes say what it feeds and what needs attention.</summary>
    public static Table StatusTable(IReadOnlyList<MagnetView> magnets)
    {
        var table = new Table().Border(TableBorder.Simple)
            .AddColumn("Magnet").AddColumn("State")
            .AddColumn(new TableColumn("Target A").RightAligned()).AddColumn(new TableColumn("I A").RightAligned())
            .AddColumn(new TableColumn("V").RightAligned()).AddColumn(new TableColumn("B·dl Tm").RightAligned())
            .AddColumn(new TableColumn("p GeV").RightAligned()).AddColumn("Notes");
        foreach (var m in magnets)
        {
            string color = m.State switch
            {
                "AtSetpoint" => "green",
                "Ramping" or "Standby" => "yellow",
                "Fault" or "Interlocked" or "Disconnected" => "red",
                _ => "grey",
            };
            static string F(double? v, string format) => v is { } x ? x.ToString(format, CultureInfo.InvariantCulture) : "-";
            // Regulating is the normal case: only what needs attention goes into the notes.
            string conditions = string.Join(",", m.Conditions.Split(", ").Where(c => c is not ("None" or "CurrentRegulated")));
            string notes = string.Join("; ", new[]
            {
                m.Elements.Count > 0 ? "feeds " + string.Join("+", m.Elements) : null,
                conditions.Length == 0 ? null : conditions,
                m.PendingRequest is { } p ? "pending: " + p : null,
                m.LastDenied is { } d ? "denied: " + d : null,
            }.Where(x => x is not null));
            table.AddRow(
                Markup.Escape(m.Magnet), $"[{color}]{m.State}[/]",
                F(m.TargetAmps, "0.0"), F(m.Amps, "0.0"), F(m.Volts, "0.00"), F(m.FieldTeslaMetres, "0.000"), F(m.MomentumGeV, "0.0"),
                Markup.Escape(notes));
        }

        return table;
    }
}
