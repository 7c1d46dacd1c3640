namespace NA64.Readout.Trackers;

/// <summary>
/// One zero-suppressed electronic channel of one tracker plane in one event, after pedestal and common-mode
/// subtraction: the three APV frames a0, a1, a2 (25 ns apart, ADC counts, may be fractional or negative).
/// <see cref="Channel"/> is the plane's electronic channel: 0..63 for a micromegas plane (the multiplexed channel the
/// <see cref="NA64.Hardware.Trackers.Micromegas.MultiplexingMap"/> knows), 0..255 for a GEM plane where it is the strip
/// itself. The APV processing stage translates (APV, physical channel) to this number with the strip map before it
/// fills the span; it reuses one array per plane across events, so a plane costs no allocation per event.
/// </summary>
public readonly record struct TrackerChannelHit(int Channel, float A0, float A1, float A2)
{
    /// <summary>The largest of the three frames: the amplitude the cluster charge is built from.</summary>
    public float MaxAmplitude => MathF.Max(A0, MathF.Max(A1, A2));
}

/// <summary>Strip geometry of one plane: strip s has its centre at CenterMm + (s − (StripCount − 1)/2)·PitchMm.</summary>
public sealed record PlaneGeometry(int StripCount, double PitchMm, double CenterMm = 0)
{
    /// <summary>A micromegas plane of 2016-2018: 320 strips at 250 µm (na64-setup §8.1).</summary>
    public static PlaneGeometry Micromegas(double centerMm = 0) => new(320, 0.25, centerMm);

    /// <summary>A GEM plane: 256 strips at 400 µm (na64-setup §8.2).</summary>
    public static PlaneGeometry Gem(double centerMm = 0) => new(256, 0.4, centerMm);

    public double PositionMm(double strip) => CenterMm + (strip - (StripCount - 1) / 2.0) * PitchMm;

    public double StripCoordinate(double positionMm) => (positionMm - CenterMm) / PitchMm + (StripCount - 1) / 2.0;

    internal void Validate()
    {
        if (StripCount <= 0)
            throw new ArgumentOutOfRangeException(nameof(StripCount), StripCount, "StripCount must be > 0");
        if (!double.IsFinite(PitchMm) || PitchMm <= 0)
            throw new ArgumentOutOfRangeException(nameof(PitchMm), PitchMm, "PitchMm must be a finite number > 0");
        if (!double.IsFinite(CenterMm))
            throw new ArgumentOutOfRangeException(nameof(CenterMm), CenterMm, "CenterMm must be finite");
    }
}

[Flags]
public enum ClusterFlags
{
    None = 0,
    /// <summary>Micromegas: two strips of the cluster are on one channel (old series: channel 38 at 190 and 194).</summary>
    SameChannelTwice = 1,
    /// <summary>Micromegas: the cluster shares a channel with another surviving cluster; the map alone cannot say
    /// which of them the channel's charge belongs to (choose by charge, time, or the track).</summary>
    Ambiguous = 2,
    /// <summary>Some strip charge of this cluster is a share of a channel that also feeds another strip.</summary>
    SharedCharge = 4,
    /// <summary>The middle frame sum is not positive: no time from the ratios.</summary>
    TimeUndefined = 8,
    /// <summary>GEM: the cluster ends on a chip (APV) boundary, its other half may be a separate cluster.</summary>
    AtChipBoundary = 16,
}

/// <summary>
/// One cluster: strips FirstStrip..FirstStrip+StripCount−1, charge (ADC counts, sum of strip charges), charge-weighted
/// position in strips and in mm, time in 25 ns samples from the frame ratios (see README), the ratios themselves,
/// the noise of the charge sum (√Σσ² of the contributing shares) and flags.
/// </summary>
public readonly record struct TrackerCluster(
    int FirstStrip,
    int StripCount,
    double Charge,
    double PositionStrip,
    double PositionMm,
    double TimeSamples,
    double RatioA0A1,
    double RatioA2A1,
    double Noise,
    ClusterFlags Flags)
{
    public int LastStrip => FirstStrip + StripCount - 1;
    public double SignalToNoise => Noise > 0 ? Charge / Noise : double.PositiveInfinity;
    public bool Has(ClusterFlags flag) => (Flags & flag) == flag;
}
