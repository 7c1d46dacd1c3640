using System.Globalization;
using NA64.Hardware.Digitizers.Msadc;
using NA64.Hardware.Digitizers.Msadc.Format;
using NA64.Simulators.Physics;
using Serilog;

namespace NA64.Simulators.Digitizers.Msadc;

/// <summary>What the simulated trigger control system (TCS) fires on, as a shifter selects it.</summary>
public enum SimulatedTriggerMode
{
    /// <summary>Physics triggers from the beam (the physics generator, spill structure included).</summary>
    Beam,

    /// <summary>Random triggers with no beam: every channel reads pedestal and noise only (a pedestal run). Spill 0.</summary>
    RandomNoBeam,
}

/// <summary>
/// What the simulated TCS fires between <see cref="MsadcCrateSimulator.StartTriggers"/> and its end: a real TCS is set up
/// the same way before a run (trigger type, and for a fixed-length run the number of triggers or spills).
/// </summary>
/// <param name="Triggers">Stop after this many triggers; null: no limit.</param>
/// <param name="Spills">Beam only: stop after this many spills (from the spill of the first trigger); the first trigger
/// of the spill after them is still sent, as the sign that the last spill is over. Null: no limit.</param>
public sealed record TriggerProgram(SimulatedTriggerMode Mode, long? Triggers = null, int? Spills = null);

/// <summary>
/// The simulated trigger system and MSADC crate of NA64 behind the same datagram transport as the real modules: while
/// triggers are started it takes each trigger from the physics generator in simulated time (or a random trigger with no
/// beam), lets every S-Link source write its fragment (<see cref="MsadcSourceSimulator"/>: only running modules answer),
/// and sends each fragment as one datagram on its source's data channel. On an in-memory bounded channel the send waits
/// for room (nothing lost, deterministic); on UDP what the network drops is lost, and the host counts the gaps.
/// </summary>
public sealed class MsadcCrateSimulator : IAsyncDisposable
{
    private readonly (ISimulatedSource Source, IDatagramChannel Data)[] _sources;
    private readonly ILogger _log;
    private readonly short[] _block;
    private readonly byte[] _fragment;
    private readonly List<(int Spill, int Event)> _signals = [];
    private readonly object _lock = new();
    private CancellationTokenSource? _stop;
    private Task _running = Task.CompletedTask;
    private long _triggers;
    private long _sent;

    public MsadcCrateSimulator(Na64EventGenerator generator, IReadOnlyList<(MsadcSourceSimulator Source, IDatagramChannel Data)> sources, ILogger? log = null)
        : this(generator, sources?.Select(s => ((ISimulatedSource)s.Source, s.Data)).ToArray()!, log)
    {
    }

    /// <summary>A crate of any simulated sources (MSADC and GeSiCA): one TCS, the same trigger and event to every source.</summary>
    public MsadcCrateSimulator(Na64EventGenerator generator, IReadOnlyList<(ISimulatedSource Source, IDatagramChannel Data)> sources, ILogger? log = null)
    {
        Generator = generator ?? throw new ArgumentNullException(nameof(generator));
        ArgumentNullException.ThrowIfNull(sources);
        if (sources.Count == 0)
            throw new ArgumentException("a crate needs at least one S-Link source", nameof(sources));
        if (sources.Select(s => s.Source.SourceId).Distinct().Count() != sources.Count)
            throw new ArgumentException("a source id is listed twice", nameof(sources));
        _sources = [.. sources];
        _log = log ?? Serilog.Core.Logger.None;
        _block = new short[generator.BlockLength];
        _fragment = new byte[_sources.Max(s => s.Source.MaxFragmentBytes)];
    }

    public Na64EventGenerator Generator { get; }

    /// <summary>The MSADC sources of the crate.</summary>
    public IReadOnlyList<MsadcSourceSimulator> Sources => [.. _sources.Select(s => s.Source).OfType<MsadcSourceSimulator>()];

    /// <summary>Every source of the crate, MSADC and others, in the order given.</summary>
    public IReadOnlyList<ISimulatedSource> AllSources => [.. _sources.Select(s => s.Source)];

    public MsadcSourceSimulator Source(int sourceId) =>
        SimulatedSource(sourceId) as MsadcSourceSimulator ?? throw new ArgumentOutOfRangeException(nameof(sourceId), sourceId,
            string.Create(CultureInfo.InvariantCulture, $"source {sourceId} of the simulated crate is not an MSADC source"));

    public ISimulatedSource SimulatedSource(int sourceId) =>
        _sources.FirstOrDefault(s => s.Source.SourceId == sourceId).Source ?? throw new ArgumentOutOfRangeException(nameof(sourceId), sourceId,
            string.Create(CultureInfo.InvariantCulture, $"the simulated crate has no source {sourceId}"));

    /// <summary>Called before each trigger with its index in the program (0-based): fault injection in tests. Runs on the trigger task.</summary>
    public Action<long, MsadcCrateSimulator>? BeforeTrigger { get; set; }

