namespace NA64.Simulators.Trackers;

/// <summary>
/// APV25 CR-RC shaper response to a charge arriving at t = 0: f(t) = (t/τ) e^(1 − t/τ) for t &gt; 0, else 0;
/// peak 1 at t = τ (the peaking time: 50 ns nominal for the APV25, 60 ns in the NA64 thesis, na64-setup §8.1).
/// </summary>
public static class ApvPulseShape
{
    public static double Value(double timeNs, double peakingTimeNs)
    {
        if (timeNs <= 0)
            return 0;
        double x = timeNs / peakingTimeNs;
        return x * Math.Exp(1 - x);
    }
}

/// <summary>Gaussian integrals for the lateral charge sharing over strips.</summary>
internal static class GaussianIntegral
{
    /// <summary>Standard normal CDF Φ(x).</summary>
    public static double Cdf(double x) => 0.5 * (1 + Erf(x / Math.Sqrt(2)));

    /// <summary>erf by Abramowitz &amp; Stegun 7.1.26 (absolute error below 1.5e-7: far below one ADC count).</summary>
    public static double Erf(double x)
    {
        double sign = x < 0 ? -1 : 1;
        x = Math.Abs(x);
        double t = 1 / (1 + 0.3275911 * x);
        double y = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.Exp(-x * x);
        return sign * y;
    }
}
