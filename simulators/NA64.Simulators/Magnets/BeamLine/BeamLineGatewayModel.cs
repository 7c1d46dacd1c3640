using System.Globalization;
using NA64.Hardware.Magnets.BeamLine;
using NA64.Simulators.Physics;
using Serilog;

namespace NA64.Simulators.Magnets.BeamLine;

/// <summary>How the simulated gateway gates requests (device-protocols.md §5.5).</summary>
public enum BeamLineApprovalMode
{
    /// <summary>Every request is carried out at once (the converter may still refuse it).</summary>
    AutoAccept,

    /// <summary>Every request waits for an operator (backdoor <see cref="BeamLineGatewayModel.Confirm"/>).</summary>
    Pending,

    /// <summary>Every request is denied (no beam-line control token).</summary>
    Deny,
}

public enum BeamLineOperation
{
    SetCurrent,
    Standby,
    On,
    Off,
    Reset,
    LoadBeamFile,
}

/// <summary>A request as the gateway received it: target is a circuit, or a beam file for <see cref="BeamLineOperation.LoadBeamFile"/>.</summary>
public sealed record BeamLineRequest(BeamLineOperation Operation, string Target, double? Amps, string User, string Reason);

/// <summary>One line of the gateway's request log.</summary>
/// <param name="Outcome">Accepted, PendingOperator or Denied when received; a confirmed or rejected ticket adds a line of its own.</param>
public sealed record BeamLineRequestRecord(DateTimeOffset Time, BeamLineRequest Request, BeamLineOutcomeKind Outcome, string? Ticket, string? Reason);

/// <summary>
/// The simulated gateway in front of the beam line: circuits, beam files, approval and the request log. Every
/// request is logged (with user and reason) whatever becomes of it. A pending request is carried out only when the
/// operator confirms its ticket; the converter may still refuse it then (logged as Denied with the ticket).
/// </summary>
public sealed class BeamLineGatewayModel
{
    private readonly TimeProvider _time;
    private readonly ILogger _log;
    private readonly Dictionary<string, BeamLineCircuitModel> _circuits = new(StringComparer.Ordinal);
    private readonly Dictionary<string, IReadOnlyDictionary<string, double>> _beamFiles = new(StringComparer.Ordinal);
    private readonly List<BeamLineRequestRecord> _records = [];
    private readonly Dictionary<string, BeamLineRequest> _pending = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();
    private int _nextTicket = 1;

    /// <summary>The SPS cycle of the simulated gateway by default: 4.8 s of beam every 14.4 s.</summary>
    public static SpillCycle DefaultCycle { get; } = new(TimeSpan.FromSeconds(4.8), BeamLineFacts.DefaultCyclePeriod, TimeSpan.Zero);

    /// <summary>
    /// Simulation data, not CERN's: the MBPL circuit and an upstream bend, with two beam files for the currents of
    /// the 2016 runs (the bend's currents are invented).
    /// </summary>
    public static IReadOnlyList<BeamLineCircuitOptions> DefaultCircuits { get; } =
        [BeamLineCircuitOptions.Mbpl, new BeamLineCircuitOptions("H4-B4", ["B4"])];

    public static IReadOnlyDictionary<string, IReadOnlyDictionary<string, double>> DefaultBeamFiles { get; } =
        new Dictionary<string, IReadOnlyDictionary<string, double>>
        {
            ["H4-100GeV-e"] = new Dictionary<string, double> { [BeamLineFacts.MbplCircuit] = 735, ["H4-B4"] = 412 },
            ["H4-150GeV-e"] = new Dictionary<string, double> { [BeamLineFacts.MbplCircuit] = 800, ["H4-B4"] = 618 },
        };

    public BeamLineGatewayModel(
        TimeProvider time,
        IEnumerable<BeamLineCircuitOptions>? circuits = null,
        SpillCycle? cycle = null,
        IReadOnlyDictionary<string, IReadOnlyDictionary<string, double>>? beamFiles = null,
        int seed = 64,
        ILogger? log = null)
    {
        ArgumentNullException.ThrowIfNull(time);
        _time = time;
        _log = (log ?? Serilog.Core.Logger.None).ForContext<BeamLineGatewayModel>();
        Cycle = cycle ?? DefaultCycle;
        var n = 0;
        foreach (var options in circuits ?? DefaultCircuits)
        {
            if (!_circuits.TryAdd(options.Name, new BeamLineCircuitModel(options, time, Cycle, seed + n++)))
            {
                throw new ArgumentException($"circuit {options.Name} is listed twice", nameof(circuits));
            }
        }

        foreach (var (name, currents) in beamFiles ?? DefaultBeamFiles)
        {
            if (!BeamLineProtocol.IsName(name))
            {
                throw new ArgumentException($"beam file name '{name}' must be 1 to 64 of A-Z a-z 0-9 . _ -", nameof(beamFiles));
            }

            foreach (var circuit in currents.Keys.Where(c => !_circuits.ContainsKey(c)))
            {
                throw new ArgumentException($"beam file {name} sets circuit {circuit}, which the gateway does not have", nameof(beamFiles));
            }

            _beamFiles.Add(name, currents);
        }
    }

