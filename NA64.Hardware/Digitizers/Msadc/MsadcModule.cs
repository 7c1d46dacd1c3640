using NA64.Hardware.Digitizers.Msadc.Format;
using System.Globalization;
using System.Net.Sockets;
using NA64.Hardware.Errors;
using Serilog;

namespace NA64.Hardware.Digitizers.Msadc;

/// <summary>Where a module is and how patiently to talk to it.</summary>
public sealed record MsadcModuleOptions
{
    public required string Name { get; init; }
    public required int SourceId { get; init; }
    public required int Port { get; init; }
    /// <summary>Wait for one reply before the request is sent again.</summary>
    public TimeSpan ReplyTimeout { get; init; } = TimeSpan.FromMilliseconds(200);
    /// <summary>Extra attempts after the first one timed out.</summary>
    public int Retries { get; init; } = 2;
}

/// <summary>
/// Driver of one MSADC module over the NA64.Hw control datagram protocol (README.md). One request in flight;
/// every request carries a fresh sequence number and only the reply with that number is accepted; every write is
/// read back and compared.
/// </summary>
public sealed class MsadcModule : IDigitizer
{
    private readonly IDatagramChannel _channel;
    private readonly MsadcModuleOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _log;
    private readonly SemaphoreSlim _oneInFlight = new(1, 1);
    private readonly byte[] _request = new byte[MsadcProtocol.FrameLength];
    private readonly byte[] _reply = new byte[512];
    private uint _sequence;
    private long _strayReplies;

    public MsadcModule(IDatagramChannel channel, MsadcModuleOptions options, TimeProvider? time = null, ILogger? log = null)
    {
        ArgumentNullException.ThrowIfNull(channel);
        ArgumentNullException.ThrowIfNull(options);
        _ = SadcChannelAddress.Checked(options.SourceId, options.Port, 0, 0); // range-checks source id and port
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(options.ReplyTimeout, TimeSpan.Zero, nameof(options.ReplyTimeout));
        ArgumentOutOfRangeException.ThrowIfNegative(options.Retries, nameof(options.Retries));
        _channel = channel;
        _options = options;
        _time = time ?? TimeProvider.System;
        _log = (log ?? Serilog.Core.Logger.None).ForContext("Module", options.Name);
    }

    public string Name => _options.Name;
    public int SourceId => _options.SourceId;
    public int Port => _options.Port;

    /// <summary>Replies dropped because their sequence number, opcode or shape did not match the request in flight.</summary>
    public long StrayReplies => Interlocked.Read(ref _strayReplies);

    /// <summary>
    /// Refuses a configuration outside the register limits, naming module, field, value and limit. Called before any byte
    /// is sent, so that a refused configuration leaves the module untouched.
    /// </summary>
    public static void Validate(string module, MsadcConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        if (!Enum.IsDefined(configuration.Mode))
            throw new SetpointOutOfRangeException(module, "Mode", (double)(uint)configuration.Mode,
                (double)(uint)MsadcMode.Sparse, "maximum");
        CheckRange(module, "SamplesPerChannel", configuration.SamplesPerChannel, MsadcRegisters.MinSamples, MsadcRegisters.MaxSamples);
        CheckRange(module, "Latency", configuration.Latency, 0, MsadcRegisters.MaxLatency);
        if (configuration.Channels.Count != MsadcRegisters.ChannelsPerModule)
            throw new ArgumentOutOfRangeException(nameof(configuration), configuration.Channels.Count,
                string.Create(CultureInfo.InvariantCulture,
                    $"{module}: Channels has {configuration.Channels.Count} entries, a module has {MsadcRegisters.ChannelsPerModule}"));
        for (int c = 0; c < configuration.Channels.Count; c++)
        {
            var ch = configuration.Channels[c];
            string name = string.Create(CultureInfo.InvariantCulture, $"{module} channel {c}");
            CheckRange(name, "PedestalEven", ch.PedestalEven, 0, MsadcRegisters.MaxAdc);
            CheckRange(name, "PedestalOdd", ch.PedestalOdd, 0, MsadcRegisters.MaxAdc);
            CheckRange(name, "Threshold", ch.Threshold, 0, MsadcRegisters.MaxAdc);
        }
    }

