using System.Globalization;

namespace NA64.Simulators.Physics;

/// <summary>
/// Normalised pulse shape (unit peak) as a table on a fine time grid starting at the pulse onset, with linear
/// interpolation. Measured templates come as tables; <see cref="AnalyticFallback"/> is the derived fit of
/// na64-setup.md §7.2.
/// </summary>
public sealed class PulseTemplate
{
    private readonly float[] _values;
    private readonly double _inverseStep;

    public PulseTemplate(double stepNs, IReadOnlyList<double> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (!(stepNs > 0))
            throw new ArgumentOutOfRangeException(nameof(stepNs), stepNs, "template step must be > 0 ns");
        if (values.Count < 2)
            throw new ArgumentOutOfRangeException(nameof(values), values.Count, "template needs at least 2 points");
        double peak = values.Max();
        if (!(peak > 0))
            throw new ArgumentOutOfRangeException(nameof(values), peak, "template peak must be > 0");
        StepNs = stepNs;
        _inverseStep = 1.0 / stepNs;
        _values = new float[values.Count + 1]; // trailing 0 so interpolation at the last point needs no branch
        for (int i = 0; i < values.Count; i++)
            _values[i] = (float)(values[i] / peak);
    }

    public double StepNs { get; }
    public double LengthNs => (_values.Length - 2) * StepNs;

    /// <summary>f(t) = 0.8·g₂(t; 24 ns) + 0.2·g₁(t; 100 ns), gₙ(t; τ) = (t/(nτ))ⁿ·exp(n − t/τ), unit peak.</summary>
    public static PulseTemplate AnalyticFallback(double stepNs = 0.25, double lengthNs = 1200)
    {
        int n = (int)Math.Ceiling(lengthNs / stepNs) + 1;
        var values = new double[n];
        for (int i = 0; i < n; i++)
        {
            double t = i * stepNs;
            values[i] = 0.8 * G(t, 2, 24.0) + 0.2 * G(t, 1, 100.0);
        }
        return new PulseTemplate(stepNs, values);

        static double G(double t, int order, double tau) => Math.Pow(t / (order * tau), order) * Math.Exp(order - t / tau);
    }

    /// <summary>Value at <paramref name="tNs"/> after onset; 0 before onset and after the table.</summary>
    public float Evaluate(double tNs)
    {
        if (tNs <= 0)
            return 0f;
        double x = tNs * _inverseStep;
        int i = (int)x;
        if (i >= _values.Length - 1)
            return 0f;
        float frac = (float)(x - i);
        return _values[i] + (_values[i + 1] - _values[i]) * frac;
    }

    /// <summary>Time of the maximum after onset.</summary>
    public double PeakTimeNs
    {
        get
        {
            int best = 0;
            for (int i = 1; i < _values.Length; i++)
                if (_values[i] > _values[best])
                    best = i;
            return best * StepNs;
        }
    }

    /// <summary>10 %–90 % rise time of the leading edge.</summary>
    public double RiseTime10To90Ns => Crossing(0.9, rising: true) - Crossing(0.1, rising: true);

    /// <summary>Full width at half maximum.</summary>
    public double FwhmNs => Crossing(0.5, rising: false) - Crossing(0.5, rising: true);

    /// <summary>Time after onset where the pulse crosses <paramref name="level"/> on its leading or trailing edge (interpolated).</summary>
    public double Crossing(double level, bool rising)
    {
        int peak = (int)Math.Round(PeakTimeNs / StepNs);
        if (rising)
        {
            for (int i = peak; i > 0; i--)
                if (_values[i - 1] < level && _values[i] >= level)
                    return (i - 1 + (level - _values[i - 1]) / (_values[i] - _values[i - 1])) * StepNs;
        }
        else
        {
            for (int i = peak; i < _values.Length - 1; i++)
                if (_values[i] >= level && _values[i + 1] < level)
                    return (i + (_values[i] - level) / (_values[i] - _values[i + 1])) * StepNs;
        }
        throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture,
            $"template never crosses {level} on its {(rising ? "rising" : "falling")} edge"));
    }
}
