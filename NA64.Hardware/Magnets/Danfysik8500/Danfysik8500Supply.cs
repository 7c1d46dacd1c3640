using System.Globalization;
using System.Runtime.CompilerServices;
using NA64.Hardware.Errors;
using NA64.Hardware.Transport;

namespace NA64.Hardware.Magnets.Danfysik8500;

/// <summary>
/// Driver for one Danfysik System 8500 on a line (device-protocols.md §4), written from the manual's tables.
/// Directives (<c>N</c>, <c>F</c>, <c>RS</c>, <c>WA</c>, <c>PO +/-</c>, <c>REM</c>) are never acknowledged, so each is
/// verified by read-back (<c>RA</c> after <c>WA</c>, <c>S1</c> after the others) and one that did not take effect throws
/// <see cref="Danfysik8500DirectiveNotTakenException"/>. Setpoints are checked against the setup's limits and the unit's
/// full scale before any byte is sent. With a multi-drop address every conversation starts with <c>ADR n</c> and holds
/// the line until it ends, so that another unit's driver on the same port cannot re-select in between.
/// </summary>
public sealed class Danfysik8500Supply : IMagnetSupply
{
    private static readonly ConditionalWeakTable<LineTransport, SemaphoreSlim> LineLocks = new();

    private readonly LineTransport _transport;
    private readonly Danfysik8500Options _options;
    private readonly TimeProvider _time;
    private readonly Serilog.ILogger _log;
    private readonly SemaphoreSlim _line;
    private volatile MagnetReadback? _last;

    public Danfysik8500Supply(LineTransport transport, MagnetLimits limits, Danfysik8500Options options, TimeProvider? time = null, Serilog.ILogger? log = null)
    {
        ArgumentNullException.ThrowIfNull(transport);
        ArgumentNullException.ThrowIfNull(limits);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (!(limits.MaxAmps >= 0) || double.IsInfinity(limits.MaxAmps))
        {
            throw new ArgumentOutOfRangeException(nameof(limits), limits.MaxAmps, $"{limits.Name}: MaxAmps is {limits.MaxAmps}; it must be a finite number, 0 or more");
        }

        _transport = transport;
        _options = options;
        Limits = limits;
        Capabilities = new(HasStandby: false, HasPolaritySwitch: true, RampsItself: true, RequestsNeedApproval: false,
            OwnRampAmpsPerSecond: options.SlewAmpsPerSecond);
        _time = time ?? TimeProvider.System;
        _line = LineLocks.GetValue(transport, _ => new SemaphoreSlim(1, 1));
        _log = (log ?? Serilog.Core.Logger.None).ForContext<Danfysik8500Supply>().ForContext("Magnet", limits.Name);
    }

    public string Name => Limits.Name;

    public MagnetLimits Limits { get; }

    public Danfysik8500Options Options => _options;

    /// <summary>No standby, a polarity switch, slews by itself (slew DACs) at the configured rate when given, no approval.</summary>
    public MagnetCapabilities Capabilities { get; }

    /// <summary>The last readback of <see cref="ReadAsync"/> (or of initialization); null before the first.</summary>
    public MagnetReadback? LastReadback => _last;

    /// <summary>
    /// Selects remote control (<c>REM</c>, which changes no output) and reads <c>S1</c>, <c>RA</c> and <c>PO</c>; nothing
    /// else is written.
    /// </summary>
    public Task InitializeAsync(CancellationToken cancellationToken = default) =>
        OnLineAsync(async ct =>
        {
            await SendAsync(Danfysik8500Protocol.Remote.Format(), ct).ConfigureAwait(false);
            var status = await ReadStatusAsync(ct).ConfigureAwait(false);
            var ppm = await ReadIntegerAsync(Danfysik8500Protocol.ReadSetpoint.Format(), ct).ConfigureAwait(false);
            var polarity = await ReadPolarityAsync(ct).ConfigureAwait(false);
            _log.Information("{Magnet} in remote: {Status}, setpoint {Ppm} ppm, polarity {Polarity}", Name, status.Raw, ppm, polarity);
            return 0;
        }, cancellationToken);

