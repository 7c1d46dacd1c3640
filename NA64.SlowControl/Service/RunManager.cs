using System.Globalization;
using NA64.Readout.Pipeline;
using NA64.Readout.Sinks;
using NA64.SlowControl.Readout;
using NA64.SlowControl.Runs;
using Serilog;

namespace NA64.SlowControl.Service;

/// <summary>Body of <c>POST /api/runs</c>.</summary>
/// <param name="Type"><c>physics</c> or <c>pedestal</c>.</param>
/// <param name="Events">Physics: stop after N triggers; pedestal: random triggers (default the setup's).</param>
/// <param name="Spills">Physics: stop after N spills (exclusive with Events).</param>
/// <param name="Latency">MSADC latency for this run (sample clocks), default the setup's.</param>
/// <param name="Zmq">Also publish events on this ZeroMQ address (monitors).</param>
/// <param name="ZmqPush">Also push every event to event builders pulling from this address (lossless).</param>
/// <param name="ZmqStall">What the push does when no event builder has room: <c>drop</c> after <paramref name="ZmqTimeoutSeconds"/>
/// (default; counted) or <c>wait</c> (nothing lost; the run waits).</param>
public sealed record RunStartRequest(string Type = "physics", long? Events = null, int? Spills = null, int? Latency = null,
    string? Zmq = null, string? ZmqPush = null, string ZmqStall = "drop", double ZmqTimeoutSeconds = 5);

/// <summary>A run as the API shows it, live while it goes and final after.</summary>
public sealed record RunView(
    uint? Number,
    string Type,
    string Status,
    DateTimeOffset Started,
    DateTimeOffset? Ended,
    long EventsIn,
    long EventsBuilt,
    long Dropped,
    double EventsPerSecond,
    double MegabytesInPerSecond,
    string? Reason,
    string? Directory,
    string? DataFile,
    string? Summary)
{
    /// <summary>The push to event builders is waiting for room right now (seconds so far), null without a push.</summary>
    public double? PushWaitingSeconds { get; init; }

    /// <summary>Events the push dropped so far (no room within its timeout).</summary>
    public long PushDroppedEvents { get; init; }

    /// <summary>The tracker planes so far (hits, clusters, efficiency, resolution, ghosts), null without trackers.</summary>
    public IReadOnlyList<Readout.TrackerPlaneResult>? Trackers { get; init; }
}

/// <summary>
/// The readout runs of the service: one at a time (one trigger system, one set of modules), started, watched and
/// stopped through the API. Numbers come from the data directory's <see cref="RunRegistry"/> (shared with any other
/// process on that directory); the readout itself (<see cref="ReadoutRun"/>, its modules and pedestal tables) lives as
/// long as the service. This class owns each run's life and its live counters.
/// </summary>
public sealed class RunManager : IAsyncDisposable
{
    private readonly ServiceContext _context;
    private readonly LiveFeed _feed;
    private readonly ILogger _log;
    private readonly Lock _gate = new();
    private ActiveRun? _active;
    private RunView? _last;
    private RunRegistry? _registry;
    private ReadoutRun? _readout;

    public RunManager(ServiceContext context, LiveFeed feed, ILogger log)
    {
        _context = context;
        _feed = feed;
        _log = log.ForContext<RunManager>();
    }

    /// <summary>The run going on, or null.</summary>
    public RunView? Current
    {
        get
        {
            lock (_gate)
                return _active?.View();
        }
    }

    /// <summary>The run going on with its number from the registry as soon as it has one, or null.</summary>
    public async Task<RunView?> CurrentAsync(CancellationToken ct)
    {
        ActiveRun? active;
        lock (_gate)
            active = _active;
        if (active is null)
            return null;
        if (active.Number is null && Registry() is { } registry)
        {
            var rows = await registry.ListAsync(ct).ConfigureAwait(false);
            // A physics run may take the pedestal run it needs first: its number is that of its own type's row.
            var type = active.Type == "pedestal" ? RunType.Pedestal : RunType.Physics;
            if (rows.LastOrDefault(r => r.Type == type && r.Status is RunStatus.Starting or RunStatus.Running) is { } row)
            {
                active.Number ??= row.Number;
                active.Directory ??= row.Directory;
            }
        }

        return active.View();
    }

