using NA64.Hardware.Errors;
using NA64.Hardware.Hv;
using Serilog;

namespace NA64.SlowControl.Hv;

/// <summary>
/// Polls one board: one <see cref="IHvBoard.PollAsync"/> per cycle (one all-channel query per parameter) and hands
/// each channel's readback to its controller. A board that stops answering makes its channels Disconnected; it is
/// initialised again before the next poll (initialisation only reads: identity and ranges), and on the first
/// readback each controller pushes back only what an operator set during this process's life.
/// </summary>
public sealed class HvBoardPoller
{
    private readonly IHvBoard _board;
    private readonly IReadOnlyList<HvChannelController> _channels;
    private readonly TimeProvider _time;
    private readonly ILogger _log;
    private bool _initialized;
    private long _cycles;
    private long _completedCycles;
    private long _failedCycles;

    public HvBoardPoller(IHvBoard board, IReadOnlyList<HvChannelController> channels, TimeSpan period,
        TimeProvider? time = null, ILogger? log = null)
    {
        _board = board ?? throw new ArgumentNullException(nameof(board));
        _channels = channels ?? throw new ArgumentNullException(nameof(channels));
        if (period <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(period), period, "poll period must be positive");
        Period = period;
        _time = time ?? TimeProvider.System;
        _log = (log ?? Serilog.Core.Logger.None).ForContext<HvBoardPoller>().ForContext("Board", board.Name);
    }

    public IHvBoard Board => _board;
    public IReadOnlyList<HvChannelController> Channels => _channels;
    public TimeSpan Period { get; }

    /// <summary>Poll cycles attempted.</summary>
    public long Cycles => Interlocked.Read(ref _cycles);

    /// <summary>Poll cycles finished, with or without a readback (their channels have been told).</summary>
    public long CompletedCycles => Interlocked.Read(ref _completedCycles);

    /// <summary>Poll cycles that brought no readback (timeout, disconnect, bad reply); each one is logged with its reason.</summary>
    public long FailedCycles => Interlocked.Read(ref _failedCycles);

    public Exception? LastError { get; private set; }

    /// <summary>Polls every period until cancelled (then throws <see cref="OperationCanceledException"/>).</summary>
    public async Task RunAsync(CancellationToken ct)
    {
        using var timer = new PeriodicTimer(Period, _time);
        do
        {
            await PollOnceAsync(ct).ConfigureAwait(false);
        }
        while (await timer.WaitForNextTickAsync(ct).ConfigureAwait(false));
    }

    /// <summary>One poll cycle: initialise if needed, poll, distribute.</summary>
    public async Task PollOnceAsync(CancellationToken ct = default)
    {
        Interlocked.Increment(ref _cycles);
        try
        {
            await PollCycleAsync(ct).ConfigureAwait(false);
        }
        finally
        {
            Interlocked.Increment(ref _completedCycles);
        }
    }

    private async Task PollCycleAsync(CancellationToken ct)
    {
        HvBoardReadback readback;
        try
        {
            if (!_initialized)
            {
                await _board.InitializeAsync(ct).ConfigureAwait(false);
                _initialized = true;
                _log.Information("HV board {Board} initialised", _board.Name);
            }
            readback = await _board.PollAsync(ct).ConfigureAwait(false);
        }
        catch (DeviceException e) when (e is DeviceTimeoutException or TransportDisconnectedException)
        {
            Interlocked.Increment(ref _failedCycles);
            LastError = e;
            _initialized = false;
            _log.Warning(e, "HV board {Board} poll failed", _board.Name);
            foreach (var c in _channels)
                await c.OnPollFailedAsync(e, ct).ConfigureAwait(false);
            return;
        }
        catch (DeviceException e)
        {
            // A garbled or refused reply: this cycle is lost, the link is not; the next cycle tries again.
            Interlocked.Increment(ref _failedCycles);
            LastError = e;
            _log.Warning(e, "HV board {Board} poll cycle lost", _board.Name);
            return;
        }

        foreach (var c in _channels)
        {
            HvChannelReadback? mine = null;
            foreach (var r in readback.Channels)
                if (r.Channel == c.Index) { mine = r; break; }
            if (mine is { } r2)
            {
                await c.OnReadbackAsync(r2, readback, ct).ConfigureAwait(false);
            }
            else
            {
                var e = new DeviceException($"Board {_board.Name} readback has no channel {c.Index} (for {c.Name}); it reported {readback.Channels.Count} channels");
                LastError = e;
                _log.Error(e, "HV board {Board} readback incomplete", _board.Name);
                await c.OnPollFailedAsync(e, ct).ConfigureAwait(false);
            }
        }
    }
}