    /// <summary>One read: <c>S1</c>, <c>RA</c>, <c>AD 8</c>, <c>AD 2</c>, <c>PO</c>, scaled by the options.</summary>
    public Task<MagnetReadback> ReadAsync(CancellationToken cancellationToken = default) =>
        OnLineAsync(async ct =>
        {
            var time = _time.GetUtcNow();
            var status = await ReadStatusAsync(ct).ConfigureAwait(false);
            var ppm = await ReadIntegerAsync(Danfysik8500Protocol.ReadSetpoint.Format(), ct).ConfigureAwait(false);
            var amps = await ReadIntegerAsync(Danfysik8500Protocol.ReadAdcChannel(Danfysik8500Protocol.CurrentAdcChannel), ct).ConfigureAwait(false);
            var volts = await ReadIntegerAsync(Danfysik8500Protocol.ReadAdcChannel(Danfysik8500Protocol.VoltageAdcChannel), ct).ConfigureAwait(false);
            var polarity = await ReadPolarityAsync(ct).ConfigureAwait(false);
            var detail = status.ActiveNames;
            var readback = new MagnetReadback(
                time,
                Danfysik8500Codec.MapOutput(status.Conditions),
                ppm * _options.AmpsPerPpm,
                amps * _options.AmpsPerCurrentCount,
                volts * _options.VoltsPerVoltageCount,
                polarity,
                Danfysik8500Codec.MapConditions(status.Conditions),
                detail.Length == 0 ? $"S1 {status.Raw}" : $"S1 {status.Raw}: {detail}");
            _last = readback;
            return readback;
        }, cancellationToken);

    /// <summary>
    /// <c>WA</c> in ppm of full scale, then <c>RA</c> must read back the same ppm. Refused with nothing sent above the
    /// setup's MaxAmps, above the unit's full scale, or negative (the polarity switch reverses the current).
    /// </summary>
    public Task<MagnetRequestResult> SetCurrentAsync(double amps, CancellationToken cancellationToken = default)
    {
        if (double.IsNaN(amps) || amps < 0)
        {
            throw new SetpointOutOfRangeException(Name, "current (A)", amps, 0, "lowest current (polarity selects the direction)");
        }

        if (amps > Limits.MaxAmps)
        {
            throw new SetpointOutOfRangeException(Name, "current (A)", amps, Limits.MaxAmps, "setup MaxAmps");
        }

        if (amps > _options.FullScaleAmps)
        {
            throw new SetpointOutOfRangeException(Name, "current (A)", amps, _options.FullScaleAmps, "unit full scale");
        }

        var ppm = (int)Math.Round(amps / _options.AmpsPerPpm, MidpointRounding.AwayFromZero);
        if (ppm > Danfysik8500Facts.FullScalePpm)
        {
            throw new SetpointOutOfRangeException(Name, "current (ppm)", ppm, Danfysik8500Facts.FullScalePpm, "WA full scale");
        }

        return OnLineAsync(async ct =>
        {
            var request = Danfysik8500Protocol.WriteSetpoint.Format(ppm);
            await SendAsync(request, ct).ConfigureAwait(false);
            var readRequest = Danfysik8500Protocol.ReadSetpoint.Format();
            var expected = ppm.ToString(CultureInfo.InvariantCulture);
            var reply = await ExchangeAsync(readRequest, ct).ConfigureAwait(false);
            var back = ReadBackOf(request, expected, () => Danfysik8500Codec.ParseInteger(readRequest, reply));
            if (back != ppm)
            {
                throw new Danfysik8500DirectiveNotTakenException(Name, request, readRequest, reply, expected);
            }

            _log.Information("{Magnet} setpoint {Amps} A ({Ppm} ppm) confirmed by RA", Name, amps, ppm);
            return MagnetRequestResult.Done;
        }, cancellationToken);
    }

    /// <summary><c>N</c>, then <c>S1</c> must show main power on.</summary>
    public Task<MagnetRequestResult> SwitchOnAsync(CancellationToken cancellationToken = default) =>
        DirectiveVerifiedByStatusAsync(Danfysik8500Protocol.PowerOn.Format(), s => s.PowerOn, "main power on (position 1 '.')", cancellationToken);

    /// <summary><c>F</c>, then <c>S1</c> must show main power off.</summary>
    public Task<MagnetRequestResult> SwitchOffAsync(CancellationToken cancellationToken = default) =>
        DirectiveVerifiedByStatusAsync(Danfysik8500Protocol.PowerOff.Format(), s => !s.PowerOn, "main power off (position 1 '!')", cancellationToken);

    /// <summary>The 8500 has no standby: refused with nothing sent.</summary>
    public Task<MagnetRequestResult> StandbyAsync(CancellationToken cancellationToken = default) =>
        throw new Danfysik8500RefusedException(Name, "standby", "a Danfysik 8500 has no standby (only N/F)");

    /// <summary><c>RS</c>, then <c>S1</c> must show the sum interlock cleared (it stays while the cause persists).</summary>
    public Task<MagnetRequestResult> ResetAsync(CancellationToken cancellationToken = default) =>
        DirectiveVerifiedByStatusAsync(Danfysik8500Protocol.Reset.Format(), s => !s.SumInterlock, "sum interlock cleared (position 10 '.')", cancellationToken);

