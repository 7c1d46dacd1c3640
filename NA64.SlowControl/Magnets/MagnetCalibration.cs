using System.Globalization;
using NA64.Hardware.Errors;

namespace NA64.SlowControl.Magnets;

/// <summary>
/// Excitation curve of one magnet circuit: current (A) against integral field B·dl (T·m), a table increasing in both,
/// linearly interpolated both ways. A table that starts at 0 A also answers for reversed currents (negative amps give
/// negative field, the curve being odd). Outside the table it refuses in one line naming the value and the table's end.
/// Beam momentum and field are related for a bending angle by p [GeV/c] = 0.299792458 · B·dl [T·m] / θ [rad].
/// </summary>
public sealed class MagnetCalibration
{
    /// <summary>c / 10^9: GeV/c per T·m per rad.</summary>
    public const double GeVPerTeslaMetre = 0.299792458;

    private readonly double[] _amps;
    private readonly double[] _field;

    /// <param name="name">The circuit (used in the refusal messages).</param>
    /// <param name="points">(amps, T·m) pairs, at least two, strictly increasing in both.</param>
    public MagnetCalibration(string name, IReadOnlyList<(double Amps, double TeslaMetres)> points)
    {
        Name = name ?? throw new ArgumentNullException(nameof(name));
        ArgumentNullException.ThrowIfNull(points);
        if (points.Count < 2)
            throw new ArgumentException($"{name}: calibration has {points.Count} points, needs at least 2", nameof(points));
        _amps = new double[points.Count];
        _field = new double[points.Count];
        for (int i = 0; i < points.Count; i++)
        {
            var (a, b) = points[i];
            if (!double.IsFinite(a) || !double.IsFinite(b) || a < 0 || b < 0)
                throw new ArgumentException(F($"{name}: calibration point {i} ({a} A, {b} T·m) must be finite and >= 0"), nameof(points));
            if (i > 0 && (a <= _amps[i - 1] || b <= _field[i - 1]))
                throw new ArgumentException(F($"{name}: calibration point {i} ({a} A, {b} T·m) must be above point {i - 1} ({_amps[i - 1]} A, {_field[i - 1]} T·m) in both current and field"), nameof(points));
            _amps[i] = a;
            _field[i] = b;
        }
    }

    /// <summary>
    /// The two NA64 MBPL dipoles in series, one circuit (na64-setup.md §10.2, device-protocols.md §5.1): about 7 T·m
    /// at the 700-800 A used in 2016. The curve is an ASSUMPTION (linear, 7.0 T·m at 800 A, no saturation known); an
    /// installation replaces it with the measured table from its configuration.
    /// </summary>
    public static MagnetCalibration MbplPairAssumed { get; } = new("MBPL1+MBPL2", [(0, 0), (800, 7.0)]);

    public string Name { get; }

    public double MaxAmps => _amps[^1];

    public double MaxTeslaMetres => _field[^1];

    /// <summary>Integral field at <paramref name="amps"/> (signed); refuses outside the table.</summary>
    public double FieldAt(double amps)
    {
        if (TryFieldAt(amps, out double field)) return field;
        throw Outside("current (A)", amps, _amps);
    }

    /// <summary>Current (signed) that gives <paramref name="teslaMetres"/>; refuses outside the table.</summary>
    public double AmpsFor(double teslaMetres)
    {
        if (TryInterpolate(_field, _amps, teslaMetres, out double amps)) return amps;
        throw Outside("field (T·m)", teslaMetres, _field);
    }

    public bool TryFieldAt(double amps, out double teslaMetres) => TryInterpolate(_amps, _field, amps, out teslaMetres);

    /// <summary>Momentum bent by <paramref name="angleRadians"/> in <paramref name="teslaMetres"/>.</summary>
    public static double MomentumFor(double teslaMetres, double angleRadians)
    {
        CheckAngle(angleRadians);
        if (!double.IsFinite(teslaMetres))
            throw new ArgumentOutOfRangeException(nameof(teslaMetres), teslaMetres, F($"field = {teslaMetres} T·m must be finite"));
        return GeVPerTeslaMetre * teslaMetres / angleRadians;
    }

    /// <summary>Integral field that bends <paramref name="gevPerC"/> by <paramref name="angleRadians"/>.</summary>
    public static double FieldForMomentum(double gevPerC, double angleRadians)
    {
        CheckAngle(angleRadians);
        if (!double.IsFinite(gevPerC))
            throw new ArgumentOutOfRangeException(nameof(gevPerC), gevPerC, F($"momentum = {gevPerC} GeV/c must be finite"));
        return gevPerC * angleRadians / GeVPerTeslaMetre;
    }

    /// <summary>Current for a momentum and bending angle, through the table.</summary>
    public double AmpsForMomentum(double gevPerC, double angleRadians) => AmpsFor(FieldForMomentum(gevPerC, angleRadians));

    /// <summary>Momentum bent by <paramref name="angleRadians"/> at <paramref name="amps"/>, through the table.</summary>
    public double MomentumAt(double amps, double angleRadians) => MomentumFor(FieldAt(amps), angleRadians);

    private static void CheckAngle(double angleRadians)
    {
        if (!double.IsFinite(angleRadians) || angleRadians <= 0 || angleRadians >= Math.PI)
            throw new ArgumentOutOfRangeException(nameof(angleRadians), angleRadians,
                F($"bending angle = {angleRadians} rad must be > 0 and < pi"));
    }

    /// <summary>Linear interpolation in an increasing table; odd continuation for negative x when the table starts at 0.</summary>
    private static bool TryInterpolate(double[] xs, double[] ys, double x, out double y)
    {
        y = double.NaN;
        if (!double.IsFinite(x)) return false;
        if (x < 0 && xs[0] == 0 && ys[0] == 0)
        {
            if (!TryInterpolate(xs, ys, -x, out double positive)) return false;
            y = -positive;
            return true;
        }
        if (x < xs[0] || x > xs[^1]) return false;
        int hi = Array.BinarySearch(xs, x);
        if (hi >= 0)
        {
            y = ys[hi];
            return true;
        }
        hi = ~hi;
        int lo = hi - 1;
        y = ys[lo] + ((x - xs[lo]) * (ys[hi] - ys[lo]) / (xs[hi] - xs[lo]));
        return true;
    }

    private SetpointOutOfRangeException Outside(string field, double value, double[] table)
    {
        bool below = double.IsFinite(value) && Math.Abs(value) < table[0];
        return new SetpointOutOfRangeException(Name, field, value, below ? table[0] : table[^1],
            below ? "calibration table minimum" : "calibration table maximum");
    }

    private static string F(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
