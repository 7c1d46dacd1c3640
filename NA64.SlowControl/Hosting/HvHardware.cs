using NA64.Hardware.Hv;
using NA64.Hardware.Hv.CaenN1470;
using NA64.Hardware.Transport;
using NA64.SlowControl.Hv;
using NA64.SlowControl.Setup;
using NA64.Simulators.Hv.CaenN1470;
using NA64.Simulators.Serving;
using Serilog;

namespace NA64.SlowControl.Hosting;

/// <summary>
/// The HV side of one installation, built from its setup file: one <see cref="LineTransport"/> per port
/// (boards on one RS-485 chain share it), the CAEN driver per board and the controllers on top. A port
/// whose transport is <c>sim</c> (or <c>sim:NAME</c>) ends in a simulated chain served in-process: the
/// driver code is the same one that runs on the real line.
/// </summary>
public sealed class HvHardware : IAsyncDisposable
{
    private readonly List<LineTransport> _transports = [];
    private readonly Dictionary<string, SimulatedHvLine> _simulated = new(StringComparer.Ordinal);
    private readonly Dictionary<string, CaenN1470Board> _boards = new(StringComparer.Ordinal);

    private HvHardware(SetupFile setup, TimeProvider time, TimeProvider transportTime, ILogger log)
    {
        var transportsByPort = new Dictionary<string, LineTransport>(StringComparer.Ordinal);
        foreach (var device in setup.Devices.Where(d => d.Kind.IsHighVoltage))
        {
            if (!transportsByPort.TryGetValue(device.Transport, out var transport))
            {
                IStreamEndpoint endpoint;
                if (IsSimulated(device.Transport))
                {
                    var line = new SimulatedHvLine(device.Transport, time, log);
                    _simulated.Add(device.Transport, line);
                    endpoint = line.Endpoint;
                }
                else
                {
                    endpoint = EndpointAddress.Parse(device.Transport).CreateEndpoint();
                }

                transport = new LineTransport(endpoint, LineFraming.CrLf, transportTime, log);
                transportsByPort.Add(device.Transport, transport);
                _transports.Add(transport);
            }

            if (_simulated.TryGetValue(device.Transport, out var sim))
                sim.AddBoard(device);
            _boards.Add(device.Name, new CaenN1470Board(transport, device.Address, device.ChannelLimits(), time: time, log: log));
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

    /// <summary>Boards by device name from the setup file.</summary>
    public IReadOnlyDictionary<string, CaenN1470Board> Boards => _boards;

    /// <summary>Simulated RS-485 chains by transport string (for the fault-injection backdoor).</summary>
    public IReadOnlyDictionary<string, SimulatedHvLine> SimulatedLines => _simulated;

    /// <summary>The simulated board model behind a device of the setup, for fault injection.</summary>
    public CaenN1470BoardModel SimulatedBoard(string deviceName)
    {
        var device = System.Setup.Devices.Single(d => d.Name == deviceName);
        return _simulated[device.Transport].Bus[device.Address].Board;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var t in _transports)
            await t.DisposeAsync().ConfigureAwait(false);
        foreach (var line in _simulated.Values)
            await line.DisposeAsync().ConfigureAwait(false);
        foreach (var b in _boards.Values)
            b.Dispose();
    }
}

/// <summary>
/// One simulated RS-485 chain of CAEN boards served in-process over an in-memory duplex pipe. Each
/// (re)connect of the host side opens a fresh pipe and a fresh serving loop, as a real port would.
/// </summary>
public sealed class SimulatedHvLine : IAsyncDisposable
{
    private readonly List<CaenN1470Wire> _boards = [];
    private readonly TimeProvider _time;
    private readonly ILogger _log;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _sessions = [];
    private CaenN1470Bus? _bus;
    private LineDeviceServer? _server;

    public SimulatedHvLine(string name, TimeProvider time, ILogger log)
    {
        Name = name;
        _time = time;
        _log = log;
        Endpoint = new InMemoryEndpoint(Connect, name);
    }

    public string Name { get; }
    public InMemoryEndpoint Endpoint { get; }
    public CaenN1470Bus Bus => _bus ??= new CaenN1470Bus(_boards);
    public LineDeviceServer Server => _server ??= new LineDeviceServer(Bus, _time, log: _log);

    internal void AddBoard(DeviceSetup device)
    {
        if (_bus is not null)
            throw new InvalidOperationException($"Simulated line {Name} is already serving; boards are added while the setup is built.");
        var loads = new CaenN1470Load[device.Kind.ChannelCount];
        for (int i = 0; i < loads.Length; i++)
            loads[i] = CaenN1470Load.Default;
        foreach (var channel in device.Channels)
            loads[channel.Index] = LoadFor(channel);
        _boards.Add(new CaenN1470Wire(new CaenN1470BoardModel(device.Address, _time, loads: loads, log: _log), _log));
    }

    /// <summary>
    /// A plausible load per channel so the simulated currents look like NA64's (na64-setup.md §10.1):
    /// micromegas draw nA off-spill and their resistive strips ~0.7 µA in the spill; a PMT divider draws
    /// about half of its current limit (assumption).
    /// </summary>
    private static CaenN1470Load LoadFor(ChannelSetup channel)
    {
        if (channel.CurrentLimitMicroamps > 10)
            return CaenN1470Load.Default with { ResistanceMegaohms = channel.NominalVolts / (0.5 * channel.CurrentLimitMicroamps) };
        return channel.Name.EndsWith(".strips", StringComparison.OrdinalIgnoreCase)
            ? CaenN1470Load.Default with { BeamMicroamps = 0.7 }
            : CaenN1470Load.Default;
    }

    private Stream Connect()
    {
        var (host, device) = InMemoryDuplex.CreatePair();
        var server = Server;
        lock (_sessions)
        {
            _sessions.RemoveAll(t => t.IsCompleted);
            _sessions.Add(Task.Run(async () =>
            {
                await using (device.ConfigureAwait(false))
                    await server.ServeAsync(device, _stop.Token).ConfigureAwait(false);
            }));
        }

        return host;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        Task[] sessions;
        lock (_sessions)
            sessions = [.. _sessions];
        try
        {
            await Task.WhenAll(sessions).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // The serving loops end by cancellation at shutdown: that is their normal way out.
        }

        _stop.Dispose();
    }
}
