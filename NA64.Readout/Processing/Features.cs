namespace NA64.Readout.Processing;

/// <summary>Quantity that the per-channel calibration constant multiplies.</summary>
public enum EnergyQuantity
{
    Amplitude,
    Integral,
}

public sealed record FeatureOptions
{
    /// <summary>First sample of the peak search (10 in NA64).</summary>
    public int PeakSearchStart { get; init; } = 10;
    /// <summary>12.5 ns (thesis) or 12.86 ns (CORAL): uncertain, so configurable.</summary>
    public double SamplePeriodNs { get; init; } = 12.5;
    public int IntegralStart { get; init; }
    /// <summary>Samples in the integral; past the end of the channel it stops at the last sample.</summary>
    public int IntegralLength { get; init; } = int.MaxValue;
    public EnergyQuantity EnergyFrom { get; init; } = EnergyQuantity.Amplitude;
    /// <summary>NA64 clips negative baseline-subtracted samples to 0 before peak search and sums.</summary>
    public bool ClipNegative { get; init; } = true;
}

/// <summary>Monitoring features of one kept channel. Times are from the first sample of the window.</summary>
public readonly record struct ChannelFeatures(
    int Channel,
    double Amplitude,
    int PeakSample,
    double HalfHeightTimeNs,
    double Integral,
    double Energy,
    ZsChannelFlags Flags);

public enum CalorimeterKind : byte
{
    None,
    Ecal,
    Hcal,
}

public readonly record struct CalorimeterSums(double Ecal, double Hcal);

/// <summary>
/// NA64-style waveform features (na64-setup.md 7.3) on baseline-subtracted samples: amplitude = maximum
/// from <see cref="FeatureOptions.PeakSearchStart"/> on, the half-height time by linear interpolation on
/// the rising edge, the integral, and energy = calibration × amplitude (or integral).
/// Scalar: it runs only on channels the zero suppressor kept.
/// </summary>
public sealed class FeatureExtractor
{
    private readonly FeatureOptions _options;
    private readonly double[]? _calibration;

    /// <param name="calibration">Energy per ADC count (amplitude or integral) per channel; null = 1 for every channel.</param>
    public FeatureExtractor(FeatureOptions? options = null, ReadOnlySpan<double> calibration = default)
    {
        _options = options ?? new FeatureOptions();
        if (_options.PeakSearchStart < 0)
            throw new ArgumentOutOfRangeException(nameof(options), _options.PeakSearchStart, "PeakSearchStart must be >= 0");
        if (!(_options.SamplePeriodNs > 0) || !double.IsFinite(_options.SamplePeriodNs))
            throw new ArgumentOutOfRangeException(nameof(options), _options.SamplePeriodNs, "SamplePeriodNs must be a finite number > 0");
        if (_options.IntegralStart < 0 || _options.IntegralLength < 1)
            throw new ArgumentOutOfRangeException(nameof(options), (_options.IntegralStart, _options.IntegralLength),
                "IntegralStart must be >= 0 and IntegralLength >= 1");
        _calibration = calibration.IsEmpty ? null : calibration.ToArray();
    }

    public FeatureOptions Options => _options;

    /// <param name="samples">Samples minus the pedestal (e.g. <see cref="ZsChannel.Samples"/>).</param>
    /// <param name="baselineEven">Residual baseline of the even path still to subtract (0 after table subtraction).</param>
    /// <param name="baselineOdd">Residual baseline of the odd path still to subtract.</param>
    public ChannelFeatures Extract(int channel, ReadOnlySpan<short> samples, double baselineEven = 0, double baselineOdd = 0,
        ZsChannelFlags flags = ZsChannelFlags.None)
    {
        int start = _options.PeakSearchStart;
        if (start >= samples.Length)
            throw new ArgumentException($"channel {channel} has {samples.Length} samples, PeakSearchStart is {start}", nameof(samples));
        double calibration = 1.0;
        if (_calibration is not null)
        {
            if ((uint)channel >= (uint)_calibration.Length)
                throw new ArgumentOutOfRangeException(nameof(channel), channel, $"no calibration constant: channel must be 0..{_calibration.Length - 1}");
            calibration = _calibration[channel];
        }

        int peak = start;
        double amplitude = Value(samples, start, baselineEven, baselineOdd);
        for (int k = start + 1; k < samples.Length; k++)
        {
            double v = Value(samples, k, baselineEven, baselineOdd);
            if (v > amplitude)
            {
                amplitude = v;
                peak = k;
            }
        }

        double time = double.NaN;
        if (amplitude > 0)
        {
            double half = 0.5 * amplitude;
            for (int k = peak - 1; k >= 0; k--)
            {
                double v = Value(samples, k, baselineEven, baselineOdd);
                if (v < half)
                {
                    double next = Value(samples, k + 1, baselineEven, baselineOdd);
                    time = (k + (half - v) / (next - v)) * _options.SamplePeriodNs;
                    break;
                }
            }
        }

        double integral = 0;
        int end = (int)Math.Min((long)_options.IntegralStart + _options.IntegralLength, samples.Length);
        for (int k = _options.IntegralStart; k < end; k++)
            integral += Value(samples, k, baselineEven, baselineOdd);

        double energy = calibration * (_options.EnergyFrom == EnergyQuantity.Amplitude ? amplitude : integral);
        return new ChannelFeatures(channel, amplitude, peak, time, integral, energy, flags);
    }

    /// <summary>Features of every kept channel of a zero-suppressed block; returns how many were written.</summary>
    public int ExtractAll(ZsOutputReader output, Span<ChannelFeatures> destination)
    {
        if (destination.Length < output.KeptCount)
            throw new ArgumentException($"destination holds {destination.Length} features, the block kept {output.KeptCount} channels", nameof(destination));
        for (int i = 0; i < output.KeptCount; i++)
        {
            var ch = output[i];
            destination[i] = Extract(ch.Channel, ch.Samples, 0, 0, ch.Flags);
        }
        return output.KeptCount;
    }

    /// <summary>ECAL and HCAL energy sums of one event; <paramref name="channelMap"/> gives each channel's calorimeter.</summary>
    public static CalorimeterSums SumEnergies(ReadOnlySpan<ChannelFeatures> features, ReadOnlySpan<CalorimeterKind> channelMap)
    {
        double ecal = 0, hcal = 0;
        foreach (var f in features)
        {
            if ((uint)f.Channel >= (uint)channelMap.Length)
                throw new ArgumentOutOfRangeException(nameof(channelMap), f.Channel, $"channel {f.Channel} is not in the detector map of {channelMap.Length} channels");
            switch (channelMap[f.Channel])
            {
                case CalorimeterKind.Ecal: ecal += f.Energy; break;
                case CalorimeterKind.Hcal: hcal += f.Energy; break;
            }
        }
        return new CalorimeterSums(ecal, hcal);
    }

    private double Value(ReadOnlySpan<short> samples, int k, double baselineEven, double baselineOdd)
    {
        double v = samples[k] - ((k & 1) == 0 ? baselineEven : baselineOdd);
        return _options.ClipNegative && v < 0 ? 0 : v;
    }
}
