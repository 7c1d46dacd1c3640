using System.Globalization;
using System.Text;
using NA64.Hardware.Digitizers.Apv.Format;
using NA64.Hardware.Digitizers.Msadc;
using NA64.Hardware.Digitizers.Msadc.Format;
using NA64.Readout.Formats;
using NA64.Readout.Pipeline;
using NA64.Readout.Processing;
using NA64.Readout.Sinks;
using NA64.SlowControl.Runs;
using NA64.SlowControl.Setup;
using NA64.Simulators.Digitizers.Msadc;
using NA64.Simulators.Physics;
using Serilog;

namespace NA64.SlowControl.Readout;

/// <summary>What a pedestal run produced.</summary>
/// <param name="Tables">One table per module, in <see cref="ReadoutChannelMap.Modules"/> order (empty when the run did not complete).</param>
/// <param name="Files">Where each table was saved for later runs (<c>&lt;dataDirectory&gt;/pedestals/</c>).</param>
/// <param name="RegistersVerified">Registers written to the modules and read back equal.</param>
/// <param name="RunDirectory">The run's directory: DATE file of calibration events, map, effective setup, tables, summary.</param>
/// <param name="SummaryFile">The run's <c>summary.txt</c> (beside it <c>summary.json</c>).</param>
public sealed record PedestalRunResult(int Events, IReadOnlyList<PedestalTable> Tables, IReadOnlyList<string> Files, int RegistersVerified,
    int DeadChannels, int NoisyChannels, uint RunNumber, RunStatus Status, string? Reason, string RunDirectory, string DataFile, string SummaryFile)
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

    /// <summary>What the push to event builders does when no puller has room: wait (nothing lost, the run waits) or drop after
    /// <see cref="ZmqPushTimeout"/> (counted). A setting of the run, shown live through <see cref="ReadoutRun.PushCounters"/>.</summary>
    public NetMqStallPolicy ZmqStallPolicy { get; init; } = NetMqStallPolicy.DropAfterTimeout;

    /// <summary>How long a pushed message waits for room before it is dropped (with <see cref="NetMqStallPolicy.DropAfterTimeout"/>).</summary>
    public TimeSpan ZmqPushTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>A note kept with the run in the registry and the summary (e.g. "latency scan").</summary>
    public string? Note { get; init; }

    /// <summary>Wraps the DATE file's stream (tests: a disk that fills up). Null: the file itself.</summary>
    public Func<Stream, Stream>? WrapDataStream { get; init; }
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
    long BytesWritten,
    RunStatus Status,
    string? Reason,
    string RunDirectory,
    string SummaryFile,
    RunReport Report)
{
    /// <summary>What the data transport saw: datagrams, event numbers lost on the way, and every datagram not passed on with its reason.</summary>
    public DatagramReceiverSummary? Transport { get; init; }

    /// <summary>The trackers of the run (APV fragments, problems, per-plane reconstruction against the truth); null without an APV source.</summary>
    public TrackerRunResult? Trackers { get; init; }
}


/// <summary>
/// Run control for the calorimeter readout on simulated MSADC modules. Every run (pedestal or physics) takes its number
/// from the data directory's <see cref="RunRegistry"/> and writes into its run directory
/// <c>&lt;dataDirectory&gt;/runs/&lt;number&gt;/</c>: the DATE file (SOR, SOB…EOB per spill, EOR; calibration events for a
/// pedestal run), the ChipSADC map, the effective setup, the pedestal tables and the summary (txt + json).
/// Pedestal run: latch-all, random triggers with no beam, <see cref="PedestalAccumulator"/> per module, tables saved
/// (run directory and <c>&lt;dataDirectory&gt;/pedestals/</c>), then pedestals and n·σ thresholds downloaded to every
/// module through the <see cref="MsadcModule"/> driver (each write read back by the driver, then the whole register file
/// compared). Physics run: modules configured and started, the TCS fires (the simulated crate behind in-memory channels,
/// or the real one), and the <see cref="ReadoutPipeline"/> runs <see cref="DatagramFragmentReceiver"/> -> <see cref="MsadcZeroSuppressionStage"/> -> event builder
/// (DATE 3.6) -> DATE file, optional ZeroMQ publisher, live monitor. A start that fails leaves no files and no registry
/// row; an operator stop (cancellation) ends the run as stopped, a write error of the DATE file as failed with the reason.
/// </summary>
public sealed class ReadoutRun : IAsyncDisposable
{
    /// <summary>How many newer triggers the event builder waits for a source's fragment (the receivers' skew between sources).</summary>
    public const int DatagramSkewTriggers = 1024;

