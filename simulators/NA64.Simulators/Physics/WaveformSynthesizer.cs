using System.Globalization;
using System.Runtime.CompilerServices;

namespace NA64.Simulators.Physics;

/// <summary>Truth of one channel's digitisation: the two ADC paths' pedestals, noise and gain.</summary>
public readonly record struct ChannelCalibration(double PedestalEven, double PedestalOdd, double NoiseRms, double GainAdcPerGeV);

/// <summary>
/// Turns energy deposits into MSADC samples: pulses from the template (amplitude = energy × gain) summed in a float
/// accumulator, then even/odd pedestal + Gaussian noise, rounded and clipped to the 12-bit range (4095 = saturated).
/// Writes into a caller-owned block laid out [channel][sample]; nothing is allocated per event.
/// The event's pulses are also kept as a list, so a module whose readout latency puts its window earlier or later than
/// the nominal one can be rendered on its own (<see cref="RenderWindow"/>).
/// </summary>
public sealed class WaveformSynthesizer
{
    public const short MaxAdc = 4095;
    public const double NegligibleAmplitudeAdc = 0.05;

    private readonly PulseTemplate _template;
    private readonly ChannelCalibration[] _calibration;
    private readonly float[] _accumulator;
    private readonly Random _random;
    private readonly float[] _noiseTable;
    // Per channel a chain through _pulses in the order added (the order the accumulator sums them): first and last index, -1 none.
    private readonly int[] _firstPulse;
    private readonly int[] _lastPulse;
    private Pulse[] _pulses = new Pulse[256];
    private int _pulseCount;
    private ulong _noiseState;
    private double _spareGaussian;
    private bool _hasSpare;

