namespace NA64.Readout.Processing.Apv;

/// <summary>Robust location and width estimator of a pedestal run (na64-setup.md 9.12, APV column).</summary>
public enum RobustEstimator
{
    /// <summary>Iterated mean and σ, excluding |x − μ| &gt; k·σ (k = 3 by default), seeded by median and MAD (default).</summary>
    ClippedMean,
    /// <summary>Median and 1.4826 × median absolute deviation.</summary>
    MedianMad,
}

/// <summary>
/// Mean and σ of an exact integer histogram: bin i holds the count of value i (the caller shifts and scales).
/// Bin i stands for the interval [i − ½, i + ½) with its entries spread uniformly over it, so the median and the MAD
/// interpolate inside a bin instead of jumping by whole counts (a 1-count MAD step would be a 1.48-count step of σ).
/// </summary>
internal static class HistogramEstimator
{
    public static (double Mean, double Sigma, long Entries) Estimate(ReadOnlySpan<int> h, RobustEstimator method, double clipSigma, int maxIterations)
    {
        long n = 0;
        for (int i = 0; i < h.Length; i++) n += h[i];
        if (n == 0) return (double.NaN, double.NaN, 0);

        double median = Median(h, n);
        double sigma = 1.4826 * Mad(h, n, median);
        if (method == RobustEstimator.MedianMad)
            return (median, sigma, n);

        double mean = median;
        for (int iter = 0; iter < maxIterations; iter++)
        {
            // At least ±1 bin so a path stuck in one bin still gives mean = that bin and σ = 0. Edge bins count with the
            // fraction of [i − ½, i + ½) inside the window, so the window stays centred on the mean.
            double width = Math.Max(clipSigma * sigma, 1.0);
            double from = mean - width, to = mean + width;
            int lo = Math.Max(0, (int)Math.Floor(from + 0.5));
            int hi = Math.Min(h.Length - 1, (int)Math.Floor(to + 0.5));
            double m = 0, sum = 0;
            for (int i = lo; i <= hi; i++)
            {
                double w = Overlap(i, from, to);
                m += w * h[i];
                sum += w * h[i] * i;
            }
            if (m <= 0) break;
            double newMean = sum / m;
            double sum2 = 0;
            for (int i = lo; i <= hi; i++)
            {
                double d = i - newMean;
                sum2 += Overlap(i, from, to) * h[i] * d * d;
            }
            double rms = m > 1 ? Math.Sqrt(sum2 / (m - 1)) : 0.0;
            double newSigma = rms > 0 ? rms / TruncationFactor(width / rms) : 0.0;
            bool converged = Math.Abs(newMean - mean) < 1e-9 && Math.Abs(newSigma - sigma) < 1e-9;
            mean = newMean;
            sigma = newSigma;
            if (converged) break;
        }
        return (mean, sigma, n);
    }

    private static double Overlap(int bin, double from, double to) => Math.Max(0.0, Math.Min(bin + 0.5, to) - Math.Max(bin - 0.5, from));

    /// <summary>x with half the entries below it, interpolated inside the bin that holds it.</summary>
    private static double Median(ReadOnlySpan<int> h, long n)
    {
        double half = n / 2.0;
        long before = 0;
        for (int i = 0; i < h.Length; i++)
        {
            if (before + h[i] >= half && h[i] > 0)
                return i - 0.5 + (half - before) / h[i];
            before += h[i];
        }
        return h.Length - 1;
    }

    /// <summary>d with half the entries within median ± d (bisection on the piecewise-linear count).</summary>
    private static double Mad(ReadOnlySpan<int> h, long n, double median)
    {
        double half = n / 2.0;
        double lo = 0, hi = h.Length;
        for (int iter = 0; iter < 60 && hi - lo > 1e-9; iter++)
        {
            double d = 0.5 * (lo + hi);
            double from = median - d, to = median + d;
            int a = Math.Max(0, (int)Math.Floor(from + 0.5)), b = Math.Min(h.Length - 1, (int)Math.Floor(to + 0.5));
            double inside = 0;
            for (int i = a; i <= b; i++) inside += Overlap(i, from, to) * h[i];
            if (inside >= half) hi = d;
            else lo = d;
        }
        return 0.5 * (lo + hi);
    }

    /// <summary>σ of a Gaussian cut at ±x σ relative to the uncut σ; x is given in units of the cut RMS, so a few
    /// fixed-point steps convert it.</summary>
    private static double TruncationFactor(double xInRms)
    {
        if (xInRms >= 8) return 1.0;
        double f = 1.0;
        for (int i = 0; i < 4; i++)
        {
            double x = xInRms * f;
            double phi = Math.Exp(-0.5 * x * x) / Math.Sqrt(2 * Math.PI);
            double inside = Erf(x / Math.Sqrt(2));
            f = Math.Sqrt(Math.Max(1 - 2 * x * phi / inside, 1e-6));
        }
        return f;
    }

    /// <summary>Abramowitz–Stegun 7.1.26, |error| &lt; 1.5e-7: ample for a 1 % correction.</summary>
    private static double Erf(double x)
    {
        double t = 1.0 / (1.0 + 0.3275911 * x);
        double poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
        return 1.0 - poly * Math.Exp(-x * x);
    }
}