    /// <summary>Directory (under the data directory) holding the latest pedestal tables.</summary>
    public const string PedestalDirectory = "pedestals";

    /// <summary>The effective setup's file name in a run directory.</summary>
    public const string SetupFileName = "setup.yaml";

    private const int PedestalBatchEvents = 64;

    private readonly SetupFile _setup;
    private readonly ReadoutSetup _readout;
    private readonly string _setupText;
    private readonly TimeProvider _time;
    private readonly ILogger _log;
    private readonly bool _ownsRegistry;
    private PedestalTable[]? _tables;
    private int _latency;
    private volatile NetMqPublisherSink? _pusher;

    /// <param name="setupText">The setup file's text: the base of each run's effective setup.</param>
    /// <param name="dataDirectory">Overrides the setup's data directory.</param>
    /// <param name="registry">The data directory's run registry, shared with a service; null opens one (owned, closed on dispose).</param>
    public ReadoutRun(SetupFile setup, string setupText, TimeProvider time, ILogger? log = null, string? dataDirectory = null, RunRegistry? registry = null)
    {
        ArgumentNullException.ThrowIfNull(setup);
        _setup = setup;
        _readout = setup.Readout ?? throw new InvalidOperationException(
            $"Setup '{setup.SourceName}' has no 'readout:' section: no MSADC modules to read out");
        _setupText = setupText ?? throw new ArgumentNullException(nameof(setupText));
        _time = time ?? throw new ArgumentNullException(nameof(time));
        _log = log ?? Serilog.Core.Logger.None;
        DataDirectory = Path.GetFullPath(dataDirectory ?? setup.DataDirectory);
        Registry = registry ?? RunRegistry.Open(DataDirectory, _readout.RunNumber, time, _log);
        _ownsRegistry = registry is null;
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

    /// <summary>Live counters of the push to event builders of the run going on (waiting now, drops), null without one.</summary>
    public NetMqSinkCounters? PushCounters => _pusher?.Counters;

    /// <summary>The trackers' monitor of the physics run going on (live per-plane statistics), null between runs.</summary>
    public TrackerMonitor? TrackerMonitor { get; private set; }

    /// <summary>The data directory: registry, <c>runs/</c>, <c>pedestals/</c>.</summary>
    public string DataDirectory { get; }

    /// <summary>The older name of <see cref="DataDirectory"/>.</summary>
    public string OutputDirectory => DataDirectory;

    public RunRegistry Registry { get; }

    public SimulatedMsadcCrate Crate { get; }

    public ReadoutChannelMap Map => Crate.Map;

    public ReadoutSetup Readout => _readout;

    /// <summary>Pedestal tables in use (after a pedestal run or loaded from the data directory), else null.</summary>
    public IReadOnlyList<PedestalTable>? Pedestals => _tables;

    public async ValueTask DisposeAsync()
    {
        await Crate.DisposeAsync().ConfigureAwait(false);
        if (_ownsRegistry)
            Registry.Dispose();
    }

    public string PedestalFile(ReadoutModule module) =>
        Path.Combine(DataDirectory, PedestalDirectory, module.Name + PedestalTable.FileSuffix);

    /// <summary>Loads the tables of an earlier pedestal run from the data directory; false when any is missing.</summary>
    public bool TryLoadPedestals()
    {
        var files = Map.Modules.Select(PedestalFile).ToArray();
        if (!files.All(File.Exists))
            return false;
        if (Crate.Trackers is { } trackers && !trackers.TryLoadPedestals(DataDirectory))
            return false;
        _tables = files.Select(PedestalTable.Load).ToArray();
        _log.Information("Pedestal tables loaded from {Files}", files);
        return true;
    }

    /// <summary>
    /// Latch-all random triggers with no beam, written as DATE calibration events (SOR, calibration…, EOR) into the run
    /// directory; tables per module saved and downloaded (pedestals + thresholds). A write error ends the run as failed
    /// (no tables taken over, result with the reason); cancellation ends it as stopped, then throws.
    /// </summary>
    /// <param name="progress">Told the number of triggers taken after each one (live status of a service; tests stop a run with it).</param>
    /// <param name="wrapDataStream">Puts a stream between the DATE sink and its file (tests: a disk that fills up).</param>
    public async Task<PedestalRunResult> PedestalRunAsync(int? events = null, CancellationToken ct = default, IProgress<int>? progress = null,
        Func<Stream, Stream>? wrapDataStream = null)
    {
        int n = events ?? _readout.PedestalEvents;
        ArgumentOutOfRangeException.ThrowIfLessThan(n, 1, nameof(events));
        int s = _readout.SamplesPerChannel;
        var modules = Map.Modules;
        _log.Information("Pedestal run: {Events} random triggers, {Modules} modules, {Samples} samples", n, modules.Count, s);
        await ConfigureAsync(MsadcConfiguration.Uniform(MsadcMode.LatchAll, s, _latency, new MsadcChannelSettings(0, 0, 0)), ct).ConfigureAwait(false);
        var trackers = Crate.Trackers;
        if (trackers is not null)
        {
            await trackers.ConfigureLatchAllAsync(TrackerReadout.DefaultLatency, ct).ConfigureAwait(false);
            trackers.BeginPedestals();
        }

        var started = await StartRunAsync(RunType.Pedestal, null, wrapDataStream, [], bursts: false, ct).ConfigureAwait(false);
        var (record, file) = (started.Record, started.Sink);
        RunStatus status = RunStatus.Completed;
        string? reason = null;
        var faults = new List<string>();
        int triggers = 0;
        long lost = 0;
        long skipped = 0;
        PedestalTable[] tables = [];
        var tableFiles = new List<string>();
        int verified = 0;
        DatagramReceiverSummary? transport = null;
        EventBatch? output = null;
        // The same transport and decoder as a physics run: the latch-all fragments come from the modules, not the generator.
        var receiver = new DatagramFragmentReceiver(Crate.DataSources,
            new DatagramReceiverOptions { RunNumber = record.Number, Events = n, EventType = (byte)DateEventType.Calibration }, _time, _log);
        await using var receiverScope = receiver.ConfigureAwait(false);
        try
        {
            var accumulators = modules.Select(_ => new PedestalAccumulator(ReadoutChannelMap.ModuleChannels, log: _log)).ToArray();
            var data = new SadcEventData();
            var apvData = new ApvEventData();
            long trackerEventsUnusable = 0;
            var moduleBlock = new short[ReadoutChannelMap.ModuleChannels * s];
            var found = new int[modules.Count];
            var date = new DateEventBuilder(_time, new DateWriterOptions { LdcId = 1, GdcId = 1 });
            // Room for a batch of latch-all events of every source (a source's largest fragment: all its modules' chips at 32 samples).
            int largestFragment = Math.Max(Map.SourceIds.Max(id => SadcBlockWriter.LatchAllBytes(
                modules.Count(m => m.SourceId == id) * MsadcRegisters.ChipsPerModule, MsadcRegisters.MaxSamples)), LargestApvFragment());
            output = new EventBatch(PedestalBatchEvents, PedestalBatchEvents * 2 * (DateEventHeader.Bytes + (SourceIds.Count * (largestFragment + DateEquipmentHeader.Bytes))));
            uint? building = null;
            EventMetadata buildingMeta = default;

            // Each trigger's fragments (one per source, adjacent: the receiver merges the sources in trigger order) become
            // one DATE calibration event.
            async Task FinishEventAsync()
            {
                if (building is null)
                    return;
                // The trackers' latch-all APVs of this trigger, all sources together, into their pedestal tables.
                if (trackers is not null && !trackers.AddPedestalEvent(apvData))
                    trackerEventsUnusable++;
                var calibration = new EventMetadata(record.Number, 0, buildingMeta.EventInSpill, buildingMeta.EventInRun, 0, _time.GetUtcNow().ToUnixTimeSeconds(),
                    EventMetadata.BuiltEventSource, (byte)DateEventType.Calibration);
                if (!output.TryAdd(calibration, date.Finish()))
                    throw new InvalidOperationException("pedestal run: a calibration event does not fit an empty batch");
                building = null;
                triggers++;
                progress?.Report(triggers);
                if (output.Count >= PedestalBatchEvents)
                    (status, reason, lost) = await WriteCalibrationAsync(file, output, faults, lost).ConfigureAwait(false);
            }

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
                while (more && status == RunStatus.Completed)
                {
                    batch.Clear();
                    more = await receiver.FillAsync(batch, stopReading.Token).ConfigureAwait(false);
                    ct.ThrowIfCancellationRequested();
                    for (int r = 0; r < batch.Count && status == RunStatus.Completed; r++)
                    {
                        ct.ThrowIfCancellationRequested();
                        var meta = batch.GetMetadata(r);
                        if (building != meta.EventInRun)
                        {
                            await FinishEventAsync().ConfigureAwait(false);
                            building = meta.EventInRun;
                            buildingMeta = meta;
                            date.Begin(DateEventType.Calibration, record.Number, meta.EventInRun, 0, (int)meta.EventInSpill, 0);
                            apvData.Clear();
                        }

                        if (trackers is not null && Crate.Trackers!.Layout.AdcIds(meta.SourceId).Count > 0)
                        {
                            int before = apvData.Problems.Count;
                            var decoded = ApvDecoder.Decode(batch.GetBytes(r), apvData, ApvOptions(meta.SourceId), (int)meta.EventInSpill);
                            if (decoded.Discarded || apvData.Problems.Skip(before).Any(p => p.DataLost))
                            {
                                skipped++;
                                _log.Warning("Pedestal run spill {Spill} event {Event} APV source {Source}: fragment skipped, {Problems}",
                                    meta.Spill, meta.EventInSpill, meta.SourceId, apvData.Problems.Skip(before).Select(p => p.ToString()).ToArray());
                                continue;
                            }

                            date.AddEquipment(batch.GetBytes(r));
                            continue;
                        }

                        data.Clear();
                        SadcDecoder.Decode(batch.GetBytes(r), data, (int)meta.EventInSpill);
                        if (data.Problems.Any(p => p.DataLost))
                        {
                            // Left out of the tables and of the calibration event (its S-Link framing may not hold); counted.
                            skipped++;
                            _log.Warning("Pedestal run spill {Spill} event {Event} source {Source}: fragment skipped, {Problems}",
                                meta.Spill, meta.EventInSpill, meta.SourceId, data.Problems.Select(p => p.ToString()).ToArray());
                            continue;
                        }

                        date.AddEquipment(batch.GetBytes(r));
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

                if (status == RunStatus.Completed)
                {
                    await FinishEventAsync().ConfigureAwait(false);
                    if (output.Count > 0 && status == RunStatus.Completed)
                        (status, reason, lost) = await WriteCalibrationAsync(file, output, faults, lost).ConfigureAwait(false);
                }
            }
            finally
            {
                batch.Return();
                await Crate.StopTriggersAsync().ConfigureAwait(false);
                if (onFault is not null)
                    await onFault.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);   // done before stopReading is disposed
            }

            await StopModulesAsync(ct).ConfigureAwait(false);
            transport = receiver.Snapshot();
            if (status == RunStatus.Completed && transport.Triggers < n)
                throw new InvalidDataException(string.Create(CultureInfo.InvariantCulture,
                    $"pedestal run: {transport.Triggers} of {n} triggers arrived ({string.Join("; ", transport.Faults)})"));
            if (status == RunStatus.Completed)
            {
                tables = accumulators.Select(a => a.Build()).ToArray();
                Directory.CreateDirectory(Path.Combine(DataDirectory, PedestalDirectory));
                foreach (var module in modules)
                {
                    string latest = PedestalFile(module);
                    tables[module.Index].Save(latest);
                    tableFiles.Add(latest);
                    tables[module.Index].Save(Path.Combine(record.Directory, module.Name + PedestalTable.FileSuffix));
                }

                _tables = tables;
                verified = await DownloadAsync(ct).ConfigureAwait(false);
                if (trackers is not null)
                {
                    if (trackerEventsUnusable > 0)
                        _log.Warning("Pedestal run: {Events} triggers lacked a latch-all APV of the layout and were left out of the tracker tables", trackerEventsUnusable);
                    var apvTable = trackers.FinishPedestals();
                    string latest = TrackerReadout.PedestalFile(DataDirectory);
                    apvTable.Save(latest);
                    tableFiles.Add(latest);
                    apvTable.Save(Path.Combine(record.Directory, TrackerReadout.PedestalFileName));
                    verified += await trackers.DownloadSparseAsync(TrackerReadout.DefaultLatency, ct).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            status = RunStatus.Stopped;
            reason = "operator stop";
            // The triggers taken before the stop are kept: the last partial batch still goes into the file.
            if (output is { Count: > 0 })
                (_, _, lost) = await WriteCalibrationAsync(file, output, faults, lost).ConfigureAwait(false);
            await StopModulesAsync(CancellationToken.None).ConfigureAwait(false);
            await EndRunAsync(started, status, reason, triggers, lost, faults, null).ConfigureAwait(false);
            throw;
        }
        catch (Exception e)
        {
            await EndRunAsync(started, RunStatus.Failed, e.Message, triggers, lost, faults, null).ConfigureAwait(false);
            throw;
        }

        await EndRunAsync(started, status, reason, triggers, lost, faults, null).ConfigureAwait(false);
        int dead = tables.Sum(t => t.Channels.Count(c => (c.Flags & PedestalFlags.Dead) != 0));
        int noisy = tables.Sum(t => t.Channels.Count(c => (c.Flags & PedestalFlags.Noisy) != 0));
        _log.Information("Pedestal run {Run} {Status}: tables {Files}, {Registers} registers downloaded and verified", record.Number, status, tableFiles, verified);
        return new PedestalRunResult(triggers, tables, tableFiles, verified, dead, noisy, record.Number, status, reason, record.Directory,
            started.DataFile, Path.Combine(record.Directory, RunReport.TextFileName))
        {
            Transport = transport,
            FragmentsSkipped = skipped,
        };
    }

    private async Task<(RunStatus, string?, long)> WriteCalibrationAsync(DateFileSink file, EventBatch batch, List<string> faults, long lost)
    {
        var result = await file.WriteAsync(batch, CancellationToken.None).ConfigureAwait(false);
        lost += result.Dropped;
        batch.Clear();
        if (result.Fault is { } fault)
        {
            faults.Add(fault);
            _log.Error("Pedestal run stopped: {Fault}", fault);
            return (RunStatus.Failed, fault, lost);
        }

        return (RunStatus.Completed, null, lost);
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

    /// <summary>
    /// A physics run: pedestal tables loaded (or a pedestal run taken first), then the pipeline until the request's end,
    /// a write error of the DATE file (status failed) or cancellation (status stopped). The result says which.
    /// </summary>
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
            _log.Information("No pedestal tables in {Directory}: taking a pedestal run first", Path.Combine(DataDirectory, PedestalDirectory));
            var pedestals = await PedestalRunAsync(null, ct).ConfigureAwait(false);
            if (pedestals.Status != RunStatus.Completed)
                throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture,
                    $"pedestal run {pedestals.RunNumber} before the physics run {RunRegistry.Name(pedestals.Status)}: {pedestals.Reason}"));
        }

        var tables = _tables!;
        await DownloadAsync(ct).ConfigureAwait(false);
        if (Crate.Trackers is { } sparse)
            await sparse.DownloadSparseAsync(TrackerReadout.DefaultLatency, ct).ConfigureAwait(false);
        var tableCompanions = Map.Modules.Select(module => new CompanionFile(module.Name + PedestalTable.FileSuffix, (stream, c) =>
        {
            var text = new StringWriter(CultureInfo.InvariantCulture);
            tables[module.Index].Write(text);
            return WriteText(stream, text.ToString(), c);
        })).ToList();
        // The tracker tables downloaded for this run go with it as well.
        if (Crate.Trackers?.Pedestals is { } apvTables)
        {
            tableCompanions.Add(new CompanionFile(TrackerReadout.PedestalFileName, (stream, c) =>
            {
                var text = new StringWriter(CultureInfo.InvariantCulture);
                apvTables.Write(text);
                return WriteText(stream, text.ToString(), c);
            }));
        }
        // The ZeroMQ endpoints are bound before the run starts: a bad or busy address refuses the run with one line and
        // leaves no run directory and no used number behind.
        NetMqPublisherSink? publisher = null;
        NetMqPublisherSink? pusher = null;
        StartedRun started;
        try
        {
            if (request.ZmqAddress is not null)
                publisher = new NetMqPublisherSink(new NetMqPublisherOptions { Address = request.ZmqAddress }, log: _log);
            if (request.ZmqPushAddress is not null)
            {
                pusher = new NetMqPublisherSink(new NetMqPublisherOptions
                {
                    Address = request.ZmqPushAddress,
                    Pattern = NetMqPattern.Push,
                    StallPolicy = request.ZmqStallPolicy,
                    SendTimeout = request.ZmqPushTimeout,
                }, "netmq-push", _log);
            }

            started = await StartRunAsync(RunType.Physics, request.Note, request.WrapDataStream, tableCompanions, bursts: true, ct).ConfigureAwait(false);
        }
        catch
        {
            publisher?.Dispose();
            pusher?.Dispose();
            throw;
        }

        uint run = started.Record.Number;
        var file = started.Sink;

        var stage = new MsadcZeroSuppressionStage(
            Map.Modules.Select(m => new MsadcStageModule(m.SourceId, m.Port, SuppressionTable.FromPedestals(tables[m.Index], _readout.ZeroSuppressionSigma))).ToArray(),
            _readout.SamplesPerChannel, new ZsOptions { KeepNeighbours = _readout.KeepNeighbours }, log: _log);
        // One stage per source kind: the APV sources' fragments are checked and kept as the GeSiCA sent them.
        var apvSources = _readout.Sources.Where(s => s.Kind == ReadoutSourceKind.Apv).Select(s => s.SourceId).ToArray();
        var apvStage = apvSources.Length > 0 ? new ApvSourceStage(apvSources, ApvOptions, _log) : null;
        TrackerMonitor? trackerMonitor = null;
        if (apvStage is not null && Crate.Trackers is { } trackerReadout)
        {
            // With one simulated GeSiCA its truth is the reference; a real one (or several sources) gives no truth.
            var gesica = apvSources.Length == 1 ? Crate.Gesica(apvSources[0]) : null;
            trackerMonitor = new TrackerMonitor(trackerReadout.Layout, trackerReadout.Pedestals,
                gesica is null ? null : (spill, ev, into) => gesica.TryGetTruth(spill, ev, into), ApvOptions);
            apvStage.Accepted = trackerMonitor.Offer;
            trackerMonitor.Start();
            TrackerMonitor = trackerMonitor;
        }

        var stages = new SourceStages(apvStage is null ? [stage] : [stage, apvStage]);
        var generator = Crate.Generator;
        var calibration = generator.Calibration.Select(c => 1.0 / c.GainAdcPerGeV).ToArray();
        var monitor = new LiveMonitor(Map, tables, calibration, _readout.SignalBox,
            new FeatureOptions { SamplePeriodNs = generator.Options.Waveform.SamplePeriodNs }, generator.Options.Beam.BeamEnergyGeV);

        var sinks = new List<IEventSink>();
        var receiver = new DatagramFragmentReceiver(Crate.DataSources,
            new DatagramReceiverOptions { RunNumber = run, Events = request.Events, Spills = request.Spills }, _time, _log);
        await using var receiverScope = receiver.ConfigureAwait(false);
        RunSummary summary;
        try
        {
            sinks.Add(file);
            if (publisher is not null)
                sinks.Add(publisher);
            if (pusher is not null)
            {
                _pusher = pusher;
                sinks.Add(pusher);
            }

            sinks.Add(new InProcessSink("monitor", monitor.OnEvent));
            var options = new ReadoutPipelineOptions
            {
                // Over UDP the receiver can only wait for a slow source while another's queue has room; a pump stalled for
                // some milliseconds lets the others run ahead by that many triggers. 1024 (0.1 s at 10 kHz) rides that out.
                Builder = new EventBuilderOptions
                {
                    SourceIds = SourceIds, MissingSourcePolicy = MissingSourcePolicy.SkipEvent, TimeoutEvents = DatagramSkewTriggers,
                },
            };
            var assembler = new DateEventAssembler(_time, new DateWriterOptions { LdcId = 1, GdcId = 1 });
            var pipeline = new ReadoutPipeline(options, receiver.FillAsync, stages.Process, assembler.Assemble, sinks, _time, _log);
            receiver.DiscardPending();
            await StartModulesAsync(ct).ConfigureAwait(false);
            // A failing simulated TCS sends nothing more: end the reading instead of waiting for it (the failure is rethrown below).
            _ = Crate.StartTriggers(new TriggerProgram(SimulatedTriggerMode.Beam, request.Events, request.Spills))
                ?.ContinueWith(_ => pipeline.RequestStop(), CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
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
                _pusher = null;
                publisher?.Dispose();
                pusher?.Dispose();
                await Crate.StopTriggersAsync().ConfigureAwait(false);
                await StopModulesAsync(CancellationToken.None).ConfigureAwait(false);
            }
        }
        catch (Exception e)
        {
            // Not a stop and not a write error (those end the pipeline normally): the run failed; keep its record and files.
            if (trackerMonitor is not null)
                await trackerMonitor.CompleteAsync().ConfigureAwait(false);
            TrackerMonitor = null;
            var failure = e is OperationCanceledException && ct.IsCancellationRequested ? RunStatus.Stopped : RunStatus.Failed;
            await EndRunAsync(started, failure, failure == RunStatus.Stopped ? "operator stop" : e.Message, receiver.Triggers, 0, [], null)
                .ConfigureAwait(false);
            throw;
        }

        if (trackerMonitor is not null)
            await trackerMonitor.CompleteAsync().ConfigureAwait(false);
        TrackerMonitor = null;
        var fileSink = summary.Sinks[0];
        var (status, reason) = file.Fault is { } fault ? (RunStatus.Failed, "write error on the DATE file: " + fault)
            : ct.IsCancellationRequested ? (RunStatus.Stopped, "operator stop")
            // A receiver or builder fault ends the data taking early; a monitor or publisher fault is only listed.
            : summary.Faults.FirstOrDefault(f => f.StartsWith("receiver:", StringComparison.Ordinal) || f.StartsWith("builder:", StringComparison.Ordinal))
                is { } other ? (RunStatus.Failed, other)
            : (RunStatus.Completed, (string?)null);
        long lost = summary.TotalDropped + fileSink.TotalDropped;
        var lostByReason = new SortedDictionary<string, long>(StringComparer.Ordinal);
        foreach (var (why, count) in summary.Dropped.Concat(fileSink.Dropped))
            lostByReason[why.ToString()] = lostByReason.GetValueOrDefault(why.ToString()) + count;
        var report = await EndRunAsync(started, status, reason, receiver.Triggers, lost, summary.Faults, lostByReason).ConfigureAwait(false);
        var box = monitor.SignalBoxEvents;
        // The injected signals are the simulator's truth (none without one), for comparison with the signal box.
        var injected = Crate.Simulator?.InjectedSignals.Select(x => ((uint)x.Spill, (uint)x.Event)).ToArray() ?? [];
        return new PhysicsRunResult(run, summary, receiver.Triggers, injected.Length, injected,
            box.Count, box, monitor.Histogram(), monitor.ElectronPeak(), _latency, monitor.EcalPeakPosition(), monitor.Events,
            stage.ChannelsIn, stage.ChannelsKept, stage.BytesIn, stage.BytesOut, stage.ProblemCounts(), stage.ProblemLocations(),
            stage.MissingModuleMarkers, stage.IncompleteBlocks, started.DataFile, started.MapFile, started.Companions,
            file.BytesWritten, status, reason, started.Record.Directory, Path.Combine(started.Record.Directory, RunReport.TextFileName), report)
        {
            Transport = receiver.Snapshot(),
            Trackers = apvStage is null ? null : new TrackerRunResult(apvStage.Fragments, apvStage.Chips, apvStage.Channels, apvStage.Rejected,
                apvStage.ProblemCounts(), apvStage.ProblemLocations(), trackerMonitor?.ChipIssues ?? 0,
                trackerMonitor?.Monitored ?? 0, trackerMonitor?.NotMonitored ?? 0, trackerMonitor?.Planes() ?? []),
        };
    }

