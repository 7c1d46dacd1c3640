using System.Globalization;
using Serilog;

namespace NA64.Simulators.Physics;

public enum EventKind
{
    /// <summary>Standard 100 GeV electron: full shower in the ECAL, HCAL ≈ leakage only.</summary>
    Electron,
    /// <summary>Injected invisible-mode signal: E_ECAL &lt; 50 GeV, nothing in the HCAL, the rest missing.</summary>
    InvisibleSignal,
}

/// <summary>
/// What the generator put into one event. Deposits are before resolution smearing; "measured" are the smeared
/// energies the calorimeter would report (and from which the channel amplitudes are made).
/// </summary>
public readonly record struct EventTruth(
    long EventNumber,
    int Spill,
    int EventInSpill,
    TimeSpan Time,
    EventKind Kind,
    double BeamEnergyGeV,
    double ImpactXMm,
    double ImpactYMm,
    double EcalDepositGeV,
    double HcalDepositGeV,
    double EcalMeasuredGeV,
    double PreshowerMeasuredGeV,
    double HcalMeasuredGeV,
    int PileUpParticles)
{
    public bool IsSignal => Kind == EventKind.InvisibleSignal;
    public double TotalMeasuredGeV => EcalMeasuredGeV + HcalMeasuredGeV;
}

/// <summary>
/// NA64 invisible-mode physics event generator in simulated time. Triggers arrive as a Poisson process during
/// spills only; each event gets truth energies and per-channel MSADC samples. Deterministic for a given seed.
/// Spill numbers start at 1, event numbers within a spill at 1 (as the TCS counts them).
/// </summary>
public sealed class Na64EventGenerator
{
    private readonly PhysicsOptions _options;
    private readonly BeamOptions _beam;
    private readonly CalorimeterOptions _cal;
    private readonly WaveformOptions _wave;
    private readonly Random _random;
    private readonly WaveformSynthesizer _synth;
    private readonly ILogger _log;
    private readonly double[] _energy;
    private readonly double[] _fx;
    private readonly double[] _fy;
    private readonly double[] _hx;
    private readonly double[] _hy;
    private readonly bool[] _counterFires;
    private readonly double _cycleSeconds;
    private readonly double _spillSeconds;
    private readonly SpillCycle _spill;
    private readonly double _windowNs;
    private readonly double _spotSigmaMm;

    // The next trigger, drawn ahead so that TryNextBefore can look at its time without consuming it.
    private double _nextTime;
    private int _nextSpill;
    private int _nextEventInSpill;
    private int _currentSpill = -1;
    private double _spillTriggerRate;
    private double _spillParticleRate;
    private double _nextParticleRate;
    private long _eventCount;
    private long _signalCount;
    private TimeSpan _now;

    public Na64EventGenerator(PhysicsOptions options, int seed, ILogger? log = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _beam = options.Beam;
        _cal = options.Calorimeter;
        _wave = options.Waveform;
        Validate(options);
        _log = log ?? Serilog.Core.Logger.None;
        _random = new Random(seed);
        Layout = new DetectorLayout(_cal);

        var calibration = new ChannelCalibration[Layout.Count];
        foreach (var channel in Layout.Channels)
        {
            double even = Uniform(_wave.PedestalMin, _wave.PedestalMax);
            double odd = even + Uniform(-_wave.EvenOddOffsetMax, _wave.EvenOddOffsetMax);
            calibration[channel.Index] = new ChannelCalibration(even, odd, Uniform(_wave.NoiseRmsMin, _wave.NoiseRmsMax),
                channel.Kind switch
                {
                    DetectorKind.EcalPreshower => _wave.GainEcalPreshower,
                    DetectorKind.EcalMain => _wave.GainEcalMain,
                    DetectorKind.Hcal => _wave.GainHcal,
                    DetectorKind.Veto => _wave.GainVeto,
                    DetectorKind.Srd => _wave.GainSrd,
                    _ => _wave.GainCounter,
                });
        }
        _synth = new WaveformSynthesizer(Layout.Count, _wave.SamplesPerChannel, _wave.SamplePeriodNs,
            _wave.Template ?? PulseTemplate.AnalyticFallback(), calibration, _random);

        _energy = new double[Layout.Count];
        _fx = new double[_cal.EcalCellsX];
        _fy = new double[_cal.EcalCellsY];
        _hx = new double[_cal.HcalCellsX];
        _hy = new double[_cal.HcalCellsY];
        _counterFires = new bool[_cal.Counters.Count];
        for (int i = 0; i < _counterFires.Length; i++)
            _counterFires[i] = !_cal.QuietCounters.Contains(_cal.Counters[i]);
        _spillSeconds = _beam.SpillLength.TotalSeconds;
        _cycleSeconds = _spillSeconds + _beam.OffSpillLength.TotalSeconds;
        _spill = new SpillCycle(_beam.SpillLength, _beam.SpillLength + _beam.OffSpillLength, TimeSpan.Zero);
        _windowNs = _wave.SamplesPerChannel * _wave.SamplePeriodNs;
        _spotSigmaMm = _beam.BeamSpotFwhmMm / (2.0 * Math.Sqrt(2.0 * Math.Log(2.0)));

        _nextSpill = -1;
        StartSpill(0);
        DrawNextTrigger();
    }