    /// <summary>The run that ended last in this service, with its summary, or null.</summary>
    public RunView? Last
    {
        get
        {
            lock (_gate)
                return _last;
        }
    }

    /// <summary>The task of the run going on (tests await it), or a completed task.</summary>
    public Task Completion
    {
        get
        {
            lock (_gate)
                return _active?.Task ?? Task.CompletedTask;
        }
    }

    /// <summary>Every run of the data directory's registry, oldest first; the one going on with its live counters.</summary>
    public async Task<IReadOnlyList<RunView>> ListAsync(CancellationToken ct)
    {
        if (Registry() is not { } registry)
            return [];
        var rows = await registry.ListAsync(ct).ConfigureAwait(false);
        var live = Current;
        // The run going on is the registry's starting or running row; its live counters stand for the row's.
        return rows.Select(r => live is not null && (live.Number == r.Number || (live.Number is null && r.Status is RunStatus.Starting or RunStatus.Running))
            ? live with { Number = r.Number, Directory = r.Directory } : FromRecord(r, null)).ToList();
    }

    /// <summary>One run with its summary text (null when unknown).</summary>
    public async Task<RunView?> GetAsync(uint number, CancellationToken ct)
    {
        if (Current is { } live && live.Number == number)
            return live;
        if (Registry() is not { } registry || await registry.GetAsync(number, ct).ConfigureAwait(false) is not { } row)
            return null;
        string summary = Path.Combine(row.Directory, RunReport.TextFileName);
        return FromRecord(row, File.Exists(summary) ? await File.ReadAllTextAsync(summary, ct).ConfigureAwait(false) : null);
    }

    /// <summary>Checks the request and starts the run in the background; a second run while one goes is refused.</summary>
    public RunView Start(RunStartRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        Validate(request);
        var setup = _context.Setup.Readout ?? throw new RunRefusedException(
            $"setup '{_context.Setup.SourceName}' has no 'readout:' section: no modules to read out");
        lock (_gate)
        {
            if (_active is { } running)
                throw new RunRefusedException(string.Create(CultureInfo.InvariantCulture,
                    $"{running.Type} run {running.Number?.ToString(CultureInfo.InvariantCulture) ?? ""} is going (started {running.Started:HH:mm:ss} UTC); stop it first"));
            var active = new ActiveRun(request.Type, TimeProvider.System.GetUtcNow());
            _active = active;
            active.Task = Task.Run(() => RunAsync(active, request, setup.Latency));
            return active.View();
        }
    }

    /// <summary>Operator stop: the run ends as stopped, its file closed properly (EOB, EOR).</summary>
    public async Task<RunView?> StopAsync()
    {
        ActiveRun? active;
        lock (_gate)
            active = _active;
        if (active is null)
            return null;
        active.Status = "stopping";
        await active.Stop.CancelAsync().ConfigureAwait(false);
        await active.Task.ConfigureAwait(false);
        return active.Final ?? active.View();
    }

