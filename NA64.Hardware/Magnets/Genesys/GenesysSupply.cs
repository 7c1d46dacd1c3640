using System.Globalization;
using NA64.Hardware.Errors;
using NA64.Hardware.Transport;

namespace NA64.Hardware.Magnets.Genesys;

/// <summary>Settings of the Genesys driver that are ours, not the manual's.</summary>
/// <param name="ReplyTimeout">Time to wait for one reply line.</param>
public sealed record GenesysOptions(TimeSpan? ReplyTimeout = null)
{
    public TimeSpan Timeout => ReplyTimeout ?? GenesysProtocol.DefaultReplyTimeout;
}

/// <summary>
/// Driver for one TDK-Lambda Genesys unit at one address of a (possibly multi-drop) line (device-protocols.md §3) as an
/// <see cref="IMagnetSupply"/>. PC is the current setpoint; the setup's <see cref="MagnetLimits.MaxVolts"/> is the voltage
/// compliance, written as PV when the output is switched on. Every command is preceded by <c>ADR n</c> when the line's
/// last selection was another unit (or is unknown). Initialization only reads. <c>RST</c> is never sent: it zeroes the
/// settings; <see cref="ResetAsync"/> is <c>CLS</c> and a read of the fault register. SRQ lines (<c>!nn</c>) are routed
/// out of the reply stream by the framing (<see cref="GenesysProtocol.Framing"/>) and counted in <see cref="ServiceRequests"/>.
/// </summary>
public sealed class GenesysSupply : IMagnetSupply, IDisposable
{
    private readonly LineTransport _transport;
    private readonly GenesysLine _line;
    private readonly GenesysOptions _options;
    private readonly TimeProvider _time;
    private readonly Serilog.ILogger _log;
    private readonly string _addressText;
    private volatile GenesysModel? _model;
    private long _serviceRequests;

    public GenesysSupply(
        LineTransport transport,
        int address,
        MagnetLimits limits,
        GenesysOptions? options = null,
        TimeProvider? time = null,
        Serilog.ILogger? log = null)
    {
        ArgumentNullException.ThrowIfNull(transport);
        ArgumentNullException.ThrowIfNull(limits);
        if (address is < GenesysFacts.MinAddress or > GenesysFacts.MaxAddress)
        {
            throw new ArgumentOutOfRangeException(
                nameof(address), address, $"Genesys address must be {GenesysFacts.MinAddress}..{GenesysFacts.MaxAddress} (RS-485 multi-drop)");
        }

        if (!double.IsFinite(limits.MaxAmps) || limits.MaxAmps <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(limits), limits.MaxAmps, $"{limits.Name}: MaxAmps must be a positive number");
        }

        if (limits.MaxVolts is double v && (!double.IsFinite(v) || v <= 0))
        {
            throw new ArgumentOutOfRangeException(nameof(limits), v, $"{limits.Name}: MaxVolts must be a positive number");
        }