    /// <summary>
    /// <c>PO +</c> or <c>PO -</c>, only at zero current: refused with nothing sent while the last readback (read now if
    /// there is none) shows more than <see cref="Danfysik8500Options.ZeroCurrentAmps"/>; then <c>S1</c> must show the polarity.
    /// </summary>
    public async Task<MagnetRequestResult> SetPolarityAsync(MagnetPolarity polarity, CancellationToken cancellationToken = default)
    {
        var last = _last ?? await ReadAsync(cancellationToken).ConfigureAwait(false);
        var request = Danfysik8500Protocol.SelectPolarity(polarity);
        if (Math.Abs(last.Amps) > _options.ZeroCurrentAmps)
        {
            throw new Danfysik8500RefusedException(Name, request,
                $"the last readback shows {last.Amps.ToString("0.###", CultureInfo.InvariantCulture)} A, polarity changes only at " +
                $"{_options.ZeroCurrentAmps.ToString(CultureInfo.InvariantCulture)} A or less");
        }

        var expected = polarity == MagnetPolarity.Normal ? "polarity normal (position 2 '!')" : "polarity reversed (position 3 '!')";
        return await DirectiveVerifiedByStatusAsync(request, s => s.Polarity == polarity, expected, cancellationToken).ConfigureAwait(false);
    }

    private Task<MagnetRequestResult> DirectiveVerifiedByStatusAsync(
        string request, Func<Danfysik8500Status, bool> took, string expected, CancellationToken cancellationToken) =>
        OnLineAsync(async ct =>
        {
            await SendAsync(request, ct).ConfigureAwait(false);
            var statusRequest = Danfysik8500Protocol.Status1.Format();
            var reply = await ExchangeAsync(statusRequest, ct).ConfigureAwait(false);
            var status = ReadBackOf(request, expected, () => Danfysik8500Codec.DecodeStatus(statusRequest, reply));
            if (!took(status))
            {
                throw new Danfysik8500DirectiveNotTakenException(Name, request, Danfysik8500Protocol.Status1.Format(), status.Raw, expected);
            }

            _log.Information("{Magnet} {Request} confirmed by S1 {Status}", Name, request, status.Raw);
            return MagnetRequestResult.Done;
        }, cancellationToken);

    /// <summary>
    /// The read-back after a directive. A unit that refuses a directive answers it with an error message (§4.2), which
    /// comes in front of the read-back's own reply: a reply that is not of the read-back's form is that refusal, so the
    /// directive did not take, and the exception carries the unit's text. The read-back's own reply then comes late and
    /// the transport discards it before the next request.
    /// </summary>
    private T ReadBackOf<T>(string sent, string expected, Func<T> parse)
    {
        try
        {
            return parse();
        }
        catch (Danfysik8500ReplyException e)
        {
            throw new Danfysik8500DirectiveNotTakenException(Name, sent, e.Request, e.RawReply, expected, e);
        }
    }

    /// <summary>One conversation with this unit: holds the line (shared by every 8500 driver on the transport) and selects the unit first.</summary>
    private async Task<T> OnLineAsync<T>(Func<CancellationToken, Task<T>> conversation, CancellationToken cancellationToken)
    {
        await _line.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_options.Address is { } address)
            {
                await SendAsync(Danfysik8500Protocol.Address.Format(address), cancellationToken).ConfigureAwait(false);
            }

            return await conversation(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _line.Release();
        }
    }

    private async Task<Danfysik8500Status> ReadStatusAsync(CancellationToken ct)
    {
        var request = Danfysik8500Protocol.Status1.Format();
        return Danfysik8500Codec.DecodeStatus(request, await ExchangeAsync(request, ct).ConfigureAwait(false));
    }

    private async Task<int> ReadIntegerAsync(string request, CancellationToken ct) =>
        Danfysik8500Codec.ParseInteger(request, await ExchangeAsync(request, ct).ConfigureAwait(false));

    private async Task<MagnetPolarity> ReadPolarityAsync(CancellationToken ct)
    {
        var request = Danfysik8500Protocol.Polarity.Format();
        return Danfysik8500Codec.ParsePolarity(request, await ExchangeAsync(request, ct).ConfigureAwait(false));
    }

    private Task<string> ExchangeAsync(string request, CancellationToken ct) => _transport.ExchangeAsync(request, _options.ReplyTimeout, ct);

    private Task SendAsync(string request, CancellationToken ct) => _transport.SendAsync(request, ct);
}
