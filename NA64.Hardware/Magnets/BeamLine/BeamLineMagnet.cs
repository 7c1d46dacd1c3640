using System.Globalization;
using NA64.Hardware.Errors;

namespace NA64.Hardware.Magnets.BeamLine;

/// <summary>Where the beam-line circuit is and how its read-backs are judged.</summary>
/// <param name="Circuit">The gateway's circuit name (default the MBPL pair).</param>
/// <param name="Elements">The magnets the circuit feeds in series (one current); checked against the gateway at initialization.</param>
/// <param name="CyclePeriod">SPS cycle: the gateway refreshes its read-back once per cycle.</param>
/// <param name="StaleAfterCycles">A read-back whose cycle number has not advanced for this many cycles is stale.</param>
/// <param name="Reason">Reason sent with the <see cref="IMagnetSupply"/> requests, which take none of their own.</param>
public sealed record BeamLineMagnetOptions(
    string Circuit = BeamLineFacts.MbplCircuit,
    IReadOnlyList<string>? Elements = null,
    TimeSpan? CyclePeriod = null,
    int StaleAfterCycles = 3,
    string Reason = "na64hw magnet controller")
{
    public IReadOnlyList<string> ElementNames => Elements ?? BeamLineFacts.MbplElements;

    public TimeSpan Period => CyclePeriod ?? BeamLineFacts.DefaultCyclePeriod;
}

/// <summary>
/// A CERN beam-line circuit (the NA64 MBPL1 + MBPL2 in series) driven through an <see cref="IBeamLineGateway"/>
/// (device-protocols.md §5). Requests pass the gateway's outcome through: accepted (<see cref="MagnetRequestOutcome.Done"/>
/// means accepted, not yet in reference), held for an operator, or denied with the reason. An I_ref above
/// <see cref="MagnetLimits.MaxAmps"/> (the configured ceiling) is refused with nothing sent. A read-back whose SPS cycle
/// number has not advanced for <see cref="BeamLineMagnetOptions.StaleAfterCycles"/> cycles throws
/// <see cref="BeamLineStaleReadbackException"/>: old values must not pass for the magnet's state.
/// </summary>
public sealed class BeamLineMagnet : IMagnetSupply
{
    private readonly IBeamLineGateway _gateway;
    private readonly BeamLineMagnetOptions _options;
    private readonly TimeProvider _time;
    private readonly Serilog.ILogger _log;
    private readonly Lock _gate = new();
    private long? _lastCycle;
    private DateTimeOffset _lastAdvance;

    public BeamLineMagnet(IBeamLineGateway gateway, MagnetLimits limits, BeamLineMagnetOptions? options = null,
        TimeProvider? time = null, Serilog.ILogger? log = null)
    {
        ArgumentNullException.ThrowIfNull(gateway);
        ArgumentNullException.ThrowIfNull(limits);
        _options = options ?? new BeamLineMagnetOptions();
        if (!BeamLineProtocol.IsName(_options.Circuit))
        {
            throw new ArgumentException($"Circuit is '{_options.Circuit}'; it must be 1 to {BeamLineProtocol.MaxNameLength} of A-Z a-z 0-9 . _ -", nameof(options));
        }

        if (_options.ElementNames.Count == 0 || _options.ElementNames.Any(e => !BeamLineProtocol.IsName(e)))
        {
            throw new ArgumentException($"Elements is '{string.Join(",", _options.ElementNames)}'; it must list at least one magnet name", nameof(options));
        }

        if (_options.StaleAfterCycles < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(options), _options.StaleAfterCycles, $"StaleAfterCycles is {_options.StaleAfterCycles}; it must be 1 or more");
        }

