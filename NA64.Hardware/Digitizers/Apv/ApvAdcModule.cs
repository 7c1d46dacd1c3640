using System.Globalization;
using System.Net.Sockets;
using NA64.Hardware.Digitizers.Msadc;
using NA64.Hardware.Errors;
using Serilog;

namespace NA64.Hardware.Digitizers.Apv;

/// <summary>Where an APV-ADC is and how patiently to talk to it.</summary>
public sealed record ApvAdcModuleOptions
{
    public required string Name { get; init; }
    /// <summary>S-Link source of the GeSiCA the ADC sits behind (622 for the NA64 micromegas).</summary>
    public required int SourceId { get; init; }
    /// <summary>The <c>adc_id</c> the ADC writes into its data headers (data-formats.md §7.2).</summary>
    public required int AdcId { get; init; }
    /// <summary>Wait for one reply before the request is sent again.</summary>
    public TimeSpan ReplyTimeout { get; init; } = TimeSpan.FromMilliseconds(200);
    /// <summary>Extra attempts after the first one timed out.</summary>
    public int Retries { get; init; } = 2;
}

/// <summary>
/// Driver of one APV-ADC over the NA64.Hw control datagram (the MSADC frames unchanged, README.md). One request in
/// flight; every request carries a fresh sequence number and only the reply with that number is accepted; every
/// write is read back and compared, and a table download is verified by reading every entry back.
/// </summary>
public sealed class ApvAdcModule : IApvAdc
{
    private readonly IDatagramChannel _channel;
    private readonly ApvAdcModuleOptions _options;
    private readonly TimeProvider _time;
    private readonly RegisterLink _link;
    private readonly ILogger _log;

    public ApvAdcModule(IDatagramChannel channel, ApvAdcModuleOptions options, TimeProvider? time = null, ILogger? log = null)
    {
        ArgumentNullException.ThrowIfNull(channel);
        ArgumentNullException.ThrowIfNull(options);
        CheckRange(options.Name, "SourceId", options.SourceId, 0, ApvAdcRegisters.MaxSourceId);
        CheckRange(options.Name, "AdcId", options.AdcId, 0, ApvAdcRegisters.MaxAdcId);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(options.ReplyTimeout, TimeSpan.Zero, nameof(options.ReplyTimeout));
        ArgumentOutOfRangeException.ThrowIfNegative(options.Retries, nameof(options.Retries));
        _channel = channel;
        _options = options;
        _time = time ?? TimeProvider.System;
        _log = (log ?? Serilog.Core.Logger.None).ForContext("Module", options.Name);
        _link = new RegisterLink(channel, options.Name, "APV-ADC", options.ReplyTimeout, options.Retries, _time, _log, ApvAdcRegisters.NameOf, matchRegister: true);
    }

    public string Name => _options.Name;
    public int SourceId => _options.SourceId;
    public int AdcId => _options.AdcId;

    /// <summary>Replies dropped because they were malformed or their sequence number, opcode or shape did not match.</summary>
    public long StrayReplies => _link.StrayReplies;

    /// <summary>Requests sent again because no reply came within the timeout.</summary>
    public long Retries => _link.Retries;

    /// <summary>
    /// Refuses a configuration outside the register limits, naming module (and APV channel), field, value and limit.
    /// Called before any byte is sent, so that a refused configuration leaves the module untouched.
    /// </summary>
    public static void Validate(string module, ApvAdcConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        CheckMode(module, configuration.Mode);
        CheckRange(module, "Latency", configuration.Latency, 0, ApvAdcRegisters.MaxLatency);
        ValidateTables(module, configuration.Channels);
    }

