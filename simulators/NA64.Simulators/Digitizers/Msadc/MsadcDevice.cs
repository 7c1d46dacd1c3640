using NA64.Hardware.Digitizers.Msadc.Format;
using System.Globalization;
using NA64.Hardware.Digitizers.Msadc;

namespace NA64.Simulators.Digitizers.Msadc;

/// <summary>
/// Device model of one simulated MSADC module: the register file and the run state, with its own limits (kept apart
/// from the driver's table on purpose, so a driver bug shows up as a refused write). Thread-safe: the control server
/// and the data path touch it from different tasks. Also usable in process through <see cref="IDigitizer"/>.
/// </summary>
public sealed class MsadcDevice : IDigitizer
{
    public const uint Firmware = 0x0003_0001;

    private const int Channels = MsadcRegisters.ChannelsPerModule;
    private readonly object _lock = new();
    private readonly int[] _pedestalEven = new int[Channels];
    private readonly int[] _pedestalOdd = new int[Channels];
    private readonly int[] _threshold = new int[Channels];
    private readonly Dictionary<ushort, uint> _stuck = [];
    private MsadcMode _mode = MsadcMode.LatchAll;
    private int _samples = 32;
    private int _latency;
    private MsadcRunState _state = MsadcRunState.Idle;
    private uint _triggers;

    public MsadcDevice(string name, int sourceId, int port)
    {
        _ = SadcChannelAddress.Checked(sourceId, port, 0, 0);
        Name = name;
        SourceId = sourceId;
        Port = port;
    }

    public string Name { get; }
    public int SourceId { get; }
    public int Port { get; }

    public MsadcMode Mode { get { lock (_lock) return _mode; } }
    public int SamplesPerChannel { get { lock (_lock) return _samples; } }
    public int Latency { get { lock (_lock) return _latency; } }
    public MsadcRunState State { get { lock (_lock) return _state; } }
    public uint TriggerCount { get { lock (_lock) return _triggers; } }

    /// <summary>Backdoor for fault tests: the register keeps answering <paramref name="value"/> whatever is written (a stuck bit).</summary>
    public void InjectStuckRegister(ushort address, uint value)
    {
        lock (_lock) _stuck[address] = value;
    }

    public void ClearStuckRegisters()
    {
        lock (_lock) _stuck.Clear();
    }

    /// <summary>Copies the channel settings the data path needs (pedestals and thresholds) under one lock.</summary>
    public void CopyChannelSettings(Span<int> pedestalEven, Span<int> pedestalOdd, Span<int> threshold)
    {
        lock (_lock)
        {
            _pedestalEven.CopyTo(pedestalEven);
            _pedestalOdd.CopyTo(pedestalOdd);
            _threshold.CopyTo(threshold);
        }
    }

    /// <summary>Counts one trigger if running; returns false when the module is not taking data.</summary>
    public bool AcceptTrigger()
    {
        lock (_lock)
        {
            if (_state != MsadcRunState.Running)
                return false;
            _triggers++;
            return true;
        }
    }

    public MsadcReplyStatus Read(ushort address, out uint value)
    {
        lock (_lock)
        {
            var status = ReadLocked(address, out value);
            if (status == MsadcReplyStatus.Ok && _stuck.TryGetValue(address, out uint stuck))
                value = stuck;
            return status;
        }
    }

    public MsadcReplyStatus Write(ushort address, uint value)
    {
        lock (_lock)
        {
            if (_state == MsadcRunState.Running && address != MsadcRegisters.Latency)
                return IsKnown(address) ? MsadcReplyStatus.WrongState : MsadcReplyStatus.UnknownRegister;
            switch (address)
            {
                case MsadcRegisters.FirmwareVersion or MsadcRegisters.SourceId or MsadcRegisters.HotLinkPort
                    or MsadcRegisters.RunState or MsadcRegisters.TriggerCount:
                    return MsadcReplyStatus.ReadOnlyRegister;
                case MsadcRegisters.Mode:
                    if (value > 1) return MsadcReplyStatus.ValueOutOfRange;
                    _mode = (MsadcMode)value;
                    return MsadcReplyStatus.Ok;
                case MsadcRegisters.SamplesPerChannel:
                    if (value is < 25 or > 32) return MsadcReplyStatus.ValueOutOfRange;
                    _samples = (int)value;
                    return MsadcReplyStatus.Ok;
                case MsadcRegisters.Latency:
                    if (value > 320) return MsadcReplyStatus.ValueOutOfRange;
                    _latency = (int)value;
                    return MsadcReplyStatus.Ok;
            }
            if (!TryChannelSlot(address, out int channel, out int slot))
                return MsadcReplyStatus.UnknownRegister;
            if (value > 4095) return MsadcReplyStatus.ValueOutOfRange;
            (slot switch { 0 => _pedestalEven, 1 => _pedestalOdd, _ => _threshold })[channel] = (int)value;
            return MsadcReplyStatus.Ok;
        }
    }