        _options = options ?? new GenesysOptions();
        if (_options.Timeout <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(options), _options.Timeout, "GenesysOptions.ReplyTimeout must be positive");
        }

        _transport = transport;
        _line = GenesysLine.For(transport);
        Address = address;
        _addressText = address.ToString(CultureInfo.InvariantCulture);
        Limits = limits;
        _time = time ?? TimeProvider.System;
        _log = (log ?? Serilog.Core.Logger.None).ForContext<GenesysSupply>().ForContext("Magnet", limits.Name);
        _transport.UnsolicitedLine += OnUnsolicitedLine;
    }

    public string Name => Limits.Name;

    /// <summary>Unit address on the line, 0..30.</summary>
    public int Address { get; }

    public MagnetLimits Limits { get; }

    /// <summary>No standby, no polarity switch, does not ramp by itself (the controller steps PC), no approval.</summary>
    public MagnetCapabilities Capabilities { get; } = new(HasStandby: false, HasPolaritySwitch: false, RampsItself: false, RequestsNeedApproval: false);

    /// <summary>Model and ratings read by <see cref="InitializeAsync"/>; null before.</summary>
    public GenesysModel? Model => _model;

    /// <summary>SRQ lines <c>!nn</c> with this unit's address seen on the line (each is a 0 → non-zero event register transition).</summary>
    public long ServiceRequests => Interlocked.Read(ref _serviceRequests);

    /// <summary>Raised (on the transport's reader thread) for every SRQ of this unit; handlers must not block.</summary>
    public event EventHandler? ServiceRequested;

    /// <summary><c>ADR n</c> (a selection, not a setting) and <c>IDN?</c>: model and ratings. Nothing is set.</summary>
    public async Task InitializeAsync(CancellationToken cancellationToken = default)
    {
        using var turn = await _line.EnterAsync(cancellationToken).ConfigureAwait(false);
        await SelectAsync(force: true, cancellationToken).ConfigureAwait(false);
        var request = GenesysProtocol.Idn.Format();
        var model = GenesysCodec.ParseIdentity(request, await ExchangeAsync(request, cancellationToken).ConfigureAwait(false));
        _model = model;
        _log.Information("{Magnet} is a {Model} ({RatedVolts} V, {RatedAmps} A) at address {Address} on {Port}",
            Name, model.Name, model.RatedVolts, model.RatedAmps, Address, _transport.Address);
        if (Limits.MaxAmps > model.RatedAmps)
        {
            _log.Warning("{Magnet} setup MaxAmps {MaxAmps} is above the rating {RatedAmps} A; the rating is the limit",
                Name, Limits.MaxAmps, model.RatedAmps);
        }
    }

    /// <summary>OUT?, PC?, MC?, MV?, MODE?, STAT?, FLT? in one turn of the line.</summary>
    public async Task<MagnetReadback> ReadAsync(CancellationToken cancellationToken = default)
    {
        await EnsureInitializedAsync(cancellationToken).ConfigureAwait(false);
        using var turn = await _line.EnterAsync(cancellationToken).ConfigureAwait(false);
        await SelectAsync(force: false, cancellationToken).ConfigureAwait(false);
        var time = _time.GetUtcNow();
        var on = await QueryAsync(GenesysProtocol.OutQuery, GenesysCodec.ParseOutput, cancellationToken).ConfigureAwait(false);
        var setpoint = await QueryAsync(GenesysProtocol.PcQuery, GenesysCodec.ParseNumber, cancellationToken).ConfigureAwait(false);
        var amps = await QueryAsync(GenesysProtocol.McQuery, GenesysCodec.ParseNumber, cancellationToken).ConfigureAwait(false);
        var volts = await QueryAsync(GenesysProtocol.MvQuery, GenesysCodec.ParseNumber, cancellationToken).ConfigureAwait(false);
        var mode = await QueryAsync(GenesysProtocol.ModeQuery, GenesysCodec.ParseMode, cancellationToken).ConfigureAwait(false);
        var status = (GenesysStatus)await QueryAsync(GenesysProtocol.StatQuery, GenesysCodec.ParseHex, cancellationToken).ConfigureAwait(false);
        var fault = (GenesysFault)await QueryAsync(GenesysProtocol.FltQuery, GenesysCodec.ParseHex, cancellationToken).ConfigureAwait(false);
        return ToReadback(time, on, setpoint, amps, volts, mode, status, fault);
    }

    /// <summary>The readback a set of register values means (pure; public for tests and replay).</summary>
    public static MagnetReadback ToReadback(
        DateTimeOffset time, bool on, double setpoint, double amps, double volts, GenesysMode mode, GenesysStatus status, GenesysFault fault)
    {
        var conditions = MagnetConditions.None;
        if (on && mode == GenesysMode.ConstantCurrent)
        {
            conditions |= MagnetConditions.CurrentRegulated;
        }

        if (on && mode == GenesysMode.ConstantVoltage)
        {
            conditions |= MagnetConditions.VoltageLimited;
        }

        if (status.HasFlag(GenesysStatus.Local))
        {
            conditions |= MagnetConditions.Local;
        }

        if (fault.HasFlag(GenesysFault.AcFailure))
        {
            conditions |= MagnetConditions.AcFailure;
        }

        if (fault.HasFlag(GenesysFault.OverTemperature))
        {
            conditions |= MagnetConditions.OverTemperature;
        }

        if (fault.HasFlag(GenesysFault.OverVoltage))
        {
            conditions |= MagnetConditions.OverVoltage;
        }

        if ((fault & (GenesysFault.EnableOpen | GenesysFault.ShutOff)) != 0)
        {
            conditions |= MagnetConditions.Interlock;
        }

        if (fault.HasFlag(GenesysFault.Foldback))
        {
            conditions |= MagnetConditions.OtherFault;
        }

        var output = (fault & GenesysProtocol.ShutdownFaults) != 0 ? MagnetOutput.Fault : on ? MagnetOutput.On : MagnetOutput.Off;
        var detail = string.Create(CultureInfo.InvariantCulture,
            $"MODE {GenesysProtocol.ModeWords[(int)mode]}, STAT {(int)status:X2}, FLT {(int)fault:X2}{(fault == GenesysFault.None ? "" : " (" + fault + ")")}");
        return new MagnetReadback(time, output, setpoint, amps, volts, MagnetPolarity.Normal, conditions, detail);
    }

    /// <summary>
    /// <c>PC n</c>. Refused with nothing sent above the setup's MaxAmps, below 0, or above the model's rating
    /// (initializing first when the rating is not known yet).
    /// </summary>
    public async Task<MagnetRequestResult> SetCurrentAsync(double amps, CancellationToken cancellationToken = default)
    {
        if (!double.IsFinite(amps))
        {
            throw new ArgumentOutOfRangeException(nameof(amps), amps, $"{Name}: PC must be a finite number");
        }

        if (amps < 0)
        {
            throw new SetpointOutOfRangeException(Name, "PC", amps, 0, "lowest current (a Genesys has no polarity switch)");
        }

        if (amps > Limits.MaxAmps)
        {
            throw new SetpointOutOfRangeException(Name, "PC", amps, Limits.MaxAmps, "setup MaxAmps");
        }

        var model = await EnsureInitializedAsync(cancellationToken).ConfigureAwait(false);
        if (amps > model.RatedAmps)
        {
            throw new SetpointOutOfRangeException(Name, "PC", amps, model.RatedAmps, $"rating of the {model.Name}");
        }

        await CommandAsync(GenesysProtocol.Pc.Format(GenesysCodec.FormatNumber(amps)), cancellationToken).ConfigureAwait(false);
        _log.Information("{Magnet} current setpoint {Amps} A", Name, amps);
        return MagnetRequestResult.Done;
    }

    /// <summary>
    /// <c>PV</c> = setup MaxVolts (the compliance; checked against the rating before any byte), then <c>OUT 1</c>.
    /// Without MaxVolts the supply's own PV stays. E07 (a fault persists) is thrown as <see cref="GenesysFaultShutdownException"/>.
    /// </summary>
    public async Task<MagnetRequestResult> SwitchOnAsync(CancellationToken cancellationToken = default)
    {
        var model = await EnsureInitializedAsync(cancellationToken).ConfigureAwait(false);
        string? pv = null;
        if (Limits.MaxVolts is double volts)
        {
            if (volts > model.RatedVolts)
            {
                throw new SetpointOutOfRangeException(Name, "PV", volts, model.RatedVolts, $"rating of the {model.Name}");
            }

            pv = GenesysProtocol.Pv.Format(GenesysCodec.FormatNumber(volts));
        }

        using (var turn = await _line.EnterAsync(cancellationToken).ConfigureAwait(false))
        {
            await SelectAsync(force: false, cancellationToken).ConfigureAwait(false);
            if (pv is not null)
            {
                GenesysCodec.ParseOk(pv, await ExchangeAsync(pv, cancellationToken).ConfigureAwait(false));
            }

            var on = GenesysProtocol.Out.Format("1");
            GenesysCodec.ParseOk(on, await ExchangeAsync(on, cancellationToken).ConfigureAwait(false));
        }

        _log.Information("{Magnet} output on, compliance {Compliance}", Name, pv ?? "as set on the supply");
        return MagnetRequestResult.Done;
    }

    /// <summary><c>OUT 0</c>.</summary>
    public async Task<MagnetRequestResult> SwitchOffAsync(CancellationToken cancellationToken = default)
    {
        await EnsureInitializedAsync(cancellationToken).ConfigureAwait(false);
        await CommandAsync(GenesysProtocol.Out.Format("0"), cancellationToken).ConfigureAwait(false);
        _log.Information("{Magnet} output off", Name);
        return MagnetRequestResult.Done;
    }

    /// <summary>Refused with nothing sent: a Genesys has no standby.</summary>
    public Task<MagnetRequestResult> StandbyAsync(CancellationToken cancellationToken = default) =>
        Task.FromResult(new MagnetRequestResult(MagnetRequestOutcome.Denied, $"{Name}: a Genesys has no standby (output is on or off)"));

    /// <summary>
    /// <c>CLS</c> (clears the event registers), then <c>FLT?</c>: Denied, naming the faults, while a fault condition
    /// persists. <c>RST</c> is not used: it would zero PV, PC and OVP.
    /// </summary>
    public async Task<MagnetRequestResult> ResetAsync(CancellationToken cancellationToken = default)
    {
        await EnsureInitializedAsync(cancellationToken).ConfigureAwait(false);
        GenesysFault fault;
        using (var turn = await _line.EnterAsync(cancellationToken).ConfigureAwait(false))
        {
            await SelectAsync(force: false, cancellationToken).ConfigureAwait(false);
            var cls = GenesysProtocol.Cls.Format();
            GenesysCodec.ParseOk(cls, await ExchangeAsync(cls, cancellationToken).ConfigureAwait(false));
            fault = (GenesysFault)await QueryAsync(GenesysProtocol.FltQuery, GenesysCodec.ParseHex, cancellationToken).ConfigureAwait(false);
        }

        if ((fault & GenesysProtocol.ShutdownFaults) != 0)
        {
            var reason = string.Create(CultureInfo.InvariantCulture, $"{Name}: fault persists after CLS: FLT {(int)fault:X2} ({fault})");
            _log.Warning("{Magnet} reset refused, fault register {Fault}", Name, fault.ToString());
            return new MagnetRequestResult(MagnetRequestOutcome.Denied, reason);
        }

        _log.Information("{Magnet} event registers cleared, no fault", Name);
        return MagnetRequestResult.Done;
    }

    /// <summary>Normal: done, nothing sent. Reversed: refused with nothing sent (no polarity switch).</summary>
    public Task<MagnetRequestResult> SetPolarityAsync(MagnetPolarity polarity, CancellationToken cancellationToken = default) =>
        Task.FromResult(polarity == MagnetPolarity.Normal
            ? MagnetRequestResult.Done
            : new MagnetRequestResult(MagnetRequestOutcome.Denied, $"{Name}: a Genesys has no polarity switch (polarity {polarity} refused)"));

    public void Dispose() => _transport.UnsolicitedLine -= OnUnsolicitedLine;

    private void OnUnsolicitedLine(object? sender, string line)
    {
        if (GenesysCodec.ParseSrq(line) is not { } address)
        {
            _log.Warning("{Magnet} unsolicited line {Line} is not an SRQ !nn", Name, Printable.Escape(line));
            return;
        }

        if (address != Address)
        {
            return;
        }

        Interlocked.Increment(ref _serviceRequests);
        _log.Information("{Magnet} service request {Line}", Name, line);
        ServiceRequested?.Invoke(this, EventArgs.Empty);
    }

    private async Task<GenesysModel> EnsureInitializedAsync(CancellationToken cancellationToken)
    {
        if (_model is { } model)
        {
            return model;
        }

        await InitializeAsync(cancellationToken).ConfigureAwait(false);
        return _model!;
    }

    /// <summary>One setting in its own turn of the line: ADR if needed, the command, OK.</summary>
    private async Task CommandAsync(string request, CancellationToken cancellationToken)
    {
        using var turn = await _line.EnterAsync(cancellationToken).ConfigureAwait(false);
        await SelectAsync(force: false, cancellationToken).ConfigureAwait(false);
        GenesysCodec.ParseOk(request, await ExchangeAsync(request, cancellationToken).ConfigureAwait(false));
    }

    private async Task<T> QueryAsync<T>(GenesysCommand command, Func<string, string, T> parse, CancellationToken cancellationToken)
    {
        var request = command.Format();
        return parse(request, await ExchangeAsync(request, cancellationToken).ConfigureAwait(false));
    }

    /// <summary><c>ADR n</c> unless the line's last selection is this unit. Runs inside the line's turn.</summary>
    private async Task SelectAsync(bool force, CancellationToken cancellationToken)
    {
        // A port that is down will be re-opened by this exchange; whatever answers then (a restarted unit, a new
        // terminal-server session) has no selection we know of, so ADR goes first.
        if (!force && _line.Addressed == Address && _transport.IsConnected)
        {
            return;
        }

        _line.Forget();
        var request = GenesysProtocol.Adr.Format(_addressText);
        GenesysCodec.ParseOk(request, await ExchangeAsync(request, cancellationToken).ConfigureAwait(false));
        _line.Selected(Address);
    }

    private async Task<string> ExchangeAsync(string request, CancellationToken cancellationToken)
    {
        try
        {
            return await _transport.ExchangeAsync(request, _options.Timeout, cancellationToken).ConfigureAwait(false);
        }
        catch (DeviceException)
        {
            // A lost reply may mean a restarted unit or a late answer from another one: select again next time.
            _line.Forget();
            throw;
        }
        catch (OperationCanceledException)
        {
            _line.Forget();
            throw;
        }
    }
}
