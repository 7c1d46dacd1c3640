using System.CommandLine;
using System.Globalization;
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
        return runs;
    }
}