    private static void Validate(RunStartRequest r)
    {
        if (r.Type is not ("physics" or "pedestal"))
            throw new ArgumentOutOfRangeException("type", r.Type, $"type = '{r.Type}' refused: physics or pedestal");
        if (r.Type == "physics" && r.Events is null == r.Spills is null)
            throw new ArgumentOutOfRangeException("events", r.Events, "give exactly one of events or spills for a physics run");
        if (r.Events is <= 0)
            throw new ArgumentOutOfRangeException("events", r.Events, string.Create(CultureInfo.InvariantCulture, $"events = {r.Events} refused: at least 1"));
        if (r.Spills is <= 0)
            throw new ArgumentOutOfRangeException("spills", r.Spills, string.Create(CultureInfo.InvariantCulture, $"spills = {r.Spills} refused: at least 1"));
        if (r.Type == "pedestal" && (r.Spills is not null || r.Zmq is not null || r.ZmqPush is not null))
            throw new ArgumentOutOfRangeException("type", r.Type, "a pedestal run takes only events and latency");
        if (r.Type == "pedestal" && r.Events is > 10_000_000)
            throw new ArgumentOutOfRangeException("events", r.Events, string.Create(CultureInfo.InvariantCulture, $"events = {r.Events} refused: at most 10000000 for a pedestal run"));
        if (r.ZmqStall is not ("drop" or "wait"))
            throw new ArgumentOutOfRangeException("zmqStall", r.ZmqStall, $"zmqStall = '{r.ZmqStall}' refused: drop or wait");
        if (!double.IsFinite(r.ZmqTimeoutSeconds) || r.ZmqTimeoutSeconds is < 0.001 or > 3600)
            throw new ArgumentOutOfRangeException("zmqTimeoutSeconds", r.ZmqTimeoutSeconds, string.Create(CultureInfo.InvariantCulture,
                $"zmqTimeoutSeconds = {r.ZmqTimeoutSeconds} refused: 0.001..3600"));
        if (r.Latency is < 0 or > Hardware.Digitizers.Msadc.MsadcRegisters.MaxLatency)
            throw new ArgumentOutOfRangeException("latency", r.Latency, string.Create(CultureInfo.InvariantCulture,
                $"latency = {r.Latency} refused: 0..{Hardware.Digitizers.Msadc.MsadcRegisters.MaxLatency} sample clocks"));
    }

    private RunRegistry? Registry()
    {
        if (_context.Setup.Readout is not { } readout)
            return null;
        lock (_gate)
            return _registry ??= RunRegistry.Open(_context.DataDirectory, readout.RunNumber, TimeProvider.System, _log);
    }

    /// <summary>The readout hardware of the service (modules, their simulators when simulated), opened on first use.</summary>
    public SimulatedMsadcCrate? Crate => _context.Setup.Readout is null ? null : Readout().Crate;

    private ReadoutRun Readout()
    {
        var registry = Registry()!;
        lock (_gate)
        {
            // Readout time is real time: the generator has its own simulated clock, and module reply timeouts must not shrink.
            return _readout ??= new ReadoutRun(_context.Setup, _context.SetupText, TimeProvider.System, _log, _context.DataDirectory, registry);
        }
    }

    private async Task RunAsync(ActiveRun active, RunStartRequest request, int setupLatency)
    {
        var ct = active.Stop.Token;
        try
        {
            var run = Readout();
            run.Latency = request.Latency ?? setupLatency;
            active.Status = "running";
            Publish(active);
            string? summaryFile;
            if (request.Type == "pedestal")
            {
                var result = await run.PedestalRunAsync(request.Events is { } n ? (int)n : null, ct,
                    new Progress<int>(triggers => { active.EventsIn = active.EventsBuilt = triggers; Publish(active); })).ConfigureAwait(false);
                active.Number = result.RunNumber;
                active.EventsIn = active.EventsBuilt = result.Events;
                active.Status = RunRegistry.Name(result.Status);
                active.Reason = result.Reason;
                active.DataFile = result.DataFile;
                summaryFile = result.SummaryFile;
                if (result.Status == RunStatus.Completed)
                    await File.AppendAllTextAsync(summaryFile, "\n" + MonitorReport.Render(c => MonitorReport.Pedestals(c, run, result)), CancellationToken.None).ConfigureAwait(false);
            }
            else
            {
                var result = await run.PhysicsRunAsync(new PhysicsRunRequest
                {
                    Events = request.Events,
                    Spills = request.Spills,
                    ZmqAddress = request.Zmq,
                    ZmqPushAddress = request.ZmqPush,
                    ZmqStallPolicy = request.ZmqStall == "wait" ? NetMqStallPolicy.WaitForever : NetMqStallPolicy.DropAfterTimeout,
                    ZmqPushTimeout = TimeSpan.FromSeconds(request.ZmqTimeoutSeconds),
                    Progress = new Progress(this, active, run),
                    ProgressInterval = TimeSpan.FromMilliseconds(250),
                }, ct).ConfigureAwait(false);
                active.Number = result.RunNumber;
                active.Take(result.Pipeline);
                active.Trackers = result.Trackers?.Planes;
                active.Status = RunRegistry.Name(result.Status);
                active.Reason = result.Reason;
                active.DataFile = result.DataFile;
                summaryFile = result.SummaryFile;
                await File.AppendAllTextAsync(summaryFile, "\n" + MonitorReport.Render(c => MonitorReport.Physics(c, result, run.Readout)), CancellationToken.None).ConfigureAwait(false);
            }

            active.Summary = await File.ReadAllTextAsync(summaryFile, CancellationToken.None).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // A pedestal run stopped by the operator ends here (its file closed and its row marked stopped).
            active.Status = "stopped";
            active.Reason = "operator stop";
        }
        catch (Exception e) when (e is IOException or InvalidDataException or InvalidOperationException or ArgumentException
                                      or NA64.Hardware.Errors.DeviceException or Microsoft.Data.Sqlite.SqliteException)
        {
            active.Status = "failed";
            active.Reason = e.Message;
            _log.Error(e, "Run failed: {Reason}", e.Message);
        }
        finally
        {
            active.Ended = TimeProvider.System.GetUtcNow();
            active.Final = active.View();
            lock (_gate)
            {
                _active = null;
                _last = active.Final;
            }

            Publish(active);
            active.Stop.Dispose();
        }
    }

