using NA64.SlowControl.Setup;

namespace NA64.SlowControl.Service;

/// <summary>
/// What one service is running on: the setup (and its text, written beside each run), the clock of devices and
/// controllers (faster than real time when every device is simulated), and where it keeps its data.
/// </summary>
/// <param name="Setup">The validated setup.</param>
/// <param name="SetupText">The setup file's text as loaded (runs keep a copy).</param>
/// <param name="Time">Clock of controllers, pollers and simulated devices.</param>
/// <param name="DataDirectory">Run data, run registry, pedestal tables and the audit log.</param>
public sealed record ServiceContext(SetupFile Setup, string SetupText, TimeProvider Time, string DataDirectory)
{
    /// <summary>True when no device of the setup is real, so simulated time and fault injection are allowed.</summary>
    public bool AllSimulated => Setup.Devices.All(d => Hosting.HvHardware.IsSimulated(d.Transport));
}
