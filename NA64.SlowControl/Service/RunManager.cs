using System.Globalization;
using NA64.Readout.Pipeline;
using NA64.SlowControl.Readout;
using Serilog;

namespace NA64.SlowControl.Service;

/// <summary>Body of <c>POST /api/runs</c>.</summary>
/// <param name="Type"><c>physics</c> or <c>pedestal</c>.</param>
/// <param name="Events">Physics: stop after N triggers; pedestal: random triggers (default the setup's).</param>
/// <param name="Spills">Physics: stop after N spills (exclusive with Events).</param>
/// <param name="Latency">MSADC latency for this run (sample clocks), default the setup's.</param>
/// <param name="Zmq">Also publish events on this ZeroMQ address (monitors).</param>
/// <param name="ZmqPush">Also push every event to event builders pulling from this address (lossless).</param>
public sealed record RunStartRequest(string Type = "physics", long? Events = null, int? Spills = null, int? Latency = null,
    string? Zmq = null, string? ZmqPush = null);

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
    string? Summary);

/// <summary>
/// The readout runs of the service: one at a time (one trigger system, one set of modules), started, watched and
/// stopped through the API. The run itself is <see cref="ReadoutRun"/>; this class owns its life and its live counters.
/// </summary>
public sealed class RunManager : IAsyncDisposable
{
    private readonly ServiceContext _context;
    private readonly LiveFeed _feed;
    private readonly ILogger _log;
    private readonly Lock _gate = new();
    private ActiveRun? _active;
    private readonly List<RunView> _finished = [];

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

    public IReadOnlyList<RunView> Finished()
    {
        lock (_gate)
            return [.. _finished];
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

    /// <summary>Checks the request and starts the run in the background; a second run while one goes is refused.</summary>
    public RunView Start(RunStartRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        Validate(request);
        var readout = _context.Setup.Readout ?? throw new RunRefusedException(
            $"setup '{_context.Setup.SourceName}' has no 'readout:' section: no modules to read out");
        lock (_gate)
        {
            if (_active is { } running)
                throw new RunRefusedException(string.Create(CultureInfo.InvariantCulture,
                    $"a {running.Type} run is already going (started {running.Started:HH:mm:ss}); stop it first"));
            var active = new ActiveRun(request.Type, _context.Time.GetUtcNow());
            _active = active;
            active.Task = Task.Run(() => RunAsync(active, request, readout.Latency));
            return active.View();
        }
    }

    /// <summary>Operator stop: the run ends as stopped, its file closed properly.</summary>
    public async Task<RunView?> StopAsync()
    {
        ActiveRun? active;
        lock (_gate)
            active = _active;
        if (active is null)
            return null;
        active.Status = "stopping";
        await active.Stop.CancelAsync().ConfigureAwait(false);
        try
        {
            await active.Task.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // The run reports its own end; the stop only waits for it.
        }

        return active.View();
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
        if (r.Events is > int.MaxValue && r.Type == "pedestal")
            throw new ArgumentOutOfRangeException("events", r.Events, string.Create(CultureInfo.InvariantCulture, $"events = {r.Events} refused: at most {int.MaxValue} for a pedestal run"));
    }

    private async Task RunAsync(ActiveRun active, RunStartRequest request, int setupLatency)
    {
        var ct = active.Stop.Token;
        try
        {
            await using var run = new ReadoutRun(_context.Setup, _context.SetupText, TimeProvider.System, _log,
                Path.Combine(_context.DataDirectory, "runs"));
            run.Latency = request.Latency ?? setupLatency;
            active.Status = "running";
            Publish(active);
            if (request.Type == "pedestal")
            {
                var result = await run.PedestalRunAsync(request.Events is { } n ? (int)n : null, ct).ConfigureAwait(false);
                active.EventsIn = active.EventsBuilt = result.Events;
                active.Summary = string.Create(CultureInfo.InvariantCulture,
                    $"pedestal run: {result.Events} random triggers, {result.DeadChannels} dead and {result.NoisyChannels} noisy channels, {result.RegistersVerified} registers downloaded and verified; tables: {string.Join(", ", result.Files)}");
            }
            else
            {
                if (run.Pedestals is null && !run.TryLoadPedestals())
                    await run.PedestalRunAsync(null, ct).ConfigureAwait(false);
                var result = await run.PhysicsRunAsync(new PhysicsRunRequest
                {
                    Events = request.Events,
                    Spills = request.Spills,
                    ZmqAddress = request.Zmq,
                    ZmqPushAddress = request.ZmqPush,
                    Progress = new Progress(this, active),
                    ProgressInterval = TimeSpan.FromMilliseconds(250),
                }, ct).ConfigureAwait(false);
                active.Number = result.RunNumber;
                active.Take(result.Pipeline);
                active.DataFile = result.DataFile;
                active.Summary = string.Create(CultureInfo.InvariantCulture,
                    $"run {result.RunNumber}: {result.Triggers} triggers, {result.Pipeline.EventsBuilt} events built, {result.Pipeline.TotalDropped} dropped; electron peak {result.ElectronPeak.Mean:0.00} GeV");
            }

            active.Status = ct.IsCancellationRequested ? "stopped" : "completed";
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            active.Status = "stopped";
            active.Reason = "operator stop";
        }
        catch (Exception e) when (e is IOException or InvalidDataException or InvalidOperationException or ArgumentException or NA64.Hardware.Errors.DeviceException)
        {
            active.Status = "failed";
            active.Reason = e.Message;
            _log.Error(e, "Run failed: {Reason}", e.Message);
        }
        finally
        {
            active.Ended = _context.Time.GetUtcNow();
            lock (_gate)
            {
                _finished.Add(active.View());
                _active = null;
            }

            Publish(active);
            active.Stop.Dispose();
        }
    }

    private void Publish(ActiveRun active) => _feed.Publish("run", active.View());

    public async ValueTask DisposeAsync() => await StopAsync().ConfigureAwait(false);

    private sealed class Progress(RunManager manager, ActiveRun active) : IProgress<RunSummary>
    {
        public void Report(RunSummary value)
        {
            active.Take(value);
            manager.Publish(active);
        }
    }

    private sealed class ActiveRun(string type, DateTimeOffset started)
    {
        public string Type { get; } = type;
        public DateTimeOffset Started { get; } = started;
        public CancellationTokenSource Stop { get; } = new();
        public Task Task { get; set; } = Task.CompletedTask;
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
        public string? Summary;

        public void Take(RunSummary s)
        {
            EventsIn = s.EventsIn;
            EventsBuilt = s.EventsBuilt;
            Dropped = s.TotalDropped;
            EventsPerSecond = s.EventsPerSecond;
            MegabytesInPerSecond = s.MegabytesInPerSecond;
        }

        public RunView View() => new(Number, Type, Status, Started, Ended, EventsIn, EventsBuilt, Dropped, EventsPerSecond,
            MegabytesInPerSecond, Reason, DataFile is null ? null : Path.GetDirectoryName(DataFile), DataFile, Summary);
    }
}

/// <summary>A run that cannot start now (one is going, no readout in the setup): nothing was created.</summary>
public sealed class RunRefusedException(string message) : InvalidOperationException(message);
