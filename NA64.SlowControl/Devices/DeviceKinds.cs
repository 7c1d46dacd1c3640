using NA64.Hardware.Hv;
using NA64.Hardware.Transport;
using NA64.SlowControl.Setup;
using NA64.Simulators.Serving;
using Serilog;

namespace NA64.SlowControl.Devices;

/// <summary>
/// Every device kind the service knows, one registration line each. Adding a kind adds its folders and one line here;
/// the host, the setup loader and the CLI gain no per-kind branch.
/// </summary>
public static class DeviceKinds
{
    public static IReadOnlyList<HvDeviceKind> Hv { get; } =
    [
        SlowControl.Hv.CaenN1470.CaenN1470Kind.Registration,
    ];

    public static HvDeviceKind? FindHv(string name) => Hv.FirstOrDefault(k => string.Equals(k.Facts.Name, name, StringComparison.Ordinal));

    public static IReadOnlyList<MagnetDeviceKind> Magnets { get; } =
    [
        SlowControl.Magnets.Genesys.GenesysKind.Registration,
        SlowControl.Magnets.Danfysik8500.Danfysik8500Kind.Registration,
        SlowControl.Magnets.BeamLine.BeamLineKind.Registration,
    ];

    public static MagnetDeviceKind? FindMagnet(string name) => Magnets.FirstOrDefault(k => string.Equals(k.Name, name, StringComparison.Ordinal));
}

/// <summary>
/// The registration of an HV device kind: its facts (setup validation), its line framing, its driver over a
/// transport and its simulator behind one port. The controller above is kind-neutral: it drives
/// <see cref="IHvBoard"/>/<c>IHvChannel</c>.
/// </summary>
/// <param name="Facts">Address range, channel count and hardware ceilings, from the device folder.</param>
/// <param name="Framing">How requests and replies are terminated on the line.</param>
/// <param name="CreateDriver">The driver of one device of the setup over its port's transport.</param>
/// <param name="CreateSimulator">The simulated devices behind one port (all devices of the setup on that port).</param>
public sealed record HvDeviceKind(
    DeviceKind Facts,
    LineFraming Framing,
    Func<DeviceSetup, LineTransport, TimeProvider, ILogger, IHvBoard> CreateDriver,
    Func<IReadOnlyList<DeviceSetup>, TimeProvider, ILogger, SimulatedHvPort> CreateSimulator);

/// <summary>The simulated devices behind one port of any kind: what answers on the line, and the faults they offer.</summary>
public abstract class SimulatedPort
{
    /// <summary>What answers the requests of the port (a chain of boards, or one device).</summary>
    public abstract ILineDevice Device { get; }

    /// <summary>Device faults this kind's simulator offers, with what each does (line faults are the host's).</summary>
    public abstract IReadOnlyDictionary<string, string> Faults { get; }
}

/// <summary>
/// The simulated HV devices behind one port, and the backdoor by which named faults reach a device's physics (never the wire).
/// </summary>
public abstract class SimulatedHvPort : SimulatedPort
{
    /// <summary>Applies a fault of <see cref="Faults"/> to <paramref name="channel"/> of <paramref name="device"/>.</summary>
    public abstract void Inject(DeviceSetup device, ChannelSetup channel, string fault);
}
