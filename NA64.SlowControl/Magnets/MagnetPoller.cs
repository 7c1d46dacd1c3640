using NA64.Hardware.Errors;
using NA64.Hardware.Magnets;
using Serilog;

namespace NA64.SlowControl.Magnets;

/// <summary>
/// Polls one supply: one <see cref="IMagnetSupply.ReadAsync"/> per cycle, handed to the magnet's controller. A supply
/// is initialised (read-only: identity and ratings) before its first read and again after a failed one. Every failed
/// read is counted and told to the controller, which shows the magnet Disconnected after the configured number in a
/// row and back as soon as a read succeeds.
/// </summary>
public sealed class MagnetPoller
{
    private readonly MagnetController _controller;
    private readonly TimeProvider _time;
    private readonly ILogger _log;
    private bool _initialized;
    private long _cycles;
    private long _failedCycles;
    private long _completedCycles;

    public MagnetPoller(MagnetController controller, TimeProvider? time = null, ILogger? log = null)
    {
        _controller = controller ?? throw new ArgumentNullException(nameof(controller));
        Period = controller.Settings.PollPeriod;
        _time = time ?? TimeProvider.System;
        _log = (log ?? Serilog.Core.Logger.None).ForContext<MagnetPoller>().ForContext("Magnet", controller.Name);
    }

    public MagnetController Controller => _controller;
    public TimeSpan Period { get; }

    /// <summary>Poll cycles attempted.</summary>
    public long Cycles => Interlocked.Read(ref _cycles);

    /// <summary>Cycles that brought no readback (timeout, disconnect, bad reply); each one is logged with its reason.</summary>
    public long FailedCycles => Interlocked.Read(ref _failedCycles);

    /// <summary>Poll cycles finished, the readback (or the failure) handed to the controller: what a test steps on.</summary>
    public long CompletedCycles => Interlocked.Read(ref _completedCycles);

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

    /// <summary>One cycle: initialise if needed, read, hand to the controller (or tell it the read failed).</summary>
    public async Task PollOnceAsync(CancellationToken ct = default)
    {
        Interlocked.Increment(ref _cycles);
        try
        {
            await PollAsync(ct).ConfigureAwait(false);
        }
        finally
        {
            Interlocked.Increment(ref _completedCycles);
        }
    }

    private async Task PollAsync(CancellationToken ct)
    {
        var supply = _controller.Supply;
        MagnetReadback readback;
        try
        {
            if (!_initialized)
            {
                await supply.InitializeAsync(ct).ConfigureAwait(false);
                _initialized = true;
                _log.Information("Magnet supply {Magnet} initialised", supply.Name);
            }
            readback = await supply.ReadAsync(ct).ConfigureAwait(false);
        }
        catch (DeviceException e)
        {
            // Timeout, port gone or a garbled reply: this read is lost. The controller counts it towards Disconnected;
            // the supply is initialised again (read-only) before the next read, in case it was power-cycled.
            Interlocked.Increment(ref _failedCycles);
            LastError = e;
            _initialized = false;
            _log.Warning(e, "Magnet supply {Magnet} read failed", supply.Name);
            await _controller.OnPollFailedAsync(e, ct).ConfigureAwait(false);
            return;
        }
        await _controller.OnReadbackAsync(readback, ct).ConfigureAwait(false);
    }
}
