using NA64.Hardware.Magnets.BeamLine;
using NA64.Hardware.Transport;
using NA64.SlowControl.Devices;
using NA64.SlowControl.Setup;
using NA64.Simulators.Magnets.BeamLine;
using NA64.Simulators.Physics;
using NA64.Simulators.Serving;
using Serilog;

namespace NA64.SlowControl.Magnets.BeamLine;

/// <summary>
/// The CERN beam-line magnet registration (device-protocols.md §5): a circuit behind our gateway protocol, the magnets
/// it feeds in series as the entry's <c>elements</c>. Every circuit of one gateway shares its port; the simulated
/// gateway holds them all, with the SPS cycle and the approval mode of the first entry.
/// </summary>
public static class BeamLineKind
{
    public static MagnetDeviceKind Registration { get; } = new(
        "beamline",
        LineFraming.CrLf,
        [
            MagnetField.Text("circuit", "the gateway's circuit name", BeamLineFacts.MbplCircuit),
            MagnetField.Text("user", "who the requests are made for (the holder of the beam-line control token)", "na64"),
            MagnetField.Number("cycleSeconds", "SPS cycle: the gateway refreshes its read-back once per cycle", BeamLineFacts.DefaultCyclePeriod.TotalSeconds, 1, 3600),
            MagnetField.Integer("staleAfterCycles", "cycles without a new read-back before it counts as stale", 3, 1, 100),
            MagnetField.Text("approval", "simulated gateway only: auto (accept), pending (held for the operator) or deny", "auto", "auto", "pending", "deny"),
            MagnetField.Number("slewAmpsPerSecond", "simulated converter only: how fast it moves the current (real rates unknown)", 10, 0.01, 1000),
        ],
        CheckLimits,
        (magnet, transport, time, log) => new BeamLineMagnet(new LineBeamLineGateway(transport, magnet.Fields.Text("user")), magnet.Limits, Options(magnet), time, log),
        (magnets, time, log) => new Gateway(magnets, time, log));

    /// <summary>The magnets the circuit feeds: the entry's elements, or the entry itself when it lists none.</summary>
    private static IReadOnlyList<string> Elements(MagnetSetup magnet) => magnet.Elements.Count > 0 ? magnet.Elements : [magnet.Name];

    private static BeamLineMagnetOptions Options(MagnetSetup magnet) => new(
        magnet.Fields.Text("circuit"), Elements(magnet), TimeSpan.FromSeconds(magnet.Fields.Number("cycleSeconds")),
        magnet.Fields.Integer("staleAfterCycles"));

    private static IEnumerable<(string Field, string Rule)> CheckLimits(MagnetSetup magnet)
    {
        if (!BeamLineProtocol.IsName(magnet.Fields.Text("circuit")))
            yield return ("circuit", $"must be 1 to {BeamLineProtocol.MaxNameLength} of A-Z a-z 0-9 . _ -");
        if (magnet.MaxVolts is not null)
            yield return ("maxVolts", "a beam-line converter takes no voltage setting: leave maxVolts out");
    }

    /// <summary>One simulated gateway holding the circuits of every entry on this port.</summary>
    private sealed class Gateway : SimulatedMagnetPort
    {
        private static readonly IReadOnlyDictionary<string, string> FaultTable = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["trip"] = "the converter trips (FAULT, current falls to 0); Reset clears it",
            ["water"] = "magnet cooling water fails (FAULT); Reset refused until the water is back",
            ["overtemp"] = "magnet over-temperature (FAULT); Reset refused until it has cooled",
            ["stale"] = "the gateway loses its source: the read-back's SPS cycle stops advancing",
            ["drift"] = "the current drifts 5 A out of reference",
            ["pending"] = "the gateway holds every request for the CESAR operator",
            ["deny"] = "the gateway denies every request (no beam-line control token)",
            ["confirm"] = "the CESAR operator carries out every held request",
            ["clear"] = "water, temperature, source and drift back to normal; requests accepted again",
        };

        private readonly BeamLineGatewayModel _model;

        public Gateway(IReadOnlyList<MagnetSetup> magnets, TimeProvider time, ILogger log)
        {
            var first = magnets[0];
            var period = TimeSpan.FromSeconds(first.Fields.Number("cycleSeconds"));
            var circuits = magnets.Select(m => new BeamLineCircuitOptions(m.Fields.Text("circuit"), Elements(m),
                SlewAmpsPerSecond: m.Fields.Number("slewAmpsPerSecond"))).ToList();
            var names = circuits.Select(c => c.Name).ToHashSet(StringComparer.Ordinal);
            // The simulator's beam files whose circuits this setup has (the others name circuits it does not simulate).
            var beamFiles = BeamLineGatewayModel.DefaultBeamFiles.Where(f => f.Value.Keys.All(names.Contains)).ToDictionary();
            _model = new BeamLineGatewayModel(time, circuits, new SpillCycle(period / 3, period, TimeSpan.Zero), beamFiles, log: log)
            {
                Approval = Approval(first.Fields.Text("approval")),
            };
            Device = new BeamLineGatewayWire(_model, log);
        }

        public override ILineDevice Device { get; }

        public override IReadOnlyDictionary<string, string> Faults => FaultTable;

        public BeamLineGatewayModel Model => _model;

        public override void Inject(MagnetSetup magnet, string fault)
        {
            var circuit = _model.Circuit(magnet.Fields.Text("circuit"))!;
            switch (fault)
            {
                case "trip": circuit.Trip(); break;
                case "water": circuit.SetWaterFault(true); break;
                case "overtemp": circuit.SetOverTemperature(true); break;
                case "stale": circuit.SetCommunicationLost(true); break;
                case "drift": circuit.SetDrift(5); break;
                case "pending": _model.Approval = BeamLineApprovalMode.Pending; break;
                case "deny": _model.Approval = BeamLineApprovalMode.Deny; break;
                case "confirm":
                    foreach (var ticket in _model.PendingTickets)
                        _model.Confirm(ticket);
                    break;
                case "clear":
                    circuit.ClearFaults();
                    _model.Approval = BeamLineApprovalMode.AutoAccept;
                    break;
                default:
                    throw new ArgumentOutOfRangeException(nameof(fault), fault, $"fault = '{fault}' refused: one of {string.Join(", ", FaultTable.Keys)}");
            }
        }

        private static BeamLineApprovalMode Approval(string mode) => mode switch
        {
            "pending" => BeamLineApprovalMode.Pending,
            "deny" => BeamLineApprovalMode.Deny,
            _ => BeamLineApprovalMode.AutoAccept,
        };
    }

    /// <summary>The simulated gateway behind a magnet (tests look at its circuits); the port must be a simulated gateway.</summary>
    public static BeamLineGatewayModel SimulatedGateway(SimulatedMagnetPort port) =>
        port is Gateway g ? g.Model : throw new ArgumentException("port is not a simulated beam-line gateway", nameof(port));
}
