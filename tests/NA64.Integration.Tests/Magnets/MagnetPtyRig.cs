using System.Globalization;
using Microsoft.Extensions.Time.Testing;
using NA64.Hardware.Magnets;
using NA64.Hardware.Magnets.Danfysik8500;
using NA64.Hardware.Magnets.Genesys;
using NA64.Hardware.Transport;
using NA64.SlowControl.Magnets;
using NA64.Simulators.Magnets;
using NA64.Simulators.Magnets.Danfysik8500;
using NA64.Simulators.Magnets.Genesys;
using NA64.Simulators.Serving;

namespace NA64.Integration.Tests.Magnets;

/// <summary>
/// Records every request the simulated device handles with the simulated time at which it handled it, so that a test
/// can check the setpoints against dI/dt x elapsed. Time is fake and frozen while a poll runs, so the stamp is the
/// instant of the poll (or command) that sent the request.
/// </summary>
internal sealed class StampedLineDevice(ILineDevice inner, TimeProvider time) : ILineDevice
{
    private readonly Lock _gate = new();
    private readonly List<(DateTimeOffset Time, string Request)> _requests = [];

    public string RequestTerminator => inner.RequestTerminator;

    public string ReplyTerminator => inner.ReplyTerminator;

    public IReadOnlyList<(DateTimeOffset Time, string Request)> Stamped
    {
        get
        {
            lock (_gate)
            {
                return [.. _requests];
            }
        }
    }

    public IReadOnlyList<string> Requests => [.. Stamped.Select(r => r.Request)];

    public string? Respond(string request)
    {
        var reply = inner.Respond(request);
        lock (_gate)
        {
            _requests.Add((time.GetUtcNow(), request));
        }

        return reply;
    }
}

/// <summary>
/// One magnet as the service runs it, end to end: <see cref="MagnetController"/> and <see cref="MagnetPoller"/> over the
/// real driver, a <see cref="LineTransport"/> on the <c>serial:</c> endpoint (System.IO.Ports on a pty slave), the
/// simulator served on the pty master. One <see cref="FakeTimeProvider"/> is the controller's clock, the driver's reply
/// timeouts and the simulator's physics; the test advances it in poll periods and polls itself, so nothing depends on
/// the wall clock (only the bytes really travel through the kernel).
/// </summary>
internal sealed class MagnetPtyRig : IAsyncDisposable
{
    /// <summary>1 s polls, 1 A tolerance, 5 s stable, 10 A/s (also the maximum), 10 s at zero, switch off on a fault, 3 failures.</summary>
    public static readonly MagnetSettings Settings = new(TimeSpan.FromSeconds(1), 1.0, TimeSpan.FromSeconds(5), 10, 10,
        TimeSpan.FromSeconds(10), MagnetSafeAction.SwitchOff, 3);

    private readonly PseudoTerminal _pty;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _serving;
    private readonly LineTransport _transport;
    private readonly IDisposable? _supplyToDispose;

    private MagnetPtyRig(FakeTimeProvider time, ILineDevice device, Func<LineTransport, IMagnetSupply> supply, LineFraming framing)
    {
        Time = time;
        Device = new StampedLineDevice(device, time);
        _pty = PseudoTerminal.Open();
        var server = new LineDeviceServer(Device, time);
        _serving = Task.Run(() => server.ServeAsync(_pty.Master, _stop.Token));
        _transport = new LineTransport(EndpointAddress.Parse("serial:" + _pty.SlavePath + "?baud=9600").CreateEndpoint(), framing, time);
        Supply = supply(_transport);
        _supplyToDispose = Supply as IDisposable;
        Controller = new MagnetController(Supply, Settings, time: time);
        Poller = new MagnetPoller(Controller, time);
        Controller.AlarmRaised += a =>
        {
            lock (Alarms)
            {
                Alarms.Add(a);
            }
        };
    }

    public FakeTimeProvider Time { get; }

    public StampedLineDevice Device { get; }

    public IMagnetSupply Supply { get; }

    public MagnetController Controller { get; }

    public MagnetPoller Poller { get; }

    public List<MagnetAlarm> Alarms { get; } = [];

    public TransportCounters Counters => _transport.Counters;

    /// <summary>Set for a Genesys rig.</summary>
    public GenesysUnitModel? Genesys { get; private init; }

    /// <summary>Set for a Danfysik 8500 rig.</summary>
    public Danfysik8500Model? Danfysik { get; private init; }

    public Danfysik8500Wire? DanfysikWire { get; private init; }

    public MagnetState State => Controller.State;

    public static FakeTimeProvider NewTime() => new(new DateTimeOffset(2026, 9, 1, 8, 0, 0, TimeSpan.Zero));

    /// <summary>
    /// A GEN10-1000 at address 6 on a small dipole (L = 0.05 H, R = 0.01 ohm, tau = 5 s) with a 10 V compliance: at 800 A
    /// I·R is 8 V, so the current can still rise at (10 - 8)/0.05 = 40 A/s, four times the ramp rate, and follows the
    /// controller's steps within one poll.
    /// </summary>
    public static MagnetPtyRig ForGenesys()
    {
        var time = NewTime();
        var unit = new GenesysUnitModel(6, GenesysFacts.ParseModel("GEN10-1000"), time, new MagnetLoad(0.05, 0.01, 0.02, seed: 6));
        return new MagnetPtyRig(time, new GenesysWire([unit]),
            t => new GenesysSupply(t, 6, new MagnetLimits("MBPL-GEN", 900, 10), time: time), GenesysProtocol.Framing)
        {
            Genesys = unit,
        };
    }

