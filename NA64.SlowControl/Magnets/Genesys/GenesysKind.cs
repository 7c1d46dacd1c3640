using System.Globalization;
using NA64.Hardware.Magnets.Genesys;
using NA64.SlowControl.Devices;
using NA64.SlowControl.Setup;
using NA64.Simulators.Magnets;
using NA64.Simulators.Magnets.Genesys;
using NA64.Simulators.Serving;
using Serilog;

namespace NA64.SlowControl.Magnets.Genesys;

/// <summary>
/// The TDK-Lambda Genesys registration: the real driver at its RS-485 address, simulated units on one multi-drop line,
/// each driving a bench dipole. The model (<c>GEN8-400</c>...) bounds maxAmps and maxVolts at load; the driver checks
/// again against the model the unit names in <c>IDN?</c>.
/// </summary>
public static class GenesysKind
{
    private const string ModelField = "model";

    public static MagnetDeviceKind Registration { get; } = new(
        "genesys",
        GenesysProtocol.Framing,
        [
            MagnetField.Integer(MagnetDeviceKind.AddressField, "RS-485 address set on the front panel", null, GenesysFacts.MinAddress, GenesysFacts.MaxAddress),
            MagnetField.Text(ModelField, "the unit's model as IDN? names it, GEN<volts>-<amps>", null),
        ],
        CheckLimits,
        (magnet, transport, time, log) => new GenesysSupply(transport, magnet.Address!.Value, magnet.Limits, time: time, log: log),
        (magnets, time, log) => new Line(magnets, time, log));

    private static IEnumerable<(string Field, string Rule)> CheckLimits(MagnetSetup magnet)
    {
        string text = magnet.Fields.Text(ModelField);
        if (GenesysFacts.TryParseModel(text) is not { } model)
        {
            yield return (ModelField, "must be a Genesys model of the form GEN<volts>-<amps>, e.g. GEN8-400");
            yield break;
        }

        if (magnet.MaxAmps > model.RatedAmps)
            yield return ("maxAmps", string.Create(CultureInfo.InvariantCulture, $"must not exceed the {model.Name} rating ({model.RatedAmps} A)"));
        if (magnet.MaxVolts > model.RatedVolts)
            yield return ("maxVolts", string.Create(CultureInfo.InvariantCulture, $"must not exceed the {model.Name} rating ({model.RatedVolts} V)"));
    }

    /// <summary>Simulated units sharing one RS-485 line, each at its address, on a bench dipole.</summary>
    private sealed class Line : SimulatedMagnetPort
    {
        private static readonly IReadOnlyDictionary<string, string> FaultTable = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["interlock"] = "the rear-panel enable loop opens (door or water switch): output off, ENA fault until the loop closes",
            ["overtemp"] = "the supply overheats: output off, OTP fault until it cools",
            ["acfail"] = "the mains drop: output off, AC fault",
            ["ovp"] = "over-voltage protection trips: output off, OVP latched until OUT 0 / OUT 1",
            ["local"] = "the front panel takes control (LOCAL): remote settings refused",
            ["clear"] = "every cause gone (enable loop closed, cool, mains back), REMOTE",
        };

        private readonly Dictionary<string, GenesysUnitModel> _units = new(StringComparer.Ordinal);

        public Line(IReadOnlyList<MagnetSetup> magnets, TimeProvider time, ILogger log)
        {
            foreach (var m in magnets)
            {
                var model = GenesysFacts.ParseModel(m.Fields.Text(ModelField));
                _units.Add(m.Name, new GenesysUnitModel(m.Address!.Value, model, time, MagnetLoad.BenchDipole(seed: m.Address.Value + 1), log));
            }

            Device = new GenesysWire(_units.Values, log);
        }

        public override ILineDevice Device { get; }

        public override IReadOnlyDictionary<string, string> Faults => FaultTable;

        public GenesysUnitModel Unit(string magnet) => _units[magnet];

        public override void Inject(MagnetSetup magnet, string fault)
        {
            var unit = _units[magnet.Name];
            switch (fault)
            {
                case "interlock": unit.SetEnableOpen(true); break;
                case "overtemp": unit.SetOverTemperature(true); break;
                case "acfail": unit.SetAcFailure(true); break;
                case "ovp": unit.TripOverVoltage(); break;
                case "local": unit.SetFrontPanelLocal(true); break;
                case "clear":
                    unit.SetEnableOpen(false);
                    unit.SetOverTemperature(false);
                    unit.SetAcFailure(false);
                    unit.SetFrontPanelLocal(false);
                    break;
                default:
                    throw new ArgumentOutOfRangeException(nameof(fault), fault, $"fault = '{fault}' refused: one of {string.Join(", ", FaultTable.Keys)}");
            }
        }
    }

    /// <summary>The simulated unit behind a magnet (tests look at its physics); the port must be a simulated Genesys line.</summary>
    public static GenesysUnitModel SimulatedUnit(SimulatedMagnetPort port, string magnet) =>
        port is Line line ? line.Unit(magnet) : throw new ArgumentException($"port of {magnet} is not a simulated Genesys line", nameof(port));
}