    public PhysicsOptions Options => _options;
    public DetectorLayout Layout { get; }
    public int SamplesPerChannel => _wave.SamplesPerChannel;
    /// <summary>Length of the sample block <see cref="Next"/> fills: channels × samples.</summary>
    public int BlockLength => _synth.BlockLength;
    public WaveformSynthesizer Synthesizer => _synth;
    /// <summary>Per-channel pedestal, noise and gain used (truth for pedestal tests).</summary>
    public IReadOnlyList<ChannelCalibration> Calibration => _synth.Calibration;
    /// <summary>Simulated time of the last event.</summary>
    public TimeSpan Now => _now;
    /// <summary>Simulated time of the next trigger (already drawn).</summary>
    public TimeSpan NextTriggerTime => TimeSpan.FromSeconds(_nextTime);
    public long EventCount => _eventCount;
    /// <summary>Truth: how many invisible-mode signal events were injected so far.</summary>
    public long InjectedSignalCount => _signalCount;
    /// <summary>Energy per channel of the triggering particle in the last event (measured, GeV), no pile-up.</summary>
    public ReadOnlySpan<double> LastChannelEnergies => _energy;

    /// <summary>True if <paramref name="time"/> lies inside a spill.</summary>
    public bool IsInSpill(TimeSpan time)
    {
        return _spill.InSpill(time.TotalSeconds);
    }

    /// <summary>Generates the next event if its trigger comes before <paramref name="until"/> (explicit time stepping).</summary>
    public bool TryNextBefore(TimeSpan until, Span<short> samples, out EventTruth truth)
    {
        if (_nextTime >= until.TotalSeconds)
        {
            truth = default;
            return false;
        }
        truth = Next(samples);
        return true;
    }

