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
    return await Na64hwCli.InvokeAsync(args, Log.Logger).ConfigureAwait(false);
}
finally
{
    await Log.CloseAndFlushAsync().ConfigureAwait(false);
}
