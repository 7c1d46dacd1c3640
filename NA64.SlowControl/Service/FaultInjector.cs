using Serilog;

namespace NA64.SlowControl.Service;

/// <summary>
/// Named faults a bench test or a training shift injects into the simulated devices of a running service
/// (<c>na64hw sim inject CHANNEL FAULT</c>): the line faults every simulated port has, plus the device faults its kind's
/// simulator offers. Refused for a device on a real transport: the backdoor exists only in the simulators, never on the wire.
/// </summary>
public sealed class FaultInjector(HardwareOwner owner, RunManager runs, ILogger log)
{
    /// <summary>Faults of the line between host and device, whatever the kind.</summary>
    public static IReadOnlyDictionary<string, string> LineFaults { get; } = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["silence"] = "the line stops answering (a hung unit)",
        ["garble"] = "the next reply on the line has a corrupted byte",
        ["disconnect"] = "the line drops every connection (cable pulled; the host reconnects)",
    };

    /// <summary>Faults of a simulated MSADC module's data (what the decoder and the event builder must survive).</summary>
    public static IReadOnlyDictionary<string, string> ModuleFaults { get; } = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["silence"] = "the module stops sending: its source writes missing-module markers for it until cleared",
        ["garble"] = "one data word of the module's source's next fragment is corrupted",
        ["truncate"] = "the source's next fragment is cut short while its S-Link size still claims the full length",
        ["wrongevent"] = "the next fragment's ADC header carries an event number one off the S-Link one",
        ["clear"] = "the module sends again",
    };

    /// <summary>Every fault name a target may take: the line's and those of the kinds' simulators.</summary>
    public IReadOnlyDictionary<string, string> Faults()
    {
        var all = new Dictionary<string, string>(LineFaults, StringComparer.Ordinal);
        foreach (var (name, what) in ModuleFaults)
            all.TryAdd("module " + name, what);
        foreach (var line in owner.Hardware.SimulatedLines.Values)
        {
            foreach (var (name, what) in line.Port.Faults)
                all.TryAdd(name, what);
        }

        // Magnet faults under their kind's name: "genesys interlock" is not the CAEN "interlock".
        foreach (var magnet in owner.Setup.Magnets)
        {
            if (!owner.Magnets.SimulatedLines.TryGetValue(magnet.Transport, out var line))
                continue;
            foreach (var (name, what) in line.Port.Faults)
                all.TryAdd($"{magnet.Kind.Name} {name}", what);
        }

        return all;
    }

    /// <summary>Applies <paramref name="fault"/> to the simulated device behind <paramref name="target"/> (an HV channel name).</summary>
    /// <returns>What was done, in one line.</returns>
    public string Inject(string target, string fault)
    {
        if (runs.Crate?.Map.Modules.FirstOrDefault(m => m.Name == target) is { } module)
            return InjectModule(runs.Crate, module, fault);
        if (owner.Magnets.TryFind(target, out _, out var magnet))
            return InjectMagnet(target, magnet, fault);
        if (!owner.Hv.TryGetChannel(target, out var channel))
            throw new KeyNotFoundException($"target '{target}' is neither a channel, a magnet nor a readout module of the setup; known: " +
                string.Join(", ", owner.Hv.Channels.Select(c => c.Name).Concat(owner.Magnets.Names).Concat(runs.Crate?.Map.Modules.Select(m => m.Name) ?? [])));
        var (device, channelSetup) = owner.Setup.AllChannels.Single(x => x.Channel.Name == channel.Name);
        if (!owner.Hardware.SimulatedLines.TryGetValue(device.Transport, out var line))
            throw new FaultRefusedException($"{target} is on board {device.Name} at {device.Transport}, a real device: faults are injected only into simulators");

        string what = InjectOnLine(line.Server, line.Port, fault, () => line.Port.Inject(device, channelSetup, fault));
        log.Warning("Fault injected: {Fault} on {Target} (board {Board} at {Transport})", fault, target, device.Name, device.Transport);
        return $"{fault} injected on {target} (board {device.Name} at {device.Transport}): {what}";
    }

    private string InjectMagnet(string target, Setup.MagnetSetup magnet, string fault)
    {
        if (!owner.Magnets.SimulatedLines.TryGetValue(magnet.Transport, out var line))
            throw new FaultRefusedException($"{target} is on {magnet.Kind.Name} supply {magnet.Name} at {magnet.Transport}, a real device: faults are injected only into simulators");
        string what = InjectOnLine(line.Server, line.Port, fault, () => line.Port.Inject(magnet, fault));
        log.Warning("Fault injected: {Fault} on magnet {Magnet} ({Kind} at {Transport})", fault, magnet.Name, magnet.Kind.Name, magnet.Transport);
        return $"{fault} injected on {target} ({magnet.Kind.Name} supply {magnet.Name} at {magnet.Transport}): {what}";
    }

    /// <summary>A line fault on the port's server, or one of the kind simulator's device faults (<c>clear</c> also ends a silence).</summary>
    private static string InjectOnLine(Simulators.Serving.LineDeviceServer server, Devices.SimulatedPort port, string fault, Action injectDeviceFault)
    {
        if (LineFaults.TryGetValue(fault, out var lineFault))
        {
            switch (fault)
            {
                case "silence": server.Faults.Silent = true; break;
                case "garble": server.Faults.GarbleNextReply(); break;
                default: server.Faults.Disconnect(); break;
            }

            return lineFault;
        }

        if (port.Faults.TryGetValue(fault, out var deviceFault))
        {
            injectDeviceFault();
            if (fault == "clear")
                server.Faults.Silent = false;
            return deviceFault;
        }

        throw new ArgumentOutOfRangeException(nameof(fault), fault,
            $"fault = '{fault}' refused: one of {string.Join(", ", LineFaults.Keys.Concat(port.Faults.Keys))}");
    }

    private string InjectModule(Readout.SimulatedMsadcCrate crate, Readout.ReadoutModule module, string fault)
    {
        if (crate.Simulator is null)
            throw new FaultRefusedException($"{module.Name} is a real module (its source {module.SourceId} reads a UDP endpoint): faults are injected only into simulators");
        if (!ModuleFaults.TryGetValue(fault, out var what))
            throw new ArgumentOutOfRangeException(nameof(fault), fault, $"fault = '{fault}' refused: one of {string.Join(", ", ModuleFaults.Keys)} for a readout module");
        var source = crate.Source(module.SourceId);
        switch (fault)
        {
            case "silence": source.SetModuleMissing(module.Port, true); break;
            case "garble": source.InjectFault(Simulators.Digitizers.Msadc.MsadcDataFault.CorruptWord); break;
            case "truncate": source.InjectFault(Simulators.Digitizers.Msadc.MsadcDataFault.TruncatedBlock); break;
            case "wrongevent": source.InjectFault(Simulators.Digitizers.Msadc.MsadcDataFault.WrongEventNumber); break;
            default: source.SetModuleMissing(module.Port, false); break;
        }

        log.Warning("Fault injected: {Fault} on readout module {Module} (source {Source}, port {Port})", fault, module.Name, module.SourceId, module.Port);
        return $"{fault} injected on readout module {module.Name} (source {module.SourceId}, port {module.Port}): {what}";
    }
}

/// <summary>Fault injection asked for a real device.</summary>
public sealed class FaultRefusedException(string message) : InvalidOperationException(message);
