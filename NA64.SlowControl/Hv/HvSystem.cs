using System.Diagnostics.CodeAnalysis;
using NA64.Hardware.Hv;
using NA64.SlowControl.Setup;
using Serilog;

namespace NA64.SlowControl.Hv;

/// <summary>
/// All HV channels of a setup: one board per HV device (made by the factory the host provides: the real driver
/// over the setup's transport), one controller per named channel, one poller per board.
/// </summary>
public sealed class HvSystem
{
    private readonly Dictionary<string, HvChannelController> _byName = new(StringComparer.Ordinal);
    private readonly List<HvChannelController> _channels = [];
    private readonly List<HvBoardPoller> _pollers = [];

    public HvSystem(SetupFile setup, Func<DeviceSetup, IHvBoard> boardFactory, TimeProvider? time = null, ILogger? log = null)
    {
        ArgumentNullException.ThrowIfNull(setup);
        ArgumentNullException.ThrowIfNull(boardFactory);
        Setup = setup;
        foreach (var device in setup.Devices.Where(d => d.Kind.IsHighVoltage))
        {
            var board = boardFactory(device)
                ?? throw new InvalidOperationException($"The board factory returned no board for device {device.Name}");
            var controllers = new List<HvChannelController>();
            foreach (var channel in device.Channels)
            {
                var controller = new HvChannelController(board.Channel(channel.Index), channel, setup.HvController, time, log);
                string name = channel.Name;
                controller.AlarmRaised += a => AlarmRaised?.Invoke(a);
                controller.StateChanged += (from, to) => ChannelStateChanged?.Invoke(name, from, to);
                controllers.Add(controller);
                _channels.Add(controller);
                _byName.Add(channel.Name, controller);
            }
            _pollers.Add(new HvBoardPoller(board, controllers, setup.HvController.PollPeriod, time, log));
        }
    }

    public SetupFile Setup { get; }
    public IReadOnlyList<HvChannelController> Channels => _channels;
    public IReadOnlyList<HvBoardPoller> Pollers => _pollers;

    /// <summary>Every alarm of every channel (raised outside the channel's gate, see <see cref="HvChannelController.AlarmRaised"/>).</summary>
    public event Action<Alarm>? AlarmRaised;

    /// <summary>Every state change of every channel: (channel name, from, to), in order per channel.</summary>
    public event Action<string, HvChannelState, HvChannelState>? ChannelStateChanged;

    public bool TryGetChannel(string name, [NotNullWhen(true)] out HvChannelController? channel) =>
        _byName.TryGetValue(name, out channel);

    /// <summary>The controller of a named channel; an unknown name lists the known ones.</summary>
    public HvChannelController Channel(string name) =>
        _byName.TryGetValue(name, out var c)
            ? c
            : throw new KeyNotFoundException($"No HV channel '{name}' in setup {Setup.SourceName}; known channels: {string.Join(", ", _byName.Keys)}");

    /// <summary>One row per channel, in setup order.</summary>
    public IReadOnlyList<HvChannelSnapshot> Snapshot() => _channels.Select(c => c.Snapshot()).ToList();

    /// <summary>One poll cycle of every board, one board after the other.</summary>
    public async Task PollOnceAsync(CancellationToken ct = default)
    {
        foreach (var p in _pollers)
            await p.PollOnceAsync(ct).ConfigureAwait(false);
    }

    /// <summary>Runs every board's poller until cancelled; boards poll independently (one may hang without stalling others).</summary>
    public Task RunAsync(CancellationToken ct) => Task.WhenAll(_pollers.Select(p => p.RunAsync(ct)));

    /// <summary>Switches a channel on at <paramref name="volts"/> and completes when it is On there (see <see cref="HvChannelController.RampAsync"/>).</summary>
    public Task RampAsync(string channelName, double volts, IProgress<HvRampProgress>? progress = null, CancellationToken ct = default) =>
        Channel(channelName).RampAsync(volts, progress, ct);
}
