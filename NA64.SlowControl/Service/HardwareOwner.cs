using NA64.SlowControl.Hosting;
using NA64.SlowControl.Hv;
using NA64.SlowControl.Magnets;
using NA64.SlowControl.Setup;
using Microsoft.Extensions.Hosting;
using Serilog;

namespace NA64.SlowControl.Service;

/// <summary>
/// The one owner of the HV and magnet hardware of the service: opens the transports of the setup (or starts the
/// simulators behind them), runs one poll loop per HV board and per magnet for the life of the service and turns
/// readbacks, state changes and alarms into the live stream. Opening a device reads it and adopts what it finds;
/// nothing here writes to a device.
/// </summary>
public sealed class HardwareOwner : IHostedService, IAsyncDisposable
{
    /// <summary>Alarms kept for <c>GET /api/alarms</c> (the log keeps all of them).</summary>
    public const int RecentAlarms = 200;

    private readonly ServiceContext _context;
    private readonly LiveFeed _feed;
    private readonly ILogger _log;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _loops = [];
    private readonly LinkedList<Alarm> _alarms = new();
    private readonly LinkedList<MagnetAlarm> _magnetAlarms = new();
    private readonly Lock _alarmGate = new();
    private HvHardware? _hardware;
    private MagnetHardware? _magnets;

    public HardwareOwner(ServiceContext context, LiveFeed feed, ILogger log)
    {
        _context = context;
        _feed = feed;
        _log = log.ForContext<HardwareOwner>();
    }

    public HvHardware Hardware => _hardware ?? throw new InvalidOperationException("the HV hardware is not open yet (service starting)");

    public HvSystem Hv => Hardware.System;

    public MagnetHardware Magnets => _magnets ?? throw new InvalidOperationException("the magnet hardware is not open yet (service starting)");

    public SetupFile Setup => _context.Setup;

    public IReadOnlyList<Alarm> Alarms()
    {
        lock (_alarmGate)
            return [.. _alarms];
    }

    public IReadOnlyList<MagnetAlarm> MagnetAlarms()
    {
        lock (_alarmGate)
            return [.. _magnetAlarms];
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _hardware = HvHardware.Build(_context.Setup, _context.Time, _log);
        var hv = _hardware.System;
        hv.AlarmRaised += OnAlarm;
        foreach (var channel in hv.Channels)
        {
            var c = channel;
            c.StateChanged += (from, to) =>
                _feed.Publish("state", new { channel = c.Name, from = from.ToString(), to = to.ToString(), time = _context.Time.GetUtcNow() });
        }

        foreach (var poller in hv.Pollers)
        {
            var p = poller;
            StartLoop(p.Board.Name, p.Period, ct => PollAndPublishAsync(p, ct), e =>
                OnAlarm(new Alarm(_context.Time.GetUtcNow(), p.Board.Name, AlarmSeverity.Invalid, HvAlarmKind.Disconnected,
                    $"poll loop of board {p.Board.Name} stopped: {e.Message}")));
        }

        _magnets = MagnetHardware.Build(_context.Setup, _context.Time, _log);
        foreach (var poller in _magnets.Pollers)
        {
            var p = poller;
            var c = p.Controller;
            c.AlarmRaised += OnMagnetAlarm;
            c.StateChanged += (from, to) =>
                _feed.Publish("magnet-state", new { magnet = c.Name, from = from.ToString(), to = to.ToString(), time = _context.Time.GetUtcNow() });
            StartLoop(c.Name, p.Period, ct => PollAndPublishAsync(p, ct), e =>
                OnMagnetAlarm(new MagnetAlarm(_context.Time.GetUtcNow(), c.Name, AlarmSeverity.Invalid, MagnetAlarmKind.Disconnected,
                    $"poll loop of magnet {c.Name} stopped: {e.Message}")));
        }

        _log.Information("Hardware owner started: {Boards} HV boards, {Channels} channels, polling every {Period}; {Magnets} magnet circuits",
            hv.Pollers.Count, hv.Channels.Count, _context.Setup.HvController.PollPeriod, _magnets.Pollers.Count);
        return Task.CompletedTask;
    }

    /// <summary>
    /// Runs one poll cycle every period for the life of the service. A device that does not answer costs its own loop a
    /// timeout, never another device's; a loop that dies (a bug, not a device fault: those are the pollers') says so.
    /// </summary>
    private void StartLoop(string device, TimeSpan period, Func<CancellationToken, Task> cycle, Action<Exception> died)
    {
        var ct = _stop.Token;
        _loops.Add(Task.Run(async () =>
        {
            using var timer = new PeriodicTimer(period, _context.Time);
            try
            {
                do
                {
                    await cycle(ct).ConfigureAwait(false);
                }
                while (await timer.WaitForNextTickAsync(ct).ConfigureAwait(false));
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                // Service stopping: the loop's normal end.
            }
            catch (Exception e)
            {
                _log.Fatal(e, "Poll loop of {Device} died; it is no longer watched", device);
                died(e);
            }
        }, CancellationToken.None));
    }

    /// <summary>One poll cycle of a board, then its channels on the live stream (what the loop does each period).</summary>
    public async Task PollAndPublishAsync(HvBoardPoller poller, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(poller);
        await poller.PollOnceAsync(ct).ConfigureAwait(false);
        foreach (var c in poller.Channels)
            _feed.Publish("readback", ApiViews.Channel(c.Snapshot()));
    }

    /// <summary>One poll cycle of a magnet, then the magnet on the live stream.</summary>
    public async Task PollAndPublishAsync(MagnetPoller poller, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(poller);
        await poller.PollOnceAsync(ct).ConfigureAwait(false);
        if (Magnets.TryFind(poller.Controller.Name, out var controller, out var setup))
            _feed.Publish("magnet", ApiViews.Magnet(controller.Snapshot(), setup));
    }

    private void OnMagnetAlarm(MagnetAlarm alarm)
    {
        lock (_alarmGate)
        {
            _magnetAlarms.AddLast(alarm);
            if (_magnetAlarms.Count > RecentAlarms)
                _magnetAlarms.RemoveFirst();
        }

        _feed.Publish("alarm", ApiViews.Alarm(alarm));
    }

    private void OnAlarm(Alarm alarm)
    {
        lock (_alarmGate)
        {
            _alarms.AddLast(alarm);
            if (_alarms.Count > RecentAlarms)
                _alarms.RemoveFirst();
        }

        _feed.Publish("alarm", ApiViews.Alarm(alarm));
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await Task.WhenAll(_loops).ConfigureAwait(false);
        _loops.Clear();
    }

    public async ValueTask DisposeAsync()
    {
        if (!_stop.IsCancellationRequested)
            await _stop.CancelAsync().ConfigureAwait(false);
        await Task.WhenAll(_loops).ConfigureAwait(false);
        if (_hardware is not null)
            await _hardware.DisposeAsync().ConfigureAwait(false);
        _hardware = null;
        if (_magnets is not null)
            await _magnets.DisposeAsync().ConfigureAwait(false);
        _magnets = null;
        _stop.Dispose();
    }
}
