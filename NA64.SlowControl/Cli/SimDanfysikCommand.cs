using System.CommandLine;
using NA64.Simulators.Magnets.Danfysik8500;
using Serilog;

namespace NA64.SlowControl.Cli;

/// <summary>
/// <c>na64hw sim danfysik8500 --pty | --tcp PORT [--units N]</c>: simulated Danfysik System 8500 magnet supplies
/// (1000 A full scale, 20 A/s slew, a 0.5 H / 10 mΩ magnet) that any serial or TCP client can talk to. With several
/// units the line is multi-drop: addresses 0..N-1, selected by <c>ADR n</c>.
/// </summary>
internal static class SimDanfysikCommand
{
    public static Command Build(ILogger log)
    {
        var line = new SimLine();
        var units = new Option<int>("--units") { Description = "Units on the simulated multi-drop line (addresses 0..N-1, ADR n selects)", DefaultValueFactory = _ => 1 };
        var command = new Command("danfysik8500", "Danfysik System 8500 magnet supply(ies), byte-exact") { units };
        line.AddTo(command);
        command.SetAction(async (parse, ct) =>
        {
            var problem = parse.GetValue(units) is < 1 or > 32 ? $"--units is {parse.GetValue(units)}; a simulated line holds 1 to 32 units" : line.Problem(parse);
            if (problem is not null)
                return SimLine.Refuse(problem);

            var clock = line.Clock(parse);
            var bus = new Danfysik8500Bus(Enumerable.Range(0, parse.GetValue(units))
                .Select(a => new Danfysik8500Wire(new Danfysik8500Model(a, clock, log: log), log)));
            return await line.ServeAsync(parse, line.Server(parse, bus, clock, log),
                $"Simulated Danfysik 8500 line of {bus.Units.Count} unit(s)", log, ct).ConfigureAwait(false);
        });
        return command;
    }
}
