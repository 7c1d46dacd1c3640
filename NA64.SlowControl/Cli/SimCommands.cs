using System.CommandLine;
using NA64.Simulators.Hv.CaenN1470;
using Serilog;

namespace NA64.SlowControl.Cli;

/// <summary><c>na64hw sim caen-n1470 --pty | --tcp PORT</c>: a simulated board that any serial or TCP client can talk to.</summary>
internal static class SimCommands
{
    public static Command Build(ILogger log)
    {
        var sim = new Command("sim", "Serve simulated devices for bench tests and other programs");

        var line = new SimLine("Serve on this TCP port (the NDT1470 speaks on 1470)");
        var boards = new Option<int>("--boards") { Description = "Boards on the simulated RS-485 chain (addresses 0..N-1)", DefaultValueFactory = _ => 1 };
        var caen = new Command("caen-n1470", "CAEN N1470 HV board(s), byte-exact") { boards };
        line.AddTo(caen);
        caen.SetAction(async (parse, ct) =>
        {
            var problem = parse.GetValue(boards) is < 1 or > 32 ? $"--boards is {parse.GetValue(boards)}; a CAEN RS-485 chain holds 1 to 32 boards" : line.Problem(parse);
            if (problem is not null)
                return SimLine.Refuse(problem);

            var clock = line.Clock(parse);
            var bus = new CaenN1470Bus(Enumerable.Range(0, parse.GetValue(boards))
                .Select(a => new CaenN1470Wire(new CaenN1470BoardModel(a, clock, log: log), log)));
            return await line.ServeAsync(parse, line.Server(parse, bus, clock, log),
                $"Simulated CAEN N1470 chain of {bus.Boards.Count} board(s)", log, ct).ConfigureAwait(false);
        });
        sim.Subcommands.Add(caen);

        var target = new Argument<string>("target") { Description = "An HV channel or a readout module of the running service's setup, e.g. MM1.strips or MSADC-ECAL-A" };
        var fault = new Argument<string>("fault") { Description = "HV channel: trip, overcurrent, interlock, kill, local, silence, garble, disconnect, clear; readout module: silence, garble, truncate, wrongevent, clear (GET /api/sim/faults says what each does)" };
        var inject = new Command("inject", "Inject a named fault into a simulated device of the running service (refused for real devices); expert") { target, fault };
        inject.SetAction((parse, ct) => ExitCodes.ClientAsync(parse, ct, async client =>
        {
            var done = await client.SendAsync<string>(HttpMethod.Post, "/api/sim/inject",
                new Service.InjectRequest(parse.GetValue(target)!, parse.GetValue(fault)!), ct).ConfigureAwait(false);
            Console.WriteLine(done);
            return ExitCodes.Ok;
        }));
        sim.Subcommands.Add(inject);
        sim.Subcommands.Add(SimMsadcCommand.Build(log));
        sim.Subcommands.Add(SimBeamLineCommand.Build(log));
        sim.Subcommands.Add(SimDanfysikCommand.Build(log));
        sim.Subcommands.Add(SimGenesysCommand.Build(log));
        return sim;
    }
}
