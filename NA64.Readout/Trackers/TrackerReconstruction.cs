using System.Globalization;
using System.Runtime.InteropServices;
using NA64.Hardware.Digitizers.Apv.Format;
using NA64.Readout.Processing.Apv;

namespace NA64.Readout.Trackers;

public sealed record TrackerReconstructionOptions
{
    /// <summary>Noise σ (ADC counts) given to the cluster finders for a channel whose σ is not known (no pedestal table):
    /// the middle of the 2..5 ADC counts the APV25 noise model assumes (na64-setup §8.1, an assumption).</summary>
    public double NominalSigmaAdc { get; init; } = 3.5;

    /// <summary>Micromegas clustering. Default keeps (flagged <see cref="ClusterFlags.SameChannelTwice"/>) a cluster that
    /// holds one channel twice instead of dropping it (decoding rule 5): in the 2016-2018 map channel 38 drives strips 190
    /// and 194, the middle of a beam-centred chamber, and a real 5-7 strip cloud there covers both, so rule 5 threw away
    /// ≈ 2.6 % of the beam tracks (end-to-end test: 96.5-98 % → 100 % efficiency, core resolution unchanged, README).</summary>
    public MicromegasClusterOptions Micromegas { get; init; } = new() { RejectSameChannelTwice = false };
    public GemClusterOptions Gem { get; init; } = new();

    /// <summary>Common mode and ZS amplitude of the latch-all processing.</summary>
    public ApvProcessingOptions Processing { get; init; } = new();

    /// <summary>k_cm of the common-mode cut of the latch-all processing (na64-setup §9.12: 3).</summary>
    public double CommonModeCutSigmas { get; init; } = 3.0;

    /// <summary>Strip geometry per plane name (<c>MM1X</c>); a plane not listed gets the nominal one centred on 0
    /// (positions are then in the plane's own frame, 0 at its centre).</summary>
    public IReadOnlyDictionary<string, PlaneGeometry>? Geometries { get; init; }

    /// <summary>Chip issues remembered per event with their location (further ones are only counted).</summary>
    public int MaxIssuesPerEvent { get; init; } = 64;

    internal void Validate()
    {
        if (!double.IsFinite(NominalSigmaAdc) || NominalSigmaAdc <= 0)
            throw new ArgumentOutOfRangeException(nameof(NominalSigmaAdc), NominalSigmaAdc, "NominalSigmaAdc must be a finite number > 0");
        if (!double.IsFinite(CommonModeCutSigmas) || CommonModeCutSigmas <= 0)
            throw new ArgumentOutOfRangeException(nameof(CommonModeCutSigmas), CommonModeCutSigmas, "CommonModeCutSigmas must be a finite number > 0");
        if (MaxIssuesPerEvent < 0)
            throw new ArgumentOutOfRangeException(nameof(MaxIssuesPerEvent), MaxIssuesPerEvent, "MaxIssuesPerEvent must be >= 0");
        ArgumentNullException.ThrowIfNull(Micromegas);
        ArgumentNullException.ThrowIfNull(Gem);
        ArgumentNullException.ThrowIfNull(Processing);
    }
}

/// <summary>Why a chip of an event did not reach the cluster finders.</summary>
public enum TrackerChipIssueKind
{
    /// <summary>The decoded data hold a (source, ADC, chip) the layout does not read (or another source's chip).</summary>
    Unknown,
    /// <summary>A chip of the layout is absent from the event.</summary>
    Missing,
    /// <summary>The chip is present but its data were dropped by the decoder or skipped by the ADC (<see cref="ApvChip.HasData"/>).</summary>
    NoData,
    /// <summary>The chip appeared a second time in the event; the first copy was used.</summary>
    Duplicate,
    /// <summary>A latch-all chip with no pedestal table: it cannot be zero-suppressed, so it is skipped.</summary>
    LatchAllWithoutPedestals,
}

/// <summary>One chip issue of one event: kind and where (source, ADC, chip; word offset in the source block, −1 when absent).</summary>
public readonly record struct TrackerChipIssue(TrackerChipIssueKind Kind, int SourceId, int AdcId, int ChipId, int WordOffset);

/// <summary>What one event (or, summed, a run) gave.</summary>
public record struct TrackerReconstructionCounts(
    long Events,
    long SparseChips,
    long LatchAllChips,
    long ChannelHits,
    long Clusters,
    long UnknownChips,
    long MissingChips,
    long NoDataChips,
    long DuplicateChips,
    long LatchAllWithoutPedestals,
    long CommonModeFallbacks,
    long DroppedHits)
{
    /// <summary>Chips that did not reach the cluster finders, whatever the reason.</summary>
    public readonly long ChipIssues => UnknownChips + MissingChips + NoDataChips + DuplicateChips + LatchAllWithoutPedestals;
}

