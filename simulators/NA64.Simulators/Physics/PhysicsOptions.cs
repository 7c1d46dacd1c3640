namespace NA64.Simulators.Physics;

/// <summary>SPS spill structure, intensity and trigger rate (na64-setup.md §2, §3).</summary>
public sealed record BeamOptions
{
    public double BeamEnergyGeV { get; init; } = 100.0;
    /// <summary>Beam on time per SPS cycle.</summary>
    public TimeSpan SpillLength { get; init; } = TimeSpan.FromSeconds(4.8);
    /// <summary>Beam off time between spills (SPS supercycles vary: configurable).</summary>
    public TimeSpan OffSpillLength { get; init; } = TimeSpan.FromSeconds(20);
    /// <summary>Beam particles per spill (typical 2.5–4 × 10⁶, up to 10⁷).</summary>
    public double ParticlesPerSpill { get; init; } = 3.0e6;
    /// <summary>Particles in spill n (n from 1), overriding <see cref="ParticlesPerSpill"/>; null = constant.</summary>
    public Func<int, double>? ParticlesForSpill { get; init; }
    /// <summary>Relative Gaussian spill-to-spill intensity spread (assumption).</summary>
    public double IntensityRelativeRms { get; init; }
    /// <summary>Recorded trigger rate during the spill, capped by the particle rate (NA64: up to ~10 kHz sparse).</summary>
    public double TriggerRateHz { get; init; } = 10_000.0;
    /// <summary>Beam spot centre on the ECAL face, mm from the ECAL centre; default the centre of cell (3,3).</summary>
    public double BeamCentreXMm { get; init; } = 19.1;
    public double BeamCentreYMm { get; init; } = 19.1;
    /// <summary>Beam spot size, FWHM in both planes.</summary>
    public double BeamSpotFwhmMm { get; init; } = 15.0;
}

/// <summary>Calorimeter response and event classes (na64-setup.md §5, §6).</summary>
public sealed record CalorimeterOptions
{
    public int EcalCellsX { get; init; } = 6;
    public int EcalCellsY { get; init; } = 6;
    public double EcalCellSizeMm { get; init; } = 38.2;
    /// <summary>ECAL σ/E = a/√E ⊕ b: stochastic term a (9 % in the thesis table, 10 % in its text).</summary>
    public double EcalStochasticTerm { get; init; } = 0.09;
    public double EcalConstantTerm { get; init; } = 0.01;
    /// <summary>Preshower share of the ECAL energy: Gaussian mean and RMS, clipped to [min, max] (assumption).</summary>
    public double PreshowerFractionMean { get; init; } = 0.08;
    public double PreshowerFractionRms { get; init; } = 0.03;
    public double PreshowerFractionMin { get; init; } = 0.01;
    public double PreshowerFractionMax { get; init; } = 0.5;
    /// <summary>Lateral profile: two exponentials in each plane (core and halo), scaled by the Molière radius (assumption).</summary>
    public double MoliereRadiusMm { get; init; } = 35.0;
    public double CoreSlopeInMoliereRadii { get; init; } = 0.15;
    public double HaloSlopeInMoliereRadii { get; init; } = 0.5;
    public double CoreWeight { get; init; } = 0.8;

    public int HcalModules { get; init; } = 4;
    public int HcalCellsX { get; init; } = 3;
    public int HcalCellsY { get; init; } = 3;
    public double HcalCellSizeMm { get; init; } = 194.0;
    /// <summary>HCAL σ/E = c/√E, c = 50–62 %.</summary>
    public double HcalStochasticTerm { get; init; } = 0.55;
    /// <summary>Mean fraction of an electron's energy leaking from the ECAL into HCAL module 0 (exponential; assumption).</summary>
    public double HcalLeakageFractionMean { get; init; } = 0.002;
    /// <summary>Lateral slope of the leakage in the HCAL (assumption).</summary>
    public double HcalLateralSlopeMm { get; init; } = 60.0;

    /// <summary>Fraction of events generated as invisible-mode signal: E_ECAL &lt; 50 GeV, nothing in the HCAL.</summary>
    public double SignalFraction { get; init; }
    /// <summary>ECAL share of the beam energy in signal events, uniform in [min, max) (the rest is missing energy).</summary>
    public double SignalEcalFractionMin { get; init; } = 0.05;
    public double SignalEcalFractionMax { get; init; } = 0.5;

    public int VetoChannels { get; init; } = 6;
    public int SrdChannels { get; init; } = 3;
    /// <summary>SRD sum for a 100 GeV electron: tens of MeV (Gaussian mean and RMS).</summary>
    public double SrdMeanGeV { get; init; } = 0.04;
    public double SrdRmsGeV { get; init; } = 0.015;
    /// <summary>Counters S0..S4 fire (MIP each); V0 and W are quiet for a clean electron.</summary>
    public IReadOnlyList<string> Counters { get; init; } = ["S0", "S1", "S2", "S3", "S4", "V0", "W"];
    public IReadOnlyList<string> QuietCounters { get; init; } = ["V0", "W"];
    /// <summary>Energy a MIP leaves in a beam counter (assumption) and the relative spread of that signal.</summary>
    public double CounterMipGeV { get; init; } = 0.001;
    public double CounterMipRelativeRms { get; init; } = 0.2;
}

/// <summary>MSADC digitisation (na64-setup.md §7).</summary>
public sealed record WaveformOptions
{
    public int SamplesPerChannel { get; init; } = 32;
    /// <summary>12.5 ns (thesis) or 12.86 ns (CORAL).</summary>
    public double SamplePeriodNs { get; init; } = 12.5;
    /// <summary>Where the triggering particle's pulse starts in the window (latency); peak ≈ 50 ns later.</summary>
    public double TriggerOnsetNs { get; init; } = 100.0;
    /// <summary>Per-channel pulse arrival jitter, Gaussian RMS.</summary>
    public double TimeJitterNs { get; init; } = 1.0;
    /// <summary>Pile-up from other beam particles in the window (Poisson, μ from the intensity).</summary>
    public bool PileUp { get; init; } = true;

    public double PedestalMin { get; init; } = 100;
    public double PedestalMax { get; init; } = 400;
    /// <summary>Odd-path pedestal = even + uniform(−max, +max) (assumption: a few ADC).</summary>
    public double EvenOddOffsetMax { get; init; } = 4;
    public double NoiseRmsMin { get; init; } = 1;
    public double NoiseRmsMax { get; init; } = 3;

    /// <summary>Gains, ADC counts per GeV deposited, per detector kind (assumption: set so a 100 GeV shower stays below 4095).</summary>
    public double GainEcalPreshower { get; init; } = 150;
    public double GainEcalMain { get; init; } = 35;
    public double GainHcal { get; init; } = 100;
    public double GainVeto { get; init; } = 50_000;
    public double GainSrd { get; init; } = 20_000;
    public double GainCounter { get; init; } = 500_000;

    /// <summary>Pulse template; null = the analytic fallback of na64-setup.md §7.2.</summary>
    public PulseTemplate? Template { get; init; }
}

public sealed record PhysicsOptions
{
    public BeamOptions Beam { get; init; } = new();
    public CalorimeterOptions Calorimeter { get; init; } = new();
    public WaveformOptions Waveform { get; init; } = new();
}
