using System.Globalization;
using System.Text;
using NA64.Hardware.Digitizers.Msadc;
using NA64.Hardware.Digitizers.Msadc.Format;
using NA64.Readout.Formats;
using NA64.Readout.Pipeline;
using NA64.Readout.Processing;
using NA64.Readout.Sinks;
using NA64.SlowControl.Setup;
using NA64.Simulators.Digitizers.Msadc;
using NA64.Simulators.Physics;
using Serilog;

namespace NA64.SlowControl.Readout;

/// <summary>What a pedestal run produced.</summary>
/// <param name="Tables">One table per module, in <see cref="ReadoutChannelMap.Modules"/> order.</param>
/// <param name="Files">Where each table was saved.</param>
/// <param name="RegistersVerified">Registers written to the modules and read back equal.</param>
public sealed record PedestalRunResult(int Events, IReadOnlyList<PedestalTable> Tables, IReadOnlyList<string> Files, int RegistersVerified,
    int DeadChannels, int NoisyChannels)
{
    /// <summary>What the data transport saw: datagrams, lost ones, and every one not used with its reason.</summary>
    public DatagramReceiverSummary? Transport { get; init; }

    /// <summary>Fragments left out of the tables because the decoder found data lost in them (truncated, corrupt).</summary>
    public long FragmentsSkipped { get; init; }
}

/// <summary>How long a physics run lasts and where its data go.</summary>
public sealed record PhysicsRunRequest
{
    /// <summary>Stop after this many triggers (null: use <see cref="Spills"/>).</summary>
    public long? Events { get; init; }

    /// <summary>Stop after this many spills (null: use <see cref="Events"/>).</summary>
    public int? Spills { get; init; }

    /// <summary>Also publish the events on this ZeroMQ address (e.g. tcp://127.0.0.1:5556).</summary>
    public string? ZmqAddress { get; init; }

    /// <summary>Also push the events to event builders pulling from this ZeroMQ address (lossless: the run waits for them).</summary>
    public string? ZmqPushAddress { get; init; }

    /// <summary>Called with live counters every <see cref="ProgressInterval"/> (on the run's clock).</summary>
    public IProgress<RunSummary>? Progress { get; init; }

    public TimeSpan ProgressInterval { get; init; } = TimeSpan.FromMilliseconds(500);
}

/// <summary>Everything a physics run reports at its end.</summary>
public sealed record PhysicsRunResult(
    uint RunNumber,
    RunSummary Pipeline,
    long Triggers,
    long InjectedSignals,
    IReadOnlyList<(uint Spill, uint Event)> InjectedSignalEvents,
    long SignalBoxCount,
    IReadOnlyList<(uint Spill, uint Event)> SignalBoxEvents,
    long[] Histogram,
    (double Mean, double Rms, long Count) ElectronPeak,
    int Latency,
    (double MeanPeakSample, long Count) EcalPeakPosition,
    long MonitorEvents,
    long ChannelsIn,
    long ChannelsKept,
    long BytesIn,
    long BytesOut,
    IReadOnlyDictionary<FormatProblemKind, long> Problems,
    IReadOnlyList<string> ProblemLocations,
    long MissingModuleMarkers,
    long IncompleteBlocks,
    string DataFile,
    string MapFile,
    IReadOnlyList<string> CompanionFiles,
    long BytesWritten)
{
    /// <summary>What the data transport saw: datagrams, event numbers lost on the way, and every datagram not passed on with its reason.</summary>
    public DatagramReceiverSummary? Transport { get; init; }
}