    public async Task ConfigureAsync(MsadcConfiguration configuration, CancellationToken cancellationToken = default)
    {
        Validate(Name, configuration);
        await CheckIdentityAsync(cancellationToken).ConfigureAwait(false);
        await WriteRegisterAsync(MsadcRegisters.Mode, (uint)configuration.Mode, cancellationToken).ConfigureAwait(false);
        await WriteRegisterAsync(MsadcRegisters.SamplesPerChannel, (uint)configuration.SamplesPerChannel, cancellationToken).ConfigureAwait(false);
        await WriteRegisterAsync(MsadcRegisters.Latency, (uint)configuration.Latency, cancellationToken).ConfigureAwait(false);
        for (int c = 0; c < MsadcRegisters.ChannelsPerModule; c++)
        {
            var ch = configuration.Channels[c];
            await WriteRegisterAsync(MsadcRegisters.PedestalEven(c), (uint)ch.PedestalEven, cancellationToken).ConfigureAwait(false);
            await WriteRegisterAsync(MsadcRegisters.PedestalOdd(c), (uint)ch.PedestalOdd, cancellationToken).ConfigureAwait(false);
            await WriteRegisterAsync(MsadcRegisters.Threshold(c), (uint)ch.Threshold, cancellationToken).ConfigureAwait(false);
        }
        _log.Information("MSADC {Module} configured: {Mode}, {Samples} samples, latency {Latency}",
            Name, configuration.Mode, configuration.SamplesPerChannel, configuration.Latency);
    }

    public async Task<MsadcConfiguration> ReadConfigurationAsync(CancellationToken cancellationToken = default)
    {
        var mode = (MsadcMode)await ReadRegisterAsync(MsadcRegisters.Mode, cancellationToken).ConfigureAwait(false);
        int samples = (int)await ReadRegisterAsync(MsadcRegisters.SamplesPerChannel, cancellationToken).ConfigureAwait(false);
        int latency = (int)await ReadRegisterAsync(MsadcRegisters.Latency, cancellationToken).ConfigureAwait(false);
        var channels = new MsadcChannelSettings[MsadcRegisters.ChannelsPerModule];
        for (int c = 0; c < channels.Length; c++)
        {
            channels[c] = new MsadcChannelSettings(
                (int)await ReadRegisterAsync(MsadcRegisters.PedestalEven(c), cancellationToken).ConfigureAwait(false),
                (int)await ReadRegisterAsync(MsadcRegisters.PedestalOdd(c), cancellationToken).ConfigureAwait(false),
                (int)await ReadRegisterAsync(MsadcRegisters.Threshold(c), cancellationToken).ConfigureAwait(false));
        }
        return new MsadcConfiguration(mode, samples, latency, channels);
    }

    public Task ArmAsync(CancellationToken cancellationToken = default) => CommandAsync(MsadcOpcode.Arm, cancellationToken);
    public Task StartAsync(CancellationToken cancellationToken = default) => CommandAsync(MsadcOpcode.Start, cancellationToken);
    public Task StopAsync(CancellationToken cancellationToken = default) => CommandAsync(MsadcOpcode.Stop, cancellationToken);

    public async Task<MsadcStatus> ReadStatusAsync(CancellationToken cancellationToken = default)
    {
        var reply = await TransactAsync(MsadcOpcode.Status, 0, 0, cancellationToken).ConfigureAwait(false);
        if (!Enum.IsDefined((MsadcRunState)reply.Value))
            throw Reply(string.Create(CultureInfo.InvariantCulture, $"{Name}: STATUS run state {reply.Value} is unknown"), reply, "STATUS");
        uint triggers = await ReadRegisterAsync(MsadcRegisters.TriggerCount, cancellationToken).ConfigureAwait(false);
        return new MsadcStatus((MsadcRunState)reply.Value, triggers);
    }

