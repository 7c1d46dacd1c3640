using System.CommandLine;
using System.Globalization;
using NA64.Readout.Formats;
using NA64.SlowControl.Service;
using Spectre.Console;

namespace NA64.SlowControl.Cli;

/// <summary><c>na64hw runs [show N]</c>: the runs the service knows.</summary>
internal static class RunsCommands
{
    public static Command Build()
    {
        var runs = new Command("runs", "Runs: number, type, start, events, status (through the running service)");
        runs.SetAction((parse, ct) => ExitCodes.ClientAsync(parse, ct, async client =>
        {
            var all = await client.GetAsync<List<RunView>>("/api/runs", ct).ConfigureAwait(false);
            var table = new Table().Border(TableBorder.Simple).AddColumns("run", "type", "start", "events", "status", "directory");
            foreach (var r in all)
            {
                table.AddRow(r.Number?.ToString(CultureInfo.InvariantCulture) ?? "-", r.Type,
                    r.Started.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture),
                    r.EventsBuilt.ToString(CultureInfo.InvariantCulture), Markup.Escape(r.Status), Markup.Escape(r.Directory ?? ""));
            }

            AnsiConsole.Write(table);
            return ExitCodes.Ok;
        }));

        var number = new Argument<uint>("number") { Description = "Run number" };
        var show = new Command("show", "A run's summary (its summary.txt)") { number };
        show.SetAction((parse, ct) => ExitCodes.ClientAsync(parse, ct, async client =>
        {
            var run = await client.GetAsync<RunView>($"/api/runs/{parse.GetValue(number).ToString(CultureInfo.InvariantCulture)}", ct).ConfigureAwait(false);
            ReadoutCommands.PrintEnd(run);
            return ExitCodes.Ok;
        }));
        runs.Subcommands.Add(show);

        var file = new Argument<FileInfo>("file") { Description = "A DATE raw file (.dat)" };
        var check = new Command("check", "Read a DATE file: events per type and the first problem with its byte offset (no service needed)") { file };
        check.SetAction(parse =>
        {
            var path = parse.GetValue(file)!;
            if (!path.Exists)
            {
                AnsiConsole.MarkupLine($"[red]Refused:[/] {Markup.Escape(path.FullName)}: does not exist");
                return ExitCodes.Refused;
            }

            DateFileCheckResult result;
            try
            {
                result = DateFileChecker.Check(path.FullName);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                AnsiConsole.MarkupLine($"[red]Refused:[/] {Markup.Escape(path.FullName)}: {Markup.Escape(e.Message)}");
                return ExitCodes.Refused;
            }

            var table = new Table().Border(TableBorder.Simple).AddColumn("event type").AddColumn(new TableColumn("events").RightAligned());
            foreach (var (type, n) in result.EventsByType.OrderBy(p => p.Key))
                table.AddRow(Markup.Escape(DateFileChecker.Name((DateEventType)type)), n.ToString(CultureInfo.InvariantCulture));
            AnsiConsole.Write(table);
            AnsiConsole.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{path.Name}: run {result.RunNumber?.ToString(CultureInfo.InvariantCulture) ?? "?"}, {result.Bursts} bursts, {result.ValidBytes} of {path.Length} bytes good"));
            if (result.FirstProblem is { } problem)
            {
                AnsiConsole.MarkupLine($"[red]First problem:[/] {Markup.Escape(problem.ToString())}");
                return ExitCodes.Failed;
            }

            AnsiConsole.MarkupLine("[green]No problem found.[/]");
            return ExitCodes.Ok;
        });
        runs.Subcommands.Add(check);
        return runs;
    }
}