    /// <summary>Refuses tables of the wrong size or with an entry outside its register's range.</summary>
    public static void ValidateTables(string module, IReadOnlyList<ApvChannelSettings> channels)
    {
        ArgumentNullException.ThrowIfNull(channels);
        if (channels.Count != ApvAdcRegisters.ChannelsPerAdc)
            throw new ArgumentOutOfRangeException(nameof(channels), channels.Count,
                string.Create(CultureInfo.InvariantCulture,
                    $"{module}: Channels has {channels.Count} entries, an APV-ADC has {ApvAdcRegisters.ChannelsPerAdc} ({ApvAdcRegisters.ApvsPerAdc} APVs x {ApvAdcRegisters.ChannelsPerApv})"));
        for (int i = 0; i < channels.Count; i++)
        {
            var ch = channels[i];
            string name = string.Create(CultureInfo.InvariantCulture,
                $"{module} APV {i / ApvAdcRegisters.ChannelsPerApv} channel {i % ApvAdcRegisters.ChannelsPerApv}");
            CheckRange(name, "Pedestal", ch.Pedestal, 0, ApvAdcRegisters.MaxPedestal);
            CheckRange(name, "SigmaQuarterCounts", ch.SigmaQuarterCounts, 0, ApvAdcRegisters.MaxSigma);
            CheckRange(name, "Threshold", ch.Threshold, 0, ApvAdcRegisters.MaxThreshold);
        }
    }

    /// <summary>
    /// Checks identity, then loads the tables, the latency and last the mode: a module only goes sparse once the
    /// thresholds it will cut with are in and verified.
    /// </summary>
    public async Task ConfigureAsync(ApvAdcConfiguration configuration, CancellationToken cancellationToken = default)
    {
        Validate(Name, configuration);
        await CheckIdentityAsync(cancellationToken).ConfigureAwait(false);
        await WriteTablesVerifiedAsync(configuration.Channels, cancellationToken).ConfigureAwait(false);
        await WriteRegisterAsync(ApvAdcRegisters.Latency, (uint)configuration.Latency, cancellationToken).ConfigureAwait(false);
        await WriteRegisterAsync(ApvAdcRegisters.Mode, (uint)configuration.Mode, cancellationToken).ConfigureAwait(false);
        _log.Information("APV-ADC {Module} configured: mode {Mode} (0x{ModeValue:X2}), latency {Latency}",
            Name, configuration.Mode, (uint)configuration.Mode, configuration.Latency);
    }

