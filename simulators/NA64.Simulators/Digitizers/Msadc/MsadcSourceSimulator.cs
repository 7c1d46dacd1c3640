using System.Buffers.Binary;
using System.Globalization;
using NA64.Hardware.Digitizers.Msadc;
using NA64.Hardware.Digitizers.Msadc.Format;
using NA64.Simulators.Physics;
using Serilog;

namespace NA64.Simulators.Digitizers.Msadc;

/// <summary>Faults the simulated source can put into its next fragments (data-formats §9: what the decoder must survive).</summary>
public enum MsadcDataFault
{
    None,
    /// <summary>One word XOR-ed with a mask (default: the first channel header, id bits 0b01 become 0b10).</summary>
    CorruptWord,
    /// <summary>The first ADC header's 12-bit event field is one off the S-Link event number ("wrong event").</summary>
    WrongEventNumber,
    /// <summary>The fragment is cut short by a few words while the S-Link event_size still claims the full length.</summary>
    TruncatedBlock,
    /// <summary>Every module writes header-only ADC blocks, as if every channel were below threshold.</summary>
    AllChannelsSuppressed,
}

/// <summary>
/// One S-Link source of simulated MSADC modules (one module per HotLink port, up to 8): per trigger, each running
/// module samples its 64 channels of the physics generator's block (<see cref="MsadcDataPath"/>) and the fragment is
/// written in SADC data format 3 by the shared encoder (<see cref="SadcBlockWriter"/>). A module set missing writes
/// missing-module markers; faults from <see cref="InjectFault"/> apply to the next fragments.
/// </summary>
public sealed class MsadcSourceSimulator : ISimulatedSource
{
    private const int Channels = MsadcRegisters.ChannelsPerModule;
    private readonly MsadcDataPath[] _modules;
    private readonly bool[] _missing;
    private readonly ushort[] _moduleSamples = new ushort[Channels * MsadcRegisters.MaxSamples];
    private readonly bool[] _kept = new bool[Channels];
    private readonly int[] _pedestalEven = new int[Channels];
    private readonly int[] _pedestalOdd = new int[Channels];
    private readonly int[] _threshold = new int[Channels];
    private readonly ILogger _log;
    private MsadcDataFault _fault;
    private int _faultTriggers;
    private int _corruptWordIndex = -1;
    private uint _corruptMask = 0xC000_0000;
    private int _truncateWords = 2;
    private long _faultsInjected;

