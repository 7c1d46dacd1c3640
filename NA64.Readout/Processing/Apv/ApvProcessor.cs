using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace NA64.Readout.Processing.Apv;

/// <summary>Common-mode estimator per APV and frame (na64-setup.md 9.12).</summary>
public enum CommonModeMethod
{
    /// <summary>Two-pass truncated mean: mean of the channels with d ≤ k_cm·σ, then of those with d − cm₁ ≤ k_cm·σ (default).</summary>
    TruncatedMean,
    /// <summary>Iterated median (CMS): median of the usable channels, then (iterations − 1) times the median of those
    /// with d − previous ≤ k_cm·σ. Lower median of an even count.</summary>
    IteratedMedian,
    /// <summary>No common-mode subtraction (CM = 0).</summary>
    None,
}

/// <summary>Which amplitude is compared with n·σ.</summary>
public enum ApvZsAmplitude
{
    /// <summary>max(a0, a1, a2) (default).</summary>
    MaxOfFrames,
    /// <summary>a1 alone: the latency is tuned so that a1 is the largest frame.</summary>
    A1,
}

public sealed record ApvProcessingOptions
{
    public CommonModeMethod CommonMode { get; init; } = CommonModeMethod.TruncatedMean;

    /// <summary>Fewer channels left in a frame's common mode than this: the APV's last good value of the frame is used
    /// instead (32 of 128: an assumption, na64-setup.md 9.12).</summary>
    public int MinChannels { get; init; } = 32;

    /// <summary>Median passes of <see cref="CommonModeMethod.IteratedMedian"/>, at least 1.</summary>
    public int MedianIterations { get; init; } = 2;

    public ApvZsAmplitude Amplitude { get; init; } = ApvZsAmplitude.MaxOfFrames;
}

/// <summary>
/// Pedestal subtraction, common mode per APV and frame with hits excluded, and zero suppression at n·σ on the
/// time-aggregated amplitude, for the APVs of one event (<see cref="ApvBlock"/>). Stateful only in the last good
/// common mode per APV and frame (the fallback), so one instance serves one stream of events. Allocates nothing per event.
/// </summary>
public sealed class ApvProcessor
{
    private readonly ApvProcessingTable _table;
    private readonly ApvProcessingOptions _options;
    private readonly short[] _lastGood;
    private readonly bool[] _hasGood;

    public ApvProcessor(ApvProcessingTable table, ApvProcessingOptions? options = null, ZsImplementation implementation = ZsImplementation.Best)
    {
        ArgumentNullException.ThrowIfNull(table);
        _options = options ?? new ApvProcessingOptions();
        if (_options.MinChannels < 1 || _options.MinChannels > ApvLayout.ChannelsPerApv)
            throw new ArgumentOutOfRangeException(nameof(options), _options.MinChannels, $"MinChannels = {_options.MinChannels}, must be 1..{ApvLayout.ChannelsPerApv}");
        if (_options.MedianIterations < 1)
            throw new ArgumentOutOfRangeException(nameof(options), _options.MedianIterations, $"MedianIterations = {_options.MedianIterations}, must be >= 1");
        if (!Enum.IsDefined(_options.CommonMode))
            throw new ArgumentOutOfRangeException(nameof(options), _options.CommonMode, "CommonMode is not a known method");
        _table = table;
        _lastGood = new short[table.ApvCount * ApvLayout.Frames];
        _hasGood = new bool[table.ApvCount * ApvLayout.Frames];
        Implementation = implementation == ZsImplementation.Best ? ZeroSuppressor.BestAvailable() : implementation;
    }

    /// <summary>The kernel this instance runs (never <see cref="ZsImplementation.Best"/>).</summary>
    public ZsImplementation Implementation { get; }
    public ApvProcessingTable Table => _table;
    public ApvProcessingOptions Options => _options;
    public int ApvCount => _table.ApvCount;

    /// <summary>Room the hit span needs: every channel of every APV kept.</summary>
    public int MaxHits => _table.ChannelCount;

    /// <summary>Forgets the last good common mode of every APV (e.g. at a run start).</summary>
    public void ResetCommonModeHistory()
    {
        Array.Clear(_lastGood);
        Array.Clear(_hasGood);
    }

