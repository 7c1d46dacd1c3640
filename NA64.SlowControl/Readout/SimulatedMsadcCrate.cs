using System.Globalization;
using NA64.Hardware.Digitizers.Apv;
using NA64.Hardware.Digitizers.Msadc;
using NA64.Readout.Trackers;
using NA64.Readout.Pipeline;
using NA64.SlowControl.Setup;
using NA64.Simulators.Digitizers;
using NA64.Simulators.Digitizers.Apv;
using NA64.Simulators.Digitizers.Msadc;
using NA64.Simulators.Physics;
using NA64.Simulators.Trackers;
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
/// A source of kind apv (the trackers' GeSiCA) gets an <see cref="ApvAdcModule"/> driver per APV-ADC and, when simulated,
/// one <see cref="ApvAdcDevice"/> per ADC and a <see cref="GesicaSourceSimulator"/> fed by the tracker simulator with the
/// same events the calorimeters see.
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
    private readonly Dictionary<int, GesicaSourceSimulator> _gesicas = [];
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
        var simulated = new List<(ISimulatedSource, IDatagramChannel)>();
        var apvDrivers = new List<ApvAdcModule>();
        try
        {
            foreach (var source in readout.Sources)
            {
                if (source.Kind == ReadoutSourceKind.Apv)
                {
                    data.Add(AddApvSource(source, readout, time, apvDrivers, simulated));
                    continue;
                }

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
                        _servers.Add(ServeAsync(c => server.ServeAsync(deviceEnd, c), _stop.Token));
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
        Trackers = readout.Trackers is { } trackers ? new TrackerReadout(trackers, apvDrivers, log) : null;
        Simulator = simulated.Count > 0 ? new MsadcCrateSimulator(Generator, simulated, log) : null;
    }

    /// <summary>
    /// An APV source: per APV-ADC a driver on its control channel (a simulated module behind <c>sim</c>), and the data
    /// channel; behind a <c>sim</c> data channel the simulated GeSiCA with the tracker simulator of the setup's layout.
    /// </summary>
    private DatagramSource AddApvSource(ReadoutSourceSetup source, ReadoutSetup readout, TimeProvider time, List<ApvAdcModule> drivers,
        List<(ISimulatedSource, IDatagramChannel)> simulated)
    {
        bool simSource = Endpoint(source.Data, $"source {source.SourceId.ToString(CultureInfo.InvariantCulture)} data") is null;
        var devices = new List<ApvAdcDevice>();
        foreach (var adc in source.Adcs)
        {
            var control = Endpoint(adc.Control, $"APV-ADC {adc.Name} control");
            IDatagramChannel host;
            if (control is null)
            {
                var device = new ApvAdcDevice(adc.Name, source.SourceId, adc.AdcId);
                devices.Add(device);
                var server = new ApvAdcControlServer(device, _log);
                var (hostEnd, deviceEnd) = InMemoryDatagramChannel.CreatePair(adc.Name);
                _channels.Add(deviceEnd);
                _servers.Add(ServeAsync(c => server.ServeAsync(deviceEnd, c), _stop.Token));
                host = hostEnd;
            }
            else
            {
                host = new UdpDatagramChannel(control.Resolve());
            }

            _channels.Add(host);
            drivers.Add(new ApvAdcModule(host, new ApvAdcModuleOptions { Name = adc.Name, SourceId = source.SourceId, AdcId = adc.AdcId }, time, _log));
        }

        IDatagramChannel receive;
        if (simSource)
        {
            var layout = readout.Trackers?.Layout
                ?? throw new ArgumentException($"readout source {source.SourceId} is of kind apv but the setup has no readout.trackers");
            var tracker = new TrackerSimulator(TrackerOptionsFor(layout), Generator.Options, layout.Map.StripToChannel.ToArray(), readout.Beam.Seed, _log);
            var gesica = new GesicaSourceSimulator(source.SourceId, devices, tracker, Generator.Options.Beam, _log);
            _gesicas[source.SourceId] = gesica;
            var (hostEnd, sourceEnd) = InMemoryDatagramChannel.CreatePair(
                string.Create(CultureInfo.InvariantCulture, $"source-{source.SourceId}"), InMemoryDataCapacity);
            _channels.Add(sourceEnd);
            simulated.Add((gesica, sourceEnd));
            receive = hostEnd;
        }
        else
        {
            receive = UdpDatagramChannel.Listen(Endpoint(source.Data, "data")!.Resolve());
        }

        _channels.Add(receive);
        return new DatagramSource(source.SourceId, receive);
    }

    /// <summary>
    /// The tracker simulator's options for a layout: the simulated positions of the detectors the simulator knows by name
    /// (MM1..MM8, GM1, GM2), read out on the layout's ADCs and chips, with the layout's micromegas channel assignment.
    /// </summary>
    public static TrackerOptions TrackerOptionsFor(TrackerLayout layout)
    {
        ArgumentNullException.ThrowIfNull(layout);
        var defaults = new TrackerGeometry();
        var detectors = layout.Detectors.Select(d =>
        {
            var known = defaults.Detectors.FirstOrDefault(g => g.Name == d.Name)
                ?? throw new ArgumentException($"tracker detector {d.Name} has no simulated position: the tracker simulator knows {string.Join(", ", defaults.Detectors.Select(g => g.Name))}");
            var kind = d.Kind == TrackerDetectorKind.Micromegas ? TrackerKind.Micromegas : TrackerKind.Gem;
            if (known.Kind != kind)
                throw new ArgumentException($"tracker detector {d.Name} is a {d.Kind} in the setup and a {known.Kind} in the tracker simulator");
            return known with { AdcId = d.AdcId, FirstChipId = d.FirstChipId };
        }).ToList();
        return new TrackerOptions
        {
            Geometry = defaults with
            {
                Detectors = detectors,
                MicromegasXApvChannels = layout.MicromegasXChannels,
                MicromegasYApvChannels = layout.MicromegasYChannels,
            },
        };
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

    /// <summary>The tracker readout (APV-ADC drivers, pedestal tables); null when the setup has no trackers.</summary>
    public TrackerReadout? Trackers { get; }

    /// <summary>The simulated GeSiCA behind an APV source (fault injection), or null when that source is real.</summary>
    public GesicaSourceSimulator? Gesica(int sourceId) => _gesicas.GetValueOrDefault(sourceId);

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

    /// <summary>A simulated module's control server for the crate's life (its end by cancellation is the normal one).</summary>
    private static async Task ServeAsync(Func<CancellationToken, Task> serve, CancellationToken ct)
    {
        try
        {
            await serve(ct).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // End of the crate's life: the server stops with it.
        }
    }
}
