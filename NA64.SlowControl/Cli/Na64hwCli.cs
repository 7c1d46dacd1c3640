using System.CommandLine;
using Serilog;

namespace NA64.SlowControl.Cli;

/// <summary>The <c>na64hw</c> command tree (built here so that tests run the very commands an operator types).</summary>
public static class Na64hwCli
{
    public static RootCommand Build(ILogger log)
    {
        var root = new RootCommand("NA64.Hw: power, configure and read out the NA64 detector (real devices or simulators)");
        root.Options.Add(CommonOptions.Setup);
        root.Options.Add(CommonOptions.Speed);
        root.Options.Add(new Option<bool>("--verbose") { Description = "Log debug events to the console too", Recursive = true });
        root.Options.Add(ServiceClient.Server);
        root.Options.Add(ServiceClient.Token);
        root.Subcommands.Add(ServeCommand.Build(log));
        root.Subcommands.Add(DemoCommand.Build(log));
        root.Subcommands.Add(HvCommands.Build());
        root.Subcommands.Add(MagnetCommands.Build());
        root.Subcommands.Add(ReadoutCommands.Build());
        root.Subcommands.Add(RunsCommands.Build());
        root.Subcommands.Add(SimCommands.Build(log));
        return root;
    }

    /// <summary>
    /// Parses and runs a command line. A line that does not parse (unknown option, missing argument, a number that is not
    /// one) is refused with one line per problem and exit code 2, without the help text scrolling it away.
    /// </summary>
    public static async Task<int> InvokeAsync(string[] args, ILogger log, CancellationToken cancellationToken = default)
    {
        var parse = Build(log).Parse(args);
        if (parse.Errors.Count > 0)
        {
            foreach (var error in parse.Errors)
                Console.Error.WriteLine($"Refused: {error.Message}");
            return ExitCodes.Refused;
        }

        try
        {
            return await parse.InvokeAsync(new InvocationConfiguration { EnableDefaultExceptionHandler = false }, cancellationToken)
                .ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // A bug or a case no command foresaw: one line for the operator, the whole story in the JSON log.
            log.Error(e, "Command {Command} failed unexpectedly", string.Join(' ', args));
            Console.Error.WriteLine($"na64hw: {e.GetType().Name}: {e.Message.Split('\n')[0]} (the log file has the details)");
            return ExitCodes.Failed;
        }
    }
}