    /// <summary>
    /// Processes one event: per APV the common mode of each frame, then the kept channels into
    /// <paramref name="hits"/> (at least <see cref="MaxHits"/> long) and one <see cref="ApvChipResult"/> per APV into
    /// <paramref name="chips"/>. Returns the number of hits written. Allocates nothing.
    /// </summary>
    public int Process(ApvBlock block, Span<ApvKeptChannel> hits, Span<ApvChipResult> chips)
    {
        if (block.ApvCount != _table.ApvCount)
            throw new ArgumentException($"block has {block.ApvCount} APVs, the processing table {_table.ApvCount}", nameof(block));
        if (hits.Length < MaxHits)
            throw new ArgumentException($"hits holds {hits.Length}, the worst case for {_table.ApvCount} APVs is {MaxHits}", nameof(hits));
        if (chips.Length < _table.ApvCount)
            throw new ArgumentException($"chips holds {chips.Length}, the block has {_table.ApvCount} APVs", nameof(chips));
        return Implementation switch
        {
            ZsImplementation.Scalar => Run<ApvScalarKernel>(block, hits, chips),
            ZsImplementation.Vector256 => Run<ApvVector256Kernel>(block, hits, chips),
            ZsImplementation.Vector512 => Run<ApvVector512Kernel>(block, hits, chips),
            _ => throw new InvalidOperationException($"implementation {Implementation} is not runnable"),
        };
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private int Run<TKernel>(ApvBlock block, Span<ApvKeptChannel> hits, Span<ApvChipResult> chips) where TKernel : struct, IApvKernel
    {
        const int N = ApvLayout.ChannelsPerApv;
        ref short samples = ref MemoryMarshal.GetReference(block.Samples);
        ref short pedestals = ref MemoryMarshal.GetArrayDataReference(_table.Pedestal);
        ref short thresholds = ref MemoryMarshal.GetArrayDataReference(_table.Threshold);
        ref short cuts = ref MemoryMarshal.GetArrayDataReference(_table.CmCut);
        ref short usables = ref MemoryMarshal.GetArrayDataReference(_table.UsableMask);
        ref ApvKeptChannel hit = ref MemoryMarshal.GetReference(hits);
        bool a1Only = _options.Amplitude == ApvZsAmplitude.A1;
        int total = 0;
        for (int apv = 0; apv < _table.ApvCount; apv++)
        {
            ref short raw = ref Unsafe.Add(ref samples, apv * ApvLayout.SamplesPerApv);
            ref short ped = ref Unsafe.Add(ref pedestals, apv * N);
            ref short cut = ref Unsafe.Add(ref cuts, apv * N);
            ref short usable = ref Unsafe.Add(ref usables, apv * N);
            var flags = ApvCommonModeFlags.None;
            short cm0 = CommonMode<TKernel>(ref raw, ref ped, ref cut, ref usable, apv, 0, ref flags);
            short cm1 = CommonMode<TKernel>(ref Unsafe.Add(ref raw, N), ref ped, ref cut, ref usable, apv, 1, ref flags);
            short cm2 = CommonMode<TKernel>(ref Unsafe.Add(ref raw, 2 * N), ref ped, ref cut, ref usable, apv, 2, ref flags);
            int kept = TKernel.Suppress(ref raw, ref ped, ref Unsafe.Add(ref thresholds, apv * N), cm0, cm1, cm2, a1Only, ref Unsafe.Add(ref hit, total));
            chips[apv] = new ApvChipResult(total, kept, cm0, cm1, cm2, flags);
            total += kept;
        }
        return total;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private short CommonMode<TKernel>(ref short raw, ref short ped, ref short cut, ref short usable, int apv, int frame, ref ApvCommonModeFlags flags)
        where TKernel : struct, IApvKernel
    {
        int min = _options.MinChannels;
        short cm;
        switch (_options.CommonMode)
        {
            case CommonModeMethod.None:
                return 0;
            case CommonModeMethod.TruncatedMean:
            {
                int sum = TKernel.Sum(ref raw, ref ped, ref cut, ref usable, 0, true, out int n);
                if (n < min) return Fallback(apv, frame, ref flags);
                short first = RoundedMean(sum, n);
                sum = TKernel.Sum(ref raw, ref ped, ref cut, ref usable, first, true, out n);
                if (n < min) return Fallback(apv, frame, ref flags);
                cm = RoundedMean(sum, n);
                break;
            }
            default:
            {
                bool useCut = false;
                cm = 0;
                for (int i = 0; i < _options.MedianIterations; i++)
                {
                    int n = TKernel.CountAtOrBelow(ref raw, ref ped, ref cut, ref usable, cm, useCut, short.MaxValue);
                    if (n < min) return Fallback(apv, frame, ref flags);
                    cm = LowerMedian<TKernel>(ref raw, ref ped, ref cut, ref usable, cm, useCut, n);
                    useCut = true;
                }
                break;
            }
        }
        int slot = apv * ApvLayout.Frames + frame;
        _lastGood[slot] = cm;
        _hasGood[slot] = true;
        return cm;
    }

    private short Fallback(int apv, int frame, ref ApvCommonModeFlags flags)
    {
        int slot = apv * ApvLayout.Frames + frame;
        flags |= (ApvCommonModeFlags)(1 << frame);
        if (!_hasGood[slot]) flags |= ApvCommonModeFlags.NoHistory;
        return _lastGood[slot];
    }

    /// <summary>sum / n rounded to the nearest integer, halves up: the same integer in every kernel.</summary>
    internal static short RoundedMean(int sum, int n)
    {
        long q = 2L * sum + n, d = 2L * n;
        return (short)(q >= 0 ? q / d : -((-q + d - 1) / d));
    }

    /// <summary>The ((n − 1) / 2)-th smallest d of the n channels taking part, found by bisection over the int16 range
    /// with one vector count per step (16 steps), so the median needs no sort and no copy.</summary>
    private static short LowerMedian<TKernel>(ref short raw, ref short ped, ref short cut, ref short usable, short offset, bool useCut, int n)
        where TKernel : struct, IApvKernel
    {
        int rank = (n - 1) / 2 + 1;
        int lo = short.MinValue, hi = short.MaxValue;
        while (lo < hi)
        {
            int mid = (lo + hi) >> 1;
            if (TKernel.CountAtOrBelow(ref raw, ref ped, ref cut, ref usable, offset, useCut, (short)mid) >= rank) hi = mid;
            else lo = mid + 1;
        }
        return (short)lo;
    }
}