        if (_options.Period <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(options), _options.Period, $"CyclePeriod is {_options.Period}; it must be positive");
        }

        if (!BeamLineProtocol.IsReason(_options.Reason))
        {
            throw new ArgumentException($"Reason is '{_options.Reason}'; it must be 1 to {BeamLineProtocol.MaxReasonLength} printable ASCII characters", nameof(options));
        }

        if (!double.IsFinite(limits.MaxAmps) || limits.MaxAmps <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(limits), limits.MaxAmps, $"MaxAmps (the I_ref ceiling) is {limits.MaxAmps}; it must be a positive number");
        }

        _gateway = gateway;
        _time = time ?? TimeProvider.System;
        Limits = limits;
        Name = limits.Name;
        _log = (log ?? Serilog.Core.Logger.None).ForContext<BeamLineMagnet>().ForContext("Magnet", Name);
    }

    public string Name { get; }

    public MagnetLimits Limits { get; }

    /// <summary>Standby yes, polarity no, ramps itself, requests need approval.</summary>
    public MagnetCapabilities Capabilities { get; } = new(HasStandby: true, HasPolaritySwitch: false, RampsItself: true, RequestsNeedApproval: true);

    public string Circuit => _options.Circuit;

    /// <summary>The magnets this circuit feeds (MBPL1, MBPL2): one current through both.</summary>
    public IReadOnlyList<string> Elements => _options.ElementNames;

    /// <summary>The last read-back (null before the first read): the beam file, I_ref and I_meas to record at begin and end of run.</summary>
    public BeamLineStatus? LastStatus { get; private set; }

    /// <summary>Reads once and checks that the gateway's circuit feeds the configured magnets; sends no request.</summary>
    public async Task InitializeAsync(CancellationToken cancellationToken = default)
    {
        var status = await ReadStatusAsync(cancellationToken).ConfigureAwait(false);
        if (status.Elements.Count > 0 && !status.Elements.SequenceEqual(Elements, StringComparer.Ordinal))
        {
            throw new DeviceException(
                $"{Name}: circuit {Circuit} feeds {string.Join(",", status.Elements)} at the gateway, the setup says {string.Join(",", Elements)}");
        }

        _log.Information("Beam-line circuit {Circuit} ({Elements}) is {State}, I_ref {RefAmps} A, I_meas {Amps} A, beam file {BeamFile}",
            Circuit, Elements, status.State, status.RefAmps, status.MeasuredAmps, status.BeamFile);
    }

    public async Task<MagnetReadback> ReadAsync(CancellationToken cancellationToken = default)
    {
        var s = await ReadStatusAsync(cancellationToken).ConfigureAwait(false);
        var conditions = s.FaultCause switch
        {
            null => MagnetConditions.None,
            BeamLineFacts.Causes.Water => MagnetConditions.WaterFlow,
            BeamLineFacts.Causes.OverTemperature => MagnetConditions.OverTemperature,
            _ => MagnetConditions.OtherFault,
        };
        if (s.State == BeamLineState.On && s.InReference)
        {
            conditions |= MagnetConditions.CurrentRegulated;
        }

        var detail = string.Create(CultureInfo.InvariantCulture,
            $"{(s.InReference ? "in reference" : "out of reference")}, SPS cycle {s.Cycle}, beam file {s.BeamFile ?? "none"}{(s.FaultCause is null ? "" : $", fault {s.FaultCause}")}");
        return new MagnetReadback(_time.GetUtcNow(), Map(s.State), s.RefAmps, s.MeasuredAmps, null, MagnetPolarity.Normal, conditions, detail);
    }

    /// <summary>One read of the gateway's status, checked for staleness (see <see cref="BeamLineStaleReadbackException"/>).</summary>
    public async Task<BeamLineStatus> ReadStatusAsync(CancellationToken cancellationToken = default)
    {
        var status = await _gateway.ReadAsync(Circuit, cancellationToken).ConfigureAwait(false);
        var now = _time.GetUtcNow();
        TimeSpan staleFor;
        lock (_gate)
        {
            LastStatus = status;
            // A cycle number going backwards is a restarted gateway: a fresh source, not a stale one.
            if (_lastCycle is not { } last || status.Cycle != last)
            {
                _lastCycle = status.Cycle;
                _lastAdvance = now;
                return status;
            }

            staleFor = now - _lastAdvance;
        }

        var limit = _options.Period * _options.StaleAfterCycles;
        if (staleFor > limit)
        {
            _log.Warning("Beam-line circuit {Circuit} read-back stale: SPS cycle {Cycle} unchanged for {StaleSeconds} s",
                Circuit, status.Cycle, staleFor.TotalSeconds);
            throw new BeamLineStaleReadbackException(Name, status, staleFor, _options.StaleAfterCycles, _options.Period);
        }

        return status;
    }

    public Task<MagnetRequestResult> SetCurrentAsync(double amps, CancellationToken cancellationToken = default) =>
        SetCurrentAsync(amps, _options.Reason, cancellationToken);

    /// <summary>Asks for a new I_ref with the reason the gateway logs; refused with nothing sent above the ceiling.</summary>
    public Task<MagnetRequestResult> SetCurrentAsync(double amps, string reason, CancellationToken cancellationToken = default)
    {
        if (!double.IsFinite(amps) || amps < 0 || amps > Limits.MaxAmps)
        {
            throw new SetpointOutOfRangeException(Name, "I_ref", amps, Limits.MaxAmps, "the configured ceiling");
        }

        return PassAsync("set current", amps, reason, ct => _gateway.RequestSetCurrentAsync(Circuit, amps, reason, ct), cancellationToken);
    }

    /// <summary>
    /// ON. The converter takes ON only from STANDBY (the documented order is Reset, STANDBY, ON), so a circuit last read
    /// OFF is asked for STANDBY first; a STANDBY held or denied by the gateway is the outcome, and ON is not asked.
    /// </summary>
    public async Task<MagnetRequestResult> SwitchOnAsync(CancellationToken cancellationToken = default)
    {
        if (LastStatus is null or { State: BeamLineState.Off })
        {
            var standby = await StandbyAsync(cancellationToken).ConfigureAwait(false);
            if (standby.Outcome != MagnetRequestOutcome.Done)
            {
                return standby;
            }
        }

        return await PassAsync("on", null, _options.Reason, ct => _gateway.RequestOnAsync(Circuit, _options.Reason, ct), cancellationToken).ConfigureAwait(false);
    }

    public Task<MagnetRequestResult> SwitchOffAsync(CancellationToken cancellationToken = default) =>
        PassAsync("off", null, _options.Reason, ct => _gateway.RequestOffAsync(Circuit, _options.Reason, ct), cancellationToken);

    public Task<MagnetRequestResult> StandbyAsync(CancellationToken cancellationToken = default) =>
        PassAsync("standby", null, _options.Reason, ct => _gateway.RequestStandbyAsync(Circuit, _options.Reason, ct), cancellationToken);

    public Task<MagnetRequestResult> ResetAsync(CancellationToken cancellationToken = default) =>
        PassAsync("reset", null, _options.Reason, ct => _gateway.RequestResetAsync(Circuit, _options.Reason, ct), cancellationToken);

    /// <summary>Loads a beam file (several I_ref at once, the beam physicist's stored settings; the gateway checks them).</summary>
    public Task<MagnetRequestResult> LoadBeamFileAsync(string name, string reason, CancellationToken cancellationToken = default) =>
        PassAsync($"load beam file {name}", null, reason, ct => _gateway.LoadBeamFileAsync(name, reason, ct), cancellationToken);

    /// <summary>
    /// A beam-line circuit has no polarity switch: Normal is what it always is (done, nothing sent); Reversed is
    /// denied with nothing sent.
    /// </summary>
    public Task<MagnetRequestResult> SetPolarityAsync(MagnetPolarity polarity, CancellationToken cancellationToken = default) =>
        Task.FromResult(polarity == MagnetPolarity.Normal ? MagnetRequestResult.Done
            : new MagnetRequestResult(MagnetRequestOutcome.Denied, $"{Name}: polarity {polarity} refused, a beam-line circuit has no polarity switch"));

    private static MagnetOutput Map(BeamLineState state) => state switch
    {
        BeamLineState.Off => MagnetOutput.Off,
        BeamLineState.Standby => MagnetOutput.Standby,
        BeamLineState.On => MagnetOutput.On,
        _ => MagnetOutput.Fault,
    };

    private async Task<MagnetRequestResult> PassAsync(string what, double? amps, string reason,
        Func<CancellationToken, Task<BeamLineOutcome>> request, CancellationToken cancellationToken)
    {
        var outcome = await request(cancellationToken).ConfigureAwait(false);
        _log.Information("Beam-line request {Request} {Amps} on {Circuit} ({Reason}): {Outcome} {Ticket} {DeniedReason}",
            what, amps, Circuit, reason, outcome.Kind, outcome.Ticket, outcome.Reason);
        return outcome.Kind switch
        {
            BeamLineOutcomeKind.Accepted => MagnetRequestResult.Done,
            BeamLineOutcomeKind.PendingOperator => new MagnetRequestResult(MagnetRequestOutcome.PendingOperator, $"ticket {outcome.Ticket}"),
            _ => new MagnetRequestResult(MagnetRequestOutcome.Denied, outcome.Reason),
        };
    }
}