/// <summary>
/// Run control for the calorimeter readout on simulated MSADC modules. Pedestal run: latch-all, random triggers with
/// no beam, <see cref="PedestalAccumulator"/> per module, tables saved, then pedestals and n·σ thresholds downloaded to
/// every module through the <see cref="MsadcModule"/> driver (each write read back by the driver, then the whole register
/// file compared). Physics run: modules configured and started, the TCS fires (the simulated crate behind in-memory
/// channels, or the real one), and the <see cref="ReadoutPipeline"/> runs <see cref="DatagramFragmentReceiver"/> -> <see cref="MsadcZeroSuppressionStage"/> ->
/// event builder (DATE 3.6) -> DATE file (+ setup, pedestal tables, ChipSADC map), optional ZeroMQ publisher, live monitor.
/// </summary>
public sealed class ReadoutRun : IAsyncDisposable
{
    /// <summary>How many newer triggers the event builder waits for a source's fragment (the receivers' skew between sources).</summary>
    public const int DatagramSkewTriggers = 1024;

    /// <summary>Directory (under the output directory) holding the latest pedestal tables.</summary>
    public const string PedestalDirectory = "pedestals";

    private readonly ReadoutSetup _readout;
    private readonly string _setupText;
    private readonly TimeProvider _time;
    private readonly ILogger _log;
    private PedestalTable[]? _tables;
    private int _latency;

    /// <param name="setupText">The setup file's text, written beside each DATE file.</param>
    /// <param name="outputDirectory">Overrides the setup's output directory.</param>
    public ReadoutRun(SetupFile setup, string setupText, TimeProvider time, ILogger? log = null, string? outputDirectory = null)
    {
        ArgumentNullException.ThrowIfNull(setup);
        _readout = setup.Readout ?? throw new InvalidOperationException(
            $"Setup '{setup.SourceName}' has no 'readout:' section: no MSADC modules to read out");
        _setupText = setupText ?? throw new ArgumentNullException(nameof(setupText));
        _time = time ?? throw new ArgumentNullException(nameof(time));
        _log = log ?? Serilog.Core.Logger.None;
        OutputDirectory = Path.GetFullPath(outputDirectory ?? _readout.OutputDirectory);
        Crate = new SimulatedMsadcCrate(_readout, time, _log);
        _latency = _readout.Latency;
    }

    /// <summary>MSADC latency (window position, sample clocks) written to every module by the next pedestal or physics
    /// run: the setup's <c>readout.latency</c> unless set here (a latency scan, <c>readout run --latency</c>).</summary>
    public int Latency
    {
        get => _latency;
        set
        {
            if (value < 0 || value > MsadcRegisters.MaxLatency)
                throw new ArgumentOutOfRangeException("latency", value, string.Create(CultureInfo.InvariantCulture,
                    $"latency = {value} refused: 0..{MsadcRegisters.MaxLatency} sample clocks"));
            _latency = value;
        }
    }

    public string OutputDirectory { get; }

    public SimulatedMsadcCrate Crate { get; }

    public ReadoutChannelMap Map => Crate.Map;

    public ReadoutSetup Readout => _readout;

    /// <summary>Pedestal tables in use (after a pedestal run or loaded from the output directory), else null.</summary>
    public IReadOnlyList<PedestalTable>? Pedestals => _tables;

    public async ValueTask DisposeAsync() => await Crate.DisposeAsync().ConfigureAwait(false);

    public string PedestalFile(ReadoutModule module) =>
        Path.Combine(OutputDirectory, PedestalDirectory, module.Name + PedestalTable.FileSuffix);

    /// <summary>Loads the tables of an earlier pedestal run from the output directory; false when any is missing.</summary>
    public bool TryLoadPedestals()
    {
        var files = Map.Modules.Select(PedestalFile).ToArray();
        if (!files.All(File.Exists))
            return false;
        _tables = files.Select(PedestalTable.Load).ToArray();
        _log.Information("Pedestal tables loaded from {Files}", files);
        return true;
    }

