using System.Globalization;
using NA64.Hardware.Digitizers.Msadc;
using NA64.Readout.Pipeline;
using NA64.SlowControl.Setup;
using NA64.Simulators.Digitizers.Msadc;
using NA64.Simulators.Physics;
using Serilog;

namespace NA64.SlowControl.Readout;

/// <summary>
/// The readout hardware of a <see cref="ReadoutSetup"/> as the host reaches it: per module a <see cref="MsadcModule"/>
/// driver on a control datagram channel, per S-Link source a data datagram channel. A <c>sim</c> endpoint is wired to the
/// simulators over in-memory pairs: one simulated MSADC per module (register file + control server) and one
/// <see cref="MsadcCrateSimulator"/> (trigger system + S-Link sources, fed by the physics generator) sending on the
/// sources' data channels with back-pressure. A <c>udp:HOST:PORT</c> endpoint gets a <see cref="UdpDatagramChannel"/> and
/// no simulator: connected to the module for control, listening on HOST:PORT for data. The physics generator is built in
/// every case: its detector layout and calibration describe the installation (channel map, live monitor's energy scale).
/// </summary>
public sealed class SimulatedMsadcCrate : IAsyncDisposable
{
    /// <summary>
    /// Datagrams an in-memory data channel holds before the simulated crate waits for the host: deep enough that the
    /// crate and the host rarely wait for each other, small enough that one source cannot get far ahead of another.
    /// </summary>
    public const int InMemoryDataCapacity = 16;

    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _servers = [];
    private readonly List<IDatagramChannel> _channels = [];
    private readonly ILogger _log;

