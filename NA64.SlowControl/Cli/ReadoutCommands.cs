using System.CommandLine;
using System.Globalization;
using NA64.Hardware.Errors;
using NA64.Readout.Pipeline;
using NA64.SlowControl.Readout;
using NA64.SlowControl.Setup;
using Serilog;
using Spectre.Console;

namespace NA64.SlowControl.Cli;

/// <summary><c>na64hw readout pedestal-run|run</c>: the calorimeter readout on the setup's (simulated) MSADC modules.</summary>
internal static class ReadoutCommands
{
    public static Command Build(ILogger log)
    {
        var readout = new Command("readout", "Calorimeter readout: pedestal runs and physics runs to DATE files");

        var pedEvents = new Option<int?>("--events") { Description = "Random triggers (default: the setup's readout.pedestalEvents)" };
        var pedOut = new Option<DirectoryInfo?>("--out") { Description = "Output directory (default: the setup's readout.outputDirectory, ./data)" };
        var pedestal = new Command("pedestal-run", "Latch-all random triggers with no beam: pedestal tables saved and downloaded to the modules") { pedEvents, pedOut };
        pedestal.SetAction((parse, ct) => RunAsync(parse, log, parse.GetValue(pedOut), ct, async run =>
        {
            var result = await run.PedestalRunAsync(parse.GetValue(pedEvents), ct).ConfigureAwait(false);
            PrintPedestals(run, result);
            return 0;
        }));
        readout.Subcommands.Add(pedestal);

        var events = new Option<long?>("--events") { Description = "Stop after N triggers" };
        var spills = new Option<int?>("--spills") { Description = "Stop after N spills" };
        var outDir = new Option<DirectoryInfo?>("--out") { Description = "Output directory (default: the setup's readout.outputDirectory, ./data)" };
        var zmq = new Option<string?>("--zmq") { Description = "Also publish events on this ZeroMQ address, e.g. tcp://127.0.0.1:5556" };
        var zmqPush = new Option<string?>("--zmq-push") { Description = "Also push events to event builders pulling from this ZeroMQ address (lossless: the run waits for them)" };
        var latency = new Option<int?>("--latency") { Description = "MSADC latency (window position, sample clocks 0..320) for this run; default the setup's readout.latency" };
        var physics = new Command("run", "Physics run: decode, zero-suppress, build DATE events, write the file and its map") { events, spills, outDir, zmq, zmqPush, latency };
        physics.SetAction((parse, ct) => RunAsync(parse, log, parse.GetValue(outDir), ct, async run =>
        {
            long? n = parse.GetValue(events);
            int? s = parse.GetValue(spills);
            if (n is null == s is null)
            {
                AnsiConsole.MarkupLine("[red]Refused:[/] give exactly one of --events N or --spills N");
                return 2;
            }

            if (parse.GetValue(latency) is int l)
                run.Latency = l;

            if (run.TryLoadPedestals())
            {
                AnsiConsole.MarkupLine($"Pedestal tables: [blue]{Markup.Escape(Path.Combine(run.OutputDirectory, ReadoutRun.PedestalDirectory))}[/]");
            }
            else
            {
                AnsiConsole.MarkupLine($"No pedestal tables in {Markup.Escape(Path.Combine(run.OutputDirectory, ReadoutRun.PedestalDirectory))}: taking a pedestal run first.");
                PrintPedestals(run, await run.PedestalRunAsync(null, ct).ConfigureAwait(false));
            }

            var result = await PhysicsRunWithLiveRatesAsync(run, new PhysicsRunRequest { Events = n, Spills = s, ZmqAddress = parse.GetValue(zmq), ZmqPushAddress = parse.GetValue(zmqPush) }, ct)
                .ConfigureAwait(false);
            PrintSummary(result, run.Readout);
            return result.Pipeline.IsBalanced ? 0 : 1;
        }));
        readout.Subcommands.Add(physics);
        return readout;
    }

