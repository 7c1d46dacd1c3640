using System.CommandLine;
using System.Globalization;
using NA64.SlowControl.Service;
using Spectre.Console;

namespace NA64.SlowControl.Cli;

/// <summary><c>na64hw readout pedestal-run|run|stop|status</c>: runs of the calorimeter readout, through the service.</summary>
internal static class ReadoutCommands
{
    public static Command Build()
    {
        var readout = new Command("readout", "Calorimeter readout: pedestal runs and physics runs to DATE files (through the running service)");
        var detach = new Option<bool>("--detach") { Description = "Start the run and return; follow it later with `readout status`" };

        var pedEvents = new Option<long?>("--events") { Description = "Random triggers (default: the setup's readout.pedestalEvents)" };
        var pedestal = new Command("pedestal-run", "Latch-all random triggers with no beam: pedestal tables saved and downloaded to the modules; shifter") { pedEvents, detach };
        pedestal.SetAction((parse, ct) => ExitCodes.ClientAsync(parse, ct, client =>
            StartAndFollowAsync(client, new RunStartRequest("pedestal", parse.GetValue(pedEvents)), parse.GetValue(detach), ct)));
        readout.Subcommands.Add(pedestal);

        var events = new Option<long?>("--events") { Description = "Stop after N triggers" };
        var spills = new Option<int?>("--spills") { Description = "Stop after N spills" };
        var zmq = new Option<string?>("--zmq") { Description = "Also publish events on this ZeroMQ address, e.g. tcp://127.0.0.1:5556" };
        var zmqPush = new Option<string?>("--zmq-push") { Description = "Also push events to event builders pulling from this ZeroMQ address (lossless: the run waits for them)" };
        var zmqStall = new Option<string>("--zmq-stall") { Description = "When no event builder pulls: drop (after --zmq-timeout, counted) or wait (nothing lost, the run waits)", DefaultValueFactory = _ => "drop" };
        zmqStall.AcceptOnlyFromAmong("drop", "wait");
        var zmqTimeout = InvariantNumber.Option("--zmq-timeout", "Seconds a pushed message waits for an event builder before it is dropped (with --zmq-stall drop)");
        zmqTimeout.DefaultValueFactory = _ => 5.0;
        var latency = new Option<int?>("--latency") { Description = "MSADC latency (window position, sample clocks 0..320) for this run; default the setup's readout.latency" };
        var physics = new Command("run", "Physics run: decode, zero-suppress, build DATE events, write the run directory; shifter") { events, spills, zmq, zmqPush, zmqStall, zmqTimeout, latency, detach };
        physics.SetAction((parse, ct) => ExitCodes.ClientAsync(parse, ct, client =>
        {
            if (parse.GetValue(events) is null == parse.GetValue(spills) is null)
                throw new ServiceRefusedException(0, "give exactly one of --events N or --spills N");
            return StartAndFollowAsync(client, new RunStartRequest("physics", parse.GetValue(events), parse.GetValue(spills), parse.GetValue(latency),
                parse.GetValue(zmq), parse.GetValue(zmqPush), parse.GetValue(zmqStall)!, parse.GetValue(zmqTimeout)), parse.GetValue(detach), ct);
        }));
        readout.Subcommands.Add(physics);

        var stop = new Command("stop", "Operator stop of the run going on: file closed properly, run marked stopped; shifter");
        stop.SetAction((parse, ct) => ExitCodes.ClientAsync(parse, ct, async client =>
        {
            var view = await client.SendAsync<RunView>(HttpMethod.Post, "/api/runs/current/stop", null, ct).ConfigureAwait(false);
            PrintEnd(view);
            return ExitCodes.Ok;
        }));
        readout.Subcommands.Add(stop);

        var status = new Command("status", "The run going on, followed live until it ends (Ctrl-C leaves it running)");
        status.SetAction((parse, ct) => ExitCodes.ClientAsync(parse, ct, async client =>
        {
            var view = await client.GetAsync<RunView?>("/api/runs/current", ct).ConfigureAwait(false);
            if (view is null)
            {
                AnsiConsole.WriteLine("No run is going.");
                return ExitCodes.Ok;
            }

            return await FollowAsync(client, view, stopOnInterrupt: false, ct).ConfigureAwait(false);
        }));
        readout.Subcommands.Add(status);
        return readout;
    }

    private static async Task<int> StartAndFollowAsync(ServiceClient client, RunStartRequest request, bool detach, CancellationToken ct)
    {
        var started = await client.SendAsync<RunView>(HttpMethod.Post, "/api/runs", request, ct).ConfigureAwait(false);
        AnsiConsole.MarkupLine($"{Markup.Escape(started.Type)} run started.");
        if (detach)
            return ExitCodes.Ok;
        return await FollowAsync(client, started, stopOnInterrupt: true, ct).ConfigureAwait(false);
    }

