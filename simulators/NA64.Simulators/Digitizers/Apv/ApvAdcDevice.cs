using System.Globalization;
using NA64.Hardware.Digitizers.Apv;
using NA64.Hardware.Digitizers.Msadc;

namespace NA64.Simulators.Digitizers.Apv;

/// <summary>
/// Device model of one simulated APV-ADC: the register file (mode register 0x1001, latency, the 4 × 128 pedestal /
/// sigma / threshold tables) and the run state, with its own limits (kept apart from the driver's table on purpose,
/// so a driver bug shows up as a refused write). Thread-safe: the control server and a data path touch it from
/// different tasks. Also usable in process through <see cref="IApvAdc"/>.
/// </summary>
public sealed class ApvAdcDevice : IApvAdc
{
    public const uint Firmware = 0x0001_0002;

    // The simulator's own limits, written out rather than taken from ApvAdcRegisters (see the class comment).
    private const int Apvs = 4;
    private const int ChannelsPerApv = 128;
    private const int Channels = Apvs * ChannelsPerApv;
    private const uint MaxModeValue = 0xFF;
    private const uint MaxLatencyValue = 191;
    private const uint MaxPedestalValue = 1023;
    private const uint MaxSigmaValue = 4095;
    private const uint MaxThresholdValue = 1023;

    private readonly object _lock = new();
    private readonly int[] _pedestal = new int[Channels];
    private readonly int[] _sigma = new int[Channels];
    private readonly int[] _threshold = new int[Channels];
    private readonly HashSet<ushort> _nonSticking = [];
    private ApvAdcMode _mode = ApvAdcMode.TripleFrame;
    private int _latency;
    private MsadcRunState _state = MsadcRunState.Idle;
    private uint _triggers;
    private long _lostWrites;