    /// <summary>Latch-all random triggers with no beam; tables per module saved and downloaded (pedestals + thresholds).</summary>
    public async Task<PedestalRunResult> PedestalRunAsync(int? events = null, CancellationToken ct = default)
    {
        int n = events ?? _readout.PedestalEvents;
        ArgumentOutOfRangeException.ThrowIfLessThan(n, 1, nameof(events));
        int s = _readout.SamplesPerChannel;
        var modules = Map.Modules;
        _log.Information("Pedestal run: {Events} random triggers, {Modules} modules, {Samples} samples", n, modules.Count, s);
        await ConfigureAsync(MsadcConfiguration.Uniform(MsadcMode.LatchAll, s, _latency, new MsadcChannelSettings(0, 0, 0)), ct).ConfigureAwait(false);

        var accumulators = modules.Select(_ => new PedestalAccumulator(ReadoutChannelMap.ModuleChannels, log: _log)).ToArray();
        var data = new SadcEventData();
        var moduleBlock = new short[ReadoutChannelMap.ModuleChannels * s];
        var found = new int[modules.Count];
        long skipped = 0;
        // The same transport and decoder as a physics run: the latch-all fragments come from the modules, not the generator.
        var receiver = new DatagramFragmentReceiver(Crate.DataSources,
            new DatagramReceiverOptions { RunNumber = 0, Events = n, EventType = (byte)DateEventType.Calibration }, _time, _log);
        await using (receiver.ConfigureAwait(false))
        {
            receiver.DiscardPending();
            await StartModulesAsync(ct).ConfigureAwait(false);
            using var stopReading = CancellationTokenSource.CreateLinkedTokenSource(ct);
            // A failing simulated TCS sends nothing more: end the reading instead of waiting for it (the failure is rethrown below).
            var onFault = Crate.StartTriggers(new TriggerProgram(SimulatedTriggerMode.RandomNoBeam, Triggers: n))
                ?.ContinueWith(_ => stopReading.Cancel(), CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
            var batch = new EventBatch(256, 1 << 20);
            try
            {
                bool more = true;
                while (more)
                {
                    batch.Clear();
                    more = await receiver.FillAsync(batch, stopReading.Token).ConfigureAwait(false);
                    for (int r = 0; r < batch.Count; r++)
                    {
                        ref readonly var meta = ref batch.GetMetadata(r);
                        data.Clear();
                        SadcDecoder.Decode(batch.GetBytes(r), data, (int)meta.EventInSpill);
                        if (data.Problems.Any(p => p.DataLost))
                        {
                            skipped++;
                            _log.Warning("Pedestal run spill {Spill} event {Event} source {Source}: fragment skipped, {Problems}",
                                meta.Spill, meta.EventInSpill, meta.SourceId, data.Problems.Select(p => p.ToString()).ToArray());
                            continue;
                        }

                        Array.Clear(found);
                        foreach (ref readonly var channel in data.Channels)
                        {
                            var module = Map.Find(meta.SourceId, channel.Address.Port);
                            if (module is null || channel.SampleCount != s)
                                continue;
                            found[module.Index]++;
                        }

                        int sourceId = meta.SourceId;
                        foreach (var module in modules.Where(m => m.SourceId == sourceId))
                        {
                            if (found[module.Index] != ReadoutChannelMap.ModuleChannels)
                                throw new InvalidDataException(string.Create(CultureInfo.InvariantCulture,
                                    $"pedestal run event {meta.EventInSpill}: module {module.Name} sent {found[module.Index]} of {ReadoutChannelMap.ModuleChannels} channels in latch-all mode"));
                            foreach (ref readonly var channel in data.Channels)
                            {
                                if (channel.Address.Port != module.Port)
                                    continue;
                                var raw = data.Samples(channel);
                                var into = moduleBlock.AsSpan(channel.Address.ChipChannel * s, s);
                                for (int k = 0; k < s; k++)
                                    into[k] = (short)raw[k];
                            }

                            accumulators[module.Index].Add(new MsadcBlock(moduleBlock, s));
                        }
                    }
                }
            }
            finally
            {
                batch.Return();
                await Crate.StopTriggersAsync().ConfigureAwait(false);
                if (onFault is not null)
                    await onFault.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);   // done before stopReading is disposed
            }
        }

        await StopModulesAsync(ct).ConfigureAwait(false);
        var transport = receiver.Snapshot();
        if (transport.Triggers < n)
            throw new InvalidDataException(string.Create(CultureInfo.InvariantCulture,
                $"pedestal run: {transport.Triggers} of {n} triggers arrived ({string.Join("; ", transport.Faults)})"));
        var tables = accumulators.Select(a => a.Build()).ToArray();
        Directory.CreateDirectory(Path.Combine(OutputDirectory, PedestalDirectory));
        var files = new List<string>();
        foreach (var module in modules)
        {
            string file = PedestalFile(module);
            tables[module.Index].Save(file);
            files.Add(file);
        }

        _tables = tables;
        int verified = await DownloadAsync(ct).ConfigureAwait(false);
        int dead = tables.Sum(t => t.Channels.Count(c => (c.Flags & PedestalFlags.Dead) != 0));
        int noisy = tables.Sum(t => t.Channels.Count(c => (c.Flags & PedestalFlags.Noisy) != 0));
        _log.Information("Pedestal run done: tables {Files}, {Registers} registers downloaded and verified", files, verified);
        return new PedestalRunResult(n, tables, files, verified, dead, noisy) { Transport = transport, FragmentsSkipped = skipped };
    }

