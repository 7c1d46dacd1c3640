using Serilog;

namespace NA64.Readout.Processing.Apv;

public sealed record ApvPedestalOptions
{
    public RobustEstimator Estimator { get; init; } = RobustEstimator.ClippedMean;
    /// <summary>Clipping half-width of the iterated mean/σ, in σ.</summary>
    public double ClipSigma { get; init; } = 3.0;
    public int MaxIterations { get; init; } = 20;
    /// <summary>σ at or below this (ADC counts), raw or after the common mode, marks a channel dead. Rounding to whole
    /// counts alone gives ≈ 0.3, so "σ ≈ 0" is taken as below half a count.</summary>
    public double DeadSigma { get; init; } = 0.5;
    /// <summary>Fraction of a channel's samples at 0 or at 1023 that marks it dead (stuck).</summary>
    public double StuckFraction { get; init; } = 0.5;
    /// <summary>k: a channel is noisy if its σ exceeds k × the median σ of the live channels of its APV.</summary>
    public double NoisyFactor { get; init; } = 3.0;
    /// <summary>σ is taken after subtracting each event's common mode found with this method (what the zero suppression
    /// compares with); <see cref="CommonModeMethod.None"/> takes σ of the raw samples.</summary>
    public CommonModeMethod CommonMode { get; init; } = CommonModeMethod.TruncatedMean;
    /// <summary>k_cm of the common mode during the run, on the raw σ.</summary>
    public double CommonModeCut { get; init; } = 3.0;
    public int MinChannels { get; init; } = 32;
    /// <summary>Events kept in memory for the common-mode pass (768 bytes per APV each); later events still count in
    /// the pedestals.</summary>
    public int MaxStoredEvents { get; init; } = 10_000;
}

/// <summary>
/// Builds an <see cref="ApvPedestalTable"/> from the latch-all events of a pedestal run (no beam).
/// <para>Pass 1 (while adding): one exact 1024-bin histogram of the raw amplitudes per channel over all 3 frames, so the
/// pedestal (robust mean, <see cref="RobustEstimator"/>) does not depend on event order. Pass 2 (at <see cref="Build"/>):
/// the stored events are replayed through the common-mode estimator with the pass-1 pedestals, and σ is estimated on
/// the residuals raw − pedestal − CM in quarter counts: the noise the zero suppression actually sees. A channel is dead
/// if either σ is ≈ 0: a stuck channel has no raw σ but its residual moves with the common mode; a channel with no
/// strip behind it may follow the common mode and have no residual σ.</para>
/// </summary>
public sealed class ApvPedestalAccumulator
{
    private const int N = ApvLayout.ChannelsPerApv;
    private const int RawBins = ApvLayout.MaxAmplitude + 1;
    private const int ResidualHalfRange = 1024; // quarter counts: ±256 ADC, wider residuals land in the edge bins
    private readonly int _apvCount;
    private readonly ApvPedestalOptions _options;
    private readonly ILogger _log;
    private readonly int[] _raw;
    private short[] _stored = [];
    private int _storedEvents;

    public ApvPedestalAccumulator(int apvCount, ApvPedestalOptions? options = null, ILogger? log = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(apvCount);
        _options = options ?? new ApvPedestalOptions();
        if (!(_options.ClipSigma >= 1.0))
            throw new ArgumentOutOfRangeException(nameof(options), _options.ClipSigma, $"ClipSigma = {_options.ClipSigma}, must be >= 1");
        if (_options.MaxIterations < 1)
            throw new ArgumentOutOfRangeException(nameof(options), _options.MaxIterations, $"MaxIterations = {_options.MaxIterations}, must be >= 1");
        if (!(_options.NoisyFactor > 1.0))
            throw new ArgumentOutOfRangeException(nameof(options), _options.NoisyFactor, $"NoisyFactor = {_options.NoisyFactor}, must be > 1");
        if (_options.MaxStoredEvents < 0)
            throw new ArgumentOutOfRangeException(nameof(options), _options.MaxStoredEvents, $"MaxStoredEvents = {_options.MaxStoredEvents}, must be >= 0");
        _apvCount = apvCount;
        _raw = new int[apvCount * N * RawBins];
        _log = log ?? Serilog.Core.Logger.None;
    }

