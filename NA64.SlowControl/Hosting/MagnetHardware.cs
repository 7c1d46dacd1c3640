using NA64.Hardware.Magnets;
using NA64.Hardware.Transport;
using NA64.SlowControl.Devices;
using NA64.SlowControl.Magnets;
using NA64.SlowControl.Setup;
using NA64.Simulators.Serving;
using Serilog;

namespace NA64.SlowControl.Hosting;

/// <summary>
/// The magnet side of one installation, built from the setup's <c>magnets:</c> through the kinds' registrations: one
/// <see cref="LineTransport"/> per port (supplies of one multi-drop line or circuits of one gateway share it), each
/// magnet's driver, its controller and its poller. A port whose transport is <c>sim</c> (or <c>sim:NAME</c>) ends in
/// the kind's simulator served in-process: the driver code is the one that runs on the real line. Nothing is written
/// to a supply here: first contact is the poller's, read-only.
/// </summary>
public sealed class MagnetHardware : IAsyncDisposable
{
    private readonly List<LineTransport> _transports = [];
    private readonly Dictionary<string, SimulatedLine<SimulatedMagnetPort>> _simulated = new(StringComparer.Ordinal);
    private readonly List<IMagnetSupply> _supplies = [];
    private readonly List<MagnetPoller> _pollers = [];

    private MagnetHardware(SetupFile setup, TimeProvider time, TimeProvider transportTime, ILogger log)
    {
        Setup = setup;
        foreach (var port in setup.Magnets.GroupBy(m => m.Transport, StringComparer.Ordinal))
        {
            var magnets = port.ToList();
            // The loader allows one kind per port; the registration is the first magnet's.
            var kind = magnets[0].Kind;
            IStreamEndpoint endpoint;
            if (HvHardware.IsSimulated(port.Key))
            {
                var line = new SimulatedLine<SimulatedMagnetPort>(port.Key, kind.CreateSimulator(magnets, time, log), time, log);
                _simulated.Add(port.Key, line);
                endpoint = line.Endpoint;
            }
            else
            {
                endpoint = EndpointAddress.Parse(port.Key).CreateEndpoint();
            }

            var transport = new LineTransport(endpoint, kind.Framing, transportTime, log);
            _transports.Add(transport);
            foreach (var magnet in magnets)
            {
                var supply = kind.CreateSupply(magnet, transport, time, log);
                _supplies.Add(supply);
                _pollers.Add(new MagnetPoller(new MagnetController(supply, magnet.Control, magnet.Calibration, time, log), time, log));
            }
        }
    }

    /// <param name="time">the clock of controllers and simulated supplies (faster than real time in the demo).</param>
    /// <param name="transportTime">the clock of reply timeouts (see <see cref="HvHardware.Build"/>).</param>
    public static MagnetHardware Build(SetupFile setup, TimeProvider time, ILogger log, TimeProvider? transportTime = null) =>
        new(setup, time, transportTime ?? (time is Simulators.Clock.SimulationClock ? TimeProvider.System : time), log);

    public SetupFile Setup { get; }

    /// <summary>One poller per magnet circuit, in setup order; each holds its controller.</summary>
    public IReadOnlyList<MagnetPoller> Pollers => _pollers;

    public IEnumerable<MagnetController> Controllers => _pollers.Select(p => p.Controller);

    /// <summary>Simulated ports by transport string (for the fault-injection backdoor).</summary>
    public IReadOnlyDictionary<string, SimulatedLine<SimulatedMagnetPort>> SimulatedLines => _simulated;

    /// <summary>The circuit a name stands for: the circuit's own name or one of its elements (MBPL1 is on the MBPL circuit).</summary>
    public bool TryFind(string name, out MagnetController controller, out MagnetSetup magnet)
    {
        int i = Setup.Magnets.ToList().FindIndex(m => m.Answers(name));
        controller = i < 0 ? null! : _pollers[i].Controller;
        magnet = i < 0 ? null! : Setup.Magnets[i];
        return i >= 0;
    }

    /// <summary>Every name a command may use, for the refusal of an unknown one.</summary>
    public IEnumerable<string> Names => Setup.Magnets.SelectMany(m => m.Elements.Prepend(m.Name));

    public async ValueTask DisposeAsync()
    {
        foreach (var t in _transports)
            await t.DisposeAsync().ConfigureAwait(false);
        foreach (var line in _simulated.Values)
            await line.DisposeAsync().ConfigureAwait(false);
        foreach (var s in _supplies.OfType<IDisposable>())
            s.Dispose();
    }
}