    /// <summary>
    /// One live line a second until the run ends, then its report. Ctrl-C of the command that started the run stops
    /// it as an operator stop (and says so); of <c>readout status</c> it only stops following.
    /// </summary>
    private static async Task<int> FollowAsync(ServiceClient client, RunView run, bool stopOnInterrupt, CancellationToken ct)
    {
        uint? number = run.Number;
        try
        {
            while (true)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(500), ct).ConfigureAwait(false);
                var current = await client.GetAsync<RunView?>("/api/runs/current", ct).ConfigureAwait(false);
                if (current is null || current.Started != run.Started)
                    break;
                number ??= current.Number;
                AnsiConsole.WriteLine(LiveLine(current));
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            if (!stopOnInterrupt)
                return ExitCodes.Ok;
            AnsiConsole.MarkupLine("[yellow]Ctrl-C: stopping the run as an operator stop...[/]");
            var stopped = await client.SendAsync<RunView?>(HttpMethod.Post, "/api/runs/current/stop", null, CancellationToken.None).ConfigureAwait(false);
            if (stopped is not null)
                PrintEnd(stopped);
            return ExitCodes.Interrupted;
        }

        var end = await FinalAsync(client, run, number, ct).ConfigureAwait(false);
        PrintEnd(end);
        return end.Status == "completed" ? ExitCodes.Ok : ExitCodes.Failed;
    }

    /// <summary>The run as it ended, with its summary: the service's last run when it is this one, else the registry's row.</summary>
    internal static async Task<RunView> FinalAsync(ServiceClient client, RunView started, uint? number, CancellationToken ct)
    {
        if (await client.GetAsync<RunView?>("/api/runs/last", ct).ConfigureAwait(false) is { } last && last.Started == started.Started)
            return last;
        if (number is null)
        {
            var all = await client.GetAsync<List<RunView>>("/api/runs", ct).ConfigureAwait(false);
            number = all.LastOrDefault()?.Number
                ?? throw new ServiceRefusedException(0, "the run ended but the registry lists no run");
        }

        return await client.GetAsync<RunView>($"/api/runs/{number}", ct).ConfigureAwait(false);
    }

    internal static string LiveLine(RunView r) => string.Create(CultureInfo.InvariantCulture,
        $"  {r.Type} run{(r.Number is { } n ? $" {n}" : "")} {r.Status}: {r.EventsIn} in, {r.EventsBuilt} built, {r.Dropped} dropped; {r.EventsPerSecond:0} events/s, {r.MegabytesInPerSecond:0.0} MB/s in")
        + (r.PushWaitingSeconds is { } waiting ? string.Create(CultureInfo.InvariantCulture, $"; push WAITING for an event builder for {waiting:0.0} s") : "")
        + (r.PushDroppedEvents > 0 ? string.Create(CultureInfo.InvariantCulture, $"; push dropped {r.PushDroppedEvents} events") : "")
        + TrackerLine(r.Trackers);

    /// <summary>The trackers in one clause of the live line: the worst plane's efficiency and resolution, and the ghosts.</summary>
    private static string TrackerLine(IReadOnlyList<Readout.TrackerPlaneResult>? planes)
    {
        if (planes is null || planes.Count == 0 || planes.All(p => p.Efficiency is null))
            return "";
        var worst = planes.Where(p => p.Efficiency is not null).MinBy(p => p.Efficiency)!;
        var widest = planes.Where(p => p.ResolutionUm is not null).MaxBy(p => p.ResolutionUm);
        return string.Create(CultureInfo.InvariantCulture,
            $"; trackers: lowest efficiency {worst.Efficiency * 100:0.0} % ({worst.Plane}), widest resolution {widest?.ResolutionUm:0} um ({widest?.Plane}), {planes.Average(p => p.GhostRate):0.00} ghosts/plane/event");
    }

    internal static void PrintEnd(RunView r)
    {
        if (r.Summary is { Length: > 0 } summary)
            Console.Out.Write(summary.EndsWith('\n') ? summary : summary + Environment.NewLine);
        string color = r.Status == "completed" ? "green" : "red";
        AnsiConsole.MarkupLine($"Run{(r.Number is { } n ? $" {n}" : "")} [{color}]{Markup.Escape(r.Status)}[/]{(r.Reason is { } reason ? ": " + Markup.Escape(reason) : "")}");
        if (r.Directory is { } dir)
            AnsiConsole.MarkupLine($"Run directory: [blue]{Markup.Escape(dir)}[/]");
    }
}