    public async Task<uint> ReadRegisterAsync(ushort address, CancellationToken cancellationToken = default)
    {
        if (MsadcRegisters.Find(address) is null)
            throw new ArgumentOutOfRangeException(nameof(address), address,
                string.Create(CultureInfo.InvariantCulture, $"{Name}: register 0x{address:X4} is not in the MSADC register map"));
        var reply = await TransactAsync(MsadcOpcode.Read, address, 0, cancellationToken).ConfigureAwait(false);
        return reply.Value;
    }

    /// <summary>Writes one register and reads it back; a different read-back value is a <see cref="DeviceReplyException"/>.</summary>
    public async Task WriteRegisterAsync(ushort address, uint value, CancellationToken cancellationToken = default)
    {
        var register = MsadcRegisters.Find(address) ?? throw new ArgumentOutOfRangeException(nameof(address), address,
            string.Create(CultureInfo.InvariantCulture, $"{Name}: register 0x{address:X4} is not in the MSADC register map"));
        if (!register.Writable)
            throw new ArgumentException($"{Name}: register {register.Name} is read-only", nameof(address));
        if (value < register.Minimum)
            throw new SetpointOutOfRangeException(Name, register.Name, value, register.Minimum, "minimum");
        if (value > register.Maximum)
            throw new SetpointOutOfRangeException(Name, register.Name, value, register.Maximum, "maximum");

        await TransactAsync(MsadcOpcode.Write, address, value, cancellationToken).ConfigureAwait(false);
        var readBack = await TransactAsync(MsadcOpcode.Read, address, 0, cancellationToken).ConfigureAwait(false);
        if (readBack.Value != value)
        {
            _log.Error("MSADC {Module} register {Register} written {Written}, read back {Read}",
                Name, register.Name, value, readBack.Value);
            throw Reply(string.Create(CultureInfo.InvariantCulture,
                $"{Name}: register {register.Name} written {value}, read back {readBack.Value}"), readBack,
                string.Create(CultureInfo.InvariantCulture, $"WRITE {register.Name} {value} then READ"));
        }
    }

    private async Task CheckIdentityAsync(CancellationToken cancellationToken)
    {
        uint source = await ReadRegisterAsync(MsadcRegisters.SourceId, cancellationToken).ConfigureAwait(false);
        uint port = await ReadRegisterAsync(MsadcRegisters.HotLinkPort, cancellationToken).ConfigureAwait(false);
        if (source != SourceId || port != Port)
            throw new DeviceReplyException(string.Create(CultureInfo.InvariantCulture,
                    $"{Name}: module at {_channel.Address} is source {source} port {port}, setup says source {SourceId} port {Port}"),
                "READ SourceId/HotLinkPort", string.Create(CultureInfo.InvariantCulture, $"source={source} port={port}"));
    }

    private async Task CommandAsync(MsadcOpcode opcode, CancellationToken cancellationToken)
    {
        await TransactAsync(opcode, 0, 0, cancellationToken).ConfigureAwait(false);
        _log.Information("MSADC {Module} {Command} accepted", Name, opcode);
    }

