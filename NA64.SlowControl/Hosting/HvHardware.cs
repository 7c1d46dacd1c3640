using NA64.Hardware.Hv;
using NA64.Hardware.Transport;
using NA64.SlowControl.Devices;
using NA64.SlowControl.Hv;
using NA64.SlowControl.Hv.CaenN1470;
using NA64.SlowControl.Setup;
using NA64.Simulators.Hv.CaenN1470;
using NA64.Simulators.Serving;
using Serilog;

namespace NA64.SlowControl.Hosting;

/// <summary>
/// The HV side of one installation, built from its setup file through the kinds' registrations: one
/// <see cref="LineTransport"/> per port (boards on one RS-485 chain share it), each device's driver and the controllers
/// on top. A port whose transport is <c>sim</c> (or <c>sim:NAME</c>) ends in the kind's simulator served in-process:
/// the driver code is the same one that runs on the real line.
/// </summary>
public sealed class HvHardware : IAsyncDisposable
{
    private readonly List<LineTransport> _transports = [];
    private readonly Dictionary<string, SimulatedLine<SimulatedHvPort>> _simulated = new(StringComparer.Ordinal);
    private readonly Dictionary<string, IHvBoard> _boards = new(StringComparer.Ordinal);

    private HvHardware(SetupFile setup, TimeProvider time, TimeProvider transportTime, ILogger log)
    {
        foreach (var port in setup.Devices.Where(d => d.Kind.IsHighVoltage).GroupBy(d => d.Transport, StringComparer.Ordinal))
        {
            var devices = port.ToList();
            var kinds = devices.Select(d => d.Kind.Name).Distinct(StringComparer.Ordinal).ToList();
            if (kinds.Count > 1)
                throw new SetupException(setup.SourceName, [new SetupError(setup.SourceName, devices[1].Line, 1, "transport", port.Key,
                    $"devices of different kinds ({string.Join(", ", kinds)}) cannot share one port")]);
            var kind = DeviceKinds.FindHv(kinds[0])
                ?? throw new InvalidOperationException($"device kind {kinds[0]} has no registration in DeviceKinds");

            IStreamEndpoint endpoint;
            if (IsSimulated(port.Key))
            {
                var line = new SimulatedLine<SimulatedHvPort>(port.Key, kind.CreateSimulator(devices, time, log), time, log);
                _simulated.Add(port.Key, line);
                endpoint = line.Endpoint;
            }
            else
            {
                endpoint = EndpointAddress.Parse(port.Key).CreateEndpoint();
            }

            var transport = new LineTransport(endpoint, kind.Framing, transportTime, log);
            _transports.Add(transport);
            foreach (var device in devices)
                _boards.Add(device.Name, kind.CreateDriver(device, transport, time, log));
        }

        System = new HvSystem(setup, d => _boards[d.Name], time, log);
    }

    /// <param name="time">the clock of controllers and simulated devices (faster than real time in the demo).</param>
    /// <param name="transportTime">the clock of reply timeouts: bytes on a line take real time even when the
    /// physics runs faster, so this is real time unless a test fakes it. Defaults to <paramref name="time"/>
    /// when that is not a simulation clock.</param>
    public static HvHardware Build(SetupFile setup, TimeProvider time, ILogger log, TimeProvider? transportTime = null) =>
        new(setup, time, transportTime ?? (time is Simulators.Clock.SimulationClock ? TimeProvider.System : time), log);

    public static bool IsSimulated(string transport) =>
        transport == "sim" || transport.StartsWith("sim:", StringComparison.Ordinal);

    public HvSystem System { get; }

    /// <summary>One transport per port of the setup (boards of one RS-485 chain share theirs), for their counters.</summary>
    public IReadOnlyList<LineTransport> Transports => _transports;

    /// <summary>Drivers by device name from the setup file.</summary>
    public IReadOnlyDictionary<string, IHvBoard> Boards => _boards;

    /// <summary>Simulated ports by transport string (for the fault-injection backdoor).</summary>
    public IReadOnlyDictionary<string, SimulatedLine<SimulatedHvPort>> SimulatedLines => _simulated;

    /// <summary>The simulated CAEN board model behind a device of the setup (tests and the trip demo look at its physics).</summary>
    public CaenN1470BoardModel SimulatedBoard(string deviceName)
    {
        var device = System.Setup.Devices.Single(d => d.Name == deviceName);
        return CaenN1470Kind.SimulatedBoard(_simulated[device.Transport].Port, deviceName);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var t in _transports)
            await t.DisposeAsync().ConfigureAwait(false);
        foreach (var line in _simulated.Values)
            await line.DisposeAsync().ConfigureAwait(false);
        foreach (var b in _boards.Values.OfType<IDisposable>())
            b.Dispose();
    }
}
