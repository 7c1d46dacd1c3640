using System.Globalization;

namespace NA64.Simulators.Trackers;

public enum TrackerKind
{
    /// <summary>Micromegas: XY, 320 strips per plane multiplexed ×5 onto 64 channels, one APV for both planes.</summary>
    Micromegas,
    /// <summary>GEM: XY, 256 strips per plane, not multiplexed, 2 APVs per plane.</summary>
    Gem,
}

public enum StripAxis
{
    X,
    Y,
}

/// <summary>
/// One strip plane. Strip 0 is at the low-coordinate edge: strip s covers
/// [centre − strips·pitch/2 + s·pitch, centre − strips·pitch/2 + (s+1)·pitch) (orientation is an assumption).
/// <paramref name="CentreMm"/> is the plane centre in the beam-line frame; null = where the nominal beam crosses the
/// plane (the chambers are centred on the beam, na64-setup does not give the offsets).
/// </summary>
public sealed record TrackerPlaneGeometry(StripAxis Axis, int Strips, double PitchMm, double? CentreMm = null)
{
    public double WidthMm => Strips * PitchMm;
}

/// <summary>
/// One tracking detector at <paramref name="ZMm"/> along the beam (z = 0 at the ECAL face, upstream negative).
/// Its APVs sit on APV-ADC <paramref name="AdcId"/> from chip <paramref name="FirstChipId"/>: a micromegas uses one
/// chip (X and Y), a GEM four (X strips 0..127, X 128..255, Y 0..127, Y 128..255).
/// </summary>
public sealed record TrackerDetectorGeometry(
    string Name, TrackerKind Kind, double ZMm, TrackerPlaneGeometry X, TrackerPlaneGeometry Y, int AdcId, int FirstChipId)
{
    public int ApvCount => Kind == TrackerKind.Micromegas ? 1 : 4;

    public static TrackerDetectorGeometry Micromegas(string name, double zMm, int adcId, int chipId)
        => new(name, TrackerKind.Micromegas, zMm, new(StripAxis.X, 320, 0.25), new(StripAxis.Y, 320, 0.25), adcId, chipId);

    public static TrackerDetectorGeometry Gem(string name, double zMm, int adcId, int firstChipId)
        => new(name, TrackerKind.Gem, zMm, new(StripAxis.X, 256, 0.4), new(StripAxis.Y, 256, 0.4), adcId, firstChipId);
}

/// <summary>
/// Beam-line frame of the trackers: z along the beam in mm, 0 at the ECAL face; x, y in the ECAL frame of the physics
/// generator (so the track ends at the generator's impact point). The two MBPL dipoles are one thin kick in x at
/// <see cref="MagnetZMm"/>: for a uniform field the straight asymptotes of the arc meet at the field's centre, so for
/// chambers outside the field the thin kick is exact. Multiple scattering is neglected (100 GeV electrons,
/// low-material chambers: well below the 250 µm pitch).
/// </summary>
public sealed record TrackerGeometry
{
    /// <summary>MM1..MM8 and GM1, GM2 (all positions and ADC assignment are assumptions: NA64's are not public).</summary>
    public IReadOnlyList<TrackerDetectorGeometry> Detectors { get; init; } =
    [
        TrackerDetectorGeometry.Micromegas("MM1", -26_000, 0, 0),
        TrackerDetectorGeometry.Micromegas("MM2", -25_000, 0, 1),
        TrackerDetectorGeometry.Micromegas("MM3", -22_000, 0, 2),
        TrackerDetectorGeometry.Micromegas("MM4", -21_000, 0, 3),
        TrackerDetectorGeometry.Micromegas("MM5", -15_000, 1, 0),
        TrackerDetectorGeometry.Micromegas("MM6", -14_000, 1, 1),
        TrackerDetectorGeometry.Micromegas("MM7", -3_000, 1, 2),
        TrackerDetectorGeometry.Micromegas("MM8", -2_000, 1, 3),
        TrackerDetectorGeometry.Gem("GM1", -4_000, 2, 0),
        TrackerDetectorGeometry.Gem("GM2", -3_500, 3, 0),
    ];

    /// <summary>Centre of the MBPL field region (two dipoles, ~4 m of field; assumption).</summary>
    public double MagnetZMm { get; init; } = -18_000;

    /// <summary>Bend in x at 100 GeV: 0.3 × 7 T·m / 100 GeV ≈ 21 mrad (na64-setup §10.2, derived); scales as 100/E.</summary>
    public double BendMradAt100GeV { get; init; } = 21.0;

    /// <summary>Beam divergence downstream of the magnet, Gaussian RMS per plane (assumption).</summary>
    public double DivergenceXMrad { get; init; } = 0.1;
    public double DivergenceYMrad { get; init; } = 0.1;

    /// <summary>Electronic channels per plane of a micromegas (320 strips ×5 multiplexed).</summary>
    public const int MicromegasChannelsPerPlane = 64;

