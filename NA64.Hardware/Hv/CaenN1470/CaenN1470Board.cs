using System.Globalization;
using NA64.Hardware.Errors;
using NA64.Hardware.Transport;

namespace NA64.Hardware.Hv.CaenN1470;

/// <summary>
/// Driver for one CAEN N1470-family HV board (N1470, N1471, NDT1470, DT1470ET) at one address of a line
/// (device-protocols.md §1). Every setpoint is checked against the setup limits and the board's own ranges before a
/// byte is sent. A SET that gets no reply is settled by reading the parameter back (§1.3). After the transport
/// re-opens the port, identity and ranges are read again before the next command and <see cref="Reinitialized"/> is
/// raised. Initialization only reads: nothing is written to the board unless a SET method is called.
/// <see cref="Channel"/> gives the kind-neutral <see cref="IHvChannel"/> of one channel over the index-based methods.
/// </summary>
public sealed class CaenN1470Board : IHvBoard, IDisposable
{
    private readonly LineTransport _transport;
    private readonly int _address;
    private readonly IReadOnlyList<HvChannelLimits> _limits;
    private readonly CaenN1470Options _options;
    private readonly CaenN1470Codec _codec;
    private readonly TimeProvider _time;
    private readonly Serilog.ILogger _log;
    private readonly SemaphoreSlim _initGate = new(1, 1);
    private volatile bool _needsInitialize = true;
    private volatile BoardInfo? _info;
    private int _reconnectGeneration;
    private readonly CaenN1470HvChannel[] _channels;

    public CaenN1470Board(
        LineTransport transport,
        int address,
        IReadOnlyList<HvChannelLimits> channelLimits,
        CaenN1470Options? options = null,
        TimeProvider? time = null,
        Serilog.ILogger? log = null)
    {
        ArgumentNullException.ThrowIfNull(transport);
        ArgumentNullException.ThrowIfNull(channelLimits);
        if (address is < 0 or > CaenN1470Protocol.MaxBoardAddress)
        {
            throw new ArgumentOutOfRangeException(
                nameof(address), address, $"CAEN board address must be 0..{CaenN1470Protocol.MaxBoardAddress} (RS-485 chain of 32 modules)");
        }

        if (channelLimits.Count == 0)
        {
            throw new ArgumentException("channelLimits must list at least one channel", nameof(channelLimits));
        }

        for (int i = 0; i < channelLimits.Count; i++)
        {
            if (channelLimits[i] is null)
            {
                throw new ArgumentException($"channelLimits[{i}] is null", nameof(channelLimits));
            }
        }

        _options = options ?? new CaenN1470Options();
        if (_options.ReplyTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(
                nameof(options), _options.ReplyTimeout, "CaenN1470Options.ReplyTimeout must be positive");
        }

        _transport = transport;
        _address = address;
        _limits = channelLimits.ToArray();
        _codec = new CaenN1470Codec(_options.Dialect);
        _time = time ?? TimeProvider.System;
        Name = $"{transport.Address} BD:{address.ToString("00", CultureInfo.InvariantCulture)}";
        _log = (log ?? Serilog.Core.Logger.None).ForContext<CaenN1470Board>().ForContext("Board", Name);
        _channels = new CaenN1470HvChannel[_limits.Count];
        for (int ch = 0; ch < _channels.Length; ch++)
        {
            _channels[ch] = new CaenN1470HvChannel(this, ch);
        }

        _transport.Reconnected += OnReconnected;
    }

    /// <summary>Port address and board address, e.g. <c>serial:/dev/ttyUSB0 BD:00</c>; the model is in <see cref="Info"/>.</summary>
    public string Name { get; }

    /// <summary>Module address on the line, 0..31.</summary>
    public int Address => _address;

    /// <summary>Channels listed in the setup; <see cref="InitializeAsync"/> checks that the board has exactly these.</summary>
    public int ChannelCount => _limits.Count;

    public IReadOnlyList<HvChannelLimits> Limits => _limits;

    /// <summary>Identity and ranges from the last <see cref="InitializeAsync"/>; null before the first one.</summary>
    public BoardInfo? Info => _info;

