namespace NA64.Simulators.Trackers;

/// <summary>
/// Landau deviates by the Chambers–Mallows–Stuck method: the Landau distribution is the stable law with α = 1,
/// β = 1, scale π/2. For α = 1 the method gives X ~ S(1, β, 1, 0) from W uniform in (−π/2, π/2) and E exponential:
/// X = (2/π)[(π/2 + βW) tan W − β ln((π/2) E cos W / (π/2 + βW))]; scaling to γ = π/2 adds (2/π) β γ ln γ = ln(π/2).
/// The result is the standard Landau of the integral form p(x) = (1/π) ∫ exp(−t ln t − x t) sin(π t) dt
/// (most probable value −0.22278, peak density 0.1807), which the tests check against numeric values of that integral.
/// </summary>
public static class LandauSampler
{
    /// <summary>Most probable value of the standard Landau density.</summary>
    public const double StandardMostProbable = -0.22278298;

    /// <summary>One standard Landau deviate from two uniforms in (0, 1).</summary>
    public static double Standard(double uniformAngle, double uniformExponential)
    {
        const double halfPi = Math.PI / 2;
        double w = Math.PI * (uniformAngle - 0.5);
        double e = -Math.Log(uniformExponential);
        double x = (2 / Math.PI) * ((halfPi + w) * Math.Tan(w) - Math.Log(halfPi * e * Math.Cos(w) / (halfPi + w)));
        return halfPi * x + Math.Log(halfPi);
    }

    /// <summary>
    /// A Landau deviate with the given most probable value and width (the scale of the standard form, as in the
    /// usual Landau fit "σ"): MPV + width × (standard − standard MPV).
    /// </summary>
    public static double Sample(double mostProbable, double width, double uniformAngle, double uniformExponential)
        => mostProbable + width * (Standard(uniformAngle, uniformExponential) - StandardMostProbable);

    internal static double Sample(TrackerRandom random, double mostProbable, double width)
        => Sample(mostProbable, width, random.NextOpenDouble(), random.NextOpenDouble());
}
