using System.Globalization;

namespace NA64.Simulators.Trackers;

/// <summary>Charge response of one detector kind (na64-setup §8.1 cluster model; values marked in the README).</summary>
public sealed record TrackerResponse
{
    /// <summary>Probability that a crossing track leaves a cluster (MM 97–99.5 %, GEM ~99 %).</summary>
    public double Efficiency { get; init; } = 0.98;
    /// <summary>Cluster charge (sum over strips of the peak amplitude, ADC): Landau most probable value (toy; assumption).</summary>
    public double ChargeMostProbableAdc { get; init; } = 200;
    /// <summary>Landau width (ADC): ≈ 20 from the MM3X fit of 2018 run 4238.</summary>
    public double ChargeWidthAdc { get; init; } = 20;
    /// <summary>Upper cut on the drawn cluster charge (the Landau tail is unbounded; assumption).</summary>
    public double ChargeMaxAdc { get; init; } = 5000;
    /// <summary>Lateral spread of the charge, Gaussian σ in strips (≈ 1, ≥ 0.5).</summary>
    public double LateralSigmaStrips { get; init; } = 1.0;
    /// <summary>Y-plane charge over X-plane charge of one avalanche: mean and Gaussian spread (correlated X/Y; assumption).</summary>
    public double YOverXChargeMean { get; init; } = 1.0;
    public double YOverXChargeRms { get; init; } = 0.1;
}

/// <summary>APV25 front-end and APV-ADC electronics.</summary>
public sealed record ApvElectronicsOptions
{
    /// <summary>CR-RC peaking time (APV25 nominal 50 ns; thesis 60 ns).</summary>
    public double PeakingTimeNs { get; init; } = 50;
    /// <summary>Sample spacing of the three frames a0, a1, a2.</summary>
    public double FramePeriodNs { get; init; } = 25;
    /// <summary>Where a1 sits relative to the pulse peak of an in-time track (0 = latency timed in: a1 largest).</summary>
    public double SampleOffsetNs { get; init; }
    /// <summary>Arrival-time jitter of the triggering track relative to the sampling clock, Gaussian RMS (assumption).</summary>
    public double TimeJitterNs { get; init; } = 3;
    /// <summary>Trigger latency in pipeline columns (sets the columns written in the APV header; assumption).</summary>
    public int LatencyColumns { get; init; } = 100;

    public double PedestalMinAdc { get; init; } = 300;
    public double PedestalMaxAdc { get; init; } = 600;
    public double NoiseSigmaMinAdc { get; init; } = 2;
    public double NoiseSigmaMaxAdc { get; init; } = 5;
    /// <summary>Pedestal map override (APV, physical channel) → ADC; null = uniform in [min, max].</summary>
    public Func<ApvAddress, int, double>? PedestalMap { get; init; }
    /// <summary>Noise map override (APV, physical channel) → σ ADC; null = uniform in [min, max].</summary>
    public Func<ApvAddress, int, double>? NoiseMap { get; init; }
    /// <summary>Common-mode offset per APV per frame, moving event by event: Gaussian RMS (assumption).</summary>
    public double CommonModeSigmaAdc { get; init; } = 4;
    /// <summary>Channels with no signal and σ = 0: they read their pedestal, unchanged (broken bond).</summary>
    public IReadOnlyList<ApvChannelAddress> DeadChannels { get; init; } = [];
    /// <summary>Channels with a large noise σ (<see cref="NoisySigmaAdc"/>).</summary>
    public IReadOnlyList<ApvChannelAddress> NoisyChannels { get; init; } = [];
    public double NoisySigmaAdc { get; init; } = 30;
}