    /// <summary>
    /// A 1000 A Danfysik 8500 slewing at the controller's 10 A/s (a self-ramping supply sets the rate itself: the
    /// controller sends each leg's setpoint once), on the same small dipole (tau = 5 s).
    /// </summary>
    public static MagnetPtyRig ForDanfysik()
    {
        var time = NewTime();
        var settings = Danfysik8500SimSettings.Default with { SlewAmpsPerSecond = 10, InductanceHenries = 0.05, ResistanceOhms = 0.01 };
        var model = new Danfysik8500Model(0, time, settings);
        var wire = new Danfysik8500Wire(model);
        return new MagnetPtyRig(time, wire, t => new Danfysik8500Supply(t, new MagnetLimits("MBPL-DFS", 900),
                new Danfysik8500Options(settings.FullScaleAmps, settings.FullScaleAmps / Danfysik8500Facts.FullScalePpm,
                    settings.AmpsPerCurrentCount, settings.VoltsPerVoltageCount), time),
            LineFraming.DanfysikCrLfCr)
        {
            Danfysik = model,
            DanfysikWire = wire,
        };
    }

    /// <summary>Any line device (e.g. one written independently from the manual) with the supply built on the rig's transport and clock.</summary>
    public static MagnetPtyRig Over(FakeTimeProvider time, ILineDevice device, LineFraming framing, Func<LineTransport, TimeProvider, IMagnetSupply> supply) =>
        new(time, device, t => supply(t, time), framing);

    /// <summary>The true current in the simulated magnet (A, magnitude).</summary>
    public double ModelAmps => Genesys?.Amps ?? Danfysik?.Amps ?? throw new InvalidOperationException("no simulator model in this rig");

    /// <summary>Output on in the simulator (Genesys OUT, Danfysik main power).</summary>
    public bool ModelOutputOn => Genesys?.OutputOn ?? Danfysik?.PowerOn ?? throw new InvalidOperationException("no simulator model in this rig");

    public MagnetPolarity ModelPolarity => Danfysik?.Polarity ?? MagnetPolarity.Normal;

    public List<MagnetAlarm> AlarmsOf(MagnetAlarmKind kind)
    {
        lock (Alarms)
        {
            return [.. Alarms.Where(a => a.Kind == kind)];
        }
    }

    /// <summary>Runs a controller or driver call off the test thread (the serial port's writes block), with the hang safety net.</summary>
    public static Task<T> Run<T>(Func<Task<T>> call) => Safety.Within(Task.Run(call));

    public static Task Run(Func<Task> call) => Safety.Within(Task.Run(call));

    /// <summary>One poll now (no time passes).</summary>
    public Task PollNow() => Safety.Within(Task.Run(() => Poller.PollOnceAsync()));

    /// <summary>One poll period later, one poll.</summary>
    public async Task Poll()
    {
        Time.Advance(Settings.PollPeriod);
        await PollNow();
    }

    /// <summary>Polls period by period until <paramref name="done"/>, calling <paramref name="each"/> after every poll; returns the periods used.</summary>
    public async Task<int> PollUntil(Func<bool> done, int max, Action? each = null)
    {
        for (var i = 1; i <= max; i++)
        {
            await Poll();
            each?.Invoke();
            if (done())
            {
                return i;
            }
        }

        throw new Xunit.Sdk.XunitException($"not done after {max} polls: {Controller.Snapshot()}");
    }

    public Task<int> PollUntil(MagnetState state, int max, Action? each = null) => PollUntil(() => State == state, max, each);

    /// <summary>The current setpoints the controller sent (Genesys <c>PC x</c>, Danfysik <c>WA ppm</c> in amperes), with when.</summary>
    public IReadOnlyList<(DateTimeOffset Time, double Amps)> SentSetpoints()
    {
        var fullScale = Danfysik?.Settings.FullScaleAmps;
        return [.. Device.Stamped
            .Where(r => r.Request.StartsWith("PC ", StringComparison.Ordinal) || r.Request.StartsWith("WA ", StringComparison.Ordinal))
            .Select(r =>
            {
                var value = double.Parse(r.Request[3..], NumberStyles.Float, CultureInfo.InvariantCulture);
                return (r.Time, r.Request.StartsWith('W') ? value / Danfysik8500Facts.FullScalePpm * fullScale!.Value : value);
            })];
    }

    public async ValueTask DisposeAsync()
    {
        _supplyToDispose?.Dispose();
        await Safety.Within(Task.Run(async () => await _transport.DisposeAsync()));
        await _stop.CancelAsync();
        _pty.Dispose();
        try
        {
            await Safety.Within(_serving);
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
            // The serving loop was cancelled at teardown: its normal way out.
        }

        _stop.Dispose();
    }
}