    /// <summary>
    /// True before the first initialization and after the transport re-opened the port; the next command then
    /// initializes first.
    /// </summary>
    public bool NeedsReinitialize => _needsInitialize;

    /// <summary>
    /// Raised after an initialization that followed an earlier one (typically after a reconnect). Raised outside any
    /// lock: handlers may queue commands to this board.
    /// </summary>
    public event EventHandler? Reinitialized;

    /// <summary>The channel at <paramref name="index"/>, driven through this board; the same object on every call.</summary>
    public IHvChannel Channel(int index) => _channels[CheckChannel(index)];

    /// <summary>
    /// Smallest VSET step of a channel: from VDEC once initialized, else the wire format's one decimal.
    /// </summary>
    public double VoltageResolution(int channel) =>
        _info is { } info ? info.Channels[CheckChannel(channel)].Voltage.Resolution : CaenN1470Protocol.VoltageResolution;

    /// <summary>
    /// Reads BDNAME, BDNCH, BDFREL, BDSNUM and the ranges of every channel (one all-channel query per range
    /// parameter) into <see cref="Info"/>. Fails if the board's channel count differs from the setup's.
    /// </summary>
    public async Task InitializeAsync(CancellationToken cancellationToken = default)
    {
        bool again;
        await _initGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            again = await InitializeLockedAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _initGate.Release();
        }

