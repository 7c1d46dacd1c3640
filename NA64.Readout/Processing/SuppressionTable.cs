namespace NA64.Readout.Processing;

/// <summary>
/// Per-channel constants of the zero-suppression kernel, in whole ADC counts as int16: even and odd
/// pedestal (the two interleaved ADC paths) and the threshold on max(sample − pedestal).
/// Kept as flat arrays so the kernel reads 6 bytes per channel beside the 50–64 bytes of samples.
/// </summary>
public sealed class SuppressionTable
{
    /// <summary>Threshold that no 12-bit sample can exceed: the channel is masked.</summary>
    public const short Masked = short.MaxValue;

    private readonly short[] _pedestalEven;
    private readonly short[] _pedestalOdd;
    private readonly short[] _threshold;

    public SuppressionTable(ReadOnlySpan<short> pedestalEven, ReadOnlySpan<short> pedestalOdd, ReadOnlySpan<short> threshold)
    {
        if (pedestalOdd.Length != pedestalEven.Length)
            throw new ArgumentException($"pedestalOdd has {pedestalOdd.Length} channels, pedestalEven has {pedestalEven.Length}", nameof(pedestalOdd));
        if (threshold.Length != pedestalEven.Length)
            throw new ArgumentException($"threshold has {threshold.Length} channels, pedestalEven has {pedestalEven.Length}", nameof(threshold));
        for (int c = 0; c < pedestalEven.Length; c++)
        {
            CheckPedestal(nameof(pedestalEven), c, pedestalEven[c]);
            CheckPedestal(nameof(pedestalOdd), c, pedestalOdd[c]);
        }
        _pedestalEven = pedestalEven.ToArray();
        _pedestalOdd = pedestalOdd.ToArray();
        _threshold = threshold.ToArray();
        PedestalPair = new int[_pedestalEven.Length];
        LimitPair = new int[_pedestalEven.Length];
        for (int c = 0; c < _pedestalEven.Length; c++)
        {
            PedestalPair[c] = (ushort)_pedestalEven[c] | (_pedestalOdd[c] << 16);
            LimitPair[c] = (ushort)Limit(_pedestalEven[c], _threshold[c]) | (Limit(_pedestalOdd[c], _threshold[c]) << 16);
        }
    }

    // sample − pedestal > threshold  ⇔  sample > pedestal + threshold (exact integers), so the scan compares raw
    // samples with one precomputed limit and never subtracts. Clamped to int16: a limit above 32767 can
    // never be exceeded, which is also true of sample − pedestal for a 12-bit sample.
    private static short Limit(short pedestal, short threshold) => (short)Math.Clamp(pedestal + threshold, short.MinValue, short.MaxValue);

    private static void CheckPedestal(string field, int channel, short value)
    {
        // Keeps sample − pedestal inside int16 for any 12-bit sample, so no implementation saturates.
        if (value < 0 || value > 4095)
            throw new ArgumentOutOfRangeException(field, value, $"{field}[{channel}] = {value} is outside the 12-bit range 0..4095");
    }

    public int ChannelCount => _threshold.Length;
    public ReadOnlySpan<short> PedestalEven => _pedestalEven;
    public ReadOnlySpan<short> PedestalOdd => _pedestalOdd;
    public ReadOnlySpan<short> Threshold => _threshold;

    /// <summary>Even pedestal in the low 16 bits, odd in the high: broadcast as int32 it is the
    /// [even, odd, even, odd, ...] lane pattern of a vector that starts on an even sample.</summary>
    internal int[] PedestalPair { get; }

    /// <summary>Same packing of the per-path limits pedestal + threshold, used by the scan.</summary>
    internal int[] LimitPair { get; }

    /// <summary>Table from a pedestal run: pedestals rounded to whole counts, thresholds n·σ
    /// (see <see cref="PedestalTable.Thresholds"/>).</summary>
    public static SuppressionTable FromPedestals(PedestalTable pedestals, double nSigma, bool maskNoisy = true)
    {
        ArgumentNullException.ThrowIfNull(pedestals);
        var n = pedestals.ChannelCount;
        var even = new short[n];
        var odd = new short[n];
        for (int c = 0; c < n; c++)
        {
            var p = pedestals[c];
            even[c] = RoundPedestal(p.PedestalEven);
            odd[c] = RoundPedestal(p.PedestalOdd);
        }
        return new SuppressionTable(even, odd, pedestals.Thresholds(nSigma, maskNoisy));
    }

    private static short RoundPedestal(double value) =>
        double.IsFinite(value) ? (short)Math.Clamp(Math.Round(value, MidpointRounding.AwayFromZero), 0, 4095) : (short)0;
}
