using System.CommandLine;
using NA64.Simulators.Clock;
using NA64.Simulators.Hv.CaenN1470;
using NA64.Simulators.Serving;
using Serilog;

namespace NA64.SlowControl.Cli;

/// <summary><c>na64hw sim caen-n1470 --pty | --tcp PORT</c>: a simulated board that any serial or TCP client can talk to.</summary>
internal static class SimCommands
{
    public static Command Build(ILogger log)
    {
        var sim = new Command("sim", "Serve simulated devices for bench tests and other programs");

        var pty = new Option<bool>("--pty") { Description = "Serve on a new pseudo-terminal and print its /dev/pts path" };
        var tcp = new Option<int?>("--tcp") { Description = "Serve on this TCP port (the NDT1470 speaks on 1470)" };
        var boards = new Option<int>("--boards") { Description = "Boards on the simulated RS-485 chain (addresses 0..N-1)", DefaultValueFactory = _ => 1 };
        var baud = new Option<int?>("--baud") { Description = "Pace replies like an RS-232 line at this baud rate (e.g. 9600)" };
        var simSpeed = InvariantNumber.Option("--sim-speed", "Simulated time runs this many times faster than real time");
        simSpeed.DefaultValueFactory = _ => 1.0;
        var caen = new Command("caen-n1470", "CAEN N1470 HV board(s), byte-exact") { pty, tcp, boards, baud, simSpeed };
        caen.SetAction(async (parse, ct) =>
        {
            // Checked here rather than in a validator: validators do not see the options' default values.
            var problem = parse.GetValue(pty) == (parse.GetValue(tcp) is not null) ? "give exactly one of --pty or --tcp PORT"
                : parse.GetValue(boards) is < 1 or > 32 ? $"--boards is {parse.GetValue(boards)}; a CAEN RS-485 chain holds 1 to 32 boards"
                : parse.GetValue(tcp) is { } port and (< 0 or > 65535) ? $"--tcp is {port}; a TCP port is 0..65535"
                : parse.GetValue(baud) is { } rate and <= 0 ? $"--baud is {rate}; it must be greater than 0"
                : parse.GetValue(simSpeed) is var f && (f <= 0 || double.IsNaN(f)) ? $"--sim-speed is {f}; it must be greater than 0"
                : null;
            if (problem is not null)
            {
                Console.Error.WriteLine($"Refused: {problem}");
                return 2;
            }

            var speed = parse.GetValue(simSpeed);
            TimeProvider clock = speed == 1.0 ? TimeProvider.System : new SimulationClock(TimeProvider.System, speed);
            var bus = new CaenN1470Bus(Enumerable.Range(0, parse.GetValue(boards))
                .Select(a => new CaenN1470Wire(new CaenN1470BoardModel(a, clock, log: log), log)));
            var server = new LineDeviceServer(bus, clock, baudRate: parse.GetValue(baud), log: log);
            if (parse.GetValue(pty))
            {
                await using var terminal = new PtyDeviceServer(server, log);
                terminal.Start();
                Console.WriteLine(terminal.SlavePath);
                log.Information("Simulated CAEN N1470 chain of {Boards} board(s) on {Device}", bus.Boards.Count, terminal.SlavePath);
                await Task.WhenAny(terminal.Serving, WaitForCancellation(ct)).ConfigureAwait(false);
            }
            else
            {
                await using var listener = new TcpDeviceServer(server, parse.GetValue(tcp)!.Value, log: log);
                try
                {
                    listener.Start();
                }
                catch (ListenException e)
                {
                    Console.Error.WriteLine($"Refused: {e.Message}");
                    return ExitCodes.Refused;
                }

                Console.WriteLine($"tcp:127.0.0.1:{listener.Port}");
                log.Information("Simulated CAEN N1470 chain of {Boards} board(s) on TCP port {Port}", bus.Boards.Count, listener.Port);
                await WaitForCancellation(ct).ConfigureAwait(false);
            }

            return 0;
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

    private static async Task WaitForCancellation(CancellationToken ct)
    {
        var done = new TaskCompletionSource();
        await using (ct.Register(() => done.TrySetResult()))
            await done.Task.ConfigureAwait(false);
    }
}