/// <summary>
/// The tracker reconstruction of one APV source (GeSiCA) per event: decoded APVs → per plane channel hits → clusters.
/// Sparse chips are taken as decoded (the APV-ADC already subtracted pedestal and common mode); latch-all chips go
/// through <see cref="ApvProcessor"/> (pedestal, common mode, n·σ zero suppression) with the pedestal table. Then the
/// channels are split per plane with the <see cref="TrackerLayout"/> (micromegas: its X/Y channel lists; GEM: chips +0,+1
/// are X strips 0..255, +2,+3 Y) and the micromegas / GEM cluster finders run. One instance per stream, not thread-safe;
/// it reuses its buffers, so a good event allocates nothing. A chip the layout does not know, a missing one, one without
/// data, is counted with its location and the other chips are reconstructed.
/// </summary>
public sealed class TrackerReconstruction
{
    private const int Channels = ApvFacts.ChannelsPerApv;
    private const int NoPlane = -1;

    private readonly TrackerLayout _layout;
    private readonly TrackerReconstructionOptions _options;
    private readonly Slot[] _slots;
    private readonly Dictionary<(int Source, int Adc, int Chip), int> _slotOf = [];
    private readonly Plane[] _planes;
    private readonly Dictionary<string, int> _planeOf = new(StringComparer.Ordinal);
    private readonly int[] _seenStamp;
    // Slot of the chip at each position of the last event (−1: none yet); see TryFindSlot.
    private readonly int[] _slotAtPosition;
    private readonly TrackerChipIssue[] _issues;
    private readonly ApvKeptChannel[] _kept = new ApvKeptChannel[Channels];
    private readonly ApvChipResult[] _chipResult = new ApvChipResult[1];
    private int _stamp;
    private int _issueCount;
    private TrackerReconstructionCounts _last;
    private TrackerReconstructionCounts _total;