    private static RunView FromRecord(RunRecord r, string? summary) => new(r.Number, RunRegistry.Name(r.Type), RunRegistry.Name(r.Status),
        r.Start, r.End, r.Events, r.Events, 0, 0, 0, r.Reason, r.Directory, null, summary);

    private void Publish(ActiveRun active) => _feed.Publish("run", active.View());

    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        if (_readout is not null)
            await _readout.DisposeAsync().ConfigureAwait(false);
        _registry?.Dispose();
    }

    private sealed class Progress(RunManager manager, ActiveRun active, ReadoutRun run) : IProgress<RunSummary>
    {
        public void Report(RunSummary value)
        {
            active.Take(value);
            active.Trackers = run.TrackerMonitor?.Planes();
            if (run.PushCounters is { } push)
            {
                active.PushWaiting = push.Waiting ? push.WaitingFor.TotalSeconds : null;
                active.PushDropped = push.DroppedEvents;
            }

            manager.Publish(active);
        }
    }

    private sealed class ActiveRun(string type, DateTimeOffset started)
    {
        public string Type { get; } = type;
        public DateTimeOffset Started { get; } = started;
        public CancellationTokenSource Stop { get; } = new();
        public Task Task { get; set; } = Task.CompletedTask;
        public RunView? Final { get; set; }
        public volatile string Status = "starting";
        public uint? Number;
        public DateTimeOffset? Ended;
        public long EventsIn;
        public long EventsBuilt;
        public long Dropped;
        public double EventsPerSecond;
        public double MegabytesInPerSecond;
        public string? Reason;
        public string? DataFile;
        public string? Directory;
        public double? PushWaiting;
        public long PushDropped;
        public string? Summary;
        public IReadOnlyList<Readout.TrackerPlaneResult>? Trackers;

        public void Take(RunSummary s)
        {
            EventsIn = s.EventsIn;
            EventsBuilt = s.EventsBuilt;
            Dropped = s.TotalDropped;
            EventsPerSecond = s.EventsPerSecond;
            MegabytesInPerSecond = s.MegabytesInPerSecond;
        }

        public RunView View() => new(Number, Type, Status, Started, Ended, EventsIn, EventsBuilt, Dropped, EventsPerSecond,
            MegabytesInPerSecond, Reason, DataFile is null ? Directory : Path.GetDirectoryName(DataFile), DataFile, Summary)
        {
            PushWaitingSeconds = PushWaiting,
            PushDroppedEvents = PushDropped,
            Trackers = Trackers,
        };
    }
}

/// <summary>A run that cannot start now (one is going, no readout in the setup): nothing was created.</summary>
public sealed class RunRefusedException(string message) : InvalidOperationException(message);