    public int ApvCount => _apvCount;
    public long Events { get; private set; }

    /// <summary>Adds one latch-all event of all APVs. A sample outside 0..1023 rejects the whole event (nothing counted).</summary>
    public void Add(ApvBlock block)
    {
        if (block.ApvCount != _apvCount)
            throw new ArgumentException($"block has {block.ApvCount} APVs, the accumulator {_apvCount}", nameof(block));
        var s = block.Samples;
        for (int i = 0; i < s.Length; i++)
        {
            if ((uint)s[i] > ApvLayout.MaxAmplitude)
            {
                int apv = i / ApvLayout.SamplesPerApv, frame = i / N % ApvLayout.Frames, channel = i % N;
                throw new ArgumentOutOfRangeException(nameof(block), s[i],
                    $"APV {apv} frame {frame} channel {channel}: amplitude {s[i]} is outside the 10-bit range 0..{ApvLayout.MaxAmplitude}");
            }
        }
        for (int i = 0; i < s.Length; i++)
        {
            int channel = i / ApvLayout.SamplesPerApv * N + i % N;
            _raw[channel * RawBins + s[i]]++;
        }
        if (_options.CommonMode != CommonModeMethod.None && _storedEvents < _options.MaxStoredEvents)
        {
            int need = (_storedEvents + 1) * s.Length;
            if (_stored.Length < need)
                Array.Resize(ref _stored, Math.Max(need, Math.Min(2 * _stored.Length, _options.MaxStoredEvents * s.Length)));
            s.CopyTo(_stored.AsSpan(_storedEvents * s.Length));
            _storedEvents++;
        }
        Events++;
    }

    public ApvPedestalTable Build()
    {
        int channels = _apvCount * N;
        var mean = new double[channels];
        var rawSigma = new double[channels];
        var flags = new ApvChannelFlags[channels];
        for (int c = 0; c < channels; c++)
        {
            var h = _raw.AsSpan(c * RawBins, RawBins);
            var (m, s, n) = HistogramEstimator.Estimate(h, _options.Estimator, _options.ClipSigma, _options.MaxIterations);
            mean[c] = m;
            rawSigma[c] = s;
            if (n == 0) flags[c] = ApvChannelFlags.NoData;
            else if (s <= _options.DeadSigma || Math.Max(h[0], h[RawBins - 1]) >= _options.StuckFraction * n)
                flags[c] = ApvChannelFlags.Dead;
        }

        var sigma = (double[])rawSigma.Clone();
        if (_options.CommonMode != CommonModeMethod.None && _storedEvents > 0)
            ResidualSigma(mean, rawSigma, flags, sigma);

        int dead = 0, noisy = 0;
        for (int apv = 0; apv < _apvCount; apv++)
        {
            var live = Enumerable.Range(apv * N, N).Where(c => flags[c] == ApvChannelFlags.None).Select(c => sigma[c]).Order().ToArray();
            double median = live.Length == 0 ? double.NaN
                : live.Length % 2 == 1 ? live[live.Length / 2] : 0.5 * (live[live.Length / 2 - 1] + live[live.Length / 2]);
            for (int c = apv * N; c < (apv + 1) * N; c++)
            {
                if (flags[c] == ApvChannelFlags.None && sigma[c] > _options.NoisyFactor * median)
                {
                    flags[c] |= ApvChannelFlags.Noisy;
                    noisy++;
                    _log.Warning("APV {Apv} channel {Channel} noisy: sigma {Sigma} > {Factor} x median {Median}", apv, c - apv * N, sigma[c], _options.NoisyFactor, median);
                }
                else if ((flags[c] & ApvChannelFlags.Dead) != 0)
                {
                    dead++;
                    _log.Warning("APV {Apv} channel {Channel} dead: raw sigma {Sigma}, pedestal {Pedestal}", apv, c - apv * N, rawSigma[c], mean[c]);
                }
            }
        }
        _log.Information("APV pedestal table built from {Events} events ({Stored} replayed for the common mode): {Apvs} APVs, {Dead} dead, {Noisy} noisy channels",
            Events, _storedEvents, _apvCount, dead, noisy);

        var result = new ApvChannelPedestal[channels];
        for (int c = 0; c < channels; c++)
            result[c] = new ApvChannelPedestal(ToQ2(mean[c]), ToQ2(sigma[c]), flags[c]);
        return new ApvPedestalTable(result);
    }