    public SimulatedMsadcCrate(ReadoutSetup readout, TimeProvider time, ILogger log)
    {
        ArgumentNullException.ThrowIfNull(readout);
        _log = log ?? Serilog.Core.Logger.None;
        var beam = readout.Beam;
        Generator = new Na64EventGenerator(PhysicsOptionsFor(readout), beam.Seed, log);
        Map = new ReadoutChannelMap(readout, Generator.Layout);

        var drivers = new List<MsadcModule>();
        var devices = new List<MsadcDevice>();
        var data = new List<DatagramSource>();
        var simulated = new List<(MsadcSourceSimulator, IDatagramChannel)>();
        try
        {
            foreach (var source in readout.Sources)
            {
                bool simSource = Endpoint(source.Data, $"source {source.SourceId.ToString(CultureInfo.InvariantCulture)} data") is null;
                var paths = new List<MsadcDataPath>();
                foreach (var module in source.Modules)
                {
                    var control = Endpoint(module.Control, $"module {module.Name} control");
                    if ((control is null) != simSource)
                        throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                            $"readout module {module.Name}: control = '{module.Control}' with source {source.SourceId} data = '{source.Data}': a simulated module sends its data to a simulated source, so both are 'sim' or neither is (setup line {module.Line})"));
                    IDatagramChannel host;
                    if (control is null)
                    {
                        var device = new MsadcDevice(module.Name, source.SourceId, module.Port);
                        devices.Add(device);
                        var server = new MsadcControlServer(device, log);
                        var (hostEnd, deviceEnd) = InMemoryDatagramChannel.CreatePair(module.Name);
                        _channels.Add(deviceEnd);
                        _servers.Add(ServeAsync(server, deviceEnd, _stop.Token));
                        host = hostEnd;
                        paths.Add(new MsadcDataPath(device, module.FirstChannel, Generator.Synthesizer, beam.TimedInLatency));
                    }
                    else
                    {
                        host = new UdpDatagramChannel(control.Resolve());
                    }

                    _channels.Add(host);
                    drivers.Add(new MsadcModule(host, new MsadcModuleOptions { Name = module.Name, SourceId = source.SourceId, Port = module.Port }, time, log));
                }

                IDatagramChannel receive;
                if (simSource)
                {
                    var (hostEnd, sourceEnd) = InMemoryDatagramChannel.CreatePair(
                        string.Create(CultureInfo.InvariantCulture, $"source-{source.SourceId}"), InMemoryDataCapacity);
                    _channels.Add(sourceEnd);
                    simulated.Add((new MsadcSourceSimulator(source.SourceId, paths, log), sourceEnd));
                    receive = hostEnd;
                }
                else
                {
                    receive = UdpDatagramChannel.Listen(Endpoint(source.Data, "data")!.Resolve());
                }

                _channels.Add(receive);
                data.Add(new DatagramSource(source.SourceId, receive));
            }
        }
        catch
        {
            foreach (var channel in _channels)
                channel.Dispose();
            throw;
        }

        Devices = devices;
        Drivers = drivers;
        DataSources = data;
        Simulator = simulated.Count > 0 ? new MsadcCrateSimulator(Generator, simulated, log) : null;
    }

    /// <summary>The physics generator's options for the setup's simulated beam and readout (also for a simulator serving
    /// this setup from another process or over UDP).</summary>
    public static PhysicsOptions PhysicsOptionsFor(ReadoutSetup readout)
    {
        ArgumentNullException.ThrowIfNull(readout);
        var beam = readout.Beam;
        return new PhysicsOptions
        {
            Beam = new BeamOptions
            {
                SpillLength = TimeSpan.FromSeconds(beam.SpillOnSeconds),
                OffSpillLength = TimeSpan.FromSeconds(beam.SpillOffSeconds),
                ParticlesPerSpill = beam.ParticlesPerSpill,
                TriggerRateHz = beam.TriggerRateHz,
            },
            Calorimeter = new CalorimeterOptions { SignalFraction = beam.SignalFraction },
            Waveform = new WaveformOptions { SamplesPerChannel = readout.SamplesPerChannel, PileUp = beam.PileUp },
        };
    }

    /// <summary>The installation's detector description (layout, calibration); with <c>sim</c> sources also the beam behind the simulator.</summary>
    public Na64EventGenerator Generator { get; }

    public ReadoutChannelMap Map { get; }

    /// <summary>Simulated modules (those with <c>control: sim</c>), in <see cref="ReadoutChannelMap.Modules"/> order.</summary>
    public IReadOnlyList<MsadcDevice> Devices { get; }

    /// <summary>Host-side drivers of the modules, in <see cref="ReadoutChannelMap.Modules"/> order.</summary>
    public IReadOnlyList<MsadcModule> Drivers { get; }

    /// <summary>The host's end of every source's data channel, in setup order: what a <see cref="DatagramFragmentReceiver"/> reads.</summary>
    public IReadOnlyList<DatagramSource> DataSources { get; }

    /// <summary>The simulated trigger system and sources behind the <c>sim</c> data channels; null when every source is <c>udp:</c>.</summary>
    public MsadcCrateSimulator? Simulator { get; }

    /// <summary>The simulated S-Link sources (fault injection: <see cref="MsadcSourceSimulator.InjectFault"/>); empty without a simulator.</summary>
    public IReadOnlyList<MsadcSourceSimulator> Sources => Simulator?.Sources ?? [];

    public MsadcSourceSimulator Source(int sourceId) => (Simulator ?? throw new InvalidOperationException(
        "no source of this setup is simulated (every 'data' is udp:)")).Source(sourceId);

    /// <summary>
    /// The run control's word to the trigger system before a run: with simulated sources, the simulated TCS starts firing
    /// <paramref name="program"/> (the modules must be started first, as at the TCS); with real sources the shifter sets
    /// the TCS, so this only logs what the run expects. Null when nothing was started.
    /// </summary>
    public Task? StartTriggers(TriggerProgram program)
    {
        if (Simulator is null)
        {
            _log.Information("Readout sources are real: the TCS must fire {Mode} triggers (set by the shifter)", program.Mode);
            return null;
        }

        return Simulator.StartTriggers(program);
    }

    /// <summary>Stops the simulated TCS (nothing without one); rethrows a failure of its trigger task.</summary>
    public Task StopTriggersAsync() => Simulator?.StopTriggersAsync() ?? Task.CompletedTask;

    public async ValueTask DisposeAsync()
    {
        if (Simulator is not null)
            await Simulator.DisposeAsync().ConfigureAwait(false);
        await _stop.CancelAsync().ConfigureAwait(false);
        foreach (var channel in _channels)
            channel.Dispose();
        await Task.WhenAll(_servers).ConfigureAwait(false);
        _stop.Dispose();
    }

    private static DatagramEndpoint? Endpoint(string text, string what) =>
        DatagramEndpoint.TryParse(text, out var endpoint, out string rule)
            ? endpoint
            : throw new ArgumentException($"readout {what} = '{text}': {rule}");

    private static async Task ServeAsync(MsadcControlServer server, InMemoryDatagramChannel channel, CancellationToken ct)
    {
        try
        {
            await server.ServeAsync(channel, ct).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // End of the crate's life: the server stops with it.
        }
    }
}
