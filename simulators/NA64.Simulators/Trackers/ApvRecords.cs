using NA64.Hardware.Digitizers.Apv.Format;
namespace NA64.Simulators.Trackers;

/// <summary>
/// One APV25 of the tracker readout. <paramref name="Plane"/> is null for a micromegas APV (it carries X and Y);
/// for a GEM APV it is the plane and <paramref name="FirstStrip"/> the strip on physical channel 0 (0 or 128).
/// </summary>
public sealed record ApvAddress(string Detector, TrackerKind Kind, StripAxis? Plane, int FirstStrip, int AdcId, int ChipId)
{
    /// <summary>Name such as <c>MM3</c> or <c>GM1X1</c> (GEM: plane and half).</summary>
    public string Name => Plane is null ? Detector : $"{Detector}{Plane}{FirstStrip / 128}";
}

/// <summary>A channel of one APV: ADC module, chip on it, physical channel 0..127 (data-formats §7.9).</summary>
public readonly record struct ApvChannelAddress(int AdcId, int ChipId, int PhysicalChannel);

/// <summary>Per-channel tables downloaded to the APV-ADC before sparse running (from a latch-all pedestal run).</summary>
public sealed class ApvDownloadedTable
{
    /// <summary>Pedestal and σ per physical channel (128 each). σ = 0 marks a masked channel: never emitted.</summary>
    public ApvDownloadedTable(IReadOnlyList<double> pedestals, IReadOnlyList<double> sigmas)
    {
        ArgumentNullException.ThrowIfNull(pedestals);
        ArgumentNullException.ThrowIfNull(sigmas);
        if (pedestals.Count != ApvFacts.ChannelsPerApv)
            throw new ArgumentException($"pedestal table has {pedestals.Count} entries, need {ApvFacts.ChannelsPerApv}", nameof(pedestals));
        if (sigmas.Count != ApvFacts.ChannelsPerApv)
            throw new ArgumentException($"sigma table has {sigmas.Count} entries, need {ApvFacts.ChannelsPerApv}", nameof(sigmas));
        for (int c = 0; c < ApvFacts.ChannelsPerApv; c++)
        {
            TrackerOptions.Between($"pedestals[{c}]", pedestals[c], 0, ApvFacts.MaxAmplitude);
            TrackerOptions.NotNegative($"sigmas[{c}]", sigmas[c]);
        }
        Pedestals = [.. pedestals];
        Sigmas = [.. sigmas];
    }

    /// <summary>
    /// As above, plus a threshold per channel in ADC counts above pedestal and common mode (the APV-ADC's threshold
    /// table): a channel with a threshold &gt; 0 is kept above it; 0 falls back to n × σ of the processor's options.
    /// </summary>
    public ApvDownloadedTable(IReadOnlyList<double> pedestals, IReadOnlyList<double> sigmas, IReadOnlyList<double> thresholds)
        : this(pedestals, sigmas)
    {
        ArgumentNullException.ThrowIfNull(thresholds);
        if (thresholds.Count != ApvFacts.ChannelsPerApv)
            throw new ArgumentException($"threshold table has {thresholds.Count} entries, need {ApvFacts.ChannelsPerApv}", nameof(thresholds));
        for (int c = 0; c < ApvFacts.ChannelsPerApv; c++)
            TrackerOptions.Between($"thresholds[{c}]", thresholds[c], 0, ApvFacts.MaxAmplitude);
        Thresholds = [.. thresholds];
    }

    public IReadOnlyList<double> Pedestals { get; }
    public IReadOnlyList<double> Sigmas { get; }
    /// <summary>Per-channel thresholds (ADC counts), or null: n × σ everywhere.</summary>
    public IReadOnlyList<double>? Thresholds { get; }
}

/// <summary>
/// What one APV delivers for one event. <see cref="Raw"/> is the latch-all content, flat
/// <c>[frame × 128 + physicalChannel]</c> (physical channel, not APV output order: the encoder applies
/// ApvOutputOrder when it writes the words). <see cref="Sparse"/>/<see cref="CommonMode"/> are the on-board
/// emulation's output when a table was downloaded (<see cref="HasSparse"/>). The object is owned by the simulator and
/// overwritten by the next event.
/// </summary>
public sealed class ApvReadout
{
    private readonly List<ApvHit> _sparse = new(ApvFacts.ChannelsPerApv);