    /// <param name="layout">The detectors and their chips.</param>
    /// <param name="pedestals">Pedestal/σ table of the layout's chips in <see cref="TrackerLayout.Chips"/> order (index =
    /// <see cref="ChipIndex"/>): the latch-all processing uses it, and the cluster finders take σ from it for sparse
    /// chips too (the table downloaded to the APV-ADCs). Null: latch-all chips are skipped (counted) and every σ is
    /// <see cref="TrackerReconstructionOptions.NominalSigmaAdc"/>.</param>
    public TrackerReconstruction(TrackerLayout layout, ApvPedestalTable? pedestals = null, TrackerReconstructionOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(layout);
        _options = options ?? new TrackerReconstructionOptions();
        _options.Validate();
        _layout = layout;
        var chips = layout.Chips.ToList();
        if (pedestals is not null && pedestals.ApvCount != chips.Count)
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                $"pedestal table has {pedestals.ApvCount} APVs, the tracker layout reads {chips.Count}"), nameof(pedestals));

        var planes = new List<Plane>();
        foreach (var d in layout.Detectors)
        {
            foreach (string name in d.Planes)
            {
                _planeOf[name] = planes.Count;
                planes.Add(NewPlane(name, d));
            }
        }
        _planes = [.. planes];

        _slots = new Slot[chips.Count];
        for (int i = 0; i < chips.Count; i++)
        {
            var (source, adc, chip, detector) = chips[i];
            _slotOf[(source, adc, chip)] = i;
            var slot = new Slot(source, adc, chip, detector);
            int xPlane = _planeOf[detector.Name + "X"], yPlane = _planeOf[detector.Name + "Y"];
            if (detector.Kind == TrackerDetectorKind.Micromegas)
            {
                for (int c = 0; c < layout.Map.ChannelCount; c++)
                {
                    slot.PlaneOf[layout.MicromegasXChannels[c]] = xPlane;
                    slot.ChannelOf[layout.MicromegasXChannels[c]] = c;
                    slot.PlaneOf[layout.MicromegasYChannels[c]] = yPlane;
                    slot.ChannelOf[layout.MicromegasYChannels[c]] = c;
                }
            }
            else
            {
                int k = chip - detector.FirstChipId;
                for (int p = 0; p < Channels; p++)
                {
                    slot.PlaneOf[p] = k < 2 ? xPlane : yPlane;
                    slot.ChannelOf[p] = Channels * (k % 2) + p;
                }
            }
            for (int p = 0; p < Channels; p++)
            {
                if (slot.PlaneOf[p] == NoPlane) continue;
                double sigma = pedestals is null ? _options.NominalSigmaAdc : pedestals[i, p].Sigma;
                _planes[slot.PlaneOf[p]].Sigma[slot.ChannelOf[p]] = (float)sigma;
            }
            if (pedestals is not null)
                slot.Processor = new ApvProcessor(SingleApvTable(pedestals, i, detector.ThresholdSigmas), _options.Processing);
            _slots[i] = slot;
        }
        _seenStamp = new int[_slots.Length];
        _slotAtPosition = Enumerable.Repeat(-1, _slots.Length).ToArray();
        _issues = new TrackerChipIssue[_options.MaxIssuesPerEvent];
        HasPedestals = pedestals is not null;
    }

    public TrackerLayout Layout => _layout;
    public TrackerReconstructionOptions Options => _options;
    public bool HasPedestals { get; }

    /// <summary>Planes in layout order, X then Y per detector.</summary>
    public int PlaneCount => _planes.Length;
    public string PlaneName(int plane) => _planes[plane].Name;
    public PlaneGeometry Geometry(int plane) => _planes[plane].Geometry;

    /// <summary>Index of a plane by name (<c>MM3Y</c>), −1 if the layout has none.</summary>
    public int PlaneIndex(string name) => _planeOf.TryGetValue(name, out int i) ? i : -1;

    /// <summary>Index of (source, ADC, chip) in <see cref="TrackerLayout.Chips"/> order (the pedestal table's APV index), −1 if unknown.</summary>
    public int ChipIndex(int sourceId, int adcId, int chipId) => _slotOf.TryGetValue((sourceId, adcId, chipId), out int i) ? i : -1;

    /// <summary>Clusters of a plane in the last event, valid until the next <see cref="Process"/>.</summary>
    public ReadOnlySpan<TrackerCluster> Clusters(int plane) => _planes[plane].ClusterBuffer.AsSpan(0, _planes[plane].ClusterCount);

    /// <summary>Channel hits of a plane in the last event (after ZS, before clustering).</summary>
    /// <summary>The noise σ of every channel of a plane (ADC counts; from the pedestal table or the nominal σ).</summary>
    public ReadOnlySpan<float> PlaneSigma(int plane) => _planes[plane].Sigma;

    public ReadOnlySpan<TrackerChannelHit> ChannelHits(int plane) => _planes[plane].Hits.AsSpan(0, _planes[plane].HitCount);

    /// <summary>Counts of the last event.</summary>
    public TrackerReconstructionCounts LastEvent => _last;

    /// <summary>Counts since construction (or <see cref="ResetTotals"/>).</summary>
    public TrackerReconstructionCounts Totals => _total;

    /// <summary>Chip issues of the last event with their location (at most <see cref="TrackerReconstructionOptions.MaxIssuesPerEvent"/>).</summary>
    public ReadOnlySpan<TrackerChipIssue> LastEventIssues => _issues.AsSpan(0, _issueCount);

    public void ResetTotals() => _total = default;

    /// <summary>
    /// Reconstructs one event of source <paramref name="sourceId"/> from its decoded APVs: every plane gets its clusters
    /// (planes of detectors on another source get none). Chips of other sources in <paramref name="data"/> count as unknown.
    /// </summary>
    public void Process(ApvEventData data, int sourceId)
    {
        ArgumentNullException.ThrowIfNull(data);
        foreach (var p in _planes) p.HitCount = 0;
        _issueCount = 0;
        _last = new TrackerReconstructionCounts { Events = 1 };
        if (++_stamp == int.MaxValue)
        {
            Array.Clear(_seenStamp);
            _stamp = 1;
        }

        var chips = data.Chips;
        for (int position = 0; position < chips.Length; position++)
        {
            ref readonly var chip = ref chips[position];
            if (chip.SourceId != sourceId || !TryFindSlot(chip, position, out int s))
            {
                _last.UnknownChips++;
                Issue(TrackerChipIssueKind.Unknown, chip.SourceId, chip.AdcId, chip.ChipId, chip.WordOffset);
                continue;
            }
            if (_seenStamp[s] == _stamp)
            {
                _last.DuplicateChips++;
                Issue(TrackerChipIssueKind.Duplicate, chip.SourceId, chip.AdcId, chip.ChipId, chip.WordOffset);
                continue;
            }
            _seenStamp[s] = _stamp;
            var slot = _slots[s];
            if (!chip.HasData)
            {
                _last.NoDataChips++;
                Issue(TrackerChipIssueKind.NoData, chip.SourceId, chip.AdcId, chip.ChipId, chip.WordOffset);
                continue;
            }
            if (chip.Sparse)
            {
                _last.SparseChips++;
                foreach (ref readonly var h in data.Hits(chip))
                    Add(slot, h.Channel, h.A0, h.A1, h.A2);
            }
            else if (slot.Processor is null)
            {
                _last.LatchAllWithoutPedestals++;
                Issue(TrackerChipIssueKind.LatchAllWithoutPedestals, chip.SourceId, chip.AdcId, chip.ChipId, chip.WordOffset);
            }
            else
            {
                _last.LatchAllChips++;
                // The decoder's 10-bit samples fit int16 and have the processor's layout (frame-major, physical channel).
                var samples = MemoryMarshal.Cast<ushort, short>(data.LatchAll(chip));
                int kept = slot.Processor.Process(new ApvBlock(samples), _kept, _chipResult);
                if ((_chipResult[0].Flags & (ApvCommonModeFlags.Frame0Fallback | ApvCommonModeFlags.Frame1Fallback | ApvCommonModeFlags.Frame2Fallback)) != 0)
                    _last.CommonModeFallbacks++;
                const float quarter = 1f / ApvLayout.Scale;
                int[] planeOf = slot.PlaneOf, channelOf = slot.ChannelOf;
                var keptChannels = _kept.AsSpan(0, kept);
                for (int i = 0; i < keptChannels.Length; i++)
                {
                    // Add() inlined by hand: ≈ 150 kept channels per event, the processor's channels are 0..127.
                    var k = keptChannels[i];
                    int plane = planeOf[k.Channel];
                    if (plane == NoPlane) continue;
                    var p = _planes[plane];
                    if (p.HitCount == p.Hits.Length)
                    {
                        _last.DroppedHits++;
                        continue;
                    }
                    p.Hits[p.HitCount++] = new TrackerChannelHit(channelOf[k.Channel], k.A0 * quarter, k.A1 * quarter, k.A2 * quarter);
                }
            }
        }

        for (int s = 0; s < _slots.Length; s++)
        {
            if (_seenStamp[s] == _stamp || _slots[s].SourceId != sourceId) continue;
            _last.MissingChips++;
            Issue(TrackerChipIssueKind.Missing, _slots[s].SourceId, _slots[s].AdcId, _slots[s].ChipId, -1);
        }

        foreach (var p in _planes)
        {
            var hits = p.Hits.AsSpan(0, p.HitCount);
            var clusters = p.Micromegas is not null ? p.Micromegas.Find(hits, p.Sigma) : p.Gem!.Find(hits, p.Sigma);
            clusters.CopyTo(p.ClusterBuffer);
            p.ClusterCount = clusters.Length;
            _last.ChannelHits += p.HitCount;
            _last.Clusters += clusters.Length;
        }

        _total.Events++;
        _total.SparseChips += _last.SparseChips;
        _total.LatchAllChips += _last.LatchAllChips;
        _total.ChannelHits += _last.ChannelHits;
        _total.Clusters += _last.Clusters;
        _total.UnknownChips += _last.UnknownChips;
        _total.MissingChips += _last.MissingChips;
        _total.NoDataChips += _last.NoDataChips;
        _total.DuplicateChips += _last.DuplicateChips;
        _total.LatchAllWithoutPedestals += _last.LatchAllWithoutPedestals;
        _total.CommonModeFallbacks += _last.CommonModeFallbacks;
        _total.DroppedHits += _last.DroppedHits;
    }

    /// <summary>
    /// Copies the latch-all samples of the layout's chips of <paramref name="sourceId"/> into <paramref name="block"/>
    /// (<see cref="ApvLayout.SamplesPerApv"/> per chip, in <see cref="ChipIndex"/> order) for a pedestal run
    /// (<see cref="ApvPedestalAccumulator"/>). Returns false, leaving the block partly filled, when a chip is missing,
    /// sparse or without data: such an event must not enter the pedestal run.
    /// </summary>
    public bool FillLatchAllBlock(ApvEventData data, int sourceId, Span<short> block)
    {
        ArgumentNullException.ThrowIfNull(data);
        int need = _slots.Length * ApvLayout.SamplesPerApv;
        if (block.Length != need)
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                $"block has {block.Length} samples, the layout's {_slots.Length} APVs need {need}"), nameof(block));
        int found = 0;
        foreach (ref readonly var chip in data.Chips)
        {
            if (chip.SourceId != sourceId || chip.Sparse || !chip.HasData || !_slotOf.TryGetValue((chip.SourceId, chip.AdcId, chip.ChipId), out int s))
                continue;
            MemoryMarshal.Cast<ushort, short>(data.LatchAll(chip)).CopyTo(block.Slice(s * ApvLayout.SamplesPerApv, ApvLayout.SamplesPerApv));
            found++;
        }
        int expected = 0;
        foreach (var slot in _slots) if (slot.SourceId == sourceId) expected++;
        return found == expected && expected == _slots.Length;
    }

    /// <summary>The slot of a chip: the one found at the same position in the previous event when it matches (the
    /// chips of a stream come in the same order every event), else the dictionary.</summary>
    private bool TryFindSlot(in ApvChip chip, int position, out int slot)
    {
        if (position < _slotAtPosition.Length)
        {
            int guess = _slotAtPosition[position];
            if (guess >= 0)
            {
                var known = _slots[guess];
                if (known.SourceId == chip.SourceId && known.AdcId == chip.AdcId && known.ChipId == chip.ChipId)
                {
                    slot = guess;
                    return true;
                }
            }
        }
        if (!_slotOf.TryGetValue((chip.SourceId, chip.AdcId, chip.ChipId), out slot)) return false;
        if (position < _slotAtPosition.Length) _slotAtPosition[position] = slot;
        return true;
    }

    private void Add(Slot slot, int physicalChannel, float a0, float a1, float a2)
    {
        if ((uint)physicalChannel >= Channels) return;
        int plane = slot.PlaneOf[physicalChannel];
        if (plane == NoPlane) return; // an APV input no strip is bonded to (micromegas: outside the X/Y lists)
        var p = _planes[plane];
        if (p.HitCount == p.Hits.Length)
        {
            // Only a sparse block repeating channels (decoder flag ChannelOrder) gets here: more words than channels.
            _last.DroppedHits++;
            return;
        }
        p.Hits[p.HitCount++] = new TrackerChannelHit(slot.ChannelOf[physicalChannel], a0, a1, a2);
    }

    private void Issue(TrackerChipIssueKind kind, int source, int adc, int chip, int wordOffset)
    {
        if (_issueCount < _issues.Length)
            _issues[_issueCount++] = new TrackerChipIssue(kind, source, adc, chip, wordOffset);
    }

    private Plane NewPlane(string name, TrackerDetectorLayout d)
    {
        PlaneGeometry? geometry = null;
        _options.Geometries?.TryGetValue(name, out geometry);
        if (d.Kind == TrackerDetectorKind.Micromegas)
        {
            geometry ??= new PlaneGeometry(_layout.Map.StripCount, 0.25);
            return new Plane(name, geometry, _layout.Map.ChannelCount,
                new MicromegasClusterFinder(_layout.Map, geometry, _options.Micromegas), null);
        }
        geometry ??= PlaneGeometry.Gem();
        return new Plane(name, geometry, geometry.StripCount, null, new GemClusterFinder(geometry, _options.Gem));
    }

    private static ApvProcessingTable SingleApvTable(ApvPedestalTable pedestals, int apv, double nSigma)
    {
        var one = new ApvPedestalTable(Enumerable.Range(0, Channels).Select(c => pedestals[apv, c]));
        return ApvProcessingTable.FromPedestals(one, [nSigma], 3.0);
    }

    private sealed class Slot(int sourceId, int adcId, int chipId, TrackerDetectorLayout detector)
    {
        public int SourceId { get; } = sourceId;
        public int AdcId { get; } = adcId;
        public int ChipId { get; } = chipId;
        public TrackerDetectorLayout Detector { get; } = detector;
        public int[] PlaneOf { get; } = Enumerable.Repeat(NoPlane, Channels).ToArray();
        public int[] ChannelOf { get; } = new int[Channels];
        public ApvProcessor? Processor { get; set; }
    }

    private sealed class Plane(string name, PlaneGeometry geometry, int channels, MicromegasClusterFinder? micromegas, GemClusterFinder? gem)
    {
        public string Name { get; } = name;
        public PlaneGeometry Geometry { get; } = geometry;
        public MicromegasClusterFinder? Micromegas { get; } = micromegas;
        public GemClusterFinder? Gem { get; } = gem;
        public float[] Sigma { get; } = new float[channels];
        // Each channel at most once per chip; a duplicated chip is refused, so channels bound the hits.
        public TrackerChannelHit[] Hits { get; } = new TrackerChannelHit[channels];
        public int HitCount { get; set; }
        // The finders' spans live until their next call; a copy keeps every plane's result readable together.
        public TrackerCluster[] ClusterBuffer { get; } = new TrackerCluster[channels * 5 / 2 + 1];
        public int ClusterCount { get; set; }
    }
}
