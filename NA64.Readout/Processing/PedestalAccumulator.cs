using Serilog;

namespace NA64.Readout.Processing;

public sealed record PedestalOptions
{
    /// <summary>Clipping half-width of the iterative mean/σ, in σ.</summary>
    public double ClipSigma { get; init; } = 3.0;
    public int MaxIterations { get; init; } = 20;
    /// <summary>σ at or below this (ADC) marks a path dead.</summary>
    public double DeadSigma { get; init; } = 0.2;
    /// <summary>Fraction of a path's samples at 0 or at the overflow value that marks it dead (stuck).</summary>
    public double StuckFraction { get; init; } = 0.5;
    /// <summary>k: a channel is noisy if its σ exceeds k × the median σ of the live channels.</summary>
    public double NoisyFactor { get; init; } = 3.0;
    /// <summary>ADC overflow value (12-bit MSADC).</summary>
    public int Overflow { get; init; } = 4095;
}

/// <summary>
/// Accumulates latch-all events of a pedestal run (no beam) and estimates per channel and per ADC path
/// (even/odd samples) a robust mean and σ.
/// <para>Storage: a 4096-bin histogram per path (32 KiB per channel), filled exactly since samples are
/// 12-bit, so the estimate is independent of event count and order.</para>
/// <para>Estimator: iterative σ clipping seeded by the median and 1.4826·MAD; each step takes mean and
/// RMS of the bins within ±<see cref="PedestalOptions.ClipSigma"/>·σ and corrects the RMS for the
/// truncation of a Gaussian at that width. The clipped mean keeps the statistical precision of a mean
/// (σ/√n, a median of integer samples would be quantised) while ignoring pile-up and spikes.</para>
/// </summary>
public sealed class PedestalAccumulator
{
    private const int Bins = 4096;
    private readonly int[]?[] _histograms; // per channel: [0..4096) even path, [4096..8192) odd path
    private readonly PedestalOptions _options;
    private readonly ILogger _log;

    public PedestalAccumulator(int channelCount, PedestalOptions? options = null, ILogger? log = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(channelCount);
        _options = options ?? new PedestalOptions();
        if (!(_options.ClipSigma >= 1.0))
            throw new ArgumentOutOfRangeException(nameof(options), _options.ClipSigma, "ClipSigma must be >= 1");
        if (_options.MaxIterations < 1)
            throw new ArgumentOutOfRangeException(nameof(options), _options.MaxIterations, "MaxIterations must be >= 1");
        if (_options.Overflow < 1 || _options.Overflow >= Bins)
            throw new ArgumentOutOfRangeException(nameof(options), _options.Overflow, $"Overflow must be 1..{Bins - 1}");
        _histograms = new int[channelCount][];
        _log = log ?? Serilog.Core.Logger.None;
    }

    public int ChannelCount => _histograms.Length;
    /// <summary>Blocks added with <see cref="Add(MsadcBlock)"/> (single-channel adds are not events).</summary>
    public long Events { get; private set; }

    /// <summary>Adds one channel's samples of one latch-all event. Sample k is even path when k is even.</summary>
    public void Add(int channel, ReadOnlySpan<short> samples)
    {
        if ((uint)channel >= (uint)_histograms.Length)
            throw new ArgumentOutOfRangeException(nameof(channel), channel, $"channel must be 0..{_histograms.Length - 1}");
        // Check first so a bad sample rejects the whole call and nothing is half-counted.
        for (int k = 0; k < samples.Length; k++)
        {
            if ((uint)samples[k] >= Bins)
                throw new ArgumentOutOfRangeException(nameof(samples), samples[k],
                    $"channel {channel} sample {k} = {samples[k]} is outside the 12-bit range 0..4095");
        }
        var h = _histograms[channel] ??= new int[2 * Bins];
        for (int k = 0; k < samples.Length; k++)
            h[((k & 1) * Bins) + samples[k]]++;
    }

    /// <summary>Adds every channel of a latch-all block (one event).</summary>
    public void Add(MsadcBlock block)
    {
        if (block.ChannelCount != _histograms.Length)
            throw new ArgumentException($"block has {block.ChannelCount} channels, the accumulator {_histograms.Length}", nameof(block));
        for (int c = 0; c < block.ChannelCount; c++)
        {
            var s = block.Channel(c);
            for (int k = 0; k < s.Length; k++)
            {
                if ((uint)s[k] >= Bins)
                    throw new ArgumentOutOfRangeException(nameof(block), s[k],
                        $"channel {c} sample {k} = {s[k]} is outside the 12-bit range 0..4095");
            }
        }
        for (int c = 0; c < block.ChannelCount; c++)
            Add(c, block.Channel(c));
        Events++;
    }

