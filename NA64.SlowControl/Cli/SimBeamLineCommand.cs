using System.CommandLine;
using NA64.Simulators.Clock;
using NA64.Simulators.Magnets.BeamLine;
using NA64.Simulators.Physics;
using NA64.Simulators.Serving;
using Serilog;

namespace NA64.SlowControl.Cli;

/// <summary>
/// <c>na64hw sim beamline --tcp PORT [--approval auto|pending|deny] [--cycle S]</c>: the simulated beam-line gateway
/// (MBPL1 + MBPL2 on circuit H4-MBPL, and H4-B4) speaking our gateway protocol on TCP. In pending mode the operator in
/// CESAR is the console: <c>confirm T1</c> or <c>reject T1 reason</c> on stdin.
/// </summary>
internal static class SimBeamLineCommand
{
    public static Command Build(ILogger log)
    {
        var tcp = new Option<int>("--tcp") { Description = "Serve the gateway on this TCP port (0: a free one, printed)", Required = true };
        var approval = new Option<string>("--approval") { Description = "auto (accept), pending (wait for 'confirm T1' on stdin) or deny", DefaultValueFactory = _ => "auto" };
        var cycle = InvariantNumber.Option("--cycle", "SPS cycle in seconds: the read-back refreshes once per cycle");
        cycle.DefaultValueFactory = _ => 14.4;
        var simSpeed = InvariantNumber.Option("--sim-speed", "Simulated time runs this many times faster than real time");
        simSpeed.DefaultValueFactory = _ => 1.0;
        var command = new Command("beamline", "CERN beam-line magnets MBPL1/MBPL2 behind our gateway protocol (not a CERN one)") { tcp, approval, cycle, simSpeed };
        command.SetAction(async (parse, ct) =>
        {
            var mode = parse.GetValue(approval) switch
            {
                "auto" => BeamLineApprovalMode.AutoAccept,
                "pending" => BeamLineApprovalMode.Pending,
                "deny" => BeamLineApprovalMode.Deny,
                _ => (BeamLineApprovalMode?)null,
            };
            var seconds = parse.GetValue(cycle);
            var problem = parse.GetValue(tcp) is var port && port is < 0 or > 65535 ? $"--tcp is {port}; a TCP port is 0..65535"
                : mode is null ? $"--approval is '{parse.GetValue(approval)}'; it must be auto, pending or deny"
                : !(seconds >= 1 && seconds <= 3600) ? $"--cycle is {seconds}; it must be 1 to 3600 seconds"
                : parse.GetValue(simSpeed) is var f && (f <= 0 || double.IsNaN(f)) ? $"--sim-speed is {f}; it must be greater than 0"
                : null;
            if (problem is not null)
            {
                Console.Error.WriteLine($"Refused: {problem}");
                return ExitCodes.Refused;
            }

            var speed = parse.GetValue(simSpeed);
            TimeProvider clock = speed == 1.0 ? TimeProvider.System : new SimulationClock(TimeProvider.System, speed);
            var period = TimeSpan.FromSeconds(seconds);
            var gateway = new BeamLineGatewayModel(clock, cycle: new SpillCycle(period / 3, period, TimeSpan.Zero), log: log) { Approval = mode!.Value };
            await using var listener = new TcpDeviceServer(new LineDeviceServer(new BeamLineGatewayWire(gateway, log), clock, log: log), port, log: log);
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
            log.Information("Simulated beam-line gateway on TCP port {Port}, approval {Approval}, SPS cycle {CycleSeconds} s", listener.Port, mode, seconds);
            var stopped = new TaskCompletionSource();
            // The operator loop ends with stdin (a background run has none); the gateway serves on until Ctrl-C.
            var operatorLoop = OperatorAsync(gateway, ct);
            await using (ct.Register(() => stopped.TrySetResult()))
            {
                await stopped.Task.ConfigureAwait(false);
            }

            log.Debug("Beam-line operator console {Status} at shutdown", operatorLoop.Status);

            return ExitCodes.Ok;
        });
        return command;
    }

    // The operator's side of pending mode, on stdin.
    private static async Task OperatorAsync(BeamLineGatewayModel gateway, CancellationToken ct)
    {
        while (await Console.In.ReadLineAsync(ct).ConfigureAwait(false) is { } line)
        {
            var words = line.Trim().Split(' ', 3, StringSplitOptions.RemoveEmptyEntries);
            try
            {
                switch (words)
                {
                    case ["confirm", var ticket]:
                        Console.WriteLine(gateway.Confirm(ticket) is { } refused ? $"{ticket} refused by the converter: {refused}" : $"{ticket} done");
                        break;
                    case ["reject", var ticket, ..]:
                        gateway.Reject(ticket, words.Length > 2 ? words[2] : "rejected by the operator");
                        Console.WriteLine($"{ticket} rejected");
                        break;
                    default:
                        Console.WriteLine($"pending: {string.Join(", ", gateway.PendingTickets)}; say 'confirm T1' or 'reject T1 reason'");
                        break;
                }
            }
            catch (ArgumentException e)
            {
                Console.WriteLine(e.Message);
            }
        }
    }
}
