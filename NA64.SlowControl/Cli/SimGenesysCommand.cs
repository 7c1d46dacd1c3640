using System.CommandLine;
using NA64.Hardware.Magnets.Genesys;
using NA64.Simulators.Magnets;
using NA64.Simulators.Magnets.Genesys;
using Serilog;

namespace NA64.SlowControl.Cli;

/// <summary>
/// <c>na64hw sim genesys --pty | --tcp PORT [--units N] [--model GEN8-400]</c>: simulated TDK-Lambda Genesys supplies,
/// each driving a bench dipole (0.5 H, 0.01 ohm), on one multi-drop line that any serial or TCP client can talk to.
/// </summary>
internal static class SimGenesysCommand
{
    public static Command Build(ILogger log)
    {
        var line = new SimLine();
        var units = new Option<int>("--units") { Description = "Supplies on the simulated RS-485 line (addresses 0..N-1)", DefaultValueFactory = _ => 1 };
        var model = new Option<string>("--model") { Description = "Model of every supply, GEN<volts>-<amps>", DefaultValueFactory = _ => "GEN8-400" };
        var genesys = new Command("genesys", "TDK-Lambda Genesys magnet supply(ies), byte-exact, each on a 0.5 H / 0.01 ohm dipole") { units, model };
        line.AddTo(genesys);
        genesys.SetAction(async (parse, ct) =>
        {
            var ratings = GenesysFacts.TryParseModel(parse.GetValue(model) ?? "");
            var count = parse.GetValue(units);
            var problem = count is < 1 or > GenesysFacts.MaxAddress + 1 ? $"--units is {count}; a Genesys RS-485 line holds 1 to {GenesysFacts.MaxAddress + 1} supplies"
                : ratings is null ? $"--model is '{parse.GetValue(model)}'; it must be GEN<volts>-<amps>, e.g. GEN8-400"
                : line.Problem(parse);
            if (problem is not null)
                return SimLine.Refuse(problem);

            var clock = line.Clock(parse);
            var wire = new GenesysWire(Enumerable.Range(0, count)
                .Select(a => new GenesysUnitModel(a, ratings!, clock, MagnetLoad.BenchDipole(seed: a + 1), log)), log);
            return await line.ServeAsync(parse, line.Server(parse, wire, clock, log),
                $"Simulated Genesys line of {count} {ratings!.Name} supply(ies)", log, ct).ConfigureAwait(false);
        });
        return genesys;
    }
}
