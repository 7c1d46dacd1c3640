using NA64.Hardware.Digitizers.Apv.Format;
using System.Globalization;
using NA64.Simulators.Physics;
using Serilog;

namespace NA64.Simulators.Trackers;

/// <summary>
/// Micromegas and GEM response to the events of the physics generator (na64-setup §8.1–8.2). For each
/// <see cref="EventTruth"/> it derives the electron's track deterministically from (seed, event number): it ends at the
/// generator's impact point on the ECAL face, has a Gaussian divergence and the magnet's bend; pile-up tracks come on
/// top (Poisson). Each chamber crossed gets a Landau cluster spread over its strips, sampled by the APV CR-RC shape in
/// three frames 25 ns apart; the micromegas strips are summed onto their channels through the multiplexing map. Then
/// per APV: pedestals, noise, common mode per frame, dead and noisy channels, 10-bit clamp (latch-all frames) and, once
/// tables are downloaded, the on-board sparse emulation (<see cref="ApvOnBoardProcessor"/>).
/// Pass the generator's own seed: the tracker side of event n depends only on (seed, n), never on the order or on how
/// many random numbers the calorimeter side drew.
/// </summary>
public sealed class TrackerSimulator
{
    private const int Channels = ApvFacts.ChannelsPerApv;
    private const int Frames = ApvFacts.Frames;
    private const int NormalTableSize = 1 << 16;

    private readonly TrackerOptions _options;
    private readonly BeamOptions _beam;
    private readonly ILogger _log;
    private readonly long _seed;
    private readonly int[] _stripToChannel;
    private readonly int[] _xApvChannel;
    private readonly int[] _yApvChannel;
    private readonly DetectorState[] _detectors;
    private readonly ApvState[] _apvs;
    private readonly ApvReadout[] _readouts;
    private readonly TrackerEvent _event;
    private readonly TrackerRandom _random = new(0);
    private readonly float[] _normal = new float[NormalTableSize];
    private readonly HashSet<int> _skippedAdcs = [];
    private readonly double _spotSigmaMm;