    /// <summary>Pedestals rounded and n·σ thresholds into every module (latch-all kept), read back and compared.</summary>
    public async Task<int> DownloadAsync(CancellationToken ct = default)
    {
        var tables = _tables ?? throw new InvalidOperationException("no pedestal tables: take a pedestal run first");
        int verified = 0;
        foreach (var module in Map.Modules)
        {
            var table = tables[module.Index];
            var thresholds = table.Thresholds(_readout.ZeroSuppressionSigma);
            var channels = new MsadcChannelSettings[ReadoutChannelMap.ModuleChannels];
            for (int c = 0; c < channels.Length; c++)
            {
                var p = table[c];
                // The register holds 0..4095; a masked channel (dead, noisy) gets the largest threshold.
                channels[c] = new MsadcChannelSettings(Adc(p.PedestalEven), Adc(p.PedestalOdd), Math.Min((int)thresholds[c], MsadcRegisters.MaxAdc));
            }

            var wanted = new MsadcConfiguration(MsadcMode.LatchAll, _readout.SamplesPerChannel, _latency, channels);
            var driver = Crate.Drivers[module.Index];
            await driver.ConfigureAsync(wanted, ct).ConfigureAwait(false);
            var back = await driver.ReadConfigurationAsync(ct).ConfigureAwait(false);
            if (back.Mode != wanted.Mode || back.SamplesPerChannel != wanted.SamplesPerChannel || back.Latency != wanted.Latency)
                throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture,
                    $"module {module.Name}: read back mode {back.Mode}, samples {back.SamplesPerChannel}, latency {back.Latency}; written {wanted.Mode}, {wanted.SamplesPerChannel}, {wanted.Latency}"));
            for (int c = 0; c < channels.Length; c++)
            {
                if (back.Channels[c] != channels[c])
                    throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture,
                        $"module {module.Name} channel {c}: read back {back.Channels[c]}, written {channels[c]}"));
            }

            verified += 3 + (3 * channels.Length);
        }

        return verified;
    }

    /// <summary>A physics run: pedestal tables loaded (or a pedestal run taken first), then the pipeline until the request's end.</summary>
    public async Task<PhysicsRunResult> PhysicsRunAsync(PhysicsRunRequest request, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.Events is null == request.Spills is null)
            throw new ArgumentException("give exactly one of Events (--events N) or Spills (--spills N)", nameof(request));
        if (request.Events is <= 0)
            throw new ArgumentOutOfRangeException(nameof(request), request.Events, "--events must be at least 1");
        if (request.Spills is <= 0)
            throw new ArgumentOutOfRangeException(nameof(request), request.Spills, "--spills must be at least 1");
        if (_tables is null && !TryLoadPedestals())
        {
            _log.Information("No pedestal tables in {Directory}: taking a pedestal run first", OutputDirectory);
            await PedestalRunAsync(null, ct).ConfigureAwait(false);
        }

        var tables = _tables!;
        await DownloadAsync(ct).ConfigureAwait(false);
        Directory.CreateDirectory(OutputDirectory);
        uint run = _readout.RunNumber;
        while (File.Exists(Path.Combine(OutputDirectory, DateFileSink.RawFileName(run))))
            run++;
        string dataFile = Path.Combine(OutputDirectory, DateFileSink.RawFileName(run));
        string stem = Path.GetFileNameWithoutExtension(dataFile);
        string mapName = stem + ".map.xml";
        var companions = new List<CompanionFile>
        {
            new(stem + ".setup.yaml", (stream, c) => WriteText(stream, _setupText, c)),
            new(mapName, (stream, c) => WriteText(stream, SadcMapWriter.ToXml(Map.MapEntries(), (int)run, (int)run), c)),
        };
        foreach (var module in Map.Modules)
        {
            var table = tables[module.Index];
            companions.Add(new CompanionFile(string.Create(CultureInfo.InvariantCulture, $"{stem}.{module.Name}{PedestalTable.FileSuffix}"),
                (stream, c) =>
                {
                    var text = new StringWriter(CultureInfo.InvariantCulture);
                    table.Write(text);
                    return WriteText(stream, text.ToString(), c);
                }));
        }

        var stage = new MsadcZeroSuppressionStage(
            Map.Modules.Select(m => new MsadcStageModule(m.SourceId, m.Port, SuppressionTable.FromPedestals(tables[m.Index], _readout.ZeroSuppressionSigma))).ToArray(),
            _readout.SamplesPerChannel, new ZsOptions { KeepNeighbours = _readout.KeepNeighbours }, log: _log);
        var generator = Crate.Generator;
        var calibration = generator.Calibration.Select(c => 1.0 / c.GainAdcPerGeV).ToArray();
        var monitor = new LiveMonitor(Map, tables, calibration, _readout.SignalBox,
            new FeatureOptions { SamplePeriodNs = generator.Options.Waveform.SamplePeriodNs }, generator.Options.Beam.BeamEnergyGeV);

        var sinks = new List<IEventSink>();
        var file = await DateFileSink.CreateAsync(dataFile, companions, log: _log, cancellationToken: ct).ConfigureAwait(false);
        NetMqPublisherSink? publisher = null;
        NetMqPublisherSink? pusher = null;
        var receiver = new DatagramFragmentReceiver(Crate.DataSources,
            new DatagramReceiverOptions { RunNumber = run, Events = request.Events, Spills = request.Spills }, _time, _log);
        await using (receiver.ConfigureAwait(false))
        await using (file.ConfigureAwait(false))
        {
            sinks.Add(file);
            if (request.ZmqAddress is not null)
            {
                publisher = new NetMqPublisherSink(new NetMqPublisherOptions { Address = request.ZmqAddress }, log: _log);
                sinks.Add(publisher);
            }

            if (request.ZmqPushAddress is not null)
            {
                pusher = new NetMqPublisherSink(new NetMqPublisherOptions { Address = request.ZmqPushAddress, Pattern = NetMqPattern.Push },
                    "netmq-push", _log);
                sinks.Add(pusher);
            }

            sinks.Add(new InProcessSink("monitor", monitor.OnEvent));
            var options = new ReadoutPipelineOptions
            {
                // Over UDP the receiver can only wait for a slow source while another's queue has room; a pump stalled for
                // some milliseconds lets the others run ahead by that many triggers. 1024 (0.1 s at 10 kHz) rides that out.
                Builder = new EventBuilderOptions
                {
                    SourceIds = Map.SourceIds, MissingSourcePolicy = MissingSourcePolicy.SkipEvent, TimeoutEvents = DatagramSkewTriggers,
                },
            };
            var assembler = new DateEventAssembler(_time, new DateWriterOptions { LdcId = 1, GdcId = 1 });
            var pipeline = new ReadoutPipeline(options, receiver.FillAsync, stage.Process, assembler.Assemble, sinks, _time, _log);
            receiver.DiscardPending();
            await StartModulesAsync(ct).ConfigureAwait(false);
            // A failing simulated TCS sends nothing more: end the reading instead of waiting for it (the failure is rethrown below).
            _ = Crate.StartTriggers(new TriggerProgram(SimulatedTriggerMode.Beam, request.Events, request.Spills))
                ?.ContinueWith(_ => pipeline.RequestStop(), CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
            RunSummary summary;
            try
            {
                var running = pipeline.RunAsync(ct);
                if (request.Progress is { } progress)
                {
                    while (!running.IsCompleted)
                    {
                        await Task.WhenAny(running, Task.Delay(request.ProgressInterval, _time, CancellationToken.None)).ConfigureAwait(false);
                        progress.Report(pipeline.Counters.Snapshot());
                    }
                }

                summary = await running.ConfigureAwait(false);
            }
            finally
            {
                publisher?.Dispose();
                pusher?.Dispose();
                await Crate.StopTriggersAsync().ConfigureAwait(false);
                await StopModulesAsync(CancellationToken.None).ConfigureAwait(false);
            }

            // The injected signals are the simulator's truth (none without one), for comparison with the signal box.
            var injected = Crate.Simulator?.InjectedSignals.Select(x => ((uint)x.Spill, (uint)x.Event)).ToArray() ?? [];

            var companionPaths = companions.Select(c => Path.Combine(OutputDirectory, c.FileName)).ToArray();
            var box = monitor.SignalBoxEvents;
            return new PhysicsRunResult(run, summary, receiver.Triggers, injected.Length, injected,
                box.Count, box, monitor.Histogram(), monitor.ElectronPeak(), _latency, monitor.EcalPeakPosition(), monitor.Events,
                stage.ChannelsIn, stage.ChannelsKept, stage.BytesIn, stage.BytesOut, stage.ProblemCounts(), stage.ProblemLocations(),
                stage.MissingModuleMarkers, stage.IncompleteBlocks, dataFile, Path.Combine(OutputDirectory, mapName), companionPaths,
                file.BytesWritten) { Transport = receiver.Snapshot() };
        }
    }

    private static int Adc(double pedestal) =>
        double.IsFinite(pedestal) ? (int)Math.Clamp(Math.Round(pedestal, MidpointRounding.AwayFromZero), 0, MsadcRegisters.MaxAdc) : 0;

    private static async ValueTask WriteText(Stream stream, string text, CancellationToken ct) =>
        await stream.WriteAsync(Encoding.UTF8.GetBytes(text), ct).ConfigureAwait(false);

    private async Task ConfigureAsync(MsadcConfiguration configuration, CancellationToken ct)
    {
        foreach (var driver in Crate.Drivers)
            await driver.ConfigureAsync(configuration, ct).ConfigureAwait(false);
    }

    private async Task StartModulesAsync(CancellationToken ct)
    {
        foreach (var driver in Crate.Drivers)
        {
            await driver.StopAsync(ct).ConfigureAwait(false);
            await driver.ArmAsync(ct).ConfigureAwait(false);
            await driver.StartAsync(ct).ConfigureAwait(false);
        }
    }

    private async Task StopModulesAsync(CancellationToken ct)
    {
        foreach (var driver in Crate.Drivers)
            await driver.StopAsync(ct).ConfigureAwait(false);
    }
}
