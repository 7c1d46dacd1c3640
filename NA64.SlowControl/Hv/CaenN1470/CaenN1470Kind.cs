using NA64.Hardware.Hv.CaenN1470;
using NA64.Hardware.Transport;
using NA64.SlowControl.Devices;
using NA64.SlowControl.Setup;
using NA64.Simulators.Hv.CaenN1470;
using NA64.Simulators.Serving;
using Serilog;

namespace NA64.SlowControl.Hv.CaenN1470;

/// <summary>The CAEN N1470 registration: the real driver over any line transport, simulated boards on one RS-485 chain.</summary>
public static class CaenN1470Kind
{
    public static HvDeviceKind Registration { get; } = new(
        new DeviceKind("caen-n1470", IsHighVoltage: true, CaenN1470Facts.MinAddress, CaenN1470Facts.MaxAddress,
            CaenN1470Facts.Channels, CaenN1470Facts.MaxVolts, CaenN1470Facts.MaxMicroamps),
        LineFraming.CrLf,
        (device, transport, time, log) => new CaenN1470Board(transport, device.Address, device.ChannelLimits(), time: time, log: log),
        (devices, time, log) => new Chain(devices, time, log));

    /// <summary>Simulated boards sharing one RS-485 chain, each at its address, with loads that look like NA64's.</summary>
    private sealed class Chain : SimulatedHvPort
    {
        private static readonly IReadOnlyDictionary<string, string> FaultTable = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["trip"] = "the board trips the channel now (TRIP latched, output off)",
            ["overcurrent"] = "a discharge draws 5x the channel's ISET until cleared (the board trips it after its TRIP time)",
            ["interlock"] = "the board's interlock input goes active (every channel off, ILK)",
            ["kill"] = "the board's KILL input is asserted (every channel off, KILL)",
            ["local"] = "the board's front-panel switch goes to LOCAL (every SET refused)",
            ["clear"] = "discharge over, interlock and KILL released, REMOTE",
        };

        private readonly Dictionary<string, CaenN1470BoardModel> _boards = new(StringComparer.Ordinal);

        public Chain(IReadOnlyList<DeviceSetup> devices, TimeProvider time, ILogger log)
        {
            var wires = new List<CaenN1470Wire>();
            foreach (var device in devices)
            {
                var loads = new CaenN1470Load[device.Kind.ChannelCount];
                for (int i = 0; i < loads.Length; i++)
                    loads[i] = CaenN1470Load.Default;
                foreach (var channel in device.Channels)
                    loads[channel.Index] = LoadFor(channel);
                var model = new CaenN1470BoardModel(device.Address, time, loads: loads, log: log);
                _boards.Add(device.Name, model);
                wires.Add(new CaenN1470Wire(model, log));
            }

            Device = new CaenN1470Bus(wires);
        }

        public override ILineDevice Device { get; }

        public override IReadOnlyDictionary<string, string> Faults => FaultTable;

        /// <summary>The board model of a device (tests and the demo look at its physics).</summary>
        public CaenN1470BoardModel Board(string device) => _boards[device];

        public override void Inject(DeviceSetup device, ChannelSetup channel, string fault)
        {
            var board = _boards[device.Name];
            var model = board.Channels[channel.Index];
            switch (fault)
            {
                case "trip": model.ForceTrip(); break;
                case "overcurrent": model.InjectCurrent(5 * Math.Max(channel.CurrentLimitMicroamps, 0.1)); break;
                case "interlock": board.SetInterlockInput(board.InterlockMode); break;
                case "kill": board.SetKillInput(true); break;
                case "local": board.SetLocal(true); break;
                case "clear":
                    model.InjectCurrent(0);
                    board.SetInterlockInput(board.InterlockMode == CaenInterlockState.Open ? CaenInterlockState.Closed : CaenInterlockState.Open);
                    board.SetKillInput(false);
                    board.SetLocal(false);
                    break;
                default:
                    throw new ArgumentOutOfRangeException(nameof(fault), fault, $"fault = '{fault}' refused: one of {string.Join(", ", FaultTable.Keys)}");
            }
        }

        /// <summary>
        /// A plausible load per channel so the simulated currents look like NA64's (na64-setup.md §10.1): micromegas
        /// draw nA off-spill and their resistive strips ~0.7 µA in the spill; a PMT divider draws about half of its
        /// current limit (assumption).
        /// </summary>
        private static CaenN1470Load LoadFor(ChannelSetup channel)
        {
            if (channel.CurrentLimitMicroamps > 10)
                return CaenN1470Load.Default with { ResistanceMegaohms = channel.NominalVolts / (0.5 * channel.CurrentLimitMicroamps) };
            return channel.Name.EndsWith(".strips", StringComparison.OrdinalIgnoreCase)
                ? CaenN1470Load.Default with { BeamMicroamps = 0.7 }
                : CaenN1470Load.Default;
        }
    }

    /// <summary>The simulated board model behind a device (tests, demo); the port must be a CAEN chain.</summary>
    public static CaenN1470BoardModel SimulatedBoard(SimulatedHvPort port, string device) =>
        port is Chain chain ? chain.Board(device) : throw new ArgumentException($"port of {device} is not a simulated CAEN N1470 chain", nameof(port));
}
