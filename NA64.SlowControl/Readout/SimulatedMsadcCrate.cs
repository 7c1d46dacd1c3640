using NA64.Hardware.Digitizers.Msadc;
using NA64.SlowControl.Setup;
using NA64.Simulators.Digitizers.Msadc;
using NA64.Simulators.Physics;
using Serilog;

namespace NA64.SlowControl.Readout;

/// <summary>
/// The simulated readout hardware of a <see cref="ReadoutSetup"/>: the physics generator (beam and detector in simulated
/// time), one simulated MSADC per configured module (register file + control server reached by the real
/// <see cref="MsadcModule"/> driver over an in-memory datagram pair), and one S-Link source simulator per source id.
/// </summary>
public sealed class SimulatedMsadcCrate : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _servers = [];
    private readonly List<InMemoryDatagramChannel> _channels = [];

    public SimulatedMsadcCrate(ReadoutSetup readout, TimeProvider time, ILogger log)
    {
        ArgumentNullException.ThrowIfNull(readout);
        var beam = readout.Beam;
        var options = new PhysicsOptions
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
        Generator = new Na64EventGenerator(options, beam.Seed, log);
        Map = new ReadoutChannelMap(readout, Generator.Layout);

        var paths = new Dictionary<int, List<MsadcDataPath>>();
        var drivers = new List<MsadcModule>();
        var devices = new List<MsadcDevice>();
        foreach (var module in Map.Modules)
        {
            var device = new MsadcDevice(module.Name, module.SourceId, module.Port);
            devices.Add(device);
            var server = new MsadcControlServer(device, log);
            var (host, side) = InMemoryDatagramChannel.CreatePair(module.Name);
            _channels.Add(host);
            _channels.Add(side);
            _servers.Add(ServeAsync(server, side, _stop.Token));
            drivers.Add(new MsadcModule(host, new MsadcModuleOptions { Name = module.Name, SourceId = module.SourceId, Port = module.Port }, time, log));
            if (!paths.TryGetValue(module.SourceId, out var list))
                paths[module.SourceId] = list = [];
            list.Add(new MsadcDataPath(device, module.FirstChannel, Generator.Synthesizer, beam.TimedInLatency));
        }

        Devices = devices;
        Drivers = drivers;
        Sources = paths.Select(p => new MsadcSourceSimulator(p.Key, p.Value, log)).ToArray();
    }

    public Na64EventGenerator Generator { get; }

    public ReadoutChannelMap Map { get; }

    /// <summary>Simulated modules, in <see cref="ReadoutChannelMap.Modules"/> order.</summary>
    public IReadOnlyList<MsadcDevice> Devices { get; }

    /// <summary>Host-side drivers of the modules, in <see cref="ReadoutChannelMap.Modules"/> order.</summary>
    public IReadOnlyList<MsadcModule> Drivers { get; }

    /// <summary>One S-Link source simulator per source id (fault injection: <see cref="MsadcSourceSimulator.InjectFault"/>).</summary>
    public IReadOnlyList<MsadcSourceSimulator> Sources { get; }

    public MsadcSourceSimulator Source(int sourceId) => Sources.Single(s => s.SourceId == sourceId);

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        foreach (var channel in _channels)
            channel.Dispose();
        await Task.WhenAll(_servers).ConfigureAwait(false);
        _stop.Dispose();
    }

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