    /// <summary>Loads the setup, builds the readout on it, runs <paramref name="body"/>; refusals print one red line.</summary>
    internal static async Task<int> RunAsync(ParseResult parse, ILogger log, DirectoryInfo? output, CancellationToken ct, Func<ReadoutRun, Task<int>> body)
    {
        try
        {
            var file = parse.GetValue(CommonOptions.Setup);
            var setup = CommonOptions.LoadSetup(parse);
            string text = file is null ? SetupLoader.DefaultText() : await File.ReadAllTextAsync(file.FullName, ct).ConfigureAwait(false);
            // Readout time is real time: the generator has its own simulated clock, and the driver's reply timeouts must not shrink.
            await using var run = new ReadoutRun(setup, text, TimeProvider.System, log, output?.FullName);
            return await body(run).ConfigureAwait(false);
        }
        catch (Exception e) when (e is DeviceException or SetupException or ArgumentException or InvalidOperationException or InvalidDataException or IOException)
        {
            AnsiConsole.MarkupLine($"[red]Refused:[/] {Markup.Escape(e.Message)}");
            log.Information("Readout command refused: {Reason}", e.Message);
            return 2;
        }
    }

    internal static void PrintPedestals(ReadoutRun run, PedestalRunResult result)
    {
        var table = new Table().Title($"Pedestal run: {result.Events} random triggers").AddColumns("module", "source/port", "mean pedestal even/odd", "mean sigma", "dead", "noisy");
        foreach (var module in run.Map.Modules)
        {
            var t = result.Tables[module.Index];
            var live = t.Channels.Where(c => c.Flags == NA64.Readout.Processing.PedestalFlags.None).ToArray();
            table.AddRow(
                Markup.Escape(module.Name),
                string.Create(CultureInfo.InvariantCulture, $"{module.SourceId}/{module.Port}"),
                live.Length == 0 ? "-" : string.Create(CultureInfo.InvariantCulture, $"{live.Average(c => c.PedestalEven):0.0} / {live.Average(c => c.PedestalOdd):0.0}"),
                live.Length == 0 ? "-" : string.Create(CultureInfo.InvariantCulture, $"{live.Average(c => c.Sigma):0.00}"),
                t.Channels.Count(c => (c.Flags & NA64.Readout.Processing.PedestalFlags.Dead) != 0).ToString(CultureInfo.InvariantCulture),
                t.Channels.Count(c => (c.Flags & NA64.Readout.Processing.PedestalFlags.Noisy) != 0).ToString(CultureInfo.InvariantCulture));
        }

        AnsiConsole.Write(table);
        foreach (var file in result.Files)
            AnsiConsole.MarkupLine($"  table: [blue]{Markup.Escape(file)}[/]");
        AnsiConsole.MarkupLine(string.Create(CultureInfo.InvariantCulture,
            $"Pedestals and {run.Readout.ZeroSuppressionSigma:0.##} sigma thresholds downloaded: [green]{result.RegistersVerified} registers written and read back equal[/]."));
    }

