using System.CommandLine;
using NA64.Simulators.Clock;
using NA64.Simulators.Magnets.Danfysik8500;
using NA64.Simulators.Serving;
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
        var pty = new Option<bool>("--pty") { Description = "Serve on a new pseudo-terminal and print its /dev/pts path" };
        var tcp = new Option<int?>("--tcp") { Description = "Serve on this TCP port" };
        var units = new Option<int>("--units") { Description = "Units on the simulated multi-drop line (addresses 0..N-1, ADR n selects)", DefaultValueFactory = _ => 1 };
        var baud = new Option<int?>("--baud") { Description = "Pace replies like an RS-232 line at this baud rate (e.g. 9600)" };
        var simSpeed = InvariantNumber.Option("--sim-speed", "Simulated time runs this many times faster than real time");
        simSpeed.DefaultValueFactory = _ => 1.0;
        var command = new Command("danfysik8500", "Danfysik System 8500 magnet supply(ies), byte-exact") { pty, tcp, units, baud, simSpeed };
        command.SetAction(async (parse, ct) =>
        {
            // Checked here rather than in a validator: validators do not see the options' default values.
            var problem = parse.GetValue(pty) == (parse.GetValue(tcp) is not null) ? "give exactly one of --pty or --tcp PORT"
                : parse.GetValue(units) is < 1 or > 32 ? $"--units is {parse.GetValue(units)}; a simulated line holds 1 to 32 units"
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
            var bus = new Danfysik8500Bus(Enumerable.Range(0, parse.GetValue(units))
                .Select(a => new Danfysik8500Wire(new Danfysik8500Model(a, clock, log: log), log)));
            var server = new LineDeviceServer(bus, clock, baudRate: parse.GetValue(baud), log: log);
            if (parse.GetValue(pty))
            {
                await using var terminal = new PtyDeviceServer(server, log);
                terminal.Start();
                Console.WriteLine(terminal.SlavePath);
                log.Information("Simulated Danfysik 8500 line of {Units} unit(s) on {Device}", bus.Units.Count, terminal.SlavePath);
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
                log.Information("Simulated Danfysik 8500 line of {Units} unit(s) on TCP port {Port}", bus.Units.Count, listener.Port);
                await WaitForCancellation(ct).ConfigureAwait(false);
            }

            return ExitCodes.Ok;
        });
        return command;
    }

    private static async Task WaitForCancellation(CancellationToken ct)
    {
        var done = new TaskCompletionSource();
        await using (ct.Register(() => done.TrySetResult()))
            await done.Task.ConfigureAwait(false);
    }
}