    public async Task DownloadTablesAsync(IReadOnlyList<ApvChannelSettings> channels, CancellationToken cancellationToken = default)
    {
        ValidateTables(Name, channels);
        await CheckIdentityAsync(cancellationToken).ConfigureAwait(false);
        await WriteTablesVerifiedAsync(channels, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Writes one mode value (e.g. latch-all for a pedestal run, then 0x8F) and reads it back.</summary>
    public Task SetModeAsync(ApvAdcMode mode, CancellationToken cancellationToken = default)
    {
        CheckMode(Name, mode);
        return WriteRegisterAsync(ApvAdcRegisters.Mode, (uint)mode, cancellationToken);
    }

    public async Task<ApvAdcConfiguration> ReadConfigurationAsync(CancellationToken cancellationToken = default)
    {
        var mode = (ApvAdcMode)await ReadRegisterAsync(ApvAdcRegisters.Mode, cancellationToken).ConfigureAwait(false);
        int latency = (int)await ReadRegisterAsync(ApvAdcRegisters.Latency, cancellationToken).ConfigureAwait(false);
        return new ApvAdcConfiguration(mode, latency, await ReadTablesAsync(cancellationToken).ConfigureAwait(false));
    }

    /// <summary>Reads the three tables, 4 × 128 entries each.</summary>
    public async Task<ApvChannelSettings[]> ReadTablesAsync(CancellationToken cancellationToken = default)
    {
        var channels = new ApvChannelSettings[ApvAdcRegisters.ChannelsPerAdc];
        for (int i = 0; i < channels.Length; i++)
        {
            int apv = i / ApvAdcRegisters.ChannelsPerApv, channel = i % ApvAdcRegisters.ChannelsPerApv;
            channels[i] = new ApvChannelSettings(
                (int)await ReadRegisterAsync(ApvAdcRegisters.Pedestal(apv, channel), cancellationToken).ConfigureAwait(false),
                (int)await ReadRegisterAsync(ApvAdcRegisters.Sigma(apv, channel), cancellationToken).ConfigureAwait(false),
                (int)await ReadRegisterAsync(ApvAdcRegisters.Threshold(apv, channel), cancellationToken).ConfigureAwait(false));
        }
        return channels;
    }

    public Task ArmAsync(CancellationToken cancellationToken = default) => CommandAsync(MsadcOpcode.Arm, cancellationToken);
    public Task StartAsync(CancellationToken cancellationToken = default) => CommandAsync(MsadcOpcode.Start, cancellationToken);
    public Task StopAsync(CancellationToken cancellationToken = default) => CommandAsync(MsadcOpcode.Stop, cancellationToken);

    public async Task<ApvAdcStatus> ReadStatusAsync(CancellationToken cancellationToken = default)
    {
        var reply = await TransactAsync(MsadcOpcode.Status, 0, 0, cancellationToken).ConfigureAwait(false);
        if (!Enum.IsDefined((MsadcRunState)reply.Value))
            throw Reply(string.Create(CultureInfo.InvariantCulture, $"{Name}: STATUS run state {reply.Value} is unknown"), reply, "STATUS");
        uint triggers = await ReadRegisterAsync(ApvAdcRegisters.TriggerCount, cancellationToken).ConfigureAwait(false);
        return new ApvAdcStatus((MsadcRunState)reply.Value, triggers);
    }

    public async Task<uint> ReadRegisterAsync(ushort address, CancellationToken cancellationToken = default)
    {
        if (ApvAdcRegisters.Find(address) is null)
            throw new ArgumentOutOfRangeException(nameof(address), address,
                string.Create(CultureInfo.InvariantCulture, $"{Name}: register 0x{address:X4} is not in the APV-ADC register map"));
        var reply = await TransactAsync(MsadcOpcode.Read, address, 0, cancellationToken).ConfigureAwait(false);
        return reply.Value;
    }

    /// <summary>Writes one register and reads it back; a different value is an <see cref="ApvAdcReadBackException"/>.</summary>
    public async Task WriteRegisterAsync(ushort address, uint value, CancellationToken cancellationToken = default)
    {
        var register = CheckWritable(address, value);
        await TransactAsync(MsadcOpcode.Write, address, value, cancellationToken).ConfigureAwait(false);
        var readBack = await TransactAsync(MsadcOpcode.Read, address, 0, cancellationToken).ConfigureAwait(false);
        if (readBack.Value != value)
            throw ReadBackFailed([new ApvAdcRegisterMismatch(address, register.Name, value, readBack.Value)], 1, readBack);
    }

    /// <summary>
    /// Writes every table entry, then reads every entry back in a second pass: a write that did not stick, and one
    /// that a later write overwrote (an address decoder fault), both show. All mismatches are reported together.
    /// </summary>
    private async Task WriteTablesVerifiedAsync(IReadOnlyList<ApvChannelSettings> channels, CancellationToken cancellationToken)
    {
        foreach (var (address, value) in TableEntries(channels))
            await TransactAsync(MsadcOpcode.Write, address, value, cancellationToken).ConfigureAwait(false);

        var mismatches = new List<ApvAdcRegisterMismatch>();
        MsadcFrame firstBad = default;
        int checkedCount = 0;
        foreach (var (address, value) in TableEntries(channels))
        {
            var readBack = await TransactAsync(MsadcOpcode.Read, address, 0, cancellationToken).ConfigureAwait(false);
            checkedCount++;
            if (readBack.Value == value)
                continue;
            if (mismatches.Count == 0)
                firstBad = readBack;
            mismatches.Add(new ApvAdcRegisterMismatch(address, ApvAdcRegisters.NameOf(address), value, readBack.Value));
        }
        if (mismatches.Count > 0)
            throw ReadBackFailed(mismatches, checkedCount, firstBad);
        _log.Information("APV-ADC {Module} tables downloaded and verified: {Registers} registers", Name, checkedCount);
    }

    private static IEnumerable<(ushort Address, uint Value)> TableEntries(IReadOnlyList<ApvChannelSettings> channels)
    {
        for (int i = 0; i < channels.Count; i++)
        {
            int apv = i / ApvAdcRegisters.ChannelsPerApv, channel = i % ApvAdcRegisters.ChannelsPerApv;
            yield return (ApvAdcRegisters.Pedestal(apv, channel), (uint)channels[i].Pedestal);
            yield return (ApvAdcRegisters.Sigma(apv, channel), (uint)channels[i].SigmaQuarterCounts);
            yield return (ApvAdcRegisters.Threshold(apv, channel), (uint)channels[i].Threshold);
        }
    }

    private ApvAdcReadBackException ReadBackFailed(List<ApvAdcRegisterMismatch> mismatches, int checkedCount, MsadcFrame firstReply)
    {
        var first = mismatches[0];
        _log.Error("APV-ADC {Module} register {Register} written {Written}, read back {Read}; {Mismatches} of {Checked} differ",
            Name, first.Register, first.Written, first.ReadBack, mismatches.Count, checkedCount);
        return new ApvAdcReadBackException(Name, mismatches, checkedCount,
            string.Create(CultureInfo.InvariantCulture, $"WRITE {first.Register} {first.Written} then READ"),
            MsadcProtocol.Hex(MsadcProtocol.ToBytes(firstReply)));
    }

    private ApvAdcRegister CheckWritable(ushort address, uint value)
    {
        var register = ApvAdcRegisters.Find(address) ?? throw new ArgumentOutOfRangeException(nameof(address), address,
            string.Create(CultureInfo.InvariantCulture, $"{Name}: register 0x{address:X4} is not in the APV-ADC register map"));
        if (!register.Writable)
            throw new ArgumentException($"{Name}: register {register.Name} is read-only", nameof(address));
        if (register.AllowedBits is { } allowed && (value & ~allowed) != 0)
            throw new SetpointOutOfRangeException(Name, register.Name, value, allowed, "defined-bit mask");
        if (value < register.Minimum)
            throw new SetpointOutOfRangeException(Name, register.Name, value, register.Minimum, "minimum");
        if (value > register.Maximum)
            throw new SetpointOutOfRangeException(Name, register.Name, value, register.Maximum, "maximum");
        return register;
    }

    /// <summary>
    /// The driver also refuses to talk to the wrong board: an MSADC speaks the same frames, so BoardType (which an
    /// MSADC does not have: UnknownRegister) tells them apart before any table is written.
    /// </summary>
    private async Task CheckIdentityAsync(CancellationToken cancellationToken)
    {
        uint board = await ReadRegisterAsync(ApvAdcRegisters.BoardType, cancellationToken).ConfigureAwait(false);
        uint source = await ReadRegisterAsync(ApvAdcRegisters.SourceId, cancellationToken).ConfigureAwait(false);
        uint adc = await ReadRegisterAsync(ApvAdcRegisters.AdcId, cancellationToken).ConfigureAwait(false);
        if (board != ApvAdcRegisters.BoardTypeApvAdc || source != SourceId || adc != AdcId)
            throw new DeviceReplyException(string.Create(CultureInfo.InvariantCulture,
                    $"{Name}: module at {_channel.Address} is board type 0x{board:X4} source {source} ADC {adc}, setup says APV-ADC (0x{ApvAdcRegisters.BoardTypeApvAdc:X4}) source {SourceId} ADC {AdcId}"),
                "READ BoardType/SourceId/AdcId",
                string.Create(CultureInfo.InvariantCulture, $"board=0x{board:X4} source={source} adc={adc}"));
    }

    private async Task CommandAsync(MsadcOpcode opcode, CancellationToken cancellationToken)
    {
        await TransactAsync(opcode, 0, 0, cancellationToken).ConfigureAwait(false);
        _log.Information("APV-ADC {Module} {Command} accepted", Name, opcode);
    }

    private Task<MsadcFrame> TransactAsync(MsadcOpcode opcode, ushort address, uint value, CancellationToken cancellationToken) =>
        _link.TransactAsync(opcode, address, value, cancellationToken);

    private static DeviceReplyException Reply(string message, MsadcFrame reply, string request) => RegisterLink.Reply(message, reply, request);

    private static void CheckMode(string module, ApvAdcMode mode)
    {
        if (((uint)mode & ~ApvAdcRegisters.DefinedModeBits) != 0)
            throw new SetpointOutOfRangeException(module, "Mode", (uint)mode, ApvAdcRegisters.DefinedModeBits, "defined-bit mask");
    }

    private static void CheckRange(string module, string field, int value, int minimum, int maximum)
    {
        if (value < minimum)
            throw new SetpointOutOfRangeException(module, field, value, minimum, "minimum");
        if (value > maximum)
            throw new SetpointOutOfRangeException(module, field, value, maximum, "maximum");
    }
}
