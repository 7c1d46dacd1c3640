using Microsoft.Extensions.Time.Testing;
using NA64.Hardware.Magnets;
using NA64.Hardware.Transport;
using NA64.Simulators.Magnets.Danfysik8500;
using NA64.Simulators.Serving;
using NA64.SlowControl.Magnets;
using NA64.SlowControl.Magnets.Danfysik8500;
using NA64.SlowControl.Setup;

namespace NA64.SlowControl.Tests.Magnets;

/// <summary>
/// The built-in setup's BENCH-DFK (a Danfysik 8500 whose setup says it slews at 20 A/s) as the service builds it: the
/// kind's simulated unit and the kind's driver over an in-memory line, a controller and poller, all on one
/// <see cref="FakeTimeProvider"/>. Every setpoint and polarity request is recorded with its time; <see cref="RunAsync"/>
/// polls once per poll period and samples the simulator's true current every 10 ms in between.
/// </summary>
internal sealed class DanfysikSlewRig : IAsyncDisposable
{
    public const string Magnet = "BENCH-DFK";

    /// <summary>1 s polls, 1 A tolerance, 5 s stable, 5 A/s by default (20 A/s allowed), 10 s at zero.</summary>
    public static readonly MagnetSettings Settings = new(TimeSpan.FromSeconds(1), 1.0, TimeSpan.FromSeconds(5), 5, 20,
        TimeSpan.FromSeconds(10), MagnetSafeAction.SwitchOff, 3);

    private static readonly TimeSpan SampleStep = TimeSpan.FromMilliseconds(10);

    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _serving = [];
    private readonly LineTransport _transport;

    public DanfysikSlewRig(string? setupYaml = null)
    {
        var setup = setupYaml is null ? SetupLoader.LoadDefault() : SetupLoader.LoadFromText(setupYaml, "test");
        Setup = setup.Magnets.Single(m => m.Name == Magnet);
        var kind = Danfysik8500Kind.Registration;
        var port = kind.CreateSimulator([Setup], Time, Serilog.Core.Logger.None);
        Unit = Danfysik8500Kind.SimulatedUnit(port, Magnet);
        var server = new LineDeviceServer(port.Device, Time);
        _transport = new LineTransport(new InMemoryEndpoint(() =>
        {
            var (host, device) = InMemoryDuplex.CreatePair();
            _serving.Add(Task.Run(async () =>
            {
                await server.ServeAsync(device, _stop.Token);
                await device.DisposeAsync();
            }));
            return host;
        }), kind.Framing, Time);
        Supply = new RecordingSupply(kind.CreateSupply(Setup, _transport, Time, Serilog.Core.Logger.None), Time);
        Controller = new MagnetController(Supply, Settings, time: Time);
        Poller = new MagnetPoller(Controller, Time);
    }

    public FakeTimeProvider Time { get; } = new(new DateTimeOffset(2026, 9, 1, 8, 0, 0, TimeSpan.Zero));
    public MagnetSetup Setup { get; }
    public Danfysik8500Model Unit { get; }
    public RecordingSupply Supply { get; }
    public MagnetController Controller { get; }
    public MagnetPoller Poller { get; }

    /// <summary>The simulator's true current, signed by its polarity, every 10 ms of <see cref="RunAsync"/>.</summary>
    public List<(DateTimeOffset Time, double Amps)> Samples { get; } = [];

    public double TrueSignedAmps => MagnetController.Signed(Unit.Amps, Unit.Polarity);

    /// <summary>Polls every poll period, sampling the true current in between, until <paramref name="done"/> after a poll.</summary>
    public async Task RunAsync(Func<bool> done, TimeSpan max)
    {
        var start = Time.GetUtcNow();
        var nextPoll = start + Settings.PollPeriod;
        while (true)
        {
            var now = Time.GetUtcNow();
            if (now - start > max)
                throw new Xunit.Sdk.XunitException($"not done after {max}: {Controller.State}, I = {TrueSignedAmps} A, {Controller.Snapshot()}");
            var step = nextPoll - now < SampleStep ? nextPoll - now : SampleStep;
            Time.Advance(step);
            Samples.Add((Time.GetUtcNow(), TrueSignedAmps));
            if (Time.GetUtcNow() < nextPoll) continue;
            await Poller.PollOnceAsync();
            nextPoll += Settings.PollPeriod;
            if (done()) return;
        }
    }

    public Task RunUntil(MagnetState state, TimeSpan max) => RunAsync(() => Controller.State == state, max);

    public async ValueTask DisposeAsync()
    {
        await _transport.DisposeAsync();
        await _stop.CancelAsync();
        foreach (var serving in _serving)
        {
            try
            {
                await serving;
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                // Cancelled at teardown: the serving loop's normal way out.
            }
        }

        _stop.Dispose();
    }
}

/// <summary>A supply that records every setpoint and polarity request (with its time) before passing it on.</summary>
internal sealed class RecordingSupply(IMagnetSupply inner, TimeProvider time) : IMagnetSupply
{
    public List<(DateTimeOffset Time, double Amps)> Setpoints { get; } = [];
    public List<(DateTimeOffset Time, MagnetPolarity Polarity)> Polarities { get; } = [];

    public string Name => inner.Name;
    public MagnetLimits Limits => inner.Limits;
    public MagnetCapabilities Capabilities => inner.Capabilities;

    public Task InitializeAsync(CancellationToken cancellationToken = default) => inner.InitializeAsync(cancellationToken);

    public Task<MagnetReadback> ReadAsync(CancellationToken cancellationToken = default) => inner.ReadAsync(cancellationToken);

    public Task<MagnetRequestResult> SetCurrentAsync(double amps, CancellationToken cancellationToken = default)
    {
        Setpoints.Add((time.GetUtcNow(), amps));
        return inner.SetCurrentAsync(amps, cancellationToken);
    }

    public Task<MagnetRequestResult> SwitchOnAsync(CancellationToken cancellationToken = default) => inner.SwitchOnAsync(cancellationToken);

    public Task<MagnetRequestResult> SwitchOffAsync(CancellationToken cancellationToken = default) => inner.SwitchOffAsync(cancellationToken);

    public Task<MagnetRequestResult> StandbyAsync(CancellationToken cancellationToken = default) => inner.StandbyAsync(cancellationToken);

    public Task<MagnetRequestResult> ResetAsync(CancellationToken cancellationToken = default) => inner.ResetAsync(cancellationToken);

    public Task<MagnetRequestResult> SetPolarityAsync(MagnetPolarity polarity, CancellationToken cancellationToken = default)
    {
        Polarities.Add((time.GetUtcNow(), polarity));
        return inner.SetPolarityAsync(polarity, cancellationToken);
    }
}
