using NA64.Simulators.Hv.CaenN1470;
using Serilog;

namespace NA64.SlowControl.Service;

/// <summary>
/// Named faults a bench test or a training shift injects into the simulated devices of a running service
/// (<c>na64hw sim inject CHANNEL FAULT</c>). Refused for a device on a real transport: the backdoor exists only in
/// the simulators, never on the wire.
/// </summary>
public sealed class FaultInjector(HardwareOwner owner, ILogger log)
{
    /// <summary>Faults of an HV channel and what each does to the simulated board or line.</summary>
    public static IReadOnlyDictionary<string, string> HvFaults { get; } = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["trip"] = "the board trips the channel now (TRIP latched, output off)",
        ["overcurrent"] = "a discharge draws 5x the channel's ISET until cleared (the board trips it after its TRIP time)",
        ["interlock"] = "the board's interlock input goes active (every channel off, ILK)",
        ["kill"] = "the board's KILL input is asserted (every channel off, KILL)",
        ["local"] = "the board's front-panel switch goes to LOCAL (every SET refused)",
        ["silence"] = "the RS-485 line stops answering (a hung unit)",
        ["garble"] = "the next reply on the line has a corrupted byte",
        ["disconnect"] = "the line drops every connection (cable pulled; the host reconnects)",
        ["clear"] = "every fault above released (discharge over, interlock and KILL released, REMOTE, line answering)",
    };

    /// <summary>Applies <paramref name="fault"/> to the simulated device behind <paramref name="target"/> (an HV channel name).</summary>
    /// <returns>What was done, in one line.</returns>
    public string Inject(string target, string fault)
    {
        if (!owner.Hv.TryGetChannel(target, out var channel))
            throw new KeyNotFoundException($"target '{target}' is not a channel of the setup; known: {string.Join(", ", owner.Hv.Channels.Select(c => c.Name))}");
        if (!HvFaults.ContainsKey(fault))
            throw new ArgumentOutOfRangeException(nameof(fault), fault, $"fault = '{fault}' refused: one of {string.Join(", ", HvFaults.Keys)}");
        var device = owner.Setup.AllChannels.Single(x => x.Channel.Name == channel.Name).Device;
        if (!Hosting.HvHardware.IsSimulated(device.Transport))
            throw new FaultRefusedException($"{target} is on board {device.Name} at {device.Transport}, a real device: faults are injected only into simulators");

        var line = owner.Hardware.SimulatedLines[device.Transport];
        var board = owner.Hardware.SimulatedBoard(device.Name);
        var model = board.Channels[channel.Index];
        switch (fault)
        {
            case "trip": model.ForceTrip(); break;
            case "overcurrent": model.InjectCurrent(5 * Math.Max(channel.Setup.CurrentLimitMicroamps, 0.1)); break;
            case "interlock": board.SetInterlockInput(board.InterlockMode); break;
            case "kill": board.SetKillInput(true); break;
            case "local": board.SetLocal(true); break;
            case "silence": line.Server.Faults.Silent = true; break;
            case "garble": line.Server.Faults.GarbleNextReply(); break;
            case "disconnect": line.Server.Faults.Disconnect(); break;
            case "clear":
                model.InjectCurrent(0);
                board.SetInterlockInput(board.InterlockMode == CaenInterlockState.Open ? CaenInterlockState.Closed : CaenInterlockState.Open);
                board.SetKillInput(false);
                board.SetLocal(false);
                line.Server.Faults.Silent = false;
                break;
        }

        string done = $"{fault} injected on {target} (board {device.Name} at {device.Transport}): {HvFaults[fault]}";
        log.Warning("Fault injected: {Fault} on {Target} (board {Board})", fault, target, device.Name);
        return done;
    }
}

/// <summary>Fault injection asked for a real device.</summary>
public sealed class FaultRefusedException(string message) : InvalidOperationException(message);