    /// <summary>Advances simulated time to the next trigger, fills <paramref name="samples"/> [channel][sample] and returns the truth.</summary>
    public EventTruth Next(Span<short> samples)
    {
        if (samples.Length < _synth.BlockLength)
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                $"sample block has {samples.Length} entries, the generator needs {_synth.BlockLength}"), nameof(samples));
        double time = _nextTime;
        int spill = _nextSpill;
        int eventInSpill = _nextEventInSpill;
        double particleRate = _nextParticleRate;
        DrawNextTrigger();

        _eventCount++;
        _now = TimeSpan.FromSeconds(time);
        double e0 = _beam.BeamEnergyGeV;
        var kind = _random.NextDouble() < _cal.SignalFraction ? EventKind.InvisibleSignal : EventKind.Electron;
        if (kind == EventKind.InvisibleSignal)
            _signalCount++;

        double x = _beam.BeamCentreXMm + _spotSigmaMm * _synth.NextGaussian();
        double y = _beam.BeamCentreYMm + _spotSigmaMm * _synth.NextGaussian();

        double ecalDeposit, hcalDeposit;
        if (kind == EventKind.Electron)
        {
            hcalDeposit = Math.Min(e0, e0 * -_cal.HcalLeakageFractionMean * Math.Log(1.0 - _random.NextDouble()));
            ecalDeposit = e0 - hcalDeposit;
        }
        else
        {
            ecalDeposit = e0 * Uniform(_cal.SignalEcalFractionMin, _cal.SignalEcalFractionMax);
            hcalDeposit = 0;
        }
        double ecalMeasured = SmearEcal(ecalDeposit);
        double hcalMeasured = hcalDeposit > 0
            ? Math.Max(0, hcalDeposit + _cal.HcalStochasticTerm * Math.Sqrt(hcalDeposit) * _synth.NextGaussian())
            : 0;
        double preshowerFraction = Math.Clamp(
            _cal.PreshowerFractionMean + _cal.PreshowerFractionRms * _synth.NextGaussian(),
            _cal.PreshowerFractionMin, _cal.PreshowerFractionMax);
        double preshowerMeasured = ecalMeasured * preshowerFraction;

        Array.Clear(_energy);
        DepositEcal(_energy, x, y, preshowerMeasured, ecalMeasured - preshowerMeasured);
        if (hcalMeasured > 0)
            DepositHcal(_energy, x, y, hcalMeasured);
        double srd = Math.Max(0, _cal.SrdMeanGeV + _cal.SrdRmsGeV * _synth.NextGaussian());
        for (int i = 0; i < _cal.SrdChannels; i++)
            _energy[Layout.SrdStart + i] = srd / _cal.SrdChannels;
        DepositCounters(_energy);

        _synth.Clear();
        double onset = _wave.TriggerOnsetNs;
        for (int c = 0; c < _energy.Length; c++)
            if (_energy[c] != 0)
                _synth.AddEnergy(c, _energy[c], onset + _wave.TimeJitterNs * _synth.NextGaussian());

        int pileUp = _wave.PileUp ? AddPileUp(particleRate) : 0;
        _synth.Digitize(samples);

        return new EventTruth(_eventCount, spill + 1, eventInSpill, _now, kind, e0, x, y,
            ecalDeposit, hcalDeposit, ecalMeasured, preshowerMeasured, hcalMeasured, pileUp);
    }

    private double SmearEcal(double energy)
    {
        if (energy <= 0)
            return 0;
        double a = _cal.EcalStochasticTerm / Math.Sqrt(energy);
        double relative = Math.Sqrt(a * a + _cal.EcalConstantTerm * _cal.EcalConstantTerm);
        return Math.Max(0, energy * (1 + relative * _synth.NextGaussian()));
    }

    /// <summary>Other beam particles inside the readout window: full-energy electrons at uniform times, unsmeared.</summary>
    private int AddPileUp(double particleRate)
    {
        double mu = particleRate * _windowNs * 1e-9;
        int n = Poisson(mu);
        for (int k = 0; k < n; k++)
        {
            double onset = _random.NextDouble() * _windowNs;
            double x = _beam.BeamCentreXMm + _spotSigmaMm * _synth.NextGaussian();
            double y = _beam.BeamCentreYMm + _spotSigmaMm * _synth.NextGaussian();
            double e = _beam.BeamEnergyGeV;
            double pre = e * _cal.PreshowerFractionMean;
            Fractions(_fx, x, _cal.EcalCellSizeMm, EcalLambdaCore, EcalLambdaHalo, _cal.CoreWeight);
            Fractions(_fy, y, _cal.EcalCellSizeMm, EcalLambdaCore, EcalLambdaHalo, _cal.CoreWeight);
            for (int j = 0; j < _fy.Length; j++)
                for (int i = 0; i < _fx.Length; i++)
                {
                    double f = _fx[i] * _fy[j];
                    int cell = j * _fx.Length + i;
                    _synth.AddEnergy(Layout.EcalPreshowerStart + cell, pre * f, onset);
                    _synth.AddEnergy(Layout.EcalMainStart + cell, (e - pre) * f, onset);
                }
            for (int i = 0; i < _counterFires.Length; i++)
                if (_counterFires[i])
                    _synth.AddEnergy(Layout.CounterStart + i, _cal.CounterMipGeV, onset);
        }
        return n;
    }

    private double EcalLambdaCore => _cal.CoreSlopeInMoliereRadii * _cal.MoliereRadiusMm;
    private double EcalLambdaHalo => _cal.HaloSlopeInMoliereRadii * _cal.MoliereRadiusMm;

    private void DepositEcal(double[] energy, double x, double y, double preshower, double main)
    {
        Fractions(_fx, x, _cal.EcalCellSizeMm, EcalLambdaCore, EcalLambdaHalo, _cal.CoreWeight);
        Fractions(_fy, y, _cal.EcalCellSizeMm, EcalLambdaCore, EcalLambdaHalo, _cal.CoreWeight);
        for (int j = 0; j < _fy.Length; j++)
            for (int i = 0; i < _fx.Length; i++)
            {
                double f = _fx[i] * _fy[j];
                int cell = j * _fx.Length + i;
                energy[Layout.EcalPreshowerStart + cell] = preshower * f;
                energy[Layout.EcalMainStart + cell] = main * f;
            }
    }

    private void DepositHcal(double[] energy, double x, double y, double hcal)
    {
        Fractions(_hx, x, _cal.HcalCellSizeMm, _cal.HcalLateralSlopeMm, _cal.HcalLateralSlopeMm, 1.0);
        Fractions(_hy, y, _cal.HcalCellSizeMm, _cal.HcalLateralSlopeMm, _cal.HcalLateralSlopeMm, 1.0);
        for (int j = 0; j < _hy.Length; j++)
            for (int i = 0; i < _hx.Length; i++)
                energy[Layout.HcalStart + j * _hx.Length + i] = hcal * _hx[i] * _hy[j];
    }

    private void DepositCounters(double[] energy)
    {
        for (int i = 0; i < _counterFires.Length; i++)
            if (_counterFires[i])
                energy[Layout.CounterStart + i] =
                    _cal.CounterMipGeV * Math.Max(0.1, 1 + _cal.CounterMipRelativeRms * _synth.NextGaussian());
    }

    /// <summary>
    /// Share of the shower in each cell along one axis: a sum of two exponentials (core and halo) around the impact,
    /// integrated over the cell; normalised to 1 over the calorimeter (the lateral leakage is put back, so the
    /// calorimeter sum is the measured energy).
    /// </summary>
    private static void Fractions(double[] fractions, double impactMm, double cellMm, double lambdaCore, double lambdaHalo, double coreWeight)
    {
        int n = fractions.Length;
        double left = -0.5 * n * cellMm;
        double sum = 0;
        double previous = Cdf(left - impactMm, lambdaCore, lambdaHalo, coreWeight);
        for (int i = 0; i < n; i++)
        {
            double next = Cdf(left + (i + 1) * cellMm - impactMm, lambdaCore, lambdaHalo, coreWeight);
            fractions[i] = next - previous;
            sum += fractions[i];
            previous = next;
        }
        if (sum <= 0)
            throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture,
                $"impact at {impactMm} mm leaves no energy in a calorimeter of {n} cells of {cellMm} mm"));
        for (int i = 0; i < n; i++)
            fractions[i] /= sum;

        static double Cdf(double d, double l1, double l2, double w) => w * Laplace(d, l1) + (1 - w) * Laplace(d, l2);
        static double Laplace(double d, double lambda) => d < 0 ? 0.5 * Math.Exp(d / lambda) : 1 - 0.5 * Math.Exp(-d / lambda);
    }

    private void StartSpill(int spill)
    {
        double particles = _beam.ParticlesForSpill?.Invoke(spill + 1) ?? _beam.ParticlesPerSpill;
        if (_beam.IntensityRelativeRms > 0)
            particles *= Math.Max(0, 1 + _beam.IntensityRelativeRms * _synth.NextGaussian());
        if (particles < 0 || double.IsNaN(particles))
            throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture,
                $"spill {spill + 1}: particles per spill = {particles}, must be >= 0"));
        _spillParticleRate = particles / _spillSeconds;
        _spillTriggerRate = Math.Min(_beam.TriggerRateHz, _spillParticleRate);
        _currentSpill = spill;
        _log.Debug("Spill {Spill}: {Particles} particles, trigger rate {TriggerRate} Hz", spill + 1, particles, _spillTriggerRate);
    }

    private void DrawNextTrigger()
    {
        double t = _nextSpill == _currentSpill ? _nextTime : _currentSpill * _cycleSeconds;
        int eventInSpill = _nextSpill == _currentSpill ? _nextEventInSpill : 0;
        for (int guard = 0; ; guard++)
        {
            if (_spillTriggerRate > 0)
            {
                t += -Math.Log(1.0 - _random.NextDouble()) / _spillTriggerRate;
                if (t < _currentSpill * _cycleSeconds + _spillSeconds)
                    break;
            }
            if (guard > 100_000)
                throw new InvalidOperationException("no beam in 100000 consecutive spills: check ParticlesPerSpill");
            StartSpill(_currentSpill + 1);
            t = _currentSpill * _cycleSeconds;
            eventInSpill = 0;
        }
        _nextTime = t;
        _nextSpill = _currentSpill;
        _nextEventInSpill = eventInSpill + 1;
        _nextParticleRate = _spillParticleRate;
    }

    private int Poisson(double mu)
    {
        if (mu <= 0)
            return 0;
        double limit = Math.Exp(-mu);
        int k = 0;
        double p = _random.NextDouble();
        while (p > limit)
        {
            k++;
            p *= _random.NextDouble();
        }
        return k;
    }

    private double Uniform(double min, double max) => min + (max - min) * _random.NextDouble();

    private static void Validate(PhysicsOptions o)
    {
        Positive("Beam.BeamEnergyGeV", o.Beam.BeamEnergyGeV);
        Positive("Beam.SpillLength", o.Beam.SpillLength.TotalSeconds);
        NotNegative("Beam.OffSpillLength", o.Beam.OffSpillLength.TotalSeconds);
        NotNegative("Beam.ParticlesPerSpill", o.Beam.ParticlesPerSpill);
        NotNegative("Beam.IntensityRelativeRms", o.Beam.IntensityRelativeRms);
        Positive("Beam.TriggerRateHz", o.Beam.TriggerRateHz);
        NotNegative("Beam.BeamSpotFwhmMm", o.Beam.BeamSpotFwhmMm);
        Between("Calorimeter.SignalFraction", o.Calorimeter.SignalFraction, 0, 1);
        Between("Calorimeter.SignalEcalFractionMin", o.Calorimeter.SignalEcalFractionMin, 0, o.Calorimeter.SignalEcalFractionMax);
        Between("Calorimeter.SignalEcalFractionMax", o.Calorimeter.SignalEcalFractionMax, o.Calorimeter.SignalEcalFractionMin, 1);
        Between("Calorimeter.CoreWeight", o.Calorimeter.CoreWeight, 0, 1);
        Between("Calorimeter.PreshowerFractionMin", o.Calorimeter.PreshowerFractionMin, 0, o.Calorimeter.PreshowerFractionMax);
        Between("Calorimeter.PreshowerFractionMax", o.Calorimeter.PreshowerFractionMax, o.Calorimeter.PreshowerFractionMin, 1);
        NotNegative("Calorimeter.EcalStochasticTerm", o.Calorimeter.EcalStochasticTerm);
        NotNegative("Calorimeter.EcalConstantTerm", o.Calorimeter.EcalConstantTerm);
        NotNegative("Calorimeter.HcalStochasticTerm", o.Calorimeter.HcalStochasticTerm);
        NotNegative("Calorimeter.HcalLeakageFractionMean", o.Calorimeter.HcalLeakageFractionMean);
        Positive("Calorimeter.MoliereRadiusMm", o.Calorimeter.MoliereRadiusMm);
        Positive("Calorimeter.CoreSlopeInMoliereRadii", o.Calorimeter.CoreSlopeInMoliereRadii);
        Positive("Calorimeter.HaloSlopeInMoliereRadii", o.Calorimeter.HaloSlopeInMoliereRadii);
        Positive("Calorimeter.HcalLateralSlopeMm", o.Calorimeter.HcalLateralSlopeMm);
        Positive("Calorimeter.EcalCellsX", o.Calorimeter.EcalCellsX);
        Positive("Calorimeter.EcalCellsY", o.Calorimeter.EcalCellsY);
        Positive("Calorimeter.HcalCellsX", o.Calorimeter.HcalCellsX);
        Positive("Calorimeter.HcalCellsY", o.Calorimeter.HcalCellsY);
        NotNegative("Calorimeter.HcalModules", o.Calorimeter.HcalModules);
        Positive("Waveform.SamplePeriodNs", o.Waveform.SamplePeriodNs);
        Between("Waveform.PedestalMin", o.Waveform.PedestalMin, 0, o.Waveform.PedestalMax);
        Between("Waveform.PedestalMax", o.Waveform.PedestalMax, o.Waveform.PedestalMin, 4095);
        NotNegative("Waveform.NoiseRmsMin", o.Waveform.NoiseRmsMin);
        Between("Waveform.NoiseRmsMax", o.Waveform.NoiseRmsMax, o.Waveform.NoiseRmsMin, 4095);
        NotNegative("Waveform.EvenOddOffsetMax", o.Waveform.EvenOddOffsetMax);
        if (o.Calorimeter.HcalModules == 0 && o.Calorimeter.HcalLeakageFractionMean > 0)
            throw new ArgumentOutOfRangeException("Calorimeter.HcalModules", 0, "HCAL leakage needs at least 1 HCAL module");

        static void Positive(string field, double value)
        {
            if (!(value > 0))
                throw new ArgumentOutOfRangeException(field, value,
                    string.Create(CultureInfo.InvariantCulture, $"{field} = {value} must be > 0"));
        }
        static void NotNegative(string field, double value)
        {
            if (!(value >= 0))
                throw new ArgumentOutOfRangeException(field, value,
                    string.Create(CultureInfo.InvariantCulture, $"{field} = {value} must be >= 0"));
        }
        static void Between(string field, double value, double min, double max)
        {
            if (!(value >= min && value <= max))
                throw new ArgumentOutOfRangeException(field, value,
                    string.Create(CultureInfo.InvariantCulture, $"{field} = {value} must be within {min}..{max}"));
        }
    }
}