    internal ApvReadout(ApvAddress address) => Address = address;

    public ApvAddress Address { get; }
    public ushort[] Raw { get; } = new ushort[ApvFacts.Frames * ApvFacts.ChannelsPerApv];
    /// <summary>Pipeline columns of the three frames; consecutive modulo 192 unless a fault says otherwise.</summary>
    public ApvPipeline Columns { get; internal set; }
    /// <summary>False when the APV is dead (fault): no data at all, the encoder writes no block for it.</summary>
    public bool Present { get; internal set; } = true;
    /// <summary>Fault flag: the pipeline address of this APV disagrees with the others (columns shifted).</summary>
    public bool PipelineAddressMismatch { get; internal set; }
    /// <summary>Fault flag: the ADC skipped the data (format bit 5): headers only, no channels.</summary>
    public bool DataSkipped { get; internal set; }
    public bool HasSparse { get; internal set; }
    /// <summary>
    /// Channels passed by the on-board sparsification: physical channel 0..127 and the pedestal- and
    /// common-mode-subtracted amplitudes of the three frames, clamped to 0..1023 (the sparse word cannot carry a
    /// negative value; the encoder applies its amplitude compression, data-formats §7.8).
    /// </summary>
    public IReadOnlyList<ApvHit> Sparse => _sparse;
    /// <summary>Common mode the board subtracted in each frame, ADC counts, rounded (sign and offset: the encoder's convention, data-formats §7.6).</summary>
    public ApvCommonMode CommonMode { get; internal set; }
    /// <summary>Truth: the common-mode offset the simulator added to each frame (ADC, before rounding).</summary>
    public IReadOnlyList<double> TrueCommonModeAdc => TrueCommonModeBuffer;

    public ushort RawAt(int frame, int physicalChannel) => Raw[frame * ApvFacts.ChannelsPerApv + physicalChannel];

    internal List<ApvHit> SparseBuffer => _sparse;
    internal double[] TrueCommonModeBuffer { get; } = new double[ApvFacts.Frames];
}

/// <summary>One track crossing the trackers: downstream slopes and where it ends on the ECAL face.</summary>
public readonly record struct TrackerTrack(bool PileUp, double EcalXMm, double EcalYMm, double SlopeX, double SlopeY,
    double BendRad, double TimeNs);

/// <summary>
/// Truth of one track in one plane: position in the beam-line frame and in the plane (mm from the strip-0 edge),
/// the strip range that received charge, the cluster's peak charge (ADC) on this plane and whether the chamber
/// registered it (efficiency). <see cref="InAcceptance"/> is false when the track missed the active area.
/// </summary>
public readonly record struct PlaneHitTruth(int Track, bool PileUp, double PositionMm, double LocalMm, double CentreStrip,
    int FirstStrip, int LastStrip, double ChargeAdc, double TimeNs, bool Detected, bool InAcceptance);

/// <summary>All hits of one plane in one event.</summary>
public sealed class PlaneTruth
{
    private readonly List<PlaneHitTruth> _hits = [];

    internal PlaneTruth(string detector, TrackerKind kind, StripAxis axis)
    {
        Detector = detector;
        Kind = kind;
        Axis = axis;
    }

    public string Detector { get; }
    public TrackerKind Kind { get; }
    public StripAxis Axis { get; }
    public IReadOnlyList<PlaneHitTruth> Hits => _hits;
    /// <summary>Hits that left a cluster (detected and in acceptance).</summary>
    public int DetectedHits => _hits.Count(h => h.Detected && h.InAcceptance);

    internal List<PlaneHitTruth> Buffer => _hits;
}

/// <summary>The tracker side of one event. Owned by the simulator and overwritten by the next event.</summary>
public sealed class TrackerEvent
{
    internal TrackerEvent(IReadOnlyList<ApvReadout> apvs, IReadOnlyList<PlaneTruth> planes)
    {
        Apvs = apvs;
        Planes = planes;
    }

    public long EventNumber { get; internal set; }
    public TimeSpan Time { get; internal set; }
    public IReadOnlyList<TrackerTrack> Tracks => TrackBuffer;
    public IReadOnlyList<ApvReadout> Apvs { get; }
    /// <summary>Planes in detector order, X then Y.</summary>
    public IReadOnlyList<PlaneTruth> Planes { get; }

    internal List<TrackerTrack> TrackBuffer { get; } = [];
}