    public ApvAdcDevice(string name, int sourceId, int adcId)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(sourceId);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(sourceId, 1023);
        ArgumentOutOfRangeException.ThrowIfNegative(adcId);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(adcId, 255);
        Name = name;
        SourceId = sourceId;
        AdcId = adcId;
    }

    public string Name { get; }
    public int SourceId { get; }
    public int AdcId { get; }

    /// <summary>The mode register; the data side derives the format byte from it (data-formats.md §7.11).</summary>
    public ApvAdcMode Mode { get { lock (_lock) return _mode; } }
    public int Latency { get { lock (_lock) return _latency; } }
    public MsadcRunState State { get { lock (_lock) return _state; } }
    public uint TriggerCount { get { lock (_lock) return _triggers; } }

    /// <summary>Writes acknowledged Ok but not stored because of <see cref="InjectNonStickingWrite"/>.</summary>
    public long LostWrites => Interlocked.Read(ref _lostWrites);

    /// <summary>
    /// Backdoor for fault tests: writes to <paramref name="address"/> are answered Ok but not stored, so the register
    /// keeps its old value and a read-back differs (a table RAM cell or bus line that does not take the write).
    /// </summary>
    public void InjectNonStickingWrite(ushort address)
    {
        lock (_lock) _nonSticking.Add(address);
    }

    public void ClearInjectedFaults()
    {
        lock (_lock) _nonSticking.Clear();
    }

    /// <summary>Copies the three tables (index 128 × apv + channel) under one lock, for a data path.</summary>
    public void CopyTables(Span<int> pedestal, Span<int> sigmaQuarterCounts, Span<int> threshold)
    {
        lock (_lock)
        {
            _pedestal.CopyTo(pedestal);
            _sigma.CopyTo(sigmaQuarterCounts);
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
        lock (_lock) return ReadLocked(address, out value);
    }

    public MsadcReplyStatus Write(ushort address, uint value)
    {
        lock (_lock)
        {
            bool table = TryTableSlot(address, out int[]? cells, out int index, out uint maximum);
            bool known = table || IsGlobal(address);
            if (!known)
                return MsadcReplyStatus.UnknownRegister;
            // As the MSADC: only the latency may move while running (latency scans); tables and mode wait for STOP.
            if (_state == MsadcRunState.Running && address != ApvAdcRegisters.Latency)
                return MsadcReplyStatus.WrongState;
            MsadcReplyStatus status;
            Action store;
            switch (address)
            {
                case ApvAdcRegisters.Mode:
                    status = value > MaxModeValue ? MsadcReplyStatus.ValueOutOfRange : MsadcReplyStatus.Ok;
                    store = () => _mode = (ApvAdcMode)value;
                    break;
                case ApvAdcRegisters.Latency:
                    status = value > MaxLatencyValue ? MsadcReplyStatus.ValueOutOfRange : MsadcReplyStatus.Ok;
                    store = () => _latency = (int)value;
                    break;
                default:
                    if (!table)
                        return MsadcReplyStatus.ReadOnlyRegister;
                    status = value > maximum ? MsadcReplyStatus.ValueOutOfRange : MsadcReplyStatus.Ok;
                    store = () => cells![index] = (int)value;
                    break;
            }
            if (status != MsadcReplyStatus.Ok)
                return status;
            if (_nonSticking.Contains(address))
            {
                Interlocked.Increment(ref _lostWrites);
                return MsadcReplyStatus.Ok;
            }
            store();
            return MsadcReplyStatus.Ok;
        }
    }

    /// <summary>Raised after a command changed the run state (outside the device's lock), with the new state.</summary>
    public event Action<ApvAdcDevice, MsadcRunState>? StateChanged;

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

    // IApvAdc in process: the same rules as over the wire, refusals become exceptions.
    public Task ConfigureAsync(ApvAdcConfiguration configuration, CancellationToken cancellationToken = default)
    {
        ApvAdcModule.Validate(Name, configuration);
        lock (_lock)
        {
            ThrowIfRunning();
            _mode = configuration.Mode;
            _latency = configuration.Latency;
            StoreTables(configuration.Channels);
        }
        return Task.CompletedTask;
    }

    public Task DownloadTablesAsync(IReadOnlyList<ApvChannelSettings> channels, CancellationToken cancellationToken = default)
    {
        ApvAdcModule.ValidateTables(Name, channels);
        lock (_lock)
        {
            ThrowIfRunning();
            StoreTables(channels);
        }
        return Task.CompletedTask;
    }

    public Task<ApvAdcConfiguration> ReadConfigurationAsync(CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            var channels = new ApvChannelSettings[Channels];
            for (int i = 0; i < Channels; i++)
                channels[i] = new ApvChannelSettings(_pedestal[i], _sigma[i], _threshold[i]);
            return Task.FromResult(new ApvAdcConfiguration(_mode, _latency, channels));
        }
    }

    public Task ArmAsync(CancellationToken cancellationToken = default) => Run(MsadcOpcode.Arm);
    public Task StartAsync(CancellationToken cancellationToken = default) => Run(MsadcOpcode.Start);
    public Task StopAsync(CancellationToken cancellationToken = default) => Run(MsadcOpcode.Stop);

    public Task<ApvAdcStatus> ReadStatusAsync(CancellationToken cancellationToken = default)
    {
        lock (_lock) return Task.FromResult(new ApvAdcStatus(_state, _triggers));
    }

    private void ThrowIfRunning()
    {
        if (_state == MsadcRunState.Running)
            throw new InvalidOperationException($"{Name}: cannot configure while Running");
    }

    private void StoreTables(IReadOnlyList<ApvChannelSettings> channels)
    {
        for (int i = 0; i < Channels; i++)
        {
            _pedestal[i] = channels[i].Pedestal;
            _sigma[i] = channels[i].SigmaQuarterCounts;
            _threshold[i] = channels[i].Threshold;
        }
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
            case ApvAdcRegisters.FirmwareVersion: value = Firmware; return MsadcReplyStatus.Ok;
            case ApvAdcRegisters.SourceId: value = (uint)SourceId; return MsadcReplyStatus.Ok;
            case ApvAdcRegisters.AdcId: value = (uint)AdcId; return MsadcReplyStatus.Ok;
            case ApvAdcRegisters.BoardType: value = 0x5041; return MsadcReplyStatus.Ok;
            case ApvAdcRegisters.Latency: value = (uint)_latency; return MsadcReplyStatus.Ok;
            case ApvAdcRegisters.RunState: value = (uint)_state; return MsadcReplyStatus.Ok;
            case ApvAdcRegisters.TriggerCount: value = _triggers; return MsadcReplyStatus.Ok;
            case ApvAdcRegisters.Mode: value = (uint)_mode; return MsadcReplyStatus.Ok;
        }
        if (!TryTableSlot(address, out int[]? cells, out int index, out _))
            return MsadcReplyStatus.UnknownRegister;
        value = (uint)cells[index];
        return MsadcReplyStatus.Ok;
    }

    private static bool IsGlobal(ushort address) => address is ApvAdcRegisters.FirmwareVersion or ApvAdcRegisters.SourceId
        or ApvAdcRegisters.AdcId or ApvAdcRegisters.BoardType or ApvAdcRegisters.Latency or ApvAdcRegisters.RunState
        or ApvAdcRegisters.TriggerCount or ApvAdcRegisters.Mode;

    private bool TryTableSlot(ushort address, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out int[]? cells,
        out int index, out uint maximum)
    {
        (cells, index, maximum) = (address & 0xF000) switch
        {
            0x2000 => (_pedestal, address - 0x2000, MaxPedestalValue),
            0x3000 => (_sigma, address - 0x3000, MaxSigmaValue),
            0x4000 => (_threshold, address - 0x4000, MaxThresholdValue),
            _ => ((int[]?)null, 0, 0u),
        };
        return cells is not null && index < Channels;
    }
}