    /// <summary>Raised after a command changed the run state (outside the device's lock), with the new state.</summary>
    public event Action<MsadcDevice, MsadcRunState>? StateChanged;

    public MsadcReplyStatus Command(MsadcOpcode opcode)
    {
        MsadcReplyStatus status;
        MsadcRunState state;
        lock (_lock)
        {
            (status, state) = ModuleRunState.Apply(_state, opcode);
            if (status != MsadcReplyStatus.Ok)
                return status;
            // A run starts counting its triggers from zero.
            if (opcode == MsadcOpcode.Start)
                _triggers = 0;
            _state = state;
        }

        StateChanged?.Invoke(this, state);
        return status;
    }

    // IDigitizer in process: the same rules as over the wire, refusals become exceptions.
    public Task ConfigureAsync(MsadcConfiguration configuration, CancellationToken cancellationToken = default)
    {
        MsadcModule.Validate(Name, configuration);
        lock (_lock)
        {
            if (_state == MsadcRunState.Running)
                throw new InvalidOperationException($"{Name}: cannot configure while Running");
            _mode = configuration.Mode;
            _samples = configuration.SamplesPerChannel;
            _latency = configuration.Latency;
            for (int c = 0; c < Channels; c++)
            {
                _pedestalEven[c] = configuration.Channels[c].PedestalEven;
                _pedestalOdd[c] = configuration.Channels[c].PedestalOdd;
                _threshold[c] = configuration.Channels[c].Threshold;
            }
        }
        return Task.CompletedTask;
    }

    public Task<MsadcConfiguration> ReadConfigurationAsync(CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            var channels = new MsadcChannelSettings[Channels];
            for (int c = 0; c < Channels; c++)
                channels[c] = new MsadcChannelSettings(_pedestalEven[c], _pedestalOdd[c], _threshold[c]);
            return Task.FromResult(new MsadcConfiguration(_mode, _samples, _latency, channels));
        }
    }

    public Task ArmAsync(CancellationToken cancellationToken = default) => Run(MsadcOpcode.Arm);
    public Task StartAsync(CancellationToken cancellationToken = default) => Run(MsadcOpcode.Start);
    public Task StopAsync(CancellationToken cancellationToken = default) => Run(MsadcOpcode.Stop);

    public Task<MsadcStatus> ReadStatusAsync(CancellationToken cancellationToken = default)
    {
        lock (_lock) return Task.FromResult(new MsadcStatus(_state, _triggers));
    }

    private Task Run(MsadcOpcode opcode)
    {
        var status = Command(opcode);
        return status == MsadcReplyStatus.Ok
            ? Task.CompletedTask
            : Task.FromException(new InvalidOperationException(
                string.Create(CultureInfo.InvariantCulture, $"{Name}: {opcode} refused in state {State}: {status}")));
    }

    private MsadcReplyStatus ReadLocked(ushort address, out uint value)
    {
        value = 0;
        switch (address)
        {
            case MsadcRegisters.FirmwareVersion: value = Firmware; return MsadcReplyStatus.Ok;
            case MsadcRegisters.SourceId: value = (uint)SourceId; return MsadcReplyStatus.Ok;
            case MsadcRegisters.HotLinkPort: value = (uint)Port; return MsadcReplyStatus.Ok;
            case MsadcRegisters.Mode: value = (uint)_mode; return MsadcReplyStatus.Ok;
            case MsadcRegisters.SamplesPerChannel: value = (uint)_samples; return MsadcReplyStatus.Ok;
            case MsadcRegisters.Latency: value = (uint)_latency; return MsadcReplyStatus.Ok;
            case MsadcRegisters.RunState: value = (uint)_state; return MsadcReplyStatus.Ok;
            case MsadcRegisters.TriggerCount: value = _triggers; return MsadcReplyStatus.Ok;
        }
        if (!TryChannelSlot(address, out int channel, out int slot))
            return MsadcReplyStatus.UnknownRegister;
        value = (uint)(slot switch { 0 => _pedestalEven, 1 => _pedestalOdd, _ => _threshold })[channel];
        return MsadcReplyStatus.Ok;
    }

    private static bool IsKnown(ushort address) =>
        address <= MsadcRegisters.HotLinkPort || address is >= MsadcRegisters.Mode and <= MsadcRegisters.TriggerCount
        || TryChannelSlot(address, out _, out _);

    private static bool TryChannelSlot(ushort address, out int channel, out int slot)
    {
        int index = address - 0x1000;
        channel = index / 4;
        slot = index % 4;
        return index >= 0 && channel < Channels && slot < 3;
    }
}