/// <summary>Everything the tracker simulator needs beside the physics generator's options.</summary>
public sealed record TrackerOptions
{
    public TrackerGeometry Geometry { get; init; } = new();
    public TrackerResponse Micromegas { get; init; } = new();
    public TrackerResponse Gem { get; init; } = new() { Efficiency = 0.99 };
    public ApvElectronicsOptions Electronics { get; init; } = new();
    /// <summary>On-board sparsification per detector kind: 2 σ for micromegas, 3 σ for GEMs.</summary>
    public ApvOnBoardOptions MicromegasOnBoard { get; init; } = ApvOnBoardOptions.Micromegas;
    public ApvOnBoardOptions GemOnBoard { get; init; } = ApvOnBoardOptions.Gem;
    /// <summary>
    /// Mean number of extra (pile-up) beam tracks inside the APV sensitivity window per event, Poisson. Default 0.2:
    /// with 98 % efficiency it gives the ≈ 1.2 hits per plane NA64 measured at high intensity.
    /// </summary>
    public double PileUpTracksMean { get; init; } = 0.2;
    /// <summary>Pile-up tracks arrive uniformly in [−window/2, +window/2] around the triggering track (assumption).</summary>
    public double PileUpWindowNs { get; init; } = 150;
    /// <summary>Strips with less than this deposited peak charge are not listed as "hit" in the truth.</summary>
    public double TruthStripMinimumAdc { get; init; } = 0.5;

    internal void Validate()
    {
        Geometry.Validate();
        CheckResponse("Micromegas", Micromegas);
        CheckResponse("Gem", Gem);
        var e = Electronics;
        Positive("Electronics.PeakingTimeNs", e.PeakingTimeNs);
        Positive("Electronics.FramePeriodNs", e.FramePeriodNs);
        Finite("Electronics.SampleOffsetNs", e.SampleOffsetNs);
        NotNegative("Electronics.TimeJitterNs", e.TimeJitterNs);
        Between("Electronics.LatencyColumns", e.LatencyColumns, 0, 191);
        Between("Electronics.PedestalMinAdc", e.PedestalMinAdc, 0, e.PedestalMaxAdc);
        Between("Electronics.PedestalMaxAdc", e.PedestalMaxAdc, e.PedestalMinAdc, 1023);
        Between("Electronics.NoiseSigmaMinAdc", e.NoiseSigmaMinAdc, 0, e.NoiseSigmaMaxAdc);
        Between("Electronics.NoiseSigmaMaxAdc", e.NoiseSigmaMaxAdc, e.NoiseSigmaMinAdc, 1023);
        NotNegative("Electronics.CommonModeSigmaAdc", e.CommonModeSigmaAdc);
        NotNegative("Electronics.NoisySigmaAdc", e.NoisySigmaAdc);
        NotNegative("PileUpTracksMean", PileUpTracksMean);
        NotNegative("PileUpWindowNs", PileUpWindowNs);
        NotNegative("TruthStripMinimumAdc", TruthStripMinimumAdc);
        foreach (var c in e.DeadChannels.Concat(e.NoisyChannels))
            Between("Electronics.Dead/NoisyChannels.PhysicalChannel", c.PhysicalChannel, 0, 127);

        static void CheckResponse(string kind, TrackerResponse r)
        {
            Between(kind + ".Efficiency", r.Efficiency, 0, 1);
            Positive(kind + ".ChargeMostProbableAdc", r.ChargeMostProbableAdc);
            Positive(kind + ".ChargeWidthAdc", r.ChargeWidthAdc);
            Between(kind + ".ChargeMaxAdc", r.ChargeMaxAdc, r.ChargeMostProbableAdc, double.MaxValue);
            Positive(kind + ".LateralSigmaStrips", r.LateralSigmaStrips);
            Positive(kind + ".YOverXChargeMean", r.YOverXChargeMean);
            NotNegative(kind + ".YOverXChargeRms", r.YOverXChargeRms);
        }
    }

    internal static void Positive(string field, double value)
    {
        if (!(value > 0) || double.IsInfinity(value))
            throw new ArgumentOutOfRangeException(field, value,
                string.Create(CultureInfo.InvariantCulture, $"{field} = {value} must be > 0 and finite"));
    }

    internal static void NotNegative(string field, double value)
    {
        if (!(value >= 0) || double.IsInfinity(value))
            throw new ArgumentOutOfRangeException(field, value,
                string.Create(CultureInfo.InvariantCulture, $"{field} = {value} must be >= 0 and finite"));
    }

    internal static void Finite(string field, double value)
    {
        if (!double.IsFinite(value))
            throw new ArgumentOutOfRangeException(field, value,
                string.Create(CultureInfo.InvariantCulture, $"{field} = {value} must be finite"));
    }

    internal static void Between(string field, double value, double min, double max)
    {
        if (!(value >= min && value <= max))
            throw new ArgumentOutOfRangeException(field, value,
                string.Create(CultureInfo.InvariantCulture, $"{field} = {value} must be within {min}..{max}"));
    }
}
