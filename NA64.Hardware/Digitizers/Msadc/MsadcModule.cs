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
    private readonly RegisterLink _link;
    private readonly ILogger _log;

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
        _link = new RegisterLink(channel, options.Name, "MSADC", options.ReplyTimeout, options.Retries, _time, _log, MsadcRegisters.NameOf, matchRegister: false);
    }

    public string Name => _options.Name;
    public int SourceId => _options.SourceId;
    public int Port => _options.Port;

    /// <summary>Replies dropped because their sequence number, opcode or shape did not match the request in flight.</summary>
    public long StrayReplies => _link.StrayReplies;

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

    private Task<MsadcFrame> TransactAsync(MsadcOpcode opcode, ushort address, uint value, CancellationToken cancellationToken) =>
        _link.TransactAsync(opcode, address, value, cancellationToken);

    private static DeviceReplyException Reply(string message, MsadcFrame reply, string request) => RegisterLink.Reply(message, reply, request);

    private static void CheckRange(string module, string field, int value, int minimum, int maximum)
    {
        if (value < minimum)
            throw new SetpointOutOfRangeException(module, field, value, minimum, "minimum");
        if (value > maximum)
            throw new SetpointOutOfRangeException(module, field, value, maximum, "maximum");
    }
}
