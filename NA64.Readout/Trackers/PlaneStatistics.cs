using System.Globalization;

namespace NA64.Readout.Trackers;

/// <summary>
/// Per-plane performance against truth (simulation or a reference track): efficiency = events with a cluster within
/// <see cref="WindowMm"/> of the true position / events with a true position; residual = matched cluster − truth (the
/// nearest cluster); ghost rate = clusters not matched / events. Resolution is given both as the RMS of all residuals
/// and as the σ of their Gaussian core (iterative ±2.5σ clipping, corrected for the clipping).
/// </summary>
public sealed class PlaneStatistics
{
    // σ of a unit Gaussian truncated at ±2.5σ: sqrt(1 − 2·2.5·φ(2.5)/(2Φ(2.5) − 1)).
    private const double CoreClip = 2.5;
    private const double TruncatedSigma = 0.954599;
    private readonly List<double> _residualsUm = [];

    public PlaneStatistics(string plane, double windowMm = 1.0)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(plane);
        if (!double.IsFinite(windowMm) || windowMm <= 0)
            throw new ArgumentOutOfRangeException(nameof(windowMm), windowMm, "windowMm must be a finite number > 0");
        Plane = plane;
        WindowMm = windowMm;
    }

    /// <summary>A matching window of k σ of an expected resolution, e.g. 5 × 70 µm = 0.35 mm.</summary>
    public static double WindowFromSigmas(double sigmas, double resolutionUm)
    {
        if (!double.IsFinite(sigmas) || sigmas <= 0)
            throw new ArgumentOutOfRangeException(nameof(sigmas), sigmas, "sigmas must be a finite number > 0");
        if (!double.IsFinite(resolutionUm) || resolutionUm <= 0)
            throw new ArgumentOutOfRangeException(nameof(resolutionUm), resolutionUm, "resolutionUm must be a finite number > 0");
        return sigmas * resolutionUm / 1000.0;
    }

    public string Plane { get; }
    public double WindowMm { get; }
    public long Events { get; private set; }
    public long EventsWithTruth { get; private set; }
    public long Matched { get; private set; }
    public long Ghosts { get; private set; }
    public IReadOnlyList<double> ResidualsUm => _residualsUm;

    public double Efficiency => EventsWithTruth == 0 ? double.NaN : (double)Matched / EventsWithTruth;
    public double GhostRate => Events == 0 ? double.NaN : (double)Ghosts / Events;

    /// <summary>One event of this plane: the true position (null when no track crossed it) and its clusters.</summary>
    public void Add(double? truePositionMm, ReadOnlySpan<TrackerCluster> clusters)
    {
        Events++;
        int best = -1;
        if (truePositionMm is double truth)
        {
            if (!double.IsFinite(truth))
                throw new ArgumentOutOfRangeException(nameof(truePositionMm), truth, "true position must be finite");
            EventsWithTruth++;
            double bestDistance = double.PositiveInfinity;
            for (int i = 0; i < clusters.Length; i++)
            {
                double d = Math.Abs(clusters[i].PositionMm - truth);
                if (d <= WindowMm && d < bestDistance) { bestDistance = d; best = i; }
            }
            if (best >= 0)
            {
                Matched++;
                _residualsUm.Add((clusters[best].PositionMm - truth) * 1000.0);
            }
        }
        Ghosts += clusters.Length - (best >= 0 ? 1 : 0);
    }

    public double MeanUm => _residualsUm.Count == 0 ? double.NaN : _residualsUm.Average();

    public double RmsUm => _residualsUm.Count == 0 ? double.NaN : Math.Sqrt(_residualsUm.Average(r => r * r));

    /// <summary>σ of the Gaussian core: mean and σ of the residuals within ±2.5σ of the mean, σ divided by the
    /// truncated-Gaussian factor, iterated until it settles (tails from δ-rays or wrong clusters do not inflate it).</summary>
    public double CoreSigmaUm
    {
        get
        {
            if (_residualsUm.Count < 2) return double.NaN;
            double mean = MeanUm, sigma = Math.Sqrt(_residualsUm.Average(r => (r - mean) * (r - mean)));
            for (int iteration = 0; iteration < 20 && sigma > 0; iteration++)
            {
                double lo = mean - CoreClip * sigma, hi = mean + CoreClip * sigma;
                int k = 0;
                double sum = 0, sum2 = 0;
                foreach (double r in _residualsUm)
                {
                    if (r < lo || r > hi) continue;
                    k++; sum += r; sum2 += r * r;
                }
                if (k < 2) break;
                double m = sum / k;
                double s = Math.Sqrt(Math.Max(0, sum2 / k - m * m)) / TruncatedSigma;
                bool settled = Math.Abs(s - sigma) <= 1e-6 * sigma;
                mean = m;
                sigma = s;
                if (settled) break;
            }
            return sigma;
        }
    }

    /// <summary>One line: plane, events, efficiency, core σ and RMS of the residuals, mean, ghosts per event, window.</summary>
    public string Summary() => string.Create(CultureInfo.InvariantCulture,
        $"{Plane}: {Events} events, efficiency {100 * Efficiency:F1} % ({Matched}/{EventsWithTruth}), resolution {CoreSigmaUm:F0} um core, {RmsUm:F0} um RMS, mean {MeanUm:+0;-0;0} um, ghosts {GhostRate:F3}/event, window {WindowMm:F2} mm");
}