    public MsadcSourceSimulator(int sourceId, IReadOnlyList<MsadcDataPath> modules, ILogger? log = null)
    {
        ArgumentNullException.ThrowIfNull(modules);
        if (sourceId < 0 || sourceId >= SlinkHeader.FirstMultiplexerSourceId)
            throw new ArgumentOutOfRangeException(nameof(sourceId), sourceId, string.Create(CultureInfo.InvariantCulture,
                $"source id = {sourceId} refused: an MSADC source is 0..{SlinkHeader.FirstMultiplexerSourceId - 1}"));
        if (modules.Count is 0 or > 8)
            throw new ArgumentOutOfRangeException(nameof(modules), modules.Count, "a source carries 1..8 modules (HotLink ports)");
        var ports = new HashSet<int>();
        foreach (var module in modules)
        {
            if (module.Device.SourceId != sourceId)
                throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                    $"module {module.Device.Name} is source {module.Device.SourceId}, not {sourceId}"), nameof(modules));
            if (!ports.Add(module.Device.Port))
                throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                    $"two modules on port {module.Device.Port} of source {sourceId}"), nameof(modules));
        }
        SourceId = sourceId;
        _modules = [.. modules.OrderBy(m => m.Device.Port)];
        _missing = new bool[_modules.Length];
        _log = log ?? Serilog.Core.Logger.None;
    }

    public int SourceId { get; }
    public IReadOnlyList<MsadcDataPath> Modules => _modules;
    /// <summary>What the 16-bit channel sum carries (data-formats §6.3: the on-board definition is not documented).</summary>
    public SadcSumMode SumMode { get; set; } = SadcSumMode.PedestalSubtracted;
    /// <summary>Faults written so far (each faulty fragment counts once).</summary>
    public long FaultsInjected => Interlocked.Read(ref _faultsInjected);

    /// <summary>Largest fragment this source can write: every module latch-all at 32 samples.</summary>
    public int MaxFragmentBytes => SadcBlockWriter.LatchAllBytes(_modules.Length * MsadcRegisters.ChipsPerModule, MsadcRegisters.MaxSamples);

    /// <summary>A missing module answers every trigger with 4 missing-module markers (one per ADC chip).</summary>
    public void SetModuleMissing(int port, bool missing)
    {
        int index = Array.FindIndex(_modules, m => m.Device.Port == port);
        if (index < 0)
            throw new ArgumentOutOfRangeException(nameof(port), port, string.Create(CultureInfo.InvariantCulture,
                $"source {SourceId} has no module on port {port}"));
        _missing[index] = missing;
    }

    /// <summary>Puts <paramref name="fault"/> into the next <paramref name="triggers"/> fragments.</summary>
    public void InjectFault(MsadcDataFault fault, int triggers = 1, int corruptWordIndex = -1, uint corruptMask = 0xC000_0000,
        int truncateWords = 2)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(triggers);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(truncateWords);
        _fault = fault;
        _faultTriggers = triggers;
        _corruptWordIndex = corruptWordIndex;
        _corruptMask = corruptMask;
        _truncateWords = truncateWords;
    }

    /// <summary>
    /// Writes this source's fragment for one trigger into <paramref name="destination"/> and returns its length in bytes
    /// (0 if no module is running: the source sends nothing). <paramref name="eventNumber"/> is the event number in the spill.
    /// </summary>
    public int WriteFragment(ReadOnlySpan<short> generatorBlock, int generatorSamples, int eventNumber, int spillNumber,
        Span<byte> destination)
    {
        var fault = _faultTriggers > 0 ? _fault : MsadcDataFault.None;
        var writer = new SadcBlockWriter(destination, SourceId, eventNumber, spillNumber);
        bool anyRunning = false;
        for (int m = 0; m < _modules.Length; m++)
        {
            var module = _modules[m];
            int port = module.Device.Port;
            if (_missing[m])
            {
                for (int chip = 0; chip < MsadcRegisters.ChipsPerModule; chip++)
                    writer.AddMissingModule(port, chip);
                anyRunning = true;
                continue;
            }
            int kept = module.Capture(generatorBlock, generatorSamples, _moduleSamples, _kept);
            if (kept < 0)
                continue;
            anyRunning = true;
            int samples = module.Device.SamplesPerChannel;
            module.Device.CopyChannelSettings(_pedestalEven, _pedestalOdd, _threshold);
            for (int chip = 0; chip < MsadcRegisters.ChipsPerModule; chip++)
            {
                writer.BeginAdc(port, chip);
                if (fault == MsadcDataFault.AllChannelsSuppressed)
                    continue;
                for (int ch = 0; ch < MsadcRegisters.ChannelsPerChip; ch++)
                {
                    int k = chip * MsadcRegisters.ChannelsPerChip + ch;
                    if (_kept[k])
                        writer.AddChannel(ch, _moduleSamples.AsSpan(k * samples, samples), SumMode, _pedestalEven[k], _pedestalOdd[k]);
                }
            }
        }
        if (!anyRunning)
            return 0;
        int length = writer.Finish();
        if (fault != MsadcDataFault.None)
        {
            length = ApplyFault(fault, destination, length);
            _faultTriggers--;
            Interlocked.Increment(ref _faultsInjected);
            _log.Information("MSADC sim source {Source} event {Event}: injected {Fault}", SourceId, eventNumber, fault);
        }
        return length;
    }

    /// <summary>The crate's entry: the MSADC samples the generator's block only (the truth is the block's origin).</summary>
    int ISimulatedSource.WriteFragment(EventTruth? truth, ReadOnlySpan<short> generatorBlock, int generatorSamples, int eventNumber,
        int spillNumber, Span<byte> destination) =>
        WriteFragment(generatorBlock, generatorSamples, eventNumber, spillNumber, destination);

    private int ApplyFault(MsadcDataFault fault, Span<byte> fragment, int length)
    {
        int words = length / 4;
        switch (fault)
        {
            case MsadcDataFault.CorruptWord:
            {
                // Default target: the first channel header (word 4 when the first ADC block has a channel), else the last word.
                int index = _corruptWordIndex >= 0 ? _corruptWordIndex : words > 4 ? 4 : words - 1;
                if (index >= words)
                    throw new ArgumentOutOfRangeException(nameof(fault), index, string.Create(CultureInfo.InvariantCulture,
                        $"corrupt word index {index} is past the {words}-word fragment"));
                var at = fragment.Slice(index * 4, 4);
                BinaryPrimitives.WriteUInt32LittleEndian(at, BinaryPrimitives.ReadUInt32LittleEndian(at) ^ _corruptMask);
                return length;
            }
            case MsadcDataFault.WrongEventNumber:
            {
                var at = fragment.Slice(SlinkHeader.Bytes, 4);
                uint header = BinaryPrimitives.ReadUInt32LittleEndian(at);
                uint wrong = ((header & Sadc3.EventMask) + 1) & Sadc3.EventMask;
                BinaryPrimitives.WriteUInt32LittleEndian(at, (header & ~(uint)Sadc3.EventMask) | wrong);
                return length;
            }
            case MsadcDataFault.TruncatedBlock:
                return Math.Max(SlinkHeader.Bytes, length - 4 * _truncateWords);
            case MsadcDataFault.AllChannelsSuppressed:
                return length; // already written header-only
            default:
                throw new ArgumentOutOfRangeException(nameof(fault), fault, "unknown MSADC data fault");
        }
    }
}
