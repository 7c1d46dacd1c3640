using NA64.SlowControl.Hosting;
using NA64.SlowControl.Hv;
using NA64.SlowControl.Setup;
using Microsoft.Extensions.Hosting;
using Serilog;

namespace NA64.SlowControl.Service;

/// <summary>
/// The one owner of the HV hardware of the service: opens the transports of the setup (or starts the simulators
/// behind them), runs one poll loop per board for the life of the service and turns readbacks, state changes and
/// alarms into the live stream. Opening a device reads it and adopts what it finds; nothing here writes to a device.
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
    private readonly Lock _alarmGate = new();
    private HvHardware? _hardware;

    public HardwareOwner(ServiceContext context, LiveFeed feed, ILogger log)
    {
        _context = context;
        _feed = feed;
        _log = log.ForContext<HardwareOwner>();
    }

    public HvHardware Hardware => _hardware ?? throw new InvalidOperationException("the HV hardware is not open yet (service starting)");

    public HvSystem Hv => Hardware.System;

    public SetupFile Setup => _context.Setup;

    public IReadOnlyList<Alarm> Alarms()
    {
        lock (_alarmGate)
            return [.. _alarms];
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
            _loops.Add(Task.Run(() => PollLoopAsync(poller, _stop.Token), CancellationToken.None));
        _log.Information("HV owner started: {Boards} boards, {Channels} channels, polling every {Period}",
            hv.Pollers.Count, hv.Channels.Count, _context.Setup.HvController.PollPeriod);
        return Task.CompletedTask;
    }

    /// <summary>
    /// Polls one board every period for the life of the service and publishes its channels after each cycle. A board
    /// that does not answer costs its own loop a timeout, never another board's.
    /// </summary>
    private async Task PollLoopAsync(HvBoardPoller poller, CancellationToken ct)
    {
        using var timer = new PeriodicTimer(poller.Period, _context.Time);
        try
        {
            do
            {
                await PollAndPublishAsync(poller, ct).ConfigureAwait(false);
            }
            while (await timer.WaitForNextTickAsync(ct).ConfigureAwait(false));
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // Service stopping: the loop's normal end.
        }
        catch (Exception e)
        {
            // A bug, not a device fault (those are handled by the poller): say so loudly, keep the service up.
            _log.Fatal(e, "HV poll loop of board {Board} died; its channels are no longer watched", poller.Board.Name);
            OnAlarm(new Alarm(_context.Time.GetUtcNow(), poller.Board.Name, AlarmSeverity.Invalid, HvAlarmKind.Disconnected,
                $"poll loop of board {poller.Board.Name} stopped: {e.Message}"));
        }
    }

    /// <summary>One poll cycle of a board, then its channels on the live stream (what the loop does each period).</summary>
    public async Task PollAndPublishAsync(HvBoardPoller poller, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(poller);
        await poller.PollOnceAsync(ct).ConfigureAwait(false);
        foreach (var c in poller.Channels)
            _feed.Publish("readback", ApiViews.Channel(c.Snapshot()));
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
        _stop.Dispose();
    }
}
