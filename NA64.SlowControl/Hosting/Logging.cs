using Serilog;
using Serilog.Events;
using Serilog.Formatting.Compact;

namespace NA64.SlowControl.Hosting;

/// <summary>The one logger configuration of the host: human-readable console, rolling compact-JSON file.</summary>
public static class Logging
{
    public static ILogger Create(string logDirectory, LogEventLevel consoleLevel)
    {
        Directory.CreateDirectory(logDirectory);
        return new LoggerConfiguration()
            .MinimumLevel.Verbose()
            .Enrich.FromLogContext()
            // stderr keeps tables and progress bars on stdout readable. No stack trace reaches an operator: the console
            // gets each event's one line, the JSON file below keeps the exception with its trace.
            .WriteTo.Console(
                restrictedToMinimumLevel: consoleLevel,
                outputTemplate: "[{Timestamp:HH:mm:ss} {Level:u3}] {Message:lj}{NewLine}",
                standardErrorFromLevel: LogEventLevel.Verbose,
                formatProvider: System.Globalization.CultureInfo.InvariantCulture)
            .WriteTo.File(
                new CompactJsonFormatter(),
                Path.Combine(logDirectory, "na64hw-.clef"),
                restrictedToMinimumLevel: LogEventLevel.Debug,
                rollingInterval: RollingInterval.Day,
                retainedFileCountLimit: 30)
            .CreateLogger();
    }
}
