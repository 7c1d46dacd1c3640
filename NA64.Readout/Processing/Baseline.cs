namespace NA64.Readout.Processing;

/// <summary>What the baseline becomes when the pedestal window shows pile-up.</summary>
public enum PileUpFallback
{
    /// <summary>The pedestal-table value of the path (NA64.Hw default); the window minimum if the table has none.</summary>
    PedestalTable,
    /// <summary>The minimum of the path's window samples (NA64 thesis, appendix D).</summary>
    WindowMinimum,
}

public sealed record BaselineOptions
{
    /// <summary>Leading samples used for the baseline (8 in NA64, 5 in CORAL).</summary>
    public int Window { get; init; } = 8;
    /// <summary>Pile-up when max − min of a path's window samples exceeds this (ADC).</summary>
    public int PileUpSpread { get; init; } = 20;
    public PileUpFallback Fallback { get; init; } = PileUpFallback.PedestalTable;
}

/// <summary>Per-event baseline of one channel, per ADC path.</summary>
public readonly record struct EventBaseline(double Even, double Odd, bool PileUp);

/// <summary>
/// NA64's per-event baseline (na64-setup.md 7.3): mean of the first N samples, even and odd separately.
/// The spread is tested per path, so the even/odd pedestal offset never counts as pile-up.
/// </summary>
public sealed class BaselineEstimator
{
    private readonly BaselineOptions _options;

    public BaselineEstimator(BaselineOptions? options = null)
    {
        _options = options ?? new BaselineOptions();
        if (_options.Window < 2)
            throw new ArgumentOutOfRangeException(nameof(options), _options.Window, "Window must be >= 2 (one sample per ADC path)");
        if (_options.PileUpSpread < 0)
            throw new ArgumentOutOfRangeException(nameof(options), _options.PileUpSpread, "PileUpSpread must be >= 0");
    }

    public BaselineOptions Options => _options;

    /// <param name="samples">Raw samples, or samples already minus the table pedestal (then pass 0, 0).</param>
    /// <param name="tableEven">Pedestal-table value of the even path, NaN if unknown.</param>
    /// <param name="tableOdd">Pedestal-table value of the odd path, NaN if unknown.</param>
    public EventBaseline Estimate(ReadOnlySpan<short> samples, double tableEven, double tableOdd)
    {
        int window = _options.Window;
        if (samples.Length < window)
            throw new ArgumentException($"channel has {samples.Length} samples, fewer than the baseline window {window}", nameof(samples));
        var even = Path(samples, window, 0);
        var odd = Path(samples, window, 1);
        bool pileUp = even.Max - even.Min > _options.PileUpSpread || odd.Max - odd.Min > _options.PileUpSpread;
        if (!pileUp)
            return new EventBaseline(even.Mean, odd.Mean, false);
        bool useTable = _options.Fallback == PileUpFallback.PedestalTable;
        return new EventBaseline(
            useTable && double.IsFinite(tableEven) ? tableEven : even.Min,
            useTable && double.IsFinite(tableOdd) ? tableOdd : odd.Min,
            true);
    }

    private static (double Mean, int Min, int Max) Path(ReadOnlySpan<short> samples, int window, int parity)
    {
        int min = int.MaxValue, max = int.MinValue, sum = 0, n = 0;
        for (int k = parity; k < window; k += 2)
        {
            int x = samples[k];
            sum += x;
            n++;
            if (x < min) min = x;
            if (x > max) max = x;
        }
        return ((double)sum / n, min, max);
    }
}