    /// <summary>Called with each beam trigger's truth and the generator's sample block [channel][sample] (tests; the array is reused).</summary>
    public Action<EventTruth, short[]>? OnTruth { get; set; }

    /// <summary>Triggers fired by the current (or last) program, the end-of-spills trigger not included.</summary>
    public long Triggers => Interlocked.Read(ref _triggers);

    /// <summary>Datagrams sent since the crate was built.</summary>
    public long DatagramsSent => Interlocked.Read(ref _sent);

    /// <summary>(spill, event in spill) of the invisible-mode signals the generator injected in the current (or last) program: the truth.</summary>
    public IReadOnlyList<(int Spill, int Event)> InjectedSignals
    {
        get
        {
            lock (_lock)
                return [.. _signals];
        }
    }

    /// <summary>Starts firing <paramref name="program"/> on a task of its own; refused while a program is running.</summary>
    public Task StartTriggers(TriggerProgram program)
    {
        ArgumentNullException.ThrowIfNull(program);
        if (program.Triggers is < 1)
            throw new ArgumentOutOfRangeException(nameof(program), program.Triggers, "Triggers must be at least 1");
        if (program.Spills is < 1)
            throw new ArgumentOutOfRangeException(nameof(program), program.Spills, "Spills must be at least 1");
        if (!_running.IsCompleted)
            throw new InvalidOperationException("the simulated TCS is already firing a program; stop it first");
        _stop?.Dispose();
        _stop = new CancellationTokenSource();
        Interlocked.Exchange(ref _triggers, 0);
        lock (_lock)
            _signals.Clear();
        var token = _stop.Token;
        _log.Information("Simulated TCS: {Mode} triggers, limit {Triggers} triggers / {Spills} spills", program.Mode, program.Triggers, program.Spills);
        _running = Task.Run(() => FireAsync(program, token), CancellationToken.None);
        return _running;
    }

    /// <summary>Stops firing (a send waiting for room is abandoned) and waits for the trigger task; rethrows its failure.</summary>
    public async Task StopTriggersAsync()
    {
        if (_stop is { } stop)
            await stop.CancelAsync().ConfigureAwait(false);
        await _running.ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        if (_stop is { } stop)
            await stop.CancelAsync().ConfigureAwait(false);
        try
        {
            await _running.ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            // Disposal must finish; the failure was already seen by whoever awaited the program, and is logged here.
            _log.Error(ex, "Simulated TCS program had failed");
        }

        _stop?.Dispose();
    }

    private async Task FireAsync(TriggerProgram program, CancellationToken ct)
    {
        int samples = Generator.SamplesPerChannel;
        int firstSpill = -1;
        try
        {
            while (!ct.IsCancellationRequested)
            {
                long index = Interlocked.Read(ref _triggers);
                if (program.Triggers is { } limit && index >= limit)
                    break;
                BeforeTrigger?.Invoke(index, this);
                int eventNumber;
                int spill;
                EventTruth? eventTruth = null;
                bool last = false;
                if (program.Mode == SimulatedTriggerMode.Beam)
                {
                    var truth = Generator.Next(_block);
                    eventTruth = truth;
                    OnTruth?.Invoke(truth, _block);
                    if (firstSpill < 0)
                        firstSpill = truth.Spill;
                    last = program.Spills is { } spills && truth.Spill >= firstSpill + spills;
                    if (!last && truth.IsSignal)
                    {
                        lock (_lock)
                            _signals.Add((truth.Spill, truth.EventInSpill));
                    }

                    eventNumber = truth.EventInSpill;
                    spill = SlinkHeader.SpillFromBurst(truth.Spill);
                }
                else
                {
                    // No beam: the synthesizer's accumulator stays empty, so the samples are pedestal + noise only.
                    Generator.Synthesizer.Clear();
                    Generator.Synthesizer.Digitize(_block);
                    eventNumber = (int)(index % SlinkHeader.MaxEventNumber) + 1;
                    spill = 0;
                }

                if (!last)
                    Interlocked.Increment(ref _triggers);
                foreach (var (source, data) in _sources)
                {
                    int length = source.WriteFragment(eventTruth, _block, samples, eventNumber, spill, _fragment);
                    if (length == 0)
                        continue;   // no module of this source is running: it sends nothing
                    await data.SendAsync(_fragment.AsMemory(0, length), ct).ConfigureAwait(false);
                    Interlocked.Increment(ref _sent);
                }

                if (last)
                    break;

                // Over UDP a send never waits, so without this the loop would keep its thread for the whole run; one
                // hop through the thread pool per trigger (about a microsecond) lets the host's tasks in the same process run.
                await Task.Yield();
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // Stopped by the host (end of run): the fragment being sent is abandoned.
        }

        _log.Information("Simulated TCS stopped after {Triggers} triggers", Interlocked.Read(ref _triggers));
    }
}
