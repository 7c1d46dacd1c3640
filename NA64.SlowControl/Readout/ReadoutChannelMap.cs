using System.Globalization;
using NA64.Readout.Formats;
using NA64.Readout.Processing;
using NA64.SlowControl.Setup;
using NA64.Simulators.Physics;

namespace NA64.SlowControl.Readout;

/// <summary>One configured MSADC module with its place in the run: index, source, port, first detector-layout channel.</summary>
public sealed record ReadoutModule(int Index, string Name, int SourceId, int Port, int FirstChannel);

/// <summary>
/// Where each detector channel is read out: module channel k of a module (chip k/16, chan_id k%16) is detector-layout
/// channel FirstChannel + k (the simulated modules take 64 consecutive channels, MsadcDataPath). Gives the ChipSADC map
/// entries (name, srcID, port, chip_channel, x, y), the calorimeter of each channel and the reverse lookup used by the
/// live monitor. Inputs past the layout's last channel are unconnected and have no entry.
/// </summary>
public sealed class ReadoutChannelMap
{
    public const int ModuleChannels = NA64.Hardware.Digitizers.Msadc.MsadcRegisters.ChannelsPerModule;
    private readonly Dictionary<(int Source, int Port), ReadoutModule> _byAddress = [];

    public ReadoutChannelMap(ReadoutSetup readout, DetectorLayout layout)
    {
        ArgumentNullException.ThrowIfNull(readout);
        ArgumentNullException.ThrowIfNull(layout);
        Layout = layout;
        var modules = new List<ReadoutModule>();
        foreach (var (source, module) in readout.AllModules)
        {
            if (module.FirstChannel >= layout.Count)
                throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                    $"readout module {module.Name}: firstChannel = {module.FirstChannel} is past the detector layout's {layout.Count} channels (setup line {module.Line})"));
            var m = new ReadoutModule(modules.Count, module.Name, source.SourceId, module.Port, module.FirstChannel);
            modules.Add(m);
            _byAddress[(m.SourceId, m.Port)] = m;
        }

        Modules = modules;
        Calorimeter = new CalorimeterKind[layout.Count];
        foreach (var channel in layout.Channels)
        {
            Calorimeter[channel.Index] = channel.Kind switch
            {
                DetectorKind.EcalPreshower or DetectorKind.EcalMain => CalorimeterKind.Ecal,
                DetectorKind.Hcal => CalorimeterKind.Hcal,
                _ => CalorimeterKind.None,
            };
        }
    }

    public DetectorLayout Layout { get; }

    public IReadOnlyList<ReadoutModule> Modules { get; }

    /// <summary>Calorimeter of each detector-layout channel.</summary>
    public CalorimeterKind[] Calorimeter { get; }

    public IReadOnlyList<int> SourceIds => Modules.Select(m => m.SourceId).Distinct().ToArray();

    public ReadoutModule? Find(int sourceId, int port) => _byAddress.TryGetValue((sourceId, port), out var m) ? m : null;

    /// <summary>Detector-layout channel of module channel <paramref name="chipChannel"/>, or -1 for an unconnected input.</summary>
    public int LayoutChannel(ReadoutModule module, int chipChannel)
    {
        int index = module.FirstChannel + chipChannel;
        return index < Layout.Count ? index : -1;
    }

    /// <summary>ChipSADC map lines: detector name (ECAL0, ECAL1, HCAL0.., VETO, SRD, counters) with the cell as x, y.</summary>
    public IReadOnlyList<SadcMapEntry> MapEntries()
    {
        var entries = new List<SadcMapEntry>();
        foreach (var module in Modules)
        {
            for (int k = 0; k < ModuleChannels; k++)
            {
                int index = LayoutChannel(module, k);
                if (index < 0)
                    continue;
                var channel = Layout.Channels[index];
                string detector = channel.Kind switch
                {
                    DetectorKind.Veto => "VETO",
                    DetectorKind.Srd => "SRD",
                    _ => channel.Name.Split('_')[0],
                };
                entries.Add(new SadcMapEntry(detector, module.SourceId, module.Port, k / 16, k % 16, channel.X, channel.Y));
            }
        }

        return entries;
    }
}
