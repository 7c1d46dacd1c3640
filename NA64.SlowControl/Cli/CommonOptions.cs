using System.CommandLine;
using NA64.SlowControl.Setup;
using NA64.Simulators.Clock;

namespace NA64.SlowControl.Cli;

/// <summary>Options every command shares, and how they turn into a setup and a clock.</summary>
internal static class CommonOptions
{
    public static readonly Option<FileInfo?> Setup = new("--setup")
    {
        Description = "Setup file (YAML). Without it the built-in NA64 2018 setup on simulated devices is used.",
        Recursive = true,
    };

    public static readonly Option<double> Speed = new("--speed")
    {
        Description = "Simulated time runs this many times faster than real time (only when every device is simulated).",
        DefaultValueFactory = _ => 20.0,
        Recursive = true,
    };

    public static SetupFile LoadSetup(ParseResult parse)
    {
        var file = parse.GetValue(Setup);
        return file is null ? SetupLoader.LoadDefault() : SetupLoader.Load(file.FullName);
    }

    /// <summary>
    /// Real time for any real device; a faster clock when everything is simulated, so that a 100 s ramp of a
    /// micromegas channel shows in two seconds.
    /// </summary>
    public static TimeProvider Clock(ParseResult parse, SetupFile setup)
    {
        var speed = parse.GetValue(Speed);
        if (speed <= 0 || double.IsNaN(speed))
            throw new ArgumentOutOfRangeException("--speed", speed, "--speed must be greater than 0");
        bool allSimulated = setup.Devices.All(d => Hosting.HvHardware.IsSimulated(d.Transport));
        return allSimulated && speed != 1.0 ? new SimulationClock(TimeProvider.System, speed) : TimeProvider.System;
    }

    public static double SpeedOf(TimeProvider clock) => clock is SimulationClock s ? s.SpeedFactor : 1.0;
}
