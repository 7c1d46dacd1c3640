using NA64.Hardware.Magnets.Danfysik8500;
using NA64.SlowControl.Devices;
using NA64.SlowControl.Setup;
using NA64.Simulators.Magnets.Danfysik8500;
using NA64.Simulators.Serving;
using Serilog;

namespace NA64.SlowControl.Magnets.Danfysik8500;

/// <summary>
/// The Danfysik System 8500 registration: the real driver with the unit's scale factors from the setup (they are the
/// unit's calibration, never the driver's), simulated units on one multi-drop line with the same scales.
/// </summary>
public static class Danfysik8500Kind
{
    /// <summary>The unit's own slew rate (A/s), when the setup gives it: the driver reports it, the simulated unit slews at it.</summary>
    public const string SlewField = "slewAmpsPerSecond";

    public static MagnetDeviceKind Registration { get; } = new(
        "danfysik8500",
        NA64.Hardware.Transport.LineFraming.DanfysikCrLfCr,
        [
            MagnetField.Integer(MagnetDeviceKind.AddressField, "multi-drop address (ADR n); leave out when alone on the line", null, Danfysik8500Facts.MinAddress, Danfysik8500Facts.MaxAddress) with { Optional = true },
            MagnetField.Number("fullScaleAmps", "the unit's full-scale current (WA 1000000)", null, 0.001, 1e5),
            MagnetField.Number("ampsPerCurrentCount", "amperes per count of AD 8 (the unit's calibration)", null, 1e-9, 1e3),
            MagnetField.Number("voltsPerVoltageCount", "volts per count of AD 2 (the unit's calibration)", null, 1e-9, 1e3),
            MagnetField.Number("zeroCurrentAmps", "largest measured current taken as zero for a polarity change", 0.5, 0, 100),
            MagnetField.Number(SlewField, "the unit's own slew rate as configured on it (the controller steps the setpoint when asked for a slower dI/dt)", null, 0.001, 1e5),
        ],
        CheckLimits,
        (magnet, transport, time, log) => new Danfysik8500Supply(transport, magnet.Limits, Options(magnet), time, log),
        (magnets, time, log) => new Line(magnets, time, log));

    /// <summary>
    /// The driver's settings from a magnet entry (AmpsPerPpm is full scale / 10^6, as the unit defines ppm; the slew
    /// rate only when the entry gives it).
    /// </summary>
    public static Danfysik8500Options Options(MagnetSetup magnet)
    {
        double fullScale = magnet.Fields.Number("fullScaleAmps");
        return new Danfysik8500Options(fullScale, fullScale / Danfysik8500Facts.FullScalePpm,
            magnet.Fields.Number("ampsPerCurrentCount"), magnet.Fields.Number("voltsPerVoltageCount"),
            magnet.Address, magnet.Fields.Number("zeroCurrentAmps"))
        {
            SlewAmpsPerSecond = magnet.Fields.OptionalNumber(SlewField),
        };
    }

    private static IEnumerable<(string Field, string Rule)> CheckLimits(MagnetSetup magnet)
    {
        double fullScale = magnet.Fields.Number("fullScaleAmps");
        if (magnet.MaxAmps > fullScale)
            yield return ("maxAmps", $"must not exceed fullScaleAmps ({fullScale.ToString(System.Globalization.CultureInfo.InvariantCulture)} A)");
    }

    /// <summary>Simulated units on one line; a unit alone on its line answers without ADR.</summary>
    private sealed class Line : SimulatedMagnetPort
    {
        private static readonly IReadOnlyDictionary<string, string> FaultTable = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["water"] = "magnet water flow fails: main power off, latched until RS with the flow back",
            ["overtemp"] = "magnet over-temperature: main power off, latched until RS once cooled",
            ["door"] = "the door switch opens: main power off, latched until RS with the door closed",
            ["local"] = "the front panel takes control (LOCAL): directives ignored",
            ["ignore"] = "the next directive is silently not carried out (the driver's read-back must catch it)",
            ["clear"] = "water, temperature and door back to normal (the latch stays until RS), REMOTE",
        };

        private readonly Dictionary<string, (Danfysik8500Model Model, Danfysik8500Wire Wire)> _units = new(StringComparer.Ordinal);

        public Line(IReadOnlyList<MagnetSetup> magnets, TimeProvider time, ILogger log)
        {
            foreach (var m in magnets)
            {
                var settings = Danfysik8500SimSettings.Default with
                {
                    FullScaleAmps = m.Fields.Number("fullScaleAmps"),
                    AmpsPerCurrentCount = m.Fields.Number("ampsPerCurrentCount"),
                    VoltsPerVoltageCount = m.Fields.Number("voltsPerVoltageCount"),
                    // The simulated unit slews at the configured rate, as a real one set to it would.
                    SlewAmpsPerSecond = m.Fields.OptionalNumber(SlewField) ?? Danfysik8500SimSettings.Default.SlewAmpsPerSecond,
                };
                var model = new Danfysik8500Model(m.Address ?? 0, time, settings, log);
                _units.Add(m.Name, (model, new Danfysik8500Wire(model, log)));
            }

            // One unit without an address answers every request, as a unit alone on its line does.
            Device = magnets is [{ Address: null } only] ? _units[only.Name].Wire : new Danfysik8500Bus(_units.Values.Select(u => u.Wire));
        }

        public override ILineDevice Device { get; }

        public override IReadOnlyDictionary<string, string> Faults => FaultTable;

        public Danfysik8500Model Unit(string magnet) => _units[magnet].Model;

        public override void Inject(MagnetSetup magnet, string fault)
        {
            var (unit, wire) = _units[magnet.Name];
            switch (fault)
            {
                case "water": unit.RaiseInterlock(Danfysik8500Conditions.MagnetWaterFlowFailure); break;
                case "overtemp": unit.RaiseInterlock(Danfysik8500Conditions.MagnetOverTemperature); break;
                case "door": unit.RaiseInterlock(Danfysik8500Conditions.DoorSwitch); break;
                case "local": unit.SetLocal(true); break;
                case "ignore": wire.IgnoreNextDirective(); break;
                case "clear":
                    foreach (var c in new[] { Danfysik8500Conditions.MagnetWaterFlowFailure, Danfysik8500Conditions.MagnetOverTemperature, Danfysik8500Conditions.DoorSwitch })
                        unit.ClearInterlock(c);
                    unit.SetLocal(false);
                    break;
                default:
                    throw new ArgumentOutOfRangeException(nameof(fault), fault, $"fault = '{fault}' refused: one of {string.Join(", ", FaultTable.Keys)}");
            }
        }
    }

    /// <summary>The simulated unit behind a magnet (tests look at its physics); the port must be a simulated Danfysik line.</summary>
    public static Danfysik8500Model SimulatedUnit(SimulatedMagnetPort port, string magnet) =>
        port is Line line ? line.Unit(magnet) : throw new ArgumentException($"port of {magnet} is not a simulated Danfysik 8500 line", nameof(port));
}
