using System.CommandLine;
using Spectre.Console;

namespace NA64.SlowControl.Cli;

/// <summary>What a command's exit code says (scripts of a run-start sequence test them).</summary>
internal static class ExitCodes
{
    /// <summary>Done as asked.</summary>
    public const int Ok = 0;

    /// <summary>Tried and not achieved: a ramp that tripped, a run that failed, every device disconnected.</summary>
    public const int Failed = 1;

    /// <summary>Refused before anything happened: bad input, a limit, a state that forbids it, no permission.</summary>
    public const int Refused = 2;

    /// <summary>No service to talk to.</summary>
    public const int NoService = 3;

    /// <summary>Interrupted by the operator (Ctrl-C), as shells count SIGINT.</summary>
    public const int Interrupted = 130;

    /// <summary>
    /// Runs a client command: one line for every way it can end other than success, never a stack trace. The
    /// command body handles Ctrl-C itself where it has to say what state it leaves things in.
    /// </summary>
    public static async Task<int> ClientAsync(ParseResult parse, CancellationToken ct, Func<ServiceClient, Task<int>> body)
    {
        try
        {
            using var client = ServiceClient.From(parse);
            return await body(client).ConfigureAwait(false);
        }
        catch (ServiceUnreachableException e)
        {
            Console.Error.WriteLine($"na64hw: {e.Message}");
            return NoService;
        }
        catch (ServiceRefusedException e)
        {
            Console.Error.WriteLine($"Refused: {e.Message}");
            return Refused;
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            AnsiConsole.MarkupLine("[yellow]Interrupted.[/]");
            return Interrupted;
        }
    }
}