    public SpillCycle Cycle { get; }

    public IReadOnlyCollection<BeamLineCircuitModel> Circuits => _circuits.Values;

    public BeamLineApprovalMode Approval { get; set; } = BeamLineApprovalMode.AutoAccept;

    /// <summary>The reason given in <see cref="BeamLineApprovalMode.Deny"/>.</summary>
    public string DenyReason { get; set; } = "no beam-line control token: ask the CCC";

    public BeamLineCircuitModel? Circuit(string name) => _circuits.GetValueOrDefault(name);

    public bool HasBeamFile(string name) => _beamFiles.ContainsKey(name);

    /// <summary>Every request and its outcome, oldest first.</summary>
    public IReadOnlyList<BeamLineRequestRecord> Requests
    {
        get
        {
            lock (_gate)
            {
                return _records.ToArray();
            }
        }
    }

    /// <summary>Tickets waiting for the operator, oldest first.</summary>
    public IReadOnlyList<string> PendingTickets
    {
        get
        {
            lock (_gate)
            {
                return _pending.Keys.ToArray();
            }
        }
    }

    /// <summary>Gates, logs and (when accepted) carries out a request; the target must exist (the wire checks it).</summary>
    public BeamLineOutcome Submit(BeamLineRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        lock (_gate)
        {
            BeamLineOutcome outcome;
            switch (Approval)
            {
                case BeamLineApprovalMode.Deny:
                    outcome = new BeamLineOutcome(BeamLineOutcomeKind.Denied, Reason: DenyReason);
                    break;
                case BeamLineApprovalMode.Pending:
                    var ticket = string.Create(CultureInfo.InvariantCulture, $"T{_nextTicket++}");
                    _pending.Add(ticket, request);
                    outcome = new BeamLineOutcome(BeamLineOutcomeKind.PendingOperator, Ticket: ticket);
                    break;
                default:
                    outcome = Execute(request) is { } refused
                        ? new BeamLineOutcome(BeamLineOutcomeKind.Denied, Reason: refused)
                        : BeamLineOutcome.Accepted;
                    break;
            }

            Record(request, outcome.Kind, outcome.Ticket, outcome.Reason);
            return outcome;
        }
    }

    /// <summary>Backdoor, the operator in CESAR: carries out a pending ticket; null when done, else why the converter refused.</summary>
    public string? Confirm(string ticket)
    {
        lock (_gate)
        {
            if (!_pending.Remove(ticket, out var request))
            {
                throw new ArgumentException($"ticket {ticket} is not pending (pending: {string.Join(", ", _pending.Keys)})", nameof(ticket));
            }

            var refused = Execute(request);
            Record(request, refused is null ? BeamLineOutcomeKind.Accepted : BeamLineOutcomeKind.Denied, ticket, refused ?? "operator confirmed");
            return refused;
        }
    }

    /// <summary>Backdoor, the operator in CESAR: turns a pending ticket down.</summary>
    public void Reject(string ticket, string reason)
    {
        lock (_gate)
        {
            if (!_pending.Remove(ticket, out var request))
            {
                throw new ArgumentException($"ticket {ticket} is not pending (pending: {string.Join(", ", _pending.Keys)})", nameof(ticket));
            }

            Record(request, BeamLineOutcomeKind.Denied, ticket, reason);
        }
    }

    private string? Execute(BeamLineRequest request)
    {
        if (request.Operation == BeamLineOperation.LoadBeamFile)
        {
            if (!_beamFiles.TryGetValue(request.Target, out var currents))
            {
                return $"no beam file {request.Target} (have: {string.Join(", ", _beamFiles.Keys)})";
            }

            // All circuits or none: a beam file half applied would leave the line in no stored configuration.
            foreach (var (name, amps) in currents)
            {
                if (_circuits[name].CanTake(amps) is { } refused)
                {
                    return $"beam file {request.Target} not loaded: {refused}";
                }
            }

            foreach (var (name, amps) in currents)
            {
                _circuits[name].SetBeamFile(request.Target, amps);
            }

            return null;
        }

        var circuit = _circuits.TryGetValue(request.Target, out var c) ? c
            : throw new ArgumentException($"circuit {request.Target} does not exist", nameof(request));
        return request.Operation switch
        {
            BeamLineOperation.SetCurrent => circuit.TrySetCurrent(request.Amps ?? throw new ArgumentException("SetCurrent without amps", nameof(request))),
            BeamLineOperation.Standby => circuit.TryStandby(),
            BeamLineOperation.On => circuit.TryOn(),
            BeamLineOperation.Off => circuit.TryOff(),
            _ => circuit.TryReset(),
        };
    }

    private void Record(BeamLineRequest request, BeamLineOutcomeKind outcome, string? ticket, string? reason)
    {
        _records.Add(new BeamLineRequestRecord(_time.GetUtcNow(), request, outcome, ticket, reason));
        _log.Information("Beam-line request {Operation} {Target} {Amps} by {User} ({Reason}): {Outcome} {Ticket} {OutcomeReason}",
            request.Operation, request.Target, request.Amps, request.User, request.Reason, outcome, ticket, reason);
    }
}