    /// <summary>
    /// APV physical channel (0..127) carrying electronic channel c (0..63) of the X plane, and of the Y plane.
    /// Default X: c, Y: 64 + c. The real assignment is not public (data-formats §7.12, uncertain).
    /// </summary>
    public IReadOnlyList<int> MicromegasXApvChannels { get; init; } = [.. Enumerable.Range(0, 64)];
    public IReadOnlyList<int> MicromegasYApvChannels { get; init; } = [.. Enumerable.Range(64, 64)];

    /// <summary>Bend angle in radians for a particle of <paramref name="energyGeV"/>.</summary>
    public double BendRad(double energyGeV) => BendMradAt100GeV * 1e-3 * 100.0 / energyGeV;

    internal void Validate()
    {
        if (Detectors.Count == 0)
            throw new ArgumentException("TrackerGeometry.Detectors is empty: need at least one detector", nameof(Detectors));
        var names = new HashSet<string>(StringComparer.Ordinal);
        var chips = new HashSet<(int, int)>();
        foreach (var d in Detectors)
        {
            if (!names.Add(d.Name))
                throw new ArgumentException($"TrackerGeometry.Detectors: name {d.Name} appears twice", nameof(Detectors));
            if (d.AdcId is < 0 or > 255)
                throw new ArgumentOutOfRangeException(nameof(Detectors), d.AdcId,
                    string.Create(CultureInfo.InvariantCulture, $"{d.Name}.AdcId = {d.AdcId} must be within 0..255"));
            for (int k = 0; k < d.ApvCount; k++)
            {
                int chip = d.FirstChipId + k;
                if (chip is < 0 or > 15)
                    throw new ArgumentOutOfRangeException(nameof(Detectors), chip, string.Create(CultureInfo.InvariantCulture,
                        $"{d.Name}: chip id {chip} must be within 0..15 (4-bit chip_id)"));
                if (!chips.Add((d.AdcId, chip)))
                    throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                        $"{d.Name}: ADC {d.AdcId} chip {chip} is used by another detector"), nameof(Detectors));
            }
            foreach (var plane in new[] { d.X, d.Y })
            {
                int expectedStrips = d.Kind == TrackerKind.Micromegas ? 320 : 256;
                if (d.Kind == TrackerKind.Micromegas && plane.Strips != expectedStrips)
                    throw new ArgumentOutOfRangeException(nameof(Detectors), plane.Strips, string.Create(CultureInfo.InvariantCulture,
                        $"{d.Name}.{plane.Axis}.Strips = {plane.Strips}: a micromegas plane has {expectedStrips} strips (64 channels ×5)"));
                if (d.Kind == TrackerKind.Gem && plane.Strips is < 1 or > 256)
                    throw new ArgumentOutOfRangeException(nameof(Detectors), plane.Strips, string.Create(CultureInfo.InvariantCulture,
                        $"{d.Name}.{plane.Axis}.Strips = {plane.Strips} must be within 1..256 (2 APVs of 128)"));
                if (!(plane.PitchMm > 0))
                    throw new ArgumentOutOfRangeException(nameof(Detectors), plane.PitchMm, string.Create(CultureInfo.InvariantCulture,
                        $"{d.Name}.{plane.Axis}.PitchMm = {plane.PitchMm} must be > 0"));
            }
        }
        if (!(double.IsFinite(BendMradAt100GeV)))
            throw new ArgumentOutOfRangeException(nameof(BendMradAt100GeV), BendMradAt100GeV, "TrackerGeometry.BendMradAt100GeV must be finite");
        if (!(DivergenceXMrad >= 0) || !(DivergenceYMrad >= 0))
            throw new ArgumentOutOfRangeException(nameof(DivergenceXMrad), Math.Min(DivergenceXMrad, DivergenceYMrad),
                "TrackerGeometry.DivergenceXMrad/YMrad must be >= 0");
        CheckChannels(nameof(MicromegasXApvChannels), MicromegasXApvChannels);
        CheckChannels(nameof(MicromegasYApvChannels), MicromegasYApvChannels);
        var all = new HashSet<int>(MicromegasXApvChannels);
        if (all.Count != MicromegasXApvChannels.Count)
            throw new ArgumentException("TrackerGeometry.MicromegasXApvChannels lists an APV channel twice", nameof(MicromegasXApvChannels));
        foreach (int c in MicromegasYApvChannels)
            if (!all.Add(c))
                throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                    $"TrackerGeometry: APV channel {c} carries both an X and a Y channel"), nameof(MicromegasYApvChannels));

        static void CheckChannels(string field, IReadOnlyList<int> table)
        {
            if (table.Count != MicromegasChannelsPerPlane)
                throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                    $"TrackerGeometry.{field} has {table.Count} entries, need {MicromegasChannelsPerPlane}"), field);
            foreach (int c in table)
                if (c is < 0 or > 127)
                    throw new ArgumentOutOfRangeException(field, c, string.Create(CultureInfo.InvariantCulture,
                        $"TrackerGeometry.{field}: APV channel {c} must be within 0..127"));
        }
    }
}
