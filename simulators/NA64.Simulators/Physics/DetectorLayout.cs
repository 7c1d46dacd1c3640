using System.Globalization;

namespace NA64.Simulators.Physics;

public enum DetectorKind
{
    EcalPreshower,
    EcalMain,
    Hcal,
    Veto,
    Srd,
    Counter,
}

/// <summary>One digitised channel of the generator's output block. X/Y are the cell, Module the HCAL module, else 0.</summary>
public sealed record DetectorChannel(int Index, string Name, DetectorKind Kind, int Module, int X, int Y);

/// <summary>
/// Channel order of the generator's sample block: ECAL preshower (X fastest), ECAL main, HCAL modules, VETO, SRD,
/// counters. Mapping to MSADC (source, port, chip, channel) is the setup's business; the simulator takes 64 consecutive
/// channels per module.
/// </summary>
public sealed class DetectorLayout
{
    private readonly DetectorChannel[] _channels;

    public DetectorLayout(CalorimeterOptions calorimeter)
    {
        ArgumentNullException.ThrowIfNull(calorimeter);
        var list = new List<DetectorChannel>();
        EcalPreshowerStart = list.Count;
        AddGrid(list, "ECAL0", DetectorKind.EcalPreshower, 0, calorimeter.EcalCellsX, calorimeter.EcalCellsY);
        EcalMainStart = list.Count;
        AddGrid(list, "ECAL1", DetectorKind.EcalMain, 0, calorimeter.EcalCellsX, calorimeter.EcalCellsY);
        HcalStart = list.Count;
        for (int m = 0; m < calorimeter.HcalModules; m++)
            AddGrid(list, "HCAL" + m.ToString(CultureInfo.InvariantCulture), DetectorKind.Hcal, m,
                calorimeter.HcalCellsX, calorimeter.HcalCellsY);
        VetoStart = list.Count;
        for (int i = 0; i < calorimeter.VetoChannels; i++)
            list.Add(new(list.Count, "VETO" + i.ToString(CultureInfo.InvariantCulture), DetectorKind.Veto, 0, i, 0));
        SrdStart = list.Count;
        for (int i = 0; i < calorimeter.SrdChannels; i++)
            list.Add(new(list.Count, "SRD" + i.ToString(CultureInfo.InvariantCulture), DetectorKind.Srd, 0, i, 0));
        CounterStart = list.Count;
        foreach (string counter in calorimeter.Counters)
            list.Add(new(list.Count, counter, DetectorKind.Counter, 0, 0, 0));
        _channels = [.. list];
    }

    public IReadOnlyList<DetectorChannel> Channels => _channels;
    public int Count => _channels.Length;
    public int EcalPreshowerStart { get; }
    public int EcalMainStart { get; }
    public int HcalStart { get; }
    public int VetoStart { get; }
    public int SrdStart { get; }
    public int CounterStart { get; }

    /// <summary>Index of the named channel, e.g. <c>S1</c> or <c>ECAL1_3_3</c>.</summary>
    public int IndexOf(string name)
    {
        foreach (var channel in _channels)
            if (channel.Name == name)
                return channel.Index;
        throw new ArgumentException($"no channel named '{name}' in the detector layout", nameof(name));
    }

    private static void AddGrid(List<DetectorChannel> list, string prefix, DetectorKind kind, int module, int nx, int ny)
    {
        for (int y = 0; y < ny; y++)
            for (int x = 0; x < nx; x++)
                list.Add(new(list.Count, string.Create(CultureInfo.InvariantCulture, $"{prefix}_{x}_{y}"), kind, module, x, y));
    }
}