    public PedestalTable Build()
    {
        var result = new ChannelPedestal[_histograms.Length];
        for (int c = 0; c < result.Length; c++)
        {
            var h = _histograms[c];
            if (h is null)
            {
                result[c] = new ChannelPedestal(double.NaN, double.NaN, double.NaN, double.NaN, 0, 0, PedestalFlags.NoData);
                continue;
            }
            var even = Estimate(h.AsSpan(0, Bins));
            var odd = Estimate(h.AsSpan(Bins, Bins));
            var flags = even.Flags | odd.Flags;
            result[c] = new ChannelPedestal(even.Mean, odd.Mean, even.Sigma, odd.Sigma, even.Entries, odd.Entries, flags);
        }

        var live = result.Where(p => (p.Flags & (PedestalFlags.Dead | PedestalFlags.NoData)) == 0)
            .Select(p => p.Sigma).Order().ToArray();
        double median = live.Length == 0 ? double.NaN
            : live.Length % 2 == 1 ? live[live.Length / 2] : 0.5 * (live[live.Length / 2 - 1] + live[live.Length / 2]);
        int dead = 0, noisy = 0;
        for (int c = 0; c < result.Length; c++)
        {
            var p = result[c];
            if ((p.Flags & (PedestalFlags.Dead | PedestalFlags.NoData)) == 0 && p.Sigma > _options.NoisyFactor * median)
            {
                result[c] = p with { Flags = p.Flags | PedestalFlags.Noisy };
                noisy++;
                _log.Warning("Pedestal channel {Channel} noisy: sigma {Sigma} > {Factor} x median {Median}", c, p.Sigma, _options.NoisyFactor, median);
            }
            else if ((p.Flags & PedestalFlags.Dead) != 0)
            {
                dead++;
                _log.Warning("Pedestal channel {Channel} dead: sigma even {SigmaEven} odd {SigmaOdd}, pedestal even {PedestalEven} odd {PedestalOdd}",
                    c, p.SigmaEven, p.SigmaOdd, p.PedestalEven, p.PedestalOdd);
            }
        }
        _log.Information("Pedestal table built from {Events} events: {Channels} channels, median sigma {Median}, {Dead} dead, {Noisy} noisy",
            Events, result.Length, median, dead, noisy);
        return new PedestalTable(result);
    }

    private (double Mean, double Sigma, long Entries, PedestalFlags Flags) Estimate(ReadOnlySpan<int> h)
    {
        long n = 0;
        for (int i = 0; i < Bins; i++) n += h[i];
        if (n == 0) return (double.NaN, double.NaN, 0, PedestalFlags.NoData);

        // Seed: median and 1.4826·MAD, robust against any tail.
        long half = (n + 1) / 2;
        int median = 0;
        for (long cum = 0; median < Bins; median++)
        {
            cum += h[median];
            if (cum >= half) break;
        }
        int mad = 0;
        for (long cum = h[median]; cum < half; )
        {
            mad++;
            if (median - mad >= 0) cum += h[median - mad];
            if (median + mad < Bins) cum += h[median + mad];
        }
        double mean = median;
        double sigma = 1.4826 * mad;
        double k = _options.ClipSigma;
        for (int iter = 0; iter < _options.MaxIterations; iter++)
        {
            // Window at least ±1 bin so an all-in-one-bin path still gives mean = that bin, σ = 0.
            // Bin i stands for [i − 0.5, i + 0.5); edge bins count with the fraction inside the window,
            // so the window stays symmetric about the mean and the clipped mean is not pulled towards
            // the nearer integer edge.
            double width = Math.Max(k * sigma, 1.0);
            double from = mean - width, to = mean + width;
            int lo = Math.Max(0, (int)Math.Floor(from + 0.5));
            int hi = Math.Min(Bins - 1, (int)Math.Floor(to + 0.5));
            double m = 0, sum = 0, sum2 = 0;
            for (int i = lo; i <= hi; i++)
            {
                double w = Math.Min(i + 0.5, to) - Math.Max(i - 0.5, from);
                if (w <= 0) continue;
                m += w * h[i];
                sum += w * h[i] * i;
            }
            if (m <= 0) break;
            double newMean = sum / m;
            for (int i = lo; i <= hi; i++)
            {
                double w = Math.Min(i + 0.5, to) - Math.Max(i - 0.5, from);
                if (w <= 0) continue;
                double d = i - newMean;
                sum2 += w * h[i] * d * d;
            }
            double rms = m > 1 ? Math.Sqrt(sum2 / (m - 1)) : 0.0;
            double newSigma = rms > 0 ? rms / TruncationFactor(width / rms) : 0.0;
            bool converged = Math.Abs(newMean - mean) < 1e-9 && Math.Abs(newSigma - sigma) < 1e-9;
            mean = newMean;
            sigma = newSigma;
            if (converged) break;
        }

        var flags = PedestalFlags.None;
        double stuck = Math.Max(h[0], h[_options.Overflow]) / (double)n;
        if (sigma <= _options.DeadSigma || stuck >= _options.StuckFraction)
            flags |= PedestalFlags.Dead;
        return (mean, sigma, n, flags);
    }

    /// <summary>σ of a Gaussian truncated at ±x σ, relative to the untruncated σ. x is the measured
    /// half-width in units of the truncated RMS, so one fixed-point step converts it first.</summary>
    private static double TruncationFactor(double xInRms)
    {
        if (xInRms >= 8) return 1.0;
        double f = 1.0;
        for (int i = 0; i < 4; i++)
        {
            double x = xInRms * f; // half-width in units of the true σ
            double phi = Math.Exp(-0.5 * x * x) / Math.Sqrt(2 * Math.PI);
            double inside = Erf(x / Math.Sqrt(2));
            double variance = 1 - 2 * x * phi / inside;
            f = Math.Sqrt(Math.Max(variance, 1e-6));
        }
        return f;
    }

    /// <summary>Abramowitz–Stegun 7.1.26, |error| &lt; 1.5e-7, ample for a 1 % correction.</summary>
    private static double Erf(double x)
    {
        double t = 1.0 / (1.0 + 0.3275911 * x);
        double poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
        return 1.0 - poly * Math.Exp(-x * x);
    }
}
