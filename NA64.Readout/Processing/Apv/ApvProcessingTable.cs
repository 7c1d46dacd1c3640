namespace NA64.Readout.Processing.Apv;

/// <summary>
/// Per-channel constants of the APV kernels, all int16 in quarter ADC counts (index = apv × 128 + physical channel):
/// pedestal, threshold on the time-aggregated amplitude, common-mode cut (k_cm·σ) and a usable mask.
/// Flat arrays so one APV's row of each is 256 contiguous bytes beside its 768 bytes of samples.
/// </summary>
public sealed class ApvProcessingTable
{
    /// <summary>Threshold no amplitude can exceed: the channel is never kept.</summary>
    public const short Masked = short.MaxValue;

    private readonly short[] _pedestal;
    private readonly short[] _threshold;
    private readonly short[] _cmCut;
    private readonly short[] _usable;

    /// <param name="pedestalQ2">Pedestal × 4, 0..4092.</param>
    /// <param name="thresholdQ2">Keep a channel if its amplitude (quarter counts) &gt; this; <see cref="Masked"/> = never.</param>
    /// <param name="commonModeCutQ2">A channel takes part in the common mode of a frame only if
    /// raw × 4 − pedestal − (previous common-mode estimate) ≤ this: k_cm·σ × 4.</param>
    /// <param name="usable">False for dead/noisy channels: never in the common mode.</param>
    public ApvProcessingTable(ReadOnlySpan<short> pedestalQ2, ReadOnlySpan<short> thresholdQ2, ReadOnlySpan<short> commonModeCutQ2, ReadOnlySpan<bool> usable)
    {
        if (pedestalQ2.Length % ApvLayout.ChannelsPerApv != 0)
            throw new ArgumentException($"pedestalQ2 has {pedestalQ2.Length} channels, not a multiple of {ApvLayout.ChannelsPerApv}", nameof(pedestalQ2));
        if (thresholdQ2.Length != pedestalQ2.Length)
            throw new ArgumentException($"thresholdQ2 has {thresholdQ2.Length} channels, pedestalQ2 has {pedestalQ2.Length}", nameof(thresholdQ2));
        if (commonModeCutQ2.Length != pedestalQ2.Length)
            throw new ArgumentException($"commonModeCutQ2 has {commonModeCutQ2.Length} channels, pedestalQ2 has {pedestalQ2.Length}", nameof(commonModeCutQ2));
        if (usable.Length != pedestalQ2.Length)
            throw new ArgumentException($"usable has {usable.Length} channels, pedestalQ2 has {pedestalQ2.Length}", nameof(usable));
        for (int i = 0; i < pedestalQ2.Length; i++)
        {
            // Keeps raw × 4 − pedestal inside int16 for any 10-bit raw value.
            if (pedestalQ2[i] < 0 || pedestalQ2[i] > ApvLayout.MaxAmplitude * ApvLayout.Scale)
                throw new ArgumentOutOfRangeException(nameof(pedestalQ2), pedestalQ2[i],
                    $"pedestalQ2[{i}] = {pedestalQ2[i]} is outside 0..{ApvLayout.MaxAmplitude * ApvLayout.Scale}");
        }
        _pedestal = pedestalQ2.ToArray();
        _threshold = thresholdQ2.ToArray();
        _cmCut = commonModeCutQ2.ToArray();
        _usable = new short[usable.Length];
        for (int i = 0; i < usable.Length; i++) _usable[i] = usable[i] ? (short)-1 : (short)0;
    }

    public int ChannelCount => _pedestal.Length;
    public int ApvCount => _pedestal.Length / ApvLayout.ChannelsPerApv;
    public ReadOnlySpan<short> PedestalQ2 => _pedestal;
    public ReadOnlySpan<short> ThresholdQ2 => _threshold;
    public ReadOnlySpan<short> CommonModeCutQ2 => _cmCut;

    /// <summary>All-ones (−1) for a usable channel, 0 otherwise: the lane mask the kernels AND with.</summary>
    internal short[] UsableMask => _usable;
    internal short[] Pedestal => _pedestal;
    internal short[] Threshold => _threshold;
    internal short[] CmCut => _cmCut;

    public bool IsUsable(int index) => _usable[index] != 0;

    /// <summary>
    /// Table from a pedestal run: thresholds ceil(n·σ) per APV (<see cref="ApvPedestalTable.Thresholds"/>), common-mode
    /// cut round(k_cm·σ) (k_cm = 3 as CMS's CutToAvoidSignal). Dead and no-data channels are unusable; noisy ones too
    /// unless <paramref name="maskNoisy"/> is false.
    /// </summary>
    public static ApvProcessingTable FromPedestals(ApvPedestalTable pedestals, ReadOnlySpan<double> nSigmaPerApv, double commonModeCut = 3.0, bool maskNoisy = true)
    {
        ArgumentNullException.ThrowIfNull(pedestals);
        if (!double.IsFinite(commonModeCut) || commonModeCut <= 0)
            throw new ArgumentOutOfRangeException(nameof(commonModeCut), commonModeCut, $"commonModeCut = {commonModeCut}, must be a finite number > 0");
        var thresholds = pedestals.Thresholds(nSigmaPerApv, maskNoisy);
        int n = pedestals.ChannelCount;
        var ped = new short[n];
        var cut = new short[n];
        var usable = new bool[n];
        for (int i = 0; i < n; i++)
        {
            var p = pedestals.Channels[i];
            ped[i] = p.PedestalQ2;
            cut[i] = (short)Math.Clamp(Math.Round(commonModeCut * p.SigmaQ2, MidpointRounding.AwayFromZero), 0, short.MaxValue);
            usable[i] = !p.IsUnusable && !(maskNoisy && (p.Flags & ApvChannelFlags.Noisy) != 0);
        }
        return new ApvProcessingTable(ped, thresholds, cut, usable);
    }

    /// <summary>Same n for every APV of one detector kind.</summary>
    public static ApvProcessingTable FromPedestals(ApvPedestalTable pedestals, ApvDetectorKind kind, double commonModeCut = 3.0, bool maskNoisy = true)
    {
        ArgumentNullException.ThrowIfNull(pedestals);
        var n = new double[pedestals.ApvCount];
        Array.Fill(n, ApvPedestalTable.DefaultNSigma(kind));
        return FromPedestals(pedestals, n, commonModeCut, maskNoisy);
    }
}
