using System.CommandLine;
using NA64.Simulators.Clock;
using NA64.Simulators.Serving;
using Serilog;

namespace NA64.SlowControl.Cli;

/// <summary>
/// What every stand-alone line simulator (<c>sim caen-n1470|genesys|danfysik8500</c>) shares: the <c>--pty | --tcp PORT</c>,
/// <c>--baud</c> and <c>--sim-speed</c> options with their checks, its clock, and serving until Ctrl-C. Each command adds
/// its own device options and builds its line.
/// </summary>
internal sealed class SimLine
{
    public Option<bool> Pty { get; } = new("--pty") { Description = "Serve on a new pseudo-terminal and print its /dev/pts path" };

    public Option<int?> Tcp { get; }

    public Option<int?> Baud { get; } = new("--baud") { Description = "Pace replies like an RS-232 line at this baud rate (e.g. 9600)" };

    public Option<double> SimSpeed { get; } = SpeedOption();

    public SimLine(string tcpDescription = "Serve on this TCP port") => Tcp = new Option<int?>("--tcp") { Description = tcpDescription };

    /// <summary>Adds the shared options to <paramref name="command"/>.</summary>
    public void AddTo(Command command)
    {
        ArgumentNullException.ThrowIfNull(command);
        command.Options.Add(Pty);
        command.Options.Add(Tcp);
        command.Options.Add(Baud);
        command.Options.Add(SimSpeed);
    }

    /// <summary>
    /// The first problem with the shared options, or null. Checked in the action rather than in a validator: validators do
    /// not see the options' default values.
    /// </summary>
    public string? Problem(ParseResult parse) =>
        parse.GetValue(Pty) == (parse.GetValue(Tcp) is not null) ? "give exactly one of --pty or --tcp PORT"
        : parse.GetValue(Tcp) is { } port and (< 0 or > 65535) ? $"--tcp is {port}; a TCP port is 0..65535"
        : parse.GetValue(Baud) is { } rate and <= 0 ? $"--baud is {rate}; it must be greater than 0"
        : parse.GetValue(SimSpeed) is var f && (f <= 0 || !double.IsFinite(f)) ? $"--sim-speed is {f}; it must be greater than 0"
        : null;

    /// <summary>The simulators' clock: real time, or faster with <c>--sim-speed</c>.</summary>
    public TimeProvider Clock(ParseResult parse)
    {
        var speed = parse.GetValue(SimSpeed);
        return speed == 1.0 ? TimeProvider.System : new SimulationClock(TimeProvider.System, speed);
    }

    /// <summary>Paces replies at <c>--baud</c> when given.</summary>
    public LineDeviceServer Server(ParseResult parse, ILineDevice device, TimeProvider clock, ILogger log) =>
        new(device, clock, baudRate: parse.GetValue(Baud), log: log);

    /// <summary>
    /// Serves <paramref name="server"/> on a new pty (prints its path) or on the TCP port (prints <c>tcp:127.0.0.1:PORT</c>)
    /// until Ctrl-C. A port in use is refused in one line.
    /// </summary>
    public async Task<int> ServeAsync(ParseResult parse, LineDeviceServer server, string what, ILogger log, CancellationToken ct)
    {
        if (parse.GetValue(Pty))
        {
            await using var terminal = new PtyDeviceServer(server, log);
            terminal.Start();
            Console.WriteLine(terminal.SlavePath);
            log.Information("{Simulated} on {Device}", what, terminal.SlavePath);
            await Task.WhenAny(terminal.Serving, WaitForCancellation(ct)).ConfigureAwait(false);
            return ExitCodes.Ok;
        }

        await using var listener = new TcpDeviceServer(server, parse.GetValue(Tcp)!.Value, log: log);
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
        log.Information("{Simulated} on TCP port {Port}", what, listener.Port);
        await WaitForCancellation(ct).ConfigureAwait(false);
        return ExitCodes.Ok;
    }

    /// <summary>Refuses with one line and exit code 2.</summary>
    public static int Refuse(string problem)
    {
        Console.Error.WriteLine($"Refused: {problem}");
        return ExitCodes.Refused;
    }

    private static Option<double> SpeedOption()
    {
        var speed = InvariantNumber.Option("--sim-speed", "Simulated time runs this many times faster than real time");
        speed.DefaultValueFactory = _ => 1.0;
        return speed;
    }

    private static async Task WaitForCancellation(CancellationToken ct)
    {
        var done = new TaskCompletionSource();
        await using (ct.Register(() => done.TrySetResult()))
            await done.Task.ConfigureAwait(false);
    }
}