        if (again)
        {
            Reinitialized?.Invoke(this, EventArgs.Empty);
        }
    }

    /// <summary>
    /// One poll cycle: exactly one all-channel query (<c>CH:N</c>) each for VSET, VMON, ISET, IMON and STAT, then
    /// BDILK, BDCTR and BDALARM.
    /// </summary>
    public async Task<HvBoardReadback> PollAsync(CancellationToken cancellationToken = default)
    {
        await EnsureInitializedAsync(cancellationToken).ConfigureAwait(false);
        var time = _time.GetUtcNow();
        var vset = await MonitorAllAsync(CaenN1470Protocol.VSet, cancellationToken).ConfigureAwait(false);
        var vmon = await MonitorAllAsync(CaenN1470Protocol.VMon, cancellationToken).ConfigureAwait(false);
        var iset = await MonitorAllAsync(CaenN1470Protocol.ISet, cancellationToken).ConfigureAwait(false);
        var imon = await MonitorAllAsync(CaenN1470Protocol.IMon, cancellationToken).ConfigureAwait(false);
        var stat = await MonitorAllIntegersAsync(CaenN1470Protocol.Stat, cancellationToken).ConfigureAwait(false);
        var interlock = await MonitorBoardAsync(CaenN1470Protocol.BdIlk, cancellationToken).ConfigureAwait(false);
        var control = await MonitorBoardAsync(CaenN1470Protocol.BdCtr, cancellationToken).ConfigureAwait(false);
        var alarm = await MonitorBoardIntegerAsync(CaenN1470Protocol.BdAlarm, cancellationToken).ConfigureAwait(false);

        var channels = new HvChannelReadback[ChannelCount];
        for (int ch = 0; ch < channels.Length; ch++)
        {
            channels[ch] = new HvChannelReadback(
                ch, vset[ch].Number!.Value, vmon[ch].Number!.Value, iset[ch].Number!.Value, imon[ch].Number!.Value,
                CaenN1470Codec.DecodeStatus(stat[ch]));
        }

        return new HvBoardReadback(
            time,
            channels,
            InterlockActive: interlock.Text == CaenN1470Protocol.BdIlk.Keywords[0],
            LocalMode: control.Text == CaenN1470Protocol.BdCtr.Keywords[(int)CaenControlMode.Local],
            AlarmBits: alarm);
    }

    /// <summary>Reads one MON channel parameter of one channel.</summary>
    public async Task<CaenReading> ReadChannelAsync(int channel, CaenParameter parameter, CancellationToken cancellationToken = default)
    {
        CheckChannel(channel);
        CheckMonitor(parameter, CaenScope.Channel);
        await EnsureInitializedAsync(cancellationToken).ConfigureAwait(false);
        return await MonitorChannelAsync(channel, parameter, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Reads one MON channel parameter of every channel with one <c>CH:N</c> query; index = channel.</summary>
    public async Task<IReadOnlyList<CaenReading>> ReadAllChannelsAsync(CaenParameter parameter, CancellationToken cancellationToken = default)
    {
        CheckMonitor(parameter, CaenScope.Channel);
        await EnsureInitializedAsync(cancellationToken).ConfigureAwait(false);
        return await MonitorAllAsync(parameter, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Reads one MON board parameter.</summary>
    public async Task<CaenReading> ReadBoardAsync(CaenParameter parameter, CancellationToken cancellationToken = default)
    {
        CheckMonitor(parameter, CaenScope.Board);
        await EnsureInitializedAsync(cancellationToken).ConfigureAwait(false);
        return await MonitorBoardAsync(parameter, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>VSET: within the setup's MaxVolts and the board's VMIN..VMAX, at most VDEC decimals.</summary>
    public Task SetVoltageAsync(int channel, double volts, CancellationToken cancellationToken = default) =>
        SetNumberAsync(channel, CaenN1470Protocol.VSet, volts, _limits[CheckChannel(channel)].MaxVolts, "setup MaxVolts", r => r.Voltage, cancellationToken);

    /// <summary>ISET: within the setup's MaxMicroamps and the board's IMIN..IMAX, at most ISDEC decimals.</summary>
    public Task SetCurrentLimitAsync(int channel, double microamps, CancellationToken cancellationToken = default) =>
        SetNumberAsync(channel, CaenN1470Protocol.ISet, microamps, _limits[CheckChannel(channel)].MaxMicroamps, "setup MaxMicroamps", r => r.Current, cancellationToken);

    /// <summary>RUP: within the setup's MaxRampVoltsPerSecond and the board's RUPMIN..RUPMAX.</summary>
    public Task SetRampUpAsync(int channel, double voltsPerSecond, CancellationToken cancellationToken = default) =>
        SetNumberAsync(channel, CaenN1470Protocol.RUp, voltsPerSecond, _limits[CheckChannel(channel)].MaxRampVoltsPerSecond, "setup MaxRampVoltsPerSecond", r => r.RampUp, cancellationToken);

    /// <summary>RDW: within the setup's MaxRampVoltsPerSecond and the board's RDWMIN..RDWMAX.</summary>
    public Task SetRampDownAsync(int channel, double voltsPerSecond, CancellationToken cancellationToken = default) =>
        SetNumberAsync(channel, CaenN1470Protocol.RDw, voltsPerSecond, _limits[CheckChannel(channel)].MaxRampVoltsPerSecond, "setup MaxRampVoltsPerSecond", r => r.RampDown, cancellationToken);

    /// <summary>TRIP: over-current time before the channel trips, within the board's TRIPMIN..TRIPMAX.</summary>
    public Task SetTripTimeAsync(int channel, double seconds, CancellationToken cancellationToken = default) =>
        SetNumberAsync(channel, CaenN1470Protocol.Trip, seconds, setupLimit: null, setupLimitName: null, r => r.TripTime, cancellationToken);

    /// <summary>MAXV: hardware voltage limit, within the setup's MaxVolts and the board's MVMIN..MVMAX.</summary>
    public Task SetMaxVoltageAsync(int channel, double volts, CancellationToken cancellationToken = default) =>
        SetNumberAsync(channel, CaenN1470Protocol.MaxV, volts, _limits[CheckChannel(channel)].MaxVolts, "setup MaxVolts", r => r.MaxVoltage, cancellationToken);

    /// <summary>PDWN: what OFF and a trip do to the output (ramp down at RDW, or kill).</summary>
    public Task SetPowerDownModeAsync(int channel, CaenPowerDownMode mode, CancellationToken cancellationToken = default) =>
        SetKeywordAsync(CheckChannel(channel), CaenN1470Protocol.PDwn, (int)mode, nameof(mode), cancellationToken);

    /// <summary>IMRANGE: current monitor range (N1471).</summary>
    public Task SetCurrentMonitorRangeAsync(int channel, CaenCurrentMonitorRange range, CancellationToken cancellationToken = default) =>
        SetKeywordAsync(CheckChannel(channel), CaenN1470Protocol.IMRange, (int)range, nameof(range), cancellationToken);

    /// <summary>BDILKM: which state of the interlock input counts as active.</summary>
    public Task SetInterlockModeAsync(CaenInterlockMode mode, CancellationToken cancellationToken = default) =>
        SetKeywordAsync(null, CaenN1470Protocol.BdIlkm, (int)mode, nameof(mode), cancellationToken);

    /// <summary>ON (also clears a latched TRIP). Without a reply it counts as done when STAT shows the ON bit.</summary>
    public async Task SwitchOnAsync(int channel, CancellationToken cancellationToken = default)
    {
        CheckChannel(channel);
        await EnsureInitializedAsync(cancellationToken).ConfigureAwait(false);
        await SetAsync(channel, CaenN1470Protocol.On, value: null, ConfirmSwitchAsync(channel, on: true), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>OFF (follows PDWN). Without a reply it counts as done when STAT shows the channel off or ramping down.</summary>
    public async Task SwitchOffAsync(int channel, CancellationToken cancellationToken = default)
    {
        CheckChannel(channel);
        await EnsureInitializedAsync(cancellationToken).ConfigureAwait(false);
        await SetAsync(channel, CaenN1470Protocol.Off, value: null, ConfirmSwitchAsync(channel, on: false), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>BDCLR. Without a reply it counts as done when BDALARM reads 0.</summary>
    public async Task ClearAlarmsAsync(CancellationToken cancellationToken = default)
    {
        await EnsureInitializedAsync(cancellationToken).ConfigureAwait(false);
        await SetAsync(null, CaenN1470Protocol.BdClr, value: null, async ct =>
        {
            int alarm = await MonitorBoardIntegerAsync(CaenN1470Protocol.BdAlarm, ct).ConfigureAwait(false);
            return (alarm == 0, "BDALARM " + alarm.ToString(CultureInfo.InvariantCulture));
        }, cancellationToken).ConfigureAwait(false);
    }

    public void Dispose()
    {
        _transport.Reconnected -= OnReconnected;
        _initGate.Dispose();
    }

    private void OnReconnected(object? sender, EventArgs e)
    {
        Interlocked.Increment(ref _reconnectGeneration);
        _needsInitialize = true;
        _log.Information("{Board} port re-opened; identity and ranges are read again before the next command", Name);
    }

    private async Task EnsureInitializedAsync(CancellationToken cancellationToken)
    {
        if (!_needsInitialize)
        {
            return;
        }

        bool again = false;
        await _initGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_needsInitialize)
            {
                again = await InitializeLockedAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            _initGate.Release();
        }

        if (again)
        {
            Reinitialized?.Invoke(this, EventArgs.Empty);
        }
    }

    /// <summary>Runs under the init gate. Returns true when this replaced an earlier <see cref="Info"/>.</summary>
    private async Task<bool> InitializeLockedAsync(CancellationToken ct)
    {
        int generation = Volatile.Read(ref _reconnectGeneration);
        var name = await MonitorBoardAsync(CaenN1470Protocol.BdName, ct).ConfigureAwait(false);
        int channelCount = await MonitorBoardIntegerAsync(CaenN1470Protocol.BdNch, ct).ConfigureAwait(false);
        if (channelCount != ChannelCount)
        {
            throw new DeviceException(
                $"{Name}: board {name.Text} reports BDNCH = {channelCount} channels, the setup lists {ChannelCount}; " +
                "the setup must name every channel of the board");
        }

        var firmware = await MonitorBoardAsync(CaenN1470Protocol.BdFrel, ct).ConfigureAwait(false);
        var serial = await MonitorBoardAsync(CaenN1470Protocol.BdSnum, ct).ConfigureAwait(false);

        var voltage = await ReadRangesAsync(CaenN1470Protocol.VSet, ct).ConfigureAwait(false);
        var current = await ReadRangesAsync(CaenN1470Protocol.ISet, ct).ConfigureAwait(false);
        var rampUp = await ReadRangesAsync(CaenN1470Protocol.RUp, ct).ConfigureAwait(false);
        var rampDown = await ReadRangesAsync(CaenN1470Protocol.RDw, ct).ConfigureAwait(false);
        var trip = await ReadRangesAsync(CaenN1470Protocol.Trip, ct).ConfigureAwait(false);
        var maxV = await ReadRangesAsync(CaenN1470Protocol.MaxV, ct).ConfigureAwait(false);

        var channels = new ChannelRanges[channelCount];
        for (int ch = 0; ch < channelCount; ch++)
        {
            channels[ch] = new ChannelRanges(ch, voltage[ch], current[ch], rampUp[ch], rampDown[ch], trip[ch], maxV[ch]);
        }

        var info = new BoardInfo(name.Text, channelCount, firmware.Text, serial.Text, channels);
        bool again = _info is not null;
        _info = info;
        // A reconnect during these reads means some came from the old connection: read them again next time.
        _needsInitialize = Volatile.Read(ref _reconnectGeneration) != generation;
        _log.Information(
            "{Board} is a {Model} with {Channels} channels, firmware {Firmware}, serial {Serial}",
            Name, info.Name, info.ChannelCount, info.Firmware, info.SerialNumber);
        for (int ch = 0; ch < channelCount; ch++)
        {
            _log.Debug("{Board} channel {Channel} ranges {@Ranges}", Name, ch, channels[ch]);
        }

        return again;
    }

    /// <summary>
    /// Reads MIN and MAX (and DEC when asked) of a SET parameter for all channels. Decimals not read come from the
    /// parameter's wire format (RUP, RDW, MAXV: 0; TRIP: 1).
    /// </summary>
    private async Task<CaenRange[]> ReadRangesAsync(CaenParameter parameter, CancellationToken ct)
    {
        bool readDecimals = ReadsDecimals(parameter);
        var min = await MonitorAllAsync(CaenN1470Protocol.Find(parameter.MinParameter!), ct).ConfigureAwait(false);
        var max = await MonitorAllAsync(CaenN1470Protocol.Find(parameter.MaxParameter!), ct).ConfigureAwait(false);
        int[]? decimals = null;
        if (readDecimals)
        {
            // FormatNumber handles up to 6 decimals; a board reporting more is answering nonsense.
            decimals = await MonitorAllIntegersAsync(CaenN1470Protocol.Find(parameter.DecimalsParameter!), ct, max: 6).ConfigureAwait(false);
        }

        var ranges = new CaenRange[min.Count];
        for (int ch = 0; ch < ranges.Length; ch++)
        {
            ranges[ch] = new CaenRange(min[ch].Number!.Value, max[ch].Number!.Value, decimals?[ch] ?? parameter.WireDecimals);
        }

        return ranges;
    }

    private async Task SetNumberAsync(
        int channel,
        CaenParameter parameter,
        double value,
        double? setupLimit,
        string? setupLimitName,
        Func<ChannelRanges, CaenRange> rangeOf,
        CancellationToken ct)
    {
        string channelName = _limits[channel].Name;
        if (!double.IsFinite(value))
        {
            throw new ArgumentOutOfRangeException(
                nameof(value), value, $"{channelName}: {parameter.Mnemonic} must be a finite number");
        }

        // Setup limits need nothing from the board: refused even before the board is initialized.
        if (setupLimit is double limit && value > limit)
        {
            throw new SetpointOutOfRangeException(channelName, parameter.Mnemonic, value, limit, setupLimitName!);
        }

        await EnsureInitializedAsync(ct).ConfigureAwait(false);
        var range = rangeOf(_info!.Channels[channel]);
        if (value < range.Min)
        {
            throw new SetpointOutOfRangeException(channelName, parameter.Mnemonic, value, range.Min, "board " + parameter.MinParameter);
        }

        if (value > range.Max)
        {
            throw new SetpointOutOfRangeException(channelName, parameter.Mnemonic, value, range.Max, "board " + parameter.MaxParameter);
        }

        if (!CaenN1470Codec.FitsResolution(value, range.Decimals))
        {
            string source = ReadsDecimals(parameter) ? parameter.DecimalsParameter! : "wire format " + parameter.WireFormat;
            throw new SetpointOutOfRangeException(
                channelName, parameter.Mnemonic, value, range.Resolution, $"board resolution ({source}: {range.Decimals} decimals)");
        }

        string text = CaenN1470Codec.FormatNumber(value, range.Decimals);
        double tolerance = (range.Resolution / 2) + (1e-9 * Math.Max(1, Math.Abs(value)));
        await SetAsync(channel, parameter, text, async c =>
        {
            var back = await MonitorChannelAsync(channel, parameter, c).ConfigureAwait(false);
            return (Math.Abs(back.Number!.Value - value) <= tolerance, back.Text);
        }, ct).ConfigureAwait(false);
    }

    /// <summary>
    /// VDEC and ISDEC are read at initialization; RUP, RDW, TRIP and MAXV use the decimals of their wire format, so
    /// that a firmware without RUPDEC and friends still initializes.
    /// </summary>
    private static bool ReadsDecimals(CaenParameter parameter) =>
        ReferenceEquals(parameter, CaenN1470Protocol.VSet) || ReferenceEquals(parameter, CaenN1470Protocol.ISet);

    private async Task SetKeywordAsync(int? channel, CaenParameter parameter, int index, string argumentName, CancellationToken ct)
    {
        if (index < 0 || index >= parameter.Keywords.Count)
        {
            throw new ArgumentOutOfRangeException(
                argumentName, index, $"{parameter.Mnemonic} takes one of {string.Join("/", parameter.Keywords)} (0..{parameter.Keywords.Count - 1})");
        }

        string keyword = parameter.Keywords[index];
        await EnsureInitializedAsync(ct).ConfigureAwait(false);
        await SetAsync(channel, parameter, keyword, async c =>
        {
            var back = channel is int ch
                ? await MonitorChannelAsync(ch, parameter, c).ConfigureAwait(false)
                : await MonitorBoardAsync(parameter, c).ConfigureAwait(false);
            return (back.Text == keyword, back.Text);
        }, ct).ConfigureAwait(false);
    }

    private Func<CancellationToken, Task<(bool Confirmed, string ReadBack)>> ConfirmSwitchAsync(int channel, bool on) =>
        async ct =>
        {
            var (stat, text) = await MonitorChannelIntegerAsync(channel, CaenN1470Protocol.Stat, ct).ConfigureAwait(false);
            var status = CaenN1470Codec.DecodeStatus(stat);
            bool confirmed = on
                ? status.HasFlag(HvChannelStatus.On)
                : !status.HasFlag(HvChannelStatus.On) || status.HasFlag(HvChannelStatus.RampingDown);
            return (confirmed, $"STAT {text} ({status})");
        };

    /// <summary>
    /// Sends one SET. A missing reply is not taken as failure (§1.3: some units apply a SET and stay silent):
    /// <paramref name="confirm"/> reads the parameter back and decides.
    /// </summary>
    private async Task SetAsync(
        int? channel,
        CaenParameter parameter,
        string? value,
        Func<CancellationToken, Task<(bool Confirmed, string ReadBack)>> confirm,
        CancellationToken ct)
    {
        string request = channel is int ch
            ? _codec.FormatChannelRequest(_address, CaenCommand.Set, parameter, ch, ChannelCount, value)
            : _codec.FormatBoardRequest(_address, CaenCommand.Set, parameter, value);
        string shown = value ?? parameter.Mnemonic;
        try
        {
            var reply = await ExchangeAsync(request, ct).ConfigureAwait(false);
            if (reply.Values.Count > 0)
            {
                _log.Warning("{Board} SET {Request} acknowledged with a value: {Reply}", Name, request, reply.RawLine);
            }

            _log.Information("{Board} channel {Channel} {Parameter} set to {Value}", Name, channel, parameter.Mnemonic, shown);
        }
        catch (DeviceTimeoutException timeout)
        {
            (bool Confirmed, string ReadBack) check;
            try
            {
                check = await confirm(ct).ConfigureAwait(false);
            }
            catch (DeviceException readBackFailure)
            {
                throw new CaenSetUnconfirmedException(request, shown, readBack: null, readBackFailure);
            }

            if (!check.Confirmed)
            {
                throw new CaenSetUnconfirmedException(request, shown, check.ReadBack, timeout);
            }

            _log.Warning(
                "{Board} no reply to {Request} within {TimeoutMs} ms, but the read-back {ReadBack} shows it applied",
                Name, request, _options.ReplyTimeout.TotalMilliseconds, check.ReadBack);
        }
    }

    private async Task<CaenReply> ExchangeAsync(string request, CancellationToken ct)
    {
        string line = await _transport.ExchangeAsync(request, _options.ReplyTimeout, ct).ConfigureAwait(false);
        return _codec.ParseReply(request, _address, line);
    }

    private async Task<CaenReading> MonitorBoardAsync(CaenParameter parameter, CancellationToken ct)
    {
        string request = _codec.FormatBoardRequest(_address, CaenCommand.Mon, parameter);
        var reply = await ExchangeAsync(request, ct).ConfigureAwait(false);
        return CaenN1470Codec.DecodeValues(request, parameter, reply, 1)[0];
    }

    private async Task<int> MonitorBoardIntegerAsync(CaenParameter parameter, CancellationToken ct)
    {
        string request = _codec.FormatBoardRequest(_address, CaenCommand.Mon, parameter);
        var reply = await ExchangeAsync(request, ct).ConfigureAwait(false);
        return CaenN1470Codec.DecodeIntegers(request, parameter, reply, 1)[0];
    }

    /// <summary>Reads one integer channel parameter; returns the wire text too, for messages that must show it as sent.</summary>
    private async Task<(int Value, string Text)> MonitorChannelIntegerAsync(int channel, CaenParameter parameter, CancellationToken ct)
    {
        string request = _codec.FormatChannelRequest(_address, CaenCommand.Mon, parameter, channel, ChannelCount);
        var reply = await ExchangeAsync(request, ct).ConfigureAwait(false);
        return (CaenN1470Codec.DecodeIntegers(request, parameter, reply, 1)[0], reply.Values[0]);
    }

    private async Task<CaenReading> MonitorChannelAsync(int channel, CaenParameter parameter, CancellationToken ct)
    {
        string request = _codec.FormatChannelRequest(_address, CaenCommand.Mon, parameter, channel, ChannelCount);
        var reply = await ExchangeAsync(request, ct).ConfigureAwait(false);
        return CaenN1470Codec.DecodeValues(request, parameter, reply, 1)[0];
    }

    private async Task<IReadOnlyList<CaenReading>> MonitorAllAsync(CaenParameter parameter, CancellationToken ct)
    {
        string request = _codec.FormatChannelRequest(_address, CaenCommand.Mon, parameter, ChannelCount, ChannelCount);
        var reply = await ExchangeAsync(request, ct).ConfigureAwait(false);
        return CaenN1470Codec.DecodeValues(request, parameter, reply, ChannelCount);
    }

    private async Task<int[]> MonitorAllIntegersAsync(CaenParameter parameter, CancellationToken ct, int max = int.MaxValue)
    {
        string request = _codec.FormatChannelRequest(_address, CaenCommand.Mon, parameter, ChannelCount, ChannelCount);
        var reply = await ExchangeAsync(request, ct).ConfigureAwait(false);
        return CaenN1470Codec.DecodeIntegers(request, parameter, reply, ChannelCount, max);
    }

    private int CheckChannel(int channel)
    {
        if (channel < 0 || channel >= ChannelCount)
        {
            throw new ArgumentOutOfRangeException(
                nameof(channel), channel, $"{Name}: channel must be 0..{ChannelCount - 1}");
        }

        return channel;
    }

    private static void CheckMonitor(CaenParameter parameter, CaenScope scope)
    {
        ArgumentNullException.ThrowIfNull(parameter);
        if (!parameter.CanMonitor)
        {
            throw new ArgumentException($"{parameter.Mnemonic} cannot be read (SET only)", nameof(parameter));
        }

        if (parameter.Scope != scope)
        {
            throw new ArgumentException(
                $"{parameter.Mnemonic} is a {parameter.Scope.ToString().ToLowerInvariant()} parameter, not a {scope.ToString().ToLowerInvariant()} parameter",
                nameof(parameter));
        }
    }
}
