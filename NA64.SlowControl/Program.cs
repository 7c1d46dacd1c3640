using System.CommandLine;
using NA64.SlowControl.Cli;
using NA64.SlowControl.Hosting;
using Serilog;
using Serilog.Events;

// na64hw: the one place that wires NA64.Hw together (setup file, logging, drivers, simulators, controllers).
var logDirectory = Environment.GetEnvironmentVariable("NA64HW_LOG_DIR") ?? Path.Combine(Environment.CurrentDirectory, "logs");
var verbose = args.Contains("--verbose");
Log.Logger = Logging.Create(logDirectory, verbose ? LogEventLevel.Debug : LogEventLevel.Warning);
try
{
    var root = new RootCommand("NA64.Hw: power, configure and read out the NA64 detector (real devices or simulators)");
    root.Options.Add(CommonOptions.Setup);
    root.Options.Add(CommonOptions.Speed);
    root.Options.Add(new Option<bool>("--verbose") { Description = "Log debug events to the console too", Recursive = true });
    root.Subcommands.Add(DemoCommand.Build(Log.Logger));
    root.Subcommands.Add(HvCommands.Build(Log.Logger));
    root.Subcommands.Add(SimCommands.Build(Log.Logger));
    root.Subcommands.Add(ReadoutCommands.Build(Log.Logger));
    return await root.Parse(args).InvokeAsync().ConfigureAwait(false);
}
finally
{
    await Log.CloseAndFlushAsync().ConfigureAwait(false);
}
