using NA64.Hardware.Digitizers.Msadc.Format;

namespace NA64.Hardware.Digitizers.Apv.Format;

/// <summary>Per-APV flags the decoder attaches; the problem list says why and where.</summary>
[Flags]
public enum ApvChipFlags : ushort
{
    None = 0,

    /// <summary>Not all frame good bits were 1: the APV's data were dropped (as DDD does).</summary>
    HeaderSampleError = 1,

    /// <summary>Format bit 5: the ADC shipped headers only.</summary>
    DataSkipped = 2,

    /// <summary>Latch-all block with fewer than 128 data words: the missing channels read 0.</summary>
    LatchAllIncomplete = 4,

    /// <summary>Latch-all block with more than 128 data words: the extra words were dropped.</summary>
    LatchAllTruncated = 8,

    /// <summary>Sparse channels not strictly increasing (duplicates or out of order); all words kept.</summary>
    ChannelOrder = 16,

    /// <summary>A pipeline address outside the Gray image.</summary>
    PipelineInvalid = 32,

    /// <summary>The three pipeline columns are not consecutive modulo 192.</summary>
    PipelineNotConsecutive = 64,

    /// <summary>Pipeline addresses differ from those of the ADC's first APV.</summary>
    PipelineDisagree = 128,

    /// <summary>The CM word had bit 31 clear or bit 30 set; its values are kept.</summary>
    CommonModeWord = 256,

    /// <summary>A sparse word with all three amplitudes 0 (it cannot have passed zero suppression).</summary>
    ImpossibleAmplitude = 512,

    /// <summary>The same chip_id appeared earlier in this ADC block.</summary>
    Duplicate = 1024,

    /// <summary>APV sync bit or global sync bit clear (shown, not an error in DDD).</summary>
    NoSync = 2048,
}

/// <summary>
/// One decoded APV: where it sits (source, ADC, chip), its 12-bit event number, pipeline columns, sync bits, CM values (when
/// the block had a CM word), mode, flags, and where its data live in <see cref="ApvEventData"/>
/// (<see cref="ApvEventData.LatchAll"/> or <see cref="ApvEventData.Hits"/>). <see cref="WordOffset"/> counts from the start of
/// the block given to the decoder (the S-Link header word 0, or the payload's first word for <c>DecodePayload</c>).
/// </summary>
public readonly record struct ApvChip(
    int SourceId,
    int AdcId,
    int ChipId,
    int EventNumber,
    ApvPipeline Columns,
    bool ApvSync,
    bool GlobalSync,
    bool Sparse,
    ApvCommonMode? CommonMode,
    int DataWords,
    int DataStart,
    int DataCount,
    ApvChipFlags Flags,
    int WordOffset,
    long ByteOffset)
{
    /// <summary>False when the APV's data were dropped (bad good bits) or never shipped (data skipped).</summary>
    public bool HasData => (Flags & (ApvChipFlags.HeaderSampleError | ApvChipFlags.DataSkipped)) == 0;
}

/// <summary>One APV-ADC block header seen in the data (also those whose APVs were dropped).</summary>
public readonly record struct ApvAdcBlock(int SourceId, int AdcId, ApvFormatFlags Format, byte FormatOld, int TimeTag, int SizeWords, int Apvs, int WordOffset, long ByteOffset);

/// <summary>Outcome for one S-Link source: its header, whether it was discarded whole, whether the scan stopped early, APVs decoded.</summary>
public readonly record struct ApvSourceResult(SlinkHeader Header, bool Discarded, bool Stopped, int Apvs, long ByteOffset);

/// <summary>Where a problem was found, beside its <see cref="FormatProblem"/>: word offset (as <see cref="ApvChip.WordOffset"/>), ADC and chip (-1 when not known or not applicable).</summary>
public readonly record struct ApvProblemLocation(int WordOffset, int AdcId, int ChipId);

/// <summary>
/// Reusable output of <see cref="ApvDecoder"/>: the APVs of one event (all its APV sources), their data, the ADC blocks seen,
/// per-source results and the problems (the shared <see cref="FormatProblem"/> list, with a parallel list of APV locations).
/// Arrays grow when needed and are kept, so a steady stream of events decodes without allocating. Call <see cref="Clear"/> between events.
/// </summary>
public sealed class ApvEventData
{
    /// <summary>Values per latch-all APV: 3 frames × 128 physical channels, frame-major.</summary>
    public const int LatchAllValues = ApvFacts.Frames * ApvFacts.ChannelsPerApv;