    /// <param name="options">Geometry, response, electronics.</param>
    /// <param name="physics">The physics generator's options (beam energy, beam centre and spot for pile-up tracks).</param>
    /// <param name="micromegasStripToChannel">Multiplexing map: strip 0..319 → electronic channel 0..63 of the plane.</param>
    /// <param name="seed">The physics generator's seed.</param>
    public TrackerSimulator(TrackerOptions options, PhysicsOptions physics, IReadOnlyList<int> micromegasStripToChannel, int seed,
        ILogger? log = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(physics);
        ArgumentNullException.ThrowIfNull(micromegasStripToChannel);
        options.Validate();
        if (micromegasStripToChannel.Count != 320)
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                $"micromegas strip→channel map has {micromegasStripToChannel.Count} entries, need 320"), nameof(micromegasStripToChannel));
        for (int s = 0; s < micromegasStripToChannel.Count; s++)
            if (micromegasStripToChannel[s] is < 0 or >= TrackerGeometry.MicromegasChannelsPerPlane)
                throw new ArgumentOutOfRangeException(nameof(micromegasStripToChannel), micromegasStripToChannel[s],
                    string.Create(CultureInfo.InvariantCulture,
                        $"micromegas strip {s} maps to channel {micromegasStripToChannel[s]}, must be within 0..63"));
        if (!(physics.Beam.BeamEnergyGeV > 0))
            throw new ArgumentOutOfRangeException(nameof(physics), physics.Beam.BeamEnergyGeV,
                string.Create(CultureInfo.InvariantCulture, $"Beam.BeamEnergyGeV = {physics.Beam.BeamEnergyGeV} must be > 0"));

        _options = options;
        _beam = physics.Beam;
        _log = log ?? Serilog.Core.Logger.None;
        _seed = seed;
        _stripToChannel = [.. micromegasStripToChannel];
        _xApvChannel = [.. options.Geometry.MicromegasXApvChannels];
        _yApvChannel = [.. options.Geometry.MicromegasYApvChannels];
        _spotSigmaMm = _beam.BeamSpotFwhmMm / (2.0 * Math.Sqrt(2.0 * Math.Log(2.0)));

        // Calibration (pedestals, noise) comes from the seed alone, as the calorimeter calibration does.
        var calibrationRandom = new TrackerRandom(TrackerRandom.Mix(seed, -1));
        for (int i = 0; i < _normal.Length; i++)
            _normal[i] = (float)calibrationRandom.NextGaussian();

        var geometry = options.Geometry;
        double nominalBend = geometry.BendRad(_beam.BeamEnergyGeV);
        var detectors = new List<DetectorState>();
        var apvs = new List<ApvState>();
        foreach (var d in geometry.Detectors)
        {
            double centreX = d.X.CentreMm ?? NominalX(d.ZMm, nominalBend);
            double centreY = d.Y.CentreMm ?? _beam.BeamCentreYMm;
            int firstApv = apvs.Count;
            if (d.Kind == TrackerKind.Micromegas)
                apvs.Add(NewApv(new ApvAddress(d.Name, d.Kind, null, 0, d.AdcId, d.FirstChipId), options.MicromegasOnBoard, calibrationRandom));
            else
                for (int k = 0; k < 4; k++)
                    apvs.Add(NewApv(new ApvAddress(d.Name, d.Kind, k < 2 ? StripAxis.X : StripAxis.Y, 128 * (k % 2), d.AdcId, d.FirstChipId + k),
                        options.GemOnBoard, calibrationRandom));
            detectors.Add(new DetectorState(d, centreX, centreY, firstApv,
                d.Kind == TrackerKind.Micromegas ? options.Micromegas : options.Gem));
        }
        _detectors = [.. detectors];
        _apvs = [.. apvs];
        foreach (var c in options.Electronics.DeadChannels)
            SetChannelDead(c);
        foreach (var c in options.Electronics.NoisyChannels)
            SetChannelNoisy(c, options.Electronics.NoisySigmaAdc);
        _readouts = [.. _apvs.Select(a => a.Readout)];
        Apvs = [.. _apvs.Select(a => a.Address)];
        var planes = new List<PlaneTruth>();
        foreach (var d in _detectors)
        {
            d.XTruth = new PlaneTruth(d.Geometry.Name, d.Geometry.Kind, StripAxis.X);
            d.YTruth = new PlaneTruth(d.Geometry.Name, d.Geometry.Kind, StripAxis.Y);
            planes.Add(d.XTruth);
            planes.Add(d.YTruth);
        }
        _event = new TrackerEvent(_readouts, planes);
    }

    public TrackerOptions Options => _options;
    /// <summary>All APVs in detector order (a micromegas: one; a GEM: X0, X1, Y0, Y1).</summary>
    public IReadOnlyList<ApvAddress> Apvs { get; }
    public long EventsSimulated { get; private set; }

    /// <summary>Index into <see cref="Apvs"/> of the APV at (ADC, chip).</summary>
    public int ApvIndex(int adcId, int chipId)
    {
        for (int i = 0; i < _apvs.Length; i++)
            if (_apvs[i].Address.AdcId == adcId && _apvs[i].Address.ChipId == chipId)
                return i;
        throw new ArgumentOutOfRangeException(nameof(chipId), chipId, string.Create(CultureInfo.InvariantCulture,
            $"no APV at ADC {adcId} chip {chipId} in the tracker geometry"));
    }

    /// <summary>Index into <see cref="Apvs"/> of the micromegas APV, or of the GEM APV carrying (plane, strip).</summary>
    public int ApvIndex(string detector, StripAxis plane = StripAxis.X, int strip = 0)
    {
        foreach (var d in _detectors)
            if (d.Geometry.Name == detector)
                return d.Geometry.Kind == TrackerKind.Micromegas ? d.FirstApv : d.FirstApv + (plane == StripAxis.Y ? 2 : 0) + strip / 128;
        throw new ArgumentException($"no tracker detector named {detector}", nameof(detector));
    }

    /// <summary>True pedestal per physical channel of an APV (what a perfect pedestal run would measure).</summary>
    public IReadOnlyList<double> Pedestals(int apv) => _apvs[apv].Pedestal;
    /// <summary>True noise σ per physical channel (0 for a dead channel).</summary>
    public IReadOnlyList<double> Sigmas(int apv) => _apvs[apv].Sigma;
    /// <summary>The on-board emulation of an APV: download its table here, or change its options.</summary>
    public ApvOnBoardProcessor Processor(int apv) => _apvs[apv].Processor;

    /// <summary>APV physical channel of micromegas strip <paramref name="strip"/> of a plane (multiplexing, then the X/Y channel assignment).</summary>
    public int MicromegasApvChannel(StripAxis plane, int strip)
    {
        int channel = _stripToChannel[strip];
        return plane == StripAxis.X ? _xApvChannel[channel] : _yApvChannel[channel];
    }

    /// <summary>Downloads the true pedestals and σ to every APV's on-board emulation (dead channels: σ = 0, masked).</summary>
    public void DownloadTrueTables()
    {
        foreach (var a in _apvs)
            a.Processor.Download(new ApvDownloadedTable(a.Pedestal, a.Sigma));
    }

    // ---- fault hooks (sim inject) ----

    /// <summary>Dead APV: the APV delivers no data at all (<see cref="ApvReadout.Present"/> false).</summary>
    public void SetApvDead(int apv, bool dead)
    {
        CheckApv(apv);
        _apvs[apv].Dead = dead;
        _log.Warning("Tracker fault: APV {Apv} dead = {Dead}", _apvs[apv].Address.Name, dead);
    }

    /// <summary>A channel with no signal and no noise: it reads its pedestal, σ = 0.</summary>
    public void SetChannelDead(ApvChannelAddress channel)
    {
        var apv = _apvs[ApvIndex(channel.AdcId, channel.ChipId)];
        CheckChannel(channel.PhysicalChannel);
        apv.DeadChannel[channel.PhysicalChannel] = true;
        apv.Sigma[channel.PhysicalChannel] = 0;
        _log.Warning("Tracker fault: {Apv} channel {Channel} dead", apv.Address.Name, channel.PhysicalChannel);
    }

    /// <summary>A channel whose noise σ becomes <paramref name="sigmaAdc"/> (noisy channel).</summary>
    public void SetChannelNoisy(ApvChannelAddress channel, double sigmaAdc)
    {
        var apv = _apvs[ApvIndex(channel.AdcId, channel.ChipId)];
        CheckChannel(channel.PhysicalChannel);
        TrackerOptions.NotNegative("sigmaAdc", sigmaAdc);
        apv.DeadChannel[channel.PhysicalChannel] = false;
        apv.Sigma[channel.PhysicalChannel] = sigmaAdc;
        _log.Warning("Tracker fault: {Apv} channel {Channel} noise sigma {Sigma} ADC", apv.Address.Name, channel.PhysicalChannel, sigmaAdc);
    }

    /// <summary>A common-mode jump: every frame of the APV is offset by <paramref name="offsetAdc"/> until set back to 0.</summary>
    public void SetCommonModeJump(int apv, double offsetAdc)
    {
        CheckApv(apv);
        TrackerOptions.Finite("offsetAdc", offsetAdc);
        _apvs[apv].CommonModeJump = offsetAdc;
        _log.Warning("Tracker fault: APV {Apv} common-mode jump {Offset} ADC", _apvs[apv].Address.Name, offsetAdc);
    }

    /// <summary>Pipeline address mismatch: the APV's columns are one ahead of the others and the record is flagged.</summary>
    public void SetPipelineAddressMismatch(int apv, bool on)
    {
        CheckApv(apv);
        _apvs[apv].PipelineMismatch = on;
        _log.Warning("Tracker fault: APV {Apv} pipeline address mismatch = {On}", _apvs[apv].Address.Name, on);
    }

    /// <summary>Data skipped (format bit 5) on every APV of ADC <paramref name="adcId"/>: headers only.</summary>
    public void SetDataSkipped(int adcId, bool on)
    {
        if (!_apvs.Any(a => a.Address.AdcId == adcId))
            throw new ArgumentOutOfRangeException(nameof(adcId), adcId, string.Create(CultureInfo.InvariantCulture,
                $"no APV-ADC {adcId} in the tracker geometry"));
        if (on)
            _skippedAdcs.Add(adcId);
        else
            _skippedAdcs.Remove(adcId);
        _log.Warning("Tracker fault: ADC {Adc} data skipped = {On}", adcId, on);
    }

    // ---- simulation ----

    /// <summary>
    /// The tracker side of the event <paramref name="truth"/> from the physics generator. The returned object and its
    /// buffers belong to the simulator and are overwritten by the next call.
    /// </summary>
    public TrackerEvent Simulate(in EventTruth truth)
    {
        if (!(truth.BeamEnergyGeV > 0))
            throw new ArgumentOutOfRangeException(nameof(truth), truth.BeamEnergyGeV,
                string.Create(CultureInfo.InvariantCulture, $"EventTruth.BeamEnergyGeV = {truth.BeamEnergyGeV} must be > 0"));
        _random.Reset(TrackerRandom.Mix(_seed, truth.EventNumber));
        EventsSimulated++;
        _event.EventNumber = truth.EventNumber;
        _event.Time = truth.Time;
        var tracks = _event.TrackBuffer;
        tracks.Clear();
        var geometry = _options.Geometry;
        double bend = geometry.BendRad(truth.BeamEnergyGeV);
        tracks.Add(new TrackerTrack(false, truth.ImpactXMm, truth.ImpactYMm,
            geometry.DivergenceXMrad * 1e-3 * _random.NextGaussian(), geometry.DivergenceYMrad * 1e-3 * _random.NextGaussian(),
            bend, _options.Electronics.TimeJitterNs * _random.NextGaussian()));
        int pileUp = _random.NextPoisson(_options.PileUpTracksMean);
        for (int k = 0; k < pileUp; k++)
            tracks.Add(new TrackerTrack(true,
                _beam.BeamCentreXMm + _spotSigmaMm * _random.NextGaussian(),
                _beam.BeamCentreYMm + _spotSigmaMm * _random.NextGaussian(),
                geometry.DivergenceXMrad * 1e-3 * _random.NextGaussian(), geometry.DivergenceYMrad * 1e-3 * _random.NextGaussian(),
                bend, _options.PileUpWindowNs * (_random.NextDouble() - 0.5)));

        foreach (var a in _apvs)
            Array.Clear(a.Signal);
        foreach (var d in _detectors)
        {
            d.XTruth!.Buffer.Clear();
            d.YTruth!.Buffer.Clear();
            for (int t = 0; t < tracks.Count; t++)
                Cross(d, t, tracks[t]);
        }

        DigitizeAll(truth.Time);
        return _event;
    }

    /// <summary>
    /// A trigger with no beam (pedestal or random trigger): no track, every APV reads pedestal, noise and common mode
    /// only, with the same faults and on-board emulation as a beam event. Its random stream is apart from the beam
    /// events' (event n of a noise run does not repeat the noise of beam event n). Buffers as <see cref="Simulate"/>.
    /// </summary>
    public TrackerEvent SimulateNoise(long eventNumber, TimeSpan time)
    {
        _random.Reset(TrackerRandom.Mix(unchecked((long)TrackerRandom.Mix(_seed, -2)), eventNumber));
        EventsSimulated++;
        _event.EventNumber = eventNumber;
        _event.Time = time;
        _event.TrackBuffer.Clear();
        foreach (var a in _apvs)
            Array.Clear(a.Signal);
        foreach (var d in _detectors)
        {
            d.XTruth!.Buffer.Clear();
            d.YTruth!.Buffer.Clear();
        }
        DigitizeAll(time);
        return _event;
    }

    private void DigitizeAll(TimeSpan time)
    {
        long clocks = time.Ticks * 4; // 25 ns clock: 4 per 100 ns tick
        int column = (int)(((clocks - _options.Electronics.LatencyColumns) % ApvFacts.PipelineColumns + ApvFacts.PipelineColumns)
            % ApvFacts.PipelineColumns);
        foreach (var a in _apvs)
            Digitize(a, column);
    }

    private void Cross(DetectorState d, int trackIndex, TrackerTrack track)
    {
        var g = d.Geometry;
        double z = g.ZMm;
        double x = track.EcalXMm + track.SlopeX * z;
        double zm = _options.Geometry.MagnetZMm;
        if (z < zm)
            x = track.EcalXMm + track.SlopeX * zm + (track.SlopeX - track.BendRad) * (z - zm);
        double y = track.EcalYMm + track.SlopeY * z;

        var response = d.Response;
        bool detected = _random.NextDouble() < response.Efficiency;
        double chargeX = Math.Min(response.ChargeMaxAdc,
            Math.Max(0, LandauSampler.Sample(_random, response.ChargeMostProbableAdc, response.ChargeWidthAdc)));
        double chargeY = chargeX * Math.Max(0, response.YOverXChargeMean + response.YOverXChargeRms * _random.NextGaussian());
        Span<double> shape = stackalloc double[Frames];
        var e = _options.Electronics;
        for (int f = 0; f < Frames; f++)
            shape[f] = ApvPulseShape.Value(e.PeakingTimeNs + e.SampleOffsetNs + (f - 1) * e.FramePeriodNs - track.TimeNs, e.PeakingTimeNs);
        Deposit(d, g.X, d.CentreX, x, chargeX, detected, trackIndex, track, shape, d.XTruth!);
        Deposit(d, g.Y, d.CentreY, y, chargeY, detected, trackIndex, track, shape, d.YTruth!);
    }

    private void Deposit(DetectorState d, TrackerPlaneGeometry plane, double centre, double position, double charge, bool detected,
        int trackIndex, TrackerTrack track, ReadOnlySpan<double> shape, PlaneTruth truth)
    {
        double local = position - (centre - 0.5 * plane.WidthMm);
        double centreStrip = local / plane.PitchMm;
        bool inside = local >= 0 && local < plane.WidthMm;
        if (!inside || !detected)
        {
            truth.Buffer.Add(new PlaneHitTruth(trackIndex, track.PileUp, position, local, centreStrip, -1, -1,
                inside ? charge : 0, track.TimeNs, detected, inside));
            return;
        }
        double sigma = d.Response.LateralSigmaStrips;
        int first = Math.Max(0, (int)Math.Floor(centreStrip - 5 * sigma));
        int last = Math.Min(plane.Strips - 1, (int)Math.Floor(centreStrip + 5 * sigma));
        int firstHit = -1, lastHit = -1;
        for (int s = first; s <= last; s++)
        {
            double fraction = GaussianIntegral.Cdf((s + 1 - centreStrip) / sigma) - GaussianIntegral.Cdf((s - centreStrip) / sigma);
            double q = charge * fraction;
            if (q >= _options.TruthStripMinimumAdc)
            {
                if (firstHit < 0)
                    firstHit = s;
                lastHit = s;
            }
            ApvState apv;
            int channel;
            if (d.Geometry.Kind == TrackerKind.Micromegas)
            {
                apv = _apvs[d.FirstApv];
                channel = MicromegasApvChannel(plane.Axis, s);
            }
            else
            {
                apv = _apvs[d.FirstApv + (plane.Axis == StripAxis.Y ? 2 : 0) + s / Channels];
                channel = s % Channels;
            }
            for (int f = 0; f < Frames; f++)
                apv.Signal[f * Channels + channel] += q * shape[f];
        }
        truth.Buffer.Add(new PlaneHitTruth(trackIndex, track.PileUp, position, local, centreStrip, firstHit, lastHit, charge,
            track.TimeNs, true, true));
    }

    private void Digitize(ApvState a, int column)
    {
        var r = a.Readout;
        int c0 = a.PipelineMismatch ? (column + 1) % ApvFacts.PipelineColumns : column;
        r.Columns = new ApvPipeline(c0, (c0 + 1) % ApvFacts.PipelineColumns, (c0 + 2) % ApvFacts.PipelineColumns);
        r.PipelineAddressMismatch = a.PipelineMismatch;
        r.DataSkipped = _skippedAdcs.Contains(a.Address.AdcId);
        r.SparseBuffer.Clear();
        r.CommonMode = default;
        r.HasSparse = false;
        if (a.Dead)
        {
            r.Present = false;
            Array.Clear(r.Raw);
            Array.Clear(r.TrueCommonModeBuffer);
            return;
        }
        r.Present = true;
        double cmSigma = _options.Electronics.CommonModeSigmaAdc;
        ulong bits = 0;
        int bitsLeft = 0;
        for (int f = 0; f < Frames; f++)
        {
            double cm = cmSigma * _random.NextGaussian() + a.CommonModeJump;
            r.TrueCommonModeBuffer[f] = cm;
            int offset = f * Channels;
            for (int c = 0; c < Channels; c++)
            {
                double value;
                if (a.DeadChannel[c])
                    value = a.Pedestal[c];
                else
                {
                    if (bitsLeft == 0)
                    {
                        bits = _random.NextULong();
                        bitsLeft = 4;
                    }
                    double noise = _normal[(int)(bits & 0xFFFF)];
                    bits >>= 16;
                    bitsLeft--;
                    value = a.Pedestal[c] + cm + a.Sigma[c] * noise + a.Signal[offset + c];
                }
                r.Raw[offset + c] = (ushort)Math.Clamp(Math.Round(value), 0, ApvFacts.MaxAmplitude);
            }
        }
        if (r.DataSkipped || !a.Processor.HasTable)
        {
            r.HasSparse = r.DataSkipped;
            return;
        }
        r.CommonMode = a.Processor.Process(r.Raw, r.SparseBuffer);
        r.HasSparse = true;
    }

    private double NominalX(double z, double bend)
        => z < _options.Geometry.MagnetZMm ? _beam.BeamCentreXMm - bend * (z - _options.Geometry.MagnetZMm) : _beam.BeamCentreXMm;

    private ApvState NewApv(ApvAddress address, ApvOnBoardOptions onBoard, TrackerRandom random)
    {
        var e = _options.Electronics;
        var state = new ApvState(address, new ApvOnBoardProcessor(onBoard));
        for (int c = 0; c < Channels; c++)
        {
            double pedestal = e.PedestalMinAdc + (e.PedestalMaxAdc - e.PedestalMinAdc) * random.NextDouble();
            double sigma = e.NoiseSigmaMinAdc + (e.NoiseSigmaMaxAdc - e.NoiseSigmaMinAdc) * random.NextDouble();
            state.Pedestal[c] = e.PedestalMap?.Invoke(address, c) ?? pedestal;
            state.Sigma[c] = e.NoiseMap?.Invoke(address, c) ?? sigma;
            TrackerOptions.Between($"PedestalMap({address.Name}, {c})", state.Pedestal[c], 0, ApvFacts.MaxAmplitude);
            TrackerOptions.NotNegative($"NoiseMap({address.Name}, {c})", state.Sigma[c]);
        }
        return state;
    }

    private void CheckApv(int apv)
    {
        if (apv < 0 || apv >= _apvs.Length)
            throw new ArgumentOutOfRangeException(nameof(apv), apv, string.Create(CultureInfo.InvariantCulture,
                $"APV index {apv} must be within 0..{_apvs.Length - 1}"));
    }

    private static void CheckChannel(int channel)
    {
        if (channel is < 0 or >= Channels)
            throw new ArgumentOutOfRangeException(nameof(channel), channel, string.Create(CultureInfo.InvariantCulture,
                $"physical channel {channel} must be within 0..{Channels - 1}"));
    }

    private sealed class DetectorState(TrackerDetectorGeometry geometry, double centreX, double centreY, int firstApv, TrackerResponse response)
    {
        public TrackerDetectorGeometry Geometry { get; } = geometry;
        public double CentreX { get; } = centreX;
        public double CentreY { get; } = centreY;
        public int FirstApv { get; } = firstApv;
        public TrackerResponse Response { get; } = response;
        public PlaneTruth? XTruth { get; set; }
        public PlaneTruth? YTruth { get; set; }
    }

    private sealed class ApvState(ApvAddress address, ApvOnBoardProcessor processor)
    {
        public ApvAddress Address { get; } = address;
        public ApvOnBoardProcessor Processor { get; } = processor;
        public ApvReadout Readout { get; } = new(address);
        public double[] Pedestal { get; } = new double[Channels];
        public double[] Sigma { get; } = new double[Channels];
        public bool[] DeadChannel { get; } = new bool[Channels];
        public double[] Signal { get; } = new double[Frames * Channels];
        public bool Dead { get; set; }
        public bool PipelineMismatch { get; set; }
        public double CommonModeJump { get; set; }
    }
}
