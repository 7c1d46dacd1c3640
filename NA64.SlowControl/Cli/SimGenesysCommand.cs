using System.CommandLine;
using NA64.Hardware.Magnets.Genesys;
using NA64.Simulators.Clock;
using NA64.Simulators.Magnets;
using NA64.Simulators.Magnets.Genesys;
using NA64.Simulators.Serving;
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
        var pty = new Option<bool>("--pty") { Description = "Serve on a new pseudo-terminal and print its /dev/pts path" };
        var tcp = new Option<int?>("--tcp") { Description = "Serve on this TCP port" };
        var units = new Option<int>("--units") { Description = "Supplies on the simulated RS-485 line (addresses 0..N-1)", DefaultValueFactory = _ => 1 };
        var model = new Option<string>("--model") { Description = "Model of every supply, GEN<volts>-<amps>", DefaultValueFactory = _ => "GEN8-400" };
        var baud = new Option<int?>("--baud") { Description = "Pace replies like an RS-232 line at this baud rate (e.g. 9600)" };
        var simSpeed = InvariantNumber.Option("--sim-speed", "Simulated time runs this many times faster than real time");
        simSpeed.DefaultValueFactory = _ => 1.0;
        var genesys = new Command("genesys", "TDK-Lambda Genesys magnet supply(ies), byte-exact, each on a 0.5 H / 0.01 ohm dipole") { pty, tcp, units, model, baud, simSpeed };
        genesys.SetAction(async (parse, ct) =>
        {
            var ratings = GenesysFacts.TryParseModel(parse.GetValue(model) ?? "");
            var count = parse.GetValue(units);
            // Checked here rather than in a validator: validators do not see the options' default values.
            var problem = parse.GetValue(pty) == (parse.GetValue(tcp) is not null) ? "give exactly one of --pty or --tcp PORT"
                : count is < 1 or > GenesysFacts.MaxAddress + 1 ? $"--units is {count}; a Genesys RS-485 line holds 1 to {GenesysFacts.MaxAddress + 1} supplies"
                : ratings is null ? $"--model is '{parse.GetValue(model)}'; it must be GEN<volts>-<amps>, e.g. GEN8-400"
                : parse.GetValue(tcp) is { } port and (< 0 or > 65535) ? $"--tcp is {port}; a TCP port is 0..65535"
                : parse.GetValue(baud) is { } rate and <= 0 ? $"--baud is {rate}; it must be greater than 0"
                : parse.GetValue(simSpeed) is var f && (f <= 0 || double.IsNaN(f)) ? $"--sim-speed is {f}; it must be greater than 0"
                : null;
            if (problem is not null)
            {
                Console.Error.WriteLine($"Refused: {problem}");
                return ExitCodes.Refused;
            }

            var speed = parse.GetValue(simSpeed);
            TimeProvider clock = speed == 1.0 ? TimeProvider.System : new SimulationClock(TimeProvider.System, speed);
            var wire = new GenesysWire(Enumerable.Range(0, count)
                .Select(a => new GenesysUnitModel(a, ratings!, clock, MagnetLoad.BenchDipole(seed: a + 1), log)), log);
            var server = new LineDeviceServer(wire, clock, baudRate: parse.GetValue(baud), log: log);
            if (parse.GetValue(pty))
            {
                await using var terminal = new PtyDeviceServer(server, log);
                terminal.Start();
                Console.WriteLine(terminal.SlavePath);
                log.Information("Simulated Genesys line of {Units} {Model} supply(ies) on {Device}", count, ratings!.Name, terminal.SlavePath);
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
                log.Information("Simulated Genesys line of {Units} {Model} supply(ies) on TCP port {Port}", count, ratings!.Name, listener.Port);
                await WaitForCancellation(ct).ConfigureAwait(false);
            }

            return 0;
        });
        return genesys;
    }

    private static async Task WaitForCancellation(CancellationToken ct)
    {
        var done = new TaskCompletionSource();
        await using (ct.Register(() => done.TrySetResult()))
            await done.Task.ConfigureAwait(false);
    }
}