    internal static async Task<PhysicsRunResult> PhysicsRunWithLiveRatesAsync(ReadoutRun run, PhysicsRunRequest request, CancellationToken ct)
    {
        RunSummary? previous = null;
        var rates = new Table().AddColumns("events in", "built", "dropped", "events/s", "MB/s in", "drops/s");
        void Fill(RunSummary now, PipelineRates r)
        {
            rates.Rows.Clear();
            rates.AddRow(
                now.EventsIn.ToString(CultureInfo.InvariantCulture), now.EventsBuilt.ToString(CultureInfo.InvariantCulture),
                now.TotalDropped.ToString(CultureInfo.InvariantCulture), r.EventsBuiltPerSecond.ToString("0", CultureInfo.InvariantCulture),
                r.MegabytesInPerSecond.ToString("0.0", CultureInfo.InvariantCulture), r.DroppedPerSecond.ToString("0", CultureInfo.InvariantCulture));
        }

        // Rates between two snapshots while running; over the whole run at the end.
        PipelineRates Since(RunSummary now)
        {
            var r = previous is null ? new PipelineRates(now.EventsPerSecond, now.EventsPerSecond, now.MegabytesInPerSecond, 0) : now.RatesSince(previous);
            previous = now;
            return r;
        }

        static PipelineRates Whole(RunSummary s) => new(s.EventsIn / Math.Max(1e-9, s.Elapsed.TotalSeconds), s.EventsPerSecond, s.MegabytesInPerSecond,
            s.TotalDropped / Math.Max(1e-9, s.Elapsed.TotalSeconds));

        PhysicsRunResult result;
        if (AnsiConsole.Profile.Capabilities.Interactive)
        {
            PhysicsRunResult? done = null;
            await AnsiConsole.Live(rates).StartAsync(async context =>
            {
                done = await run.PhysicsRunAsync(request with
                {
                    Progress = new InlineProgress<RunSummary>(now =>
                    {
                        Fill(now, Since(now));
                        context.Refresh();
                    }),
                }, ct).ConfigureAwait(false);
                Fill(done.Pipeline, Whole(done.Pipeline));
                context.Refresh();
            }).ConfigureAwait(false);
            result = done!;
        }
        else
        {
            // Not a terminal (log, pipe): one line per second instead of a redrawn table.
            result = await run.PhysicsRunAsync(request with
            {
                ProgressInterval = TimeSpan.FromSeconds(1),
                Progress = new InlineProgress<RunSummary>(now =>
                {
                    var r = Since(now);
                    AnsiConsole.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"  {now.EventsIn} in, {now.EventsBuilt} built, {now.TotalDropped} dropped; {r.EventsBuiltPerSecond:0} events/s, {r.MegabytesInPerSecond:0.0} MB/s in, {r.DroppedPerSecond:0} drops/s"));
                }),
            }, ct).ConfigureAwait(false);
            Fill(result.Pipeline, Whole(result.Pipeline));
            AnsiConsole.Write(rates);
        }

        return result;
    }

    internal static void PrintSummary(PhysicsRunResult r, ReadoutSetup readout)
    {
        var p = r.Pipeline;
        var counts = new Table().Title(string.Create(CultureInfo.InvariantCulture, $"Run {r.RunNumber}")).AddColumns("quantity", "value");
        counts.AddRow("triggers (events in)", string.Create(CultureInfo.InvariantCulture, $"{p.EventsIn}"));
        counts.AddRow("events built", string.Create(CultureInfo.InvariantCulture, $"{p.EventsBuilt}"));
        foreach (var (reason, n) in p.Dropped)
            counts.AddRow($"dropped: {reason}", n.ToString(CultureInfo.InvariantCulture));
        foreach (var sink in p.Sinks)
        {
            counts.AddRow($"sink {Markup.Escape(sink.Name)}: written", sink.Written.ToString(CultureInfo.InvariantCulture));
            foreach (var (reason, n) in sink.Dropped)
                counts.AddRow($"sink {Markup.Escape(sink.Name)}: dropped {reason}", n.ToString(CultureInfo.InvariantCulture));
        }

        counts.AddRow("in = written + dropped", p.IsBalanced ? "[green]yes[/]" : "[red]NO[/]");
        if (r.Transport is { } t)
            counts.AddRow("datagrams in / lost on the way", string.Create(CultureInfo.InvariantCulture, $"{t.Datagrams} / {t.Lost}")
                + string.Concat(t.Problems.Select(x => string.Create(CultureInfo.InvariantCulture, $"; {x.Key} {x.Value}"))));
        counts.AddRow("channels kept / read", string.Create(CultureInfo.InvariantCulture,
            $"{r.ChannelsKept} / {r.ChannelsIn} ({(r.ChannelsIn == 0 ? 0 : 100.0 * r.ChannelsKept / r.ChannelsIn):0.0} %)"));
        counts.AddRow("MB read / MB written", string.Create(CultureInfo.InvariantCulture, $"{r.BytesIn / 1e6:0.00} / {r.BytesWritten / 1e6:0.00}"));
        foreach (var (kind, n) in r.Problems)
            counts.AddRow($"decoder: {kind}", n.ToString(CultureInfo.InvariantCulture));
        if (r.MissingModuleMarkers > 0)
            counts.AddRow("missing-module markers", r.MissingModuleMarkers.ToString(CultureInfo.InvariantCulture));
        if (r.IncompleteBlocks > 0)
            counts.AddRow("incomplete latch-all blocks", r.IncompleteBlocks.ToString(CultureInfo.InvariantCulture));
        var (mean, rms, peakCount) = r.ElectronPeak;
        counts.AddRow("E_ECAL+E_HCAL electron peak", string.Create(CultureInfo.InvariantCulture, $"mean {mean:0.00} GeV, RMS {rms:0.00} GeV ({peakCount} events)"));
        var (peakSample, peakEvents) = r.EcalPeakPosition;
        counts.AddRow("largest ECAL pulse peaks at", string.Create(CultureInfo.InvariantCulture,
            $"sample {peakSample:0.00} of {readout.SamplesPerChannel} (mean over {peakEvents} events; latency {r.Latency})"));
        counts.AddRow(string.Create(CultureInfo.InvariantCulture, $"signal box (E_ECAL < {readout.SignalBox.EcalMaxGeV:0.#}, E_HCAL < {readout.SignalBox.HcalMaxGeV:0.#} GeV)"),
            string.Create(CultureInfo.InvariantCulture, $"{r.SignalBoxCount} events; injected (truth) {r.InjectedSignals}")
            + (readout.Beam.PileUp ? " (pile-up on: a second shower in the window can push a signal event out of the box)" : ""));
        AnsiConsole.Write(counts);
        foreach (var location in r.ProblemLocations.Take(10))
            AnsiConsole.MarkupLine($"  [yellow]{Markup.Escape(location)}[/]");

        AnsiConsole.MarkupLine("[bold]E_ECAL + E_HCAL[/] (monitor, 4 GeV bins)");
        var coarse = new long[(int)(LiveMonitor.HistogramMaxGeV / 4)];
        for (int i = 0; i < r.Histogram.Length - 1; i++)
            coarse[Math.Min(coarse.Length - 1, (int)(i * LiveMonitor.BinGeV / 4))] += r.Histogram[i];
        long max = Math.Max(1, coarse.Max());
        for (int i = 0; i < coarse.Length; i++)
        {
            if (coarse[i] == 0 && (i * 4 < 4 || i * 4 > 140))
                continue;
            int bar = (int)Math.Round(50.0 * coarse[i] / max);
            if (coarse[i] > 0 && bar == 0)
                bar = 1;
            AnsiConsole.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {i * 4,3}-{(i + 1) * 4,3} GeV {coarse[i],8} {new string('#', bar)}"));
        }

        if (r.Histogram[^1] > 0)
            AnsiConsole.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  >{LiveMonitor.HistogramMaxGeV:0} GeV {r.Histogram[^1],8}"));
        AnsiConsole.MarkupLine($"DATE file: [blue]{Markup.Escape(r.DataFile)}[/]");
        AnsiConsole.MarkupLine($"Map file (ChipSADC + ChipsCreation): [blue]{Markup.Escape(r.MapFile)}[/]");
        foreach (var companion in r.CompanionFiles.Where(c => c != r.MapFile))
            AnsiConsole.MarkupLine($"  beside it: {Markup.Escape(Path.GetFileName(companion))}");
    }

    /// <summary>Reports on the caller's thread (the live display refreshes from the run's own loop).</summary>
    private sealed class InlineProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
