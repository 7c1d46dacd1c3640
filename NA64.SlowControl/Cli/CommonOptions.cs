using System.CommandLine;
using NA64.SlowControl.Service;
using NA64.SlowControl.Setup;
using NA64.Simulators.Clock;

namespace NA64.SlowControl.Cli;

/// <summary>Options the service-side commands share, and how they turn into a setup, a clock and a data directory.</summary>
internal static class CommonOptions
{
    public static readonly Option<FileInfo?> Setup = new("--setup")
    {
        Description = "Setup file (YAML). Without it the built-in NA64 2018 setup on simulated devices is used.",
        Recursive = true,
    };

    public static readonly Option<double> Speed = SpeedOption();

    private static Option<double> SpeedOption()
    {
        var speed = InvariantNumber.Option("--speed", "Simulated time runs this many times faster than real time (only when every device is simulated).");
        speed.DefaultValueFactory = _ => 20.0;
        speed.Recursive = true;
        return speed;
    }

    public static SetupFile LoadSetup(ParseResult parse)
    {
        var file = parse.GetValue(Setup);
        return file is null ? SetupLoader.LoadDefault() : SetupLoader.Load(file.FullName);
    }

    /// <summary>Setup, its text, the clock and the data directory of a service started from this command line.</summary>
    public static ServiceContext Context(ParseResult parse)
    {
        var file = parse.GetValue(Setup);
        var setup = LoadSetup(parse);
        string text = file is null ? SetupLoader.DefaultText() : File.ReadAllText(file.FullName);
        return new ServiceContext(setup, text, Clock(parse, setup), setup.DataDirectory);
    }

    /// <summary>The service context, or null after printing the one line that says why the setup cannot be used.</summary>
    public static ServiceContext? ContextOrRefusal(ParseResult parse)
    {
        try
        {
            return Context(parse);
        }
        catch (Exception e) when (IsSetupProblem(e))
        {
            Console.Error.WriteLine($"Refused: {e.Message}");
            return null;
        }
    }

    public static bool IsSetupProblem(Exception e) =>
        e is SetupException or IOException or UnauthorizedAccessException or ArgumentException;

    /// <summary>
    /// Real time for any real device; a faster clock when everything is simulated, so that a 100 s ramp of a
    /// micromegas channel shows in a few seconds.
    /// </summary>
    public static TimeProvider Clock(ParseResult parse, SetupFile setup)
    {
        var speed = parse.GetValue(Speed);
        if (speed <= 0 || !double.IsFinite(speed))
            throw new ArgumentOutOfRangeException("--speed", speed, $"--speed = {speed}: must be greater than 0");
        bool allSimulated = setup.Devices.All(d => Hosting.HvHardware.IsSimulated(d.Transport));
        return allSimulated && speed != 1.0 ? new SimulationClock(TimeProvider.System, speed) : TimeProvider.System;
    }

    public static double SpeedOf(TimeProvider clock) => clock is SimulationClock s ? s.SpeedFactor : 1.0;
}
