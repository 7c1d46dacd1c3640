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

    /// <summary>Faults of the trackers' simulated GeSiCA, on a tracker detector (its APVs) or an APV-ADC module.</summary>
    public static IReadOnlyDictionary<string, string> TrackerFaults { get; } = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["silence"] = "the APV-ADC sends no block although it runs (a missing ADC) until cleared",
        ["skipped"] = "the APV-ADC's next block says data skipped (format bit 5, headers only)",
        ["pipeline"] = "the APV's next pipeline columns disagree with the others of its ADC",
        ["garble"] = "one word of the GeSiCA's next fragment is corrupted",
        ["truncate"] = "the GeSiCA's next fragment is cut short while its S-Link size still claims the full length",
        ["wrongevent"] = "the next fragment's APV header carries an event number one off the S-Link one",
        ["dead"] = "the APV sends headers with bad frame bits (its data dropped by the decoder) until cleared",
        ["noisy"] = "channel 10 of the APV becomes noisy until cleared",
        ["cmjump"] = "the APV's common mode jumps by 50 ADC counts until cleared",
        ["clear"] = "the GeSiCA sends clean fragments again",
    };

    /// <summary>Every fault name a target may take: the line's and those of the kinds' simulators.</summary>
    public IReadOnlyDictionary<string, string> Faults()
    {
        var all = new Dictionary<string, string>(LineFaults, StringComparer.Ordinal);
        foreach (var (name, what) in ModuleFaults)
            all.TryAdd("module " + name, what);
        foreach (var (name, what) in TrackerFaults)
            all.TryAdd("tracker " + name, what);
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
        if (runs.Crate is { Trackers: { } trackers } crate && TrackerTarget(crate, trackers, target) is { } apv)
            return InjectTracker(crate, apv, target, fault);
        if (owner.Magnets.TryFind(target, out _, out var magnet))
            return InjectMagnet(target, magnet, fault);
        if (!owner.Hv.TryGetChannel(target, out var channel))
            throw new KeyNotFoundException($"target '{target}' is neither a channel, a magnet, a readout module nor a tracker of the setup; known: " +
                string.Join(", ", owner.Hv.Channels.Select(c => c.Name).Concat(owner.Magnets.Names).Concat(runs.Crate?.Map.Modules.Select(m => m.Name) ?? [])
                    .Concat(runs.Crate?.Trackers?.Layout.Detectors.Select(d => d.Name) ?? []).Concat(runs.Crate?.Trackers?.Drivers.Select(d => d.Name) ?? [])));
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

    /// <summary>(source, ADC, first chip) of a tracker detector or an APV-ADC module name; null when the name is neither.</summary>
    private static (int SourceId, int AdcId, int ChipId)? TrackerTarget(Readout.SimulatedMsadcCrate crate, Readout.TrackerReadout trackers, string target)
    {
        if (trackers.Layout.Detectors.FirstOrDefault(d => d.Name == target) is { } detector)
            return (detector.SourceId, detector.AdcId, detector.FirstChipId);
        return trackers.Drivers.FirstOrDefault(d => d.Name == target) is { } adc ? (adc.SourceId, adc.AdcId, -1) : null;
    }

    private string InjectTracker(Readout.SimulatedMsadcCrate crate, (int SourceId, int AdcId, int ChipId) apv, string target, string fault)
    {
        var gesica = crate.Gesica(apv.SourceId)
            ?? throw new FaultRefusedException($"{target} is read by source {apv.SourceId}, a real GeSiCA (udp): faults are injected only into simulators");
        if (!TrackerFaults.TryGetValue(fault, out var what))
            throw new ArgumentOutOfRangeException(nameof(fault), fault, $"fault = '{fault}' refused: one of {string.Join(", ", TrackerFaults.Keys)} for a tracker or APV-ADC");
        int chip = apv.ChipId < 0 ? 0 : apv.ChipId;
        switch (fault)
        {
            case "silence": gesica.InjectFault(Simulators.Digitizers.Apv.GesicaDataFault.MissingAdc, null, apv.AdcId); break;
            case "skipped": gesica.InjectFault(Simulators.Digitizers.Apv.GesicaDataFault.DataSkipped, 1, apv.AdcId); break;
            case "pipeline": gesica.InjectFault(Simulators.Digitizers.Apv.GesicaDataFault.PipelineAddressMismatch, 1, apv.AdcId, chip); break;
            case "garble": gesica.InjectFault(Simulators.Digitizers.Apv.GesicaDataFault.CorruptWord, 1); break;
            case "truncate": gesica.InjectFault(Simulators.Digitizers.Apv.GesicaDataFault.TruncatedFragment, 1); break;
            case "wrongevent": gesica.InjectFault(Simulators.Digitizers.Apv.GesicaDataFault.WrongEventNumber, 1); break;
            case "dead": gesica.InjectFault(Simulators.Digitizers.Apv.GesicaDataFault.DeadApv, null, apv.AdcId, chip); break;
            case "noisy": gesica.InjectFault(Simulators.Digitizers.Apv.GesicaDataFault.NoisyChannel, null, apv.AdcId, chip, channel: 10, amount: 50); break;
            case "cmjump": gesica.InjectFault(Simulators.Digitizers.Apv.GesicaDataFault.CommonModeJump, null, apv.AdcId, chip, amount: 50); break;
            default: gesica.ClearFault(); break;
        }

        log.Warning("Fault injected: {Fault} on tracker {Target} (source {Source}, ADC {Adc}, chip {Chip})", fault, target, apv.SourceId, apv.AdcId, chip);
        return $"{fault} injected on {target} (source {apv.SourceId}, APV-ADC {apv.AdcId}, chip {chip}): {what}";
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