    /// <summary>A run that has its number, its directory and its open DATE file.</summary>
    private sealed record StartedRun(RunRecord Record, DateFileSink Sink, string DataFile, string MapFile, IReadOnlyList<string> Companions);

    /// <summary>
    /// Number from the registry, run directory, DATE file (SOR written) and companions (map, effective setup, extra).
    /// Any failure removes the directory and the registry row, so a failed start leaves nothing and uses no number.
    /// </summary>
    private async Task<StartedRun> StartRunAsync(RunType type, string? note, Func<Stream, Stream>? wrap, IReadOnlyList<CompanionFile> extra, bool bursts,
        CancellationToken ct)
    {
        var record = await Registry.BeginAsync(type, note, ct).ConfigureAwait(false);
        uint run = record.Number;
        string dataFile = Path.Combine(record.Directory, DateFileSink.RawFileName(run));
        string mapName = Path.GetFileNameWithoutExtension(dataFile) + ".map.xml";
        var overrides = new List<KeyValuePair<string, string>>();
        if (_latency != _readout.Latency)
            overrides.Add(new("readout.latency", _latency.ToString(CultureInfo.InvariantCulture)));
        string effective = EffectiveSetup.Apply(_setupText, _setup.SourceName, run, overrides);
        var companions = new List<CompanionFile>
        {
            new(SetupFileName, (stream, c) => WriteText(stream, effective, c)),
            new(mapName, (stream, c) => WriteText(stream, SadcMapWriter.ToXml(Map.MapEntries(), (int)run, (int)run), c)),
        };
        // The trackers' ChipAPV map beside the calorimeters' ChipSADC one (DDD reads every map file of its directory).
        if (Crate.Trackers is { } trackers)
            companions.Add(new(Path.GetFileNameWithoutExtension(dataFile) + ".apv.map.xml",
                (stream, c) => WriteText(stream, ChipApvMap.ToXml(TrackerMapEntries.For(trackers.Layout), (int)run, (int)run), c)));
        companions.AddRange(extra);
        var framing = new DateRunFraming(run, _time, new DateWriterOptions { LdcId = 1, GdcId = 1 }, bursts);
        // The directory must be new: what is already there is not this run's, so it is neither written into nor removed.
        if (Directory.Exists(record.Directory))
        {
            await Registry.DeleteAsync(run, CancellationToken.None).ConfigureAwait(false);
            throw new IOException($"run directory {record.Directory} already exists; run {run} not started");
        }

        try
        {
            Directory.CreateDirectory(record.Directory);
            var sink = await DateFileSink.CreateAsync(dataFile, companions, log: _log, cancellationToken: ct, framing: framing, wrapStream: wrap)
                .ConfigureAwait(false);
            await Registry.MarkRunningAsync(run, ct).ConfigureAwait(false);
            _log.Information("Run {Run} ({Type}) started in {Directory}", run, type, record.Directory);
            return new StartedRun(record, sink, dataFile, Path.Combine(record.Directory, mapName),
                companions.Select(c => Path.Combine(record.Directory, c.FileName)).ToArray());
        }
        catch (Exception e)
        {
            _log.Error(e, "Run {Run} could not start; its directory and registry row are removed", run);
            if (Directory.Exists(record.Directory))
                Directory.Delete(record.Directory, recursive: true);
            await Registry.DeleteAsync(run, CancellationToken.None).ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Closes the DATE file (EOB, EOR), records the end in the registry, writes summary.txt and summary.json.</summary>
    private async Task<RunReport> EndRunAsync(StartedRun started, RunStatus status, string? reason, long triggers, long lost,
        IReadOnlyList<string> faults, IReadOnlyDictionary<string, long>? lostByReason)
    {
        var file = started.Sink;
        await file.FlushAsync(CancellationToken.None).ConfigureAwait(false);
        await file.DisposeAsync().ConfigureAwait(false);
        if (status == RunStatus.Completed && file.Fault is { } fault)
            (status, reason) = (RunStatus.Failed, "write error on the DATE file: " + fault);
        long written = file.EventsOfType(DateEventType.Physics) + file.EventsOfType(DateEventType.Calibration);
        await Registry.CompleteAsync(started.Record.Number, status, written, file.BytesWritten, reason, CancellationToken.None).ConfigureAwait(false);
        var types = new SortedDictionary<string, long>(StringComparer.Ordinal);
        foreach (var type in Enum.GetValues<DateEventType>())
        {
            if (file.EventsOfType(type) is > 0 and var n)
                types[DateFileChecker.Name(type)] = n;
        }

        var lostReasons = lostByReason ?? (lost > 0 ? new Dictionary<string, long> { [DropReason.SinkFailure.ToString()] = lost } : new Dictionary<string, long>());
        var report = new RunReport(started.Record.Number, RunRegistry.Name(started.Record.Type), RunRegistry.Name(status), reason, started.Record.Note,
            started.Record.Start, _time.GetUtcNow(), triggers, written, file.BytesWritten, lost, lostReasons, types, _latency,
            started.Record.Directory, started.DataFile, started.MapFile, Directory.EnumerateFiles(started.Record.Directory).Order(StringComparer.Ordinal).ToArray(),
            faults);
        await report.WriteAsync(CancellationToken.None).ConfigureAwait(false);
        _log.Information("Run {Run} {Status} ({Reason}): {Events} events, {Bytes} bytes, {Lost} lost; summary in {Directory}",
            started.Record.Number, status, reason, written, file.BytesWritten, lost, started.Record.Directory);
        return report;
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

        if (Crate.Trackers is { } trackers)
            await trackers.StartAsync(ct).ConfigureAwait(false);
    }

    private async Task StopModulesAsync(CancellationToken ct)
    {
        foreach (var driver in Crate.Drivers)
            await driver.StopAsync(ct).ConfigureAwait(false);
        if (Crate.Trackers is { } trackers)
            await trackers.StopAsync(ct).ConfigureAwait(false);
    }

    /// <summary>Bytes of the largest latch-all APV fragment of the setup (every ADC with its APVs, CM words); 0 without trackers.</summary>
    private int LargestApvFragment() => Crate.Trackers is not { } t ? 0
        : _readout.Sources.Where(s => s.Kind == ReadoutSourceKind.Apv).Select(s => (3 * 4) + s.Adcs.Sum(a =>
            4 * ApvBlockWriter.LatchAllAdcWords(Math.Max(1, t.Apvs.Count(x => x.SourceId == s.SourceId && x.AdcId == a.AdcId)), true))).DefaultIfEmpty(0).Max();

    /// <summary>Every S-Link source of the setup (MSADC and APV): what the event builder waits for.</summary>
    private IReadOnlyList<int> SourceIds => [.. _readout.Sources.Select(s => s.SourceId)];

    /// <summary>Decoder options of an APV source: the layout's sparse variant and the ADCs it must deliver.</summary>
    private ApvDecoderOptions? ApvOptions(int sourceId) => Crate.Trackers is { } t
        ? new ApvDecoderOptions { SparseVariant = t.Layout.SparseVariant, ExpectedAdcIds = t.Layout.AdcIds(sourceId) }
        : null;
}