    private readonly List<FormatProblem> _problems = new();
    private readonly List<ApvProblemLocation> _locations = new();
    private ApvChip[] _chips;
    private ushort[] _samples;
    private ApvHit[] _hits;
    private ApvAdcBlock[] _blocks = new ApvAdcBlock[8];
    private ApvSourceResult[] _sources = new ApvSourceResult[4];
    private int _chipCount;
    private int _sampleCount;
    private int _hitCount;
    private int _blockCount;
    private int _sourceCount;

    public ApvEventData(int initialChips = 64, int initialHits = 1024)
    {
        _chips = new ApvChip[Math.Max(1, initialChips)];
        _samples = new ushort[Math.Max(1, initialChips) * LatchAllValues];
        _hits = new ApvHit[Math.Max(ApvFacts.ChannelsPerApv, initialHits)];
    }

    public ReadOnlySpan<ApvChip> Chips => new(_chips, 0, _chipCount);

    public ReadOnlySpan<ApvAdcBlock> AdcBlocks => new(_blocks, 0, _blockCount);

    public ReadOnlySpan<ApvSourceResult> Sources => new(_sources, 0, _sourceCount);

    public IReadOnlyList<FormatProblem> Problems => _problems;

    /// <summary>Same count and order as <see cref="Problems"/>: the APV location of each problem.</summary>
    public IReadOnlyList<ApvProblemLocation> ProblemLocations => _locations;

    /// <summary>
    /// A latch-all APV's 384 amplitudes, frame-major by physical channel (frame f of channel p at f·128 + p); empty for
    /// sparse APVs and for APVs whose data were dropped.
    /// </summary>
    public ReadOnlySpan<ushort> LatchAll(scoped in ApvChip chip) => chip.Sparse ? default : new(_samples, chip.DataStart, chip.DataCount);

    /// <summary>A sparse APV's hits (physical channel, a0, a1, a2) in data order; empty for latch-all APVs.</summary>
    public ReadOnlySpan<ApvHit> Hits(scoped in ApvChip chip) => chip.Sparse ? new(_hits, chip.DataStart, chip.DataCount) : default;

    /// <summary>Problems of one kind in this event.</summary>
    public int Count(FormatProblemKind kind)
    {
        int n = 0;
        foreach (var p in _problems)
        {
            if (p.Kind == kind)
                n++;
        }

        return n;
    }

    public void Clear()
    {
        _chipCount = 0;
        _sampleCount = 0;
        _hitCount = 0;
        _blockCount = 0;
        _sourceCount = 0;
        _problems.Clear();
        _locations.Clear();
    }

    internal int ChipCount => _chipCount;

    internal int HitCount => _hitCount;

    internal void AddProblem(in FormatProblem problem, ApvProblemLocation location)
    {
        _problems.Add(problem);
        _locations.Add(location);
    }

    internal void AddBlock(in ApvAdcBlock b)
    {
        Grow(ref _blocks, _blockCount);
        _blocks[_blockCount++] = b;
    }

    /// <summary>Sets the APV count of the last ADC block once its APVs are walked.</summary>
    internal void SetLastBlockApvs(int apvs) => _blocks[_blockCount - 1] = _blocks[_blockCount - 1] with { Apvs = apvs };

    internal void AddSource(in ApvSourceResult s)
    {
        Grow(ref _sources, _sourceCount);
        _sources[_sourceCount++] = s;
    }

    /// <summary>Room for one latch-all APV (zeroed); returns where it starts.</summary>
    internal Span<ushort> ReserveLatchAll(out int start)
    {
        if (_sampleCount + LatchAllValues > _samples.Length)
        {
            Array.Resize(ref _samples, Math.Max(_samples.Length * 2, _sampleCount + LatchAllValues));
        }

        start = _sampleCount;
        _sampleCount += LatchAllValues;
        var span = _samples.AsSpan(start, LatchAllValues);
        span.Clear();
        return span;
    }

    internal void AddHit(in ApvHit hit)
    {
        Grow(ref _hits, _hitCount);
        _hits[_hitCount++] = hit;
    }

    internal void AddChip(in ApvChip chip)
    {
        Grow(ref _chips, _chipCount);
        _chips[_chipCount++] = chip;
    }

    private static void Grow<T>(ref T[] array, int count)
    {
        if (count == array.Length)
        {
            Array.Resize(ref array, array.Length * 2);
        }
    }
}