    public WaveformSynthesizer(int channels, int samplesPerChannel, double samplePeriodNs, PulseTemplate template,
        IReadOnlyList<ChannelCalibration> calibration, Random random)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(channels);
        if (samplesPerChannel is < 1 or > 511)
            throw new ArgumentOutOfRangeException(nameof(samplesPerChannel), samplesPerChannel,
                "samples per channel must be 1..511 (9-bit field of SADC format 3)");
        if (!(samplePeriodNs > 0))
            throw new ArgumentOutOfRangeException(nameof(samplePeriodNs), samplePeriodNs, "sample period must be > 0 ns");
        ArgumentNullException.ThrowIfNull(template);
        ArgumentNullException.ThrowIfNull(calibration);
        if (calibration.Count != channels)
            throw new ArgumentOutOfRangeException(nameof(calibration), calibration.Count,
                string.Create(CultureInfo.InvariantCulture, $"calibration has {calibration.Count} entries for {channels} channels"));
        Channels = channels;
        SamplesPerChannel = samplesPerChannel;
        SamplePeriodNs = samplePeriodNs;
        _template = template;
        _calibration = [.. calibration];
        _accumulator = new float[channels * samplesPerChannel];
        _firstPulse = new int[channels];
        _lastPulse = new int[channels];
        Array.Fill(_firstPulse, -1);
        _random = random ?? throw new ArgumentNullException(nameof(random));
        // Pedestal noise is the hot loop (channels × samples deviates per event): draw from a table of exact
        // normal deviates with a cheap xorshift index instead of a log and a square root per sample.
        _noiseTable = new float[NoiseTableSize];
        for (int i = 0; i < _noiseTable.Length; i++)
            _noiseTable[i] = (float)NextGaussian();
        _noiseState = (ulong)_random.NextInt64() | 1UL;
    }

    private const int NoiseTableSize = 1 << 16;

    public int Channels { get; }
    public int SamplesPerChannel { get; }
    public double SamplePeriodNs { get; }
    public int BlockLength => _accumulator.Length;
    public PulseTemplate Template => _template;
    public IReadOnlyList<ChannelCalibration> Calibration => _calibration;

    public void SetCalibration(int channel, ChannelCalibration calibration) => _calibration[channel] = calibration;

    /// <summary>Starts a new event: no pulses.</summary>
    public void Clear()
    {
        Array.Clear(_accumulator);
        Array.Fill(_firstPulse, -1);
        _pulseCount = 0;
    }

    /// <summary>Pulses of the current event (since <see cref="Clear"/>).</summary>
    public int PulseCount => _pulseCount;

    /// <summary>Adds a pulse of <paramref name="energyGeV"/> × gain ADC counts starting <paramref name="onsetNs"/> after the window start.</summary>
    public void AddEnergy(int channel, double energyGeV, double onsetNs) =>
        AddPulse(channel, energyGeV * _calibration[channel].GainAdcPerGeV, onsetNs);

    public void AddPulse(int channel, double amplitudeAdc, double onsetNs)
    {
        // Below a twentieth of a count a pulse cannot change a rounded sample; outer shower cells are mostly that small.
        if (Math.Abs(amplitudeAdc) < NegligibleAmplitudeAdc)
            return;
        if (_pulseCount == _pulses.Length)
            Array.Resize(ref _pulses, _pulses.Length * 2);
        _pulses[_pulseCount] = new Pulse((float)amplitudeAdc, onsetNs, -1);
        if (_firstPulse[channel] < 0)
            _firstPulse[channel] = _pulseCount;
        else
            _pulses[_lastPulse[channel]] = _pulses[_lastPulse[channel]] with { Next = _pulseCount };
        _lastPulse[channel] = _pulseCount++;
        var samples = _accumulator.AsSpan(channel * SamplesPerChannel, SamplesPerChannel);
        float amplitude = (float)amplitudeAdc;
        // Only samples after the onset and inside the template carry signal.
        int first = Math.Max(0, (int)Math.Floor(onsetNs / SamplePeriodNs) + 1);
        int last = Math.Min(SamplesPerChannel - 1, (int)Math.Floor((onsetNs + _template.LengthNs) / SamplePeriodNs));
        for (int s = first; s <= last; s++)
            samples[s] += amplitude * _template.Evaluate(s * SamplePeriodNs - onsetNs);
    }

    /// <summary>Adds pedestals and noise, digitises and writes the block [channel][sample].</summary>
    public void Digitize(Span<short> block)
    {
        if (block.Length < _accumulator.Length)
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                $"sample block has {block.Length} entries, {Channels} channels × {SamplesPerChannel} samples need {_accumulator.Length}"),
                nameof(block));
        int n = SamplesPerChannel;
        for (int c = 0; c < Channels; c++)
        {
            var cal = _calibration[c];
            int offset = c * n;
            float even = (float)cal.PedestalEven + 0.5f; // + 0.5: truncation below rounds to nearest
            float odd = (float)cal.PedestalOdd + 0.5f;
            float rms = (float)cal.NoiseRms;
            ulong state = _noiseState;
            for (int s = 0; s < n; s++)
            {
                block[offset + s] = (short)Adc((s & 1) == 0 ? even : odd, _accumulator[offset + s], rms, ref state);
            }
            _noiseState = state;
        }
    }

    /// <summary>
    /// Renders one channel of the current event for a window that starts <paramref name="earlierSamples"/> sample clocks
    /// before the nominal one (negative: later), as a module with a different readout latency sees it: sample s lies at
    /// nominal time (s − earlierSamples) × period. Same pedestals, noise and 12-bit clipping as <see cref="Digitize"/>,
    /// with fresh noise; pile-up particles are drawn inside the nominal window only.
    /// </summary>
    public void RenderWindow(int channel, int earlierSamples, Span<ushort> destination)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(channel);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(channel, Channels);
        var cal = _calibration[channel];
        float even = (float)cal.PedestalEven + 0.5f;
        float odd = (float)cal.PedestalOdd + 0.5f;
        float rms = (float)cal.NoiseRms;
        ulong state = _noiseState;
        for (int s = 0; s < destination.Length; s++)
        {
            double t = (s - earlierSamples) * SamplePeriodNs;
            float signal = 0f;
            for (int p = _firstPulse[channel]; p >= 0; p = _pulses[p].Next)
                signal += _pulses[p].Amplitude * _template.Evaluate(t - _pulses[p].OnsetNs);
            destination[s] = (ushort)Adc((s & 1) == 0 ? even : odd, signal, rms, ref state);
        }
        _noiseState = state;
    }

    /// <summary>One sample as the ADC reads it: pedestal (+ 0.5 for rounding) + signal + Gaussian noise from the table
    /// (xorshift index), truncated and clipped to 0..4095. Shared by <see cref="Digitize"/> and <see cref="RenderWindow"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int Adc(float pedestal, float signal, float rms, ref ulong state)
    {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        float value = pedestal + signal + (rms * _noiseTable[(int)(state >> 48)]);
        return value <= 0f ? 0 : value >= MaxAdc ? MaxAdc : (int)value;
    }

    private readonly record struct Pulse(float Amplitude, double OnsetNs, int Next);

    /// <summary>Standard normal deviate (Marsaglia polar method; the second value is kept for the next call).</summary>
    public double NextGaussian()
    {
        if (_hasSpare)
        {
            _hasSpare = false;
            return _spareGaussian;
        }
        double u, v, s;
        do
        {
            u = 2.0 * _random.NextDouble() - 1.0;
            v = 2.0 * _random.NextDouble() - 1.0;
            s = u * u + v * v;
        }
        while (s >= 1.0 || s == 0.0);
        double factor = Math.Sqrt(-2.0 * Math.Log(s) / s);
        _spareGaussian = v * factor;
        _hasSpare = true;
        return u * factor;
    }
}