    private static short ToQ2(double value) =>
        double.IsFinite(value)
            ? (short)Math.Clamp(Math.Round(value * ApvLayout.Scale, MidpointRounding.AwayFromZero), 0, ApvLayout.MaxAmplitude * ApvLayout.Scale)
            : (short)0;

    /// <summary>Pass 2: replays the stored events through the processor's common mode (nothing kept: every threshold
    /// masked) and estimates σ of raw × 4 − pedestal − CM per channel, in quarter counts.</summary>
    private void ResidualSigma(double[] mean, double[] rawSigma, ApvChannelFlags[] flags, double[] sigma)
    {
        int channels = mean.Length;
        var ped = new short[channels];
        var cut = new short[channels];
        var thr = new short[channels];
        var usable = new bool[channels];
        for (int c = 0; c < channels; c++)
        {
            ped[c] = ToQ2(mean[c]);
            cut[c] = (short)Math.Clamp(Math.Round(_options.CommonModeCut * rawSigma[c] * ApvLayout.Scale), 0, short.MaxValue);
            thr[c] = ApvProcessingTable.Masked;
            usable[c] = flags[c] == ApvChannelFlags.None;
        }
        var processor = new ApvProcessor(new ApvProcessingTable(ped, thr, cut, usable),
            new ApvProcessingOptions { CommonMode = _options.CommonMode, MinChannels = _options.MinChannels });
        var hits = new ApvKeptChannel[processor.MaxHits];
        var chips = new ApvChipResult[_apvCount];
        const int bins = 2 * ResidualHalfRange + 1;
        var residual = new int[channels * bins];
        int eventLength = _apvCount * ApvLayout.SamplesPerApv;
        for (int e = 0; e < _storedEvents; e++)
        {
            var samples = _stored.AsSpan(e * eventLength, eventLength);
            processor.Process(new ApvBlock(samples), hits, chips);
            for (int apv = 0; apv < _apvCount; apv++)
            {
                for (int f = 0; f < ApvLayout.Frames; f++)
                {
                    int cm = chips[apv].CommonMode(f);
                    var frame = samples.Slice(ApvLayout.Index(apv, f, 0), N);
                    for (int ch = 0; ch < N; ch++)
                    {
                        int c = apv * N + ch;
                        // A raw count stands for [raw − ½, raw + ½): spread it over the 4 quarter bins it covers
                        // (weights ½ 1 1 1 ½, doubled to stay integer), as the raw histogram's interpolation does, so a
                        // residual on the 4-spaced lattice of whole counts does not quantise the median and the MAD.
                        int r = frame[ch] * ApvLayout.Scale - ped[c] - cm + ResidualHalfRange;
                        for (int k = -2; k <= 2; k++)
                            residual[c * bins + Math.Clamp(r + k, 0, bins - 1)] += k is -2 or 2 ? 1 : 2;
                    }
                }
            }
        }
        for (int c = 0; c < channels; c++)
        {
            if (flags[c] != ApvChannelFlags.None) continue;
            var (_, s, _) = HistogramEstimator.Estimate(residual.AsSpan(c * bins, bins), _options.Estimator, _options.ClipSigma, _options.MaxIterations);
            sigma[c] = s / ApvLayout.Scale;
            // A channel without its own noise that only follows the chip's common mode (no strip behind it).
            if (sigma[c] <= _options.DeadSigma) flags[c] = ApvChannelFlags.Dead;
        }
    }
}