    private async Task<MsadcFrame> TransactAsync(MsadcOpcode opcode, ushort address, uint value, CancellationToken cancellationToken)
    {
        await _oneInFlight.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            for (int attempt = 0; ; attempt++)
            {
                var request = new MsadcFrame(opcode, false, ++_sequence, address, MsadcReplyStatus.Ok, value);
                MsadcProtocol.Write(request, _request);
                var reply = await SendAndAwaitAsync(request, cancellationToken).ConfigureAwait(false);
                if (reply is { } r)
                {
                    if (r.Status == MsadcReplyStatus.WrongState && attempt > 0 && opcode is MsadcOpcode.Arm or MsadcOpcode.Start
                        && await AlreadyInAsync(opcode == MsadcOpcode.Arm ? MsadcRunState.Armed : MsadcRunState.Running, cancellationToken).ConfigureAwait(false) is { } done)
                        return done;
                    if (r.Status != MsadcReplyStatus.Ok)
                        throw Reply(string.Create(CultureInfo.InvariantCulture,
                            $"{Name}: {opcode} {MsadcRegisters.NameOf(address)} refused by the module: {r.Status}"), r, request.ToString());
                    return r;
                }
                if (attempt >= _options.Retries)
                    throw new DeviceTimeoutException(_channel.Address, request.ToString(), _options.ReplyTimeout);
                _log.Warning("MSADC {Module} no reply to {Opcode} seq {Sequence} within {TimeoutMs} ms, retry {Attempt}",
                    Name, opcode, request.Sequence, _options.ReplyTimeout.TotalMilliseconds, attempt + 1);
            }
        }
        finally
        {
            _oneInFlight.Release();
        }
    }

    /// <summary>
    /// ARM and START are not idempotent: when an earlier attempt was executed and only its reply was lost, the retry is
    /// refused with WrongState. A STATUS then tells whether the module already is where the command wanted it (the
    /// command succeeded: its STATUS reply is returned) or not (null: the refusal stands).
    /// </summary>
    private async Task<MsadcFrame?> AlreadyInAsync(MsadcRunState wanted, CancellationToken cancellationToken)
    {
        var request = new MsadcFrame(MsadcOpcode.Status, false, ++_sequence, 0, MsadcReplyStatus.Ok, 0);
        MsadcProtocol.Write(request, _request);
        var status = await SendAndAwaitAsync(request, cancellationToken).ConfigureAwait(false);
        if (status is not { Status: MsadcReplyStatus.Ok } s || s.Value != (uint)wanted)
            return null;
        _log.Warning("MSADC {Module} retried command refused as WrongState but the module is {State}: the first attempt's reply was lost",
            Name, wanted);
        return s;
    }

    /// <summary>Sends the request in <see cref="_request"/> and returns its reply, or null when the timeout passed.</summary>
    private async Task<MsadcFrame?> SendAndAwaitAsync(MsadcFrame request, CancellationToken cancellationToken)
    {
        using var timeout = new CancellationTokenSource(_options.ReplyTimeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        try
        {
            await _channel.SendAsync(_request, linked.Token).ConfigureAwait(false);
            while (true)
            {
                int length = await _channel.ReceiveAsync(_reply, linked.Token).ConfigureAwait(false);
                MsadcFrame reply;
                try
                {
                    reply = MsadcProtocol.Read(_reply.AsSpan(0, length));
                }
                catch (FrameFormatException ex)
                {
                    Interlocked.Increment(ref _strayReplies);
                    _log.Warning("MSADC {Module} dropped malformed reply {Raw}: {Reason}",
                        Name, MsadcProtocol.Hex(_reply.AsSpan(0, length)), ex.Message);
                    continue;
                }
                if (!reply.IsReply || reply.Sequence != request.Sequence || reply.Opcode != request.Opcode)
                {
                    // A late reply to an earlier attempt, or a datagram that is not ours: count it and keep waiting.
                    Interlocked.Increment(ref _strayReplies);
                    _log.Warning("MSADC {Module} dropped stray {Reply} while waiting for seq {Sequence}",
                        Name, reply.ToString(), request.Sequence);
                    continue;
                }
                return reply;
            }
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            return null;
        }
        catch (SocketException ex)
        {
            throw new TransportDisconnectedException(_channel.Address, ex);
        }
    }

    private static DeviceReplyException Reply(string message, MsadcFrame reply, string request) =>
        new(message, request, MsadcProtocol.Hex(MsadcProtocol.ToBytes(reply)));

    private static void CheckRange(string module, string field, int value, int minimum, int maximum)
    {
        if (value < minimum)
            throw new SetpointOutOfRangeException(module, field, value, minimum, "minimum");
        if (value > maximum)
            throw new SetpointOutOfRangeException(module, field, value, maximum, "maximum");
    }
}
