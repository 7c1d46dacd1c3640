using System.Globalization;
using NA64.SlowControl.Setup;
using Spectre.Console;

namespace NA64.SlowControl.Readout;

/// <summary>
/// What the live monitor saw in a run (counts, decoder problems, electron peak, ECAL peak position, signal box, the
/// E_ECAL + E_HCAL histogram) and the pedestal-run table, rendered once in the service as plain text: appended to the
/// run's summary.txt and served by the API, so every client prints the same report.
/// </summary>
public static class MonitorReport
{
    /// <summary>Renders <paramref name="write"/> to plain text (no colours, fixed width) for a file or a client.</summary>
    public static string Render(Action<IAnsiConsole> write)
    {
        ArgumentNullException.ThrowIfNull(write);
        var text = new StringWriter(CultureInfo.InvariantCulture);
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
            Out = new AnsiConsoleOutput(text),
        });
        console.Profile.Width = 110;
        write(console);
        return text.ToString();
    }

    public static void Pedestals(IAnsiConsole console, ReadoutRun run, PedestalRunResult result)
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

        console.Write(table);
        foreach (var file in result.Files)
            console.MarkupLine($"  table: [blue]{Markup.Escape(file)}[/]");
        if (run.Crate.Trackers?.Pedestals is { } apv)
        {
            var usable = apv.Channels.Where(c => !c.IsUnusable).ToArray();
            console.MarkupLine(string.Create(CultureInfo.InvariantCulture,
                $"Trackers: {apv.ApvCount} APVs, mean pedestal {(usable.Length == 0 ? 0 : usable.Average(c => c.Pedestal)):0.0}, mean sigma {(usable.Length == 0 ? 0 : usable.Average(c => c.Sigma)):0.00} ADC, {apv.Channels.Count(c => c.IsUnusable)} dead, {apv.Channels.Count(c => (c.Flags & NA64.Readout.Processing.Apv.ApvChannelFlags.Noisy) != 0)} noisy; sparse thresholds 2 sigma (MM), 3 sigma (GEM)"));
        }

        console.MarkupLine(string.Create(CultureInfo.InvariantCulture,
            $"Pedestals and {run.Readout.ZeroSuppressionSigma:0.##} sigma thresholds downloaded: [green]{result.RegistersVerified} registers written and read back equal[/]."));
    }

    /// <summary>
    /// The trackers of a physics run: the APV fragments (counts, problems with their first locations) and, per plane, hits,
    /// clusters and, against the simulator's truth, efficiency, resolution and ghosts (na64-setup.md §8.1: 97-99.5 %, &lt; 70 um).
    /// </summary>
    public static void Trackers(IAnsiConsole console, TrackerRunResult t)
    {
        console.MarkupLine(string.Create(CultureInfo.InvariantCulture,
            $"[bold]Trackers[/]: {t.Fragments} APV fragments, {t.Chips} APV blocks, {t.Channels} channels, {t.Rejected} fragments rejected, {t.ChipIssues} chip issues; monitor reconstructed {t.Monitored} fragments ({t.NotMonitored} passed while it was busy)"));
        foreach (var (kind, n) in t.Problems)
            console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  APV decoder: {kind} {n}"));
        foreach (var location in t.ProblemLocations.Take(10))
            console.MarkupLine($"  [yellow]{Markup.Escape(location)}[/]");
        var table = new Table().AddColumns("plane", "hits/event", "clusters/event", "beam hits (truth)", "efficiency %", "resolution um", "ghosts/event");
        foreach (var p in t.Planes)
        {
            table.AddRow(
                Markup.Escape(p.Plane),
                string.Create(CultureInfo.InvariantCulture, $"{p.HitsPerEvent:0.0}"),
                string.Create(CultureInfo.InvariantCulture, $"{p.ClustersPerEvent:0.00}"),
                p.TrueHits.ToString(CultureInfo.InvariantCulture),
                p.Efficiency is { } e ? string.Create(CultureInfo.InvariantCulture, $"{e * 100:0.00}") : "-",
                p.ResolutionUm is { } r ? string.Create(CultureInfo.InvariantCulture, $"{r:0}") : "-",
                string.Create(CultureInfo.InvariantCulture, $"{p.GhostRate:0.00}"));
        }

        console.Write(table);
    }

    public static void Physics(IAnsiConsole console, PhysicsRunResult r, ReadoutSetup readout)
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
        console.Write(counts);
        foreach (var location in r.ProblemLocations.Take(10))
            console.MarkupLine($"  [yellow]{Markup.Escape(location)}[/]");

        console.MarkupLine("[bold]E_ECAL + E_HCAL[/] (monitor, 4 GeV bins)");
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
            console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {i * 4,3}-{(i + 1) * 4,3} GeV {coarse[i],8} {new string('#', bar)}"));
        }

        if (r.Histogram[^1] > 0)
            console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  >{LiveMonitor.HistogramMaxGeV:0} GeV {r.Histogram[^1],8}"));
        if (r.Trackers is { } trackers)
            Trackers(console, trackers);
        console.MarkupLine($"DATE file: [blue]{Markup.Escape(r.DataFile)}[/]");
        console.MarkupLine($"Map file (ChipSADC + ChipsCreation): [blue]{Markup.Escape(r.MapFile)}[/]");
        foreach (var companion in r.CompanionFiles.Where(c => c != r.MapFile))
            console.MarkupLine($"  beside it: {Markup.Escape(Path.GetFileName(companion))}");
    }

}
