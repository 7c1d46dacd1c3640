using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace NA64.Readout.Processing;

/// <summary>Which kernel runs the fused pass. All give bit-identical output.</summary>
public enum ZsImplementation
{
    /// <summary>Vector512 if hardware-accelerated, else Vector256 if accelerated, else Scalar.</summary>
    Best,
    Scalar,
    Vector256,
    Vector512,
}

public sealed record ZsOptions
{
    /// <summary>Also keep the channels adjacent (c−1, c+1) to a channel that passed its threshold.</summary>
    public bool KeepNeighbours { get; init; }

    /// <summary>Neighbours never cross a chip boundary; an MSADC chip has 16 channels. 0 = no boundary.</summary>
    public int ChannelsPerChip { get; init; } = 16;

    /// <summary>Raw value flagged as saturated (12-bit MSADC overflow).</summary>
    public short SaturationLevel { get; init; } = 4095;
}

/// <summary>Counts of one suppressed block; <see cref="Written"/> words of the caller buffer are valid.</summary>
public readonly record struct ZsResult(int Written, int Kept, int Examined);

/// <summary>
/// Channel-level zero suppression in one pass over the block: for each channel subtract the even/odd
/// pedestal, keep the channel if any sample − pedestal exceeds its threshold (equivalently: the maximum
/// over the window does), and write the kept channel's subtracted samples straight to the output while
/// they are still in L1. Nothing is materialised for rejected channels.
/// </summary>
public sealed class ZeroSuppressor
{
    private readonly SuppressionTable _table;
    private readonly ZsOptions _options;

    public ZeroSuppressor(SuppressionTable table, ZsOptions? options = null, ZsImplementation implementation = ZsImplementation.Best)
    {
        ArgumentNullException.ThrowIfNull(table);
        _options = options ?? new ZsOptions();
        if (_options.ChannelsPerChip < 0)
            throw new ArgumentOutOfRangeException(nameof(options), _options.ChannelsPerChip, "ChannelsPerChip must be >= 0");
        _table = table;
        Implementation = implementation == ZsImplementation.Best ? BestAvailable() : implementation;
    }

    /// <summary>The kernel this instance runs (never <see cref="ZsImplementation.Best"/>).</summary>
    public ZsImplementation Implementation { get; }

    public SuppressionTable Table => _table;
    public ZsOptions Options => _options;

    public static ZsImplementation BestAvailable() =>
        Vector512.IsHardwareAccelerated ? ZsImplementation.Vector512
        : Vector256.IsHardwareAccelerated ? ZsImplementation.Vector256
        : ZsImplementation.Scalar;

    /// <summary>Suppresses one block into <paramref name="output"/>, which must hold
    /// <see cref="ZsOutput.MaxLength"/> words. Allocates nothing.</summary>
    public ZsResult Suppress(MsadcBlock block, Span<short> output)
    {
        if (block.ChannelCount != _table.ChannelCount)
            throw new ArgumentException($"block has {block.ChannelCount} channels, the suppression table {_table.ChannelCount}", nameof(block));
        var need = ZsOutput.MaxLength(block.ChannelCount, block.SamplesPerChannel);
        if (output.Length < need)
            throw new ArgumentException($"output holds {output.Length} words, the worst case for {block.ChannelCount} channels × {block.SamplesPerChannel} samples is {need}", nameof(output));
        return Implementation switch
        {
            ZsImplementation.Scalar => Run<ScalarKernel>(block, output),
            ZsImplementation.Vector256 => Run<Vector256Kernel>(block, output),
            ZsImplementation.Vector512 => Run<Vector512Kernel>(block, output),
            _ => throw new InvalidOperationException($"implementation {Implementation} is not runnable"),
        };
    }

    private ZsResult Run<TKernel>(MsadcBlock block, Span<short> output) where TKernel : struct, IZsKernel
    {
        int s = block.SamplesPerChannel;
        int n = block.ChannelCount;
        ref short src = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(block.Samples);
        var pairs = _table.PedestalPair;
        var thresholds = _table.Threshold;
        short saturation = _options.SaturationLevel;
        int chip = _options.ChannelsPerChip;

        output[0] = ZsOutput.HeaderMarker;
        output[1] = (short)s;
        ZsOutput.WriteInt(output[2..], n);
        int pos = ZsOutput.HeaderLength;
        int kept = 0;
        int overReadLimit = block.Samples.Length - TKernel.Width; // channel start offsets <= this may load a full vector

        if (!_options.KeepNeighbours)
        {
            for (int c = 0; c < n; c++)
            {
                int start = c * s;
                if (TKernel.Exceeds(ref Unsafe.Add(ref src, start), s, pairs[c], thresholds[c], start <= overReadLimit))
                {
                    pos = Emit<TKernel>(ref Unsafe.Add(ref src, start), s, c, pairs[c], saturation, ZsChannelFlags.None, output, pos);
                    kept++;
                }
            }
        }
        else
        {
            // Decide channel c−1 once channel c is tested: its neighbours' results are then known, and its
            // samples are still in cache. Emission stays in increasing channel order.
            bool prev = false, prev2 = false;
            for (int c = 0; c < n; c++)
            {
                int start = c * s;
                bool k = TKernel.Exceeds(ref Unsafe.Add(ref src, start), s, pairs[c], thresholds[c], start <= overReadLimit);
                if (c >= 1)
                {
                    int p = c - 1;
                    bool emit = prev || (k && SameChip(p, c, chip)) || (prev2 && p >= 1 && SameChip(p - 1, p, chip));
                    if (emit)
                    {
                        pos = Emit<TKernel>(ref Unsafe.Add(ref src, p * s), s, p, pairs[p], saturation,
                            prev ? ZsChannelFlags.None : ZsChannelFlags.Neighbour, output, pos);
                        kept++;
                    }
                }
                prev2 = prev;
                prev = k;
            }
            if (n >= 1)
            {
                int p = n - 1;
                if (prev || (prev2 && p >= 1 && SameChip(p - 1, p, chip)))
                {
                    pos = Emit<TKernel>(ref Unsafe.Add(ref src, p * s), s, p, pairs[p], saturation,
                        prev ? ZsChannelFlags.None : ZsChannelFlags.Neighbour, output, pos);
                    kept++;
                }
            }
        }

        output[pos] = ZsOutput.TrailerMarker;
        ZsOutput.WriteInt(output[(pos + 1)..], kept);
        ZsOutput.WriteInt(output[(pos + 3)..], n);
        return new ZsResult(pos + ZsOutput.TrailerLength, kept, n);
    }

    private static bool SameChip(int a, int b, int chip) => chip == 0 || a / chip == b / chip;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Emit<TKernel>(ref short channel, int s, int index, int pair, short saturation, ZsChannelFlags flags,
        Span<short> output, int pos) where TKernel : struct, IZsKernel
    {
        ZsOutput.WriteInt(output[pos..], index);
        var samples = output.Slice(pos + ZsOutput.RecordOverhead, s);
        if (TKernel.SubtractInto(ref channel, s, pair, saturation, samples))
            flags |= ZsChannelFlags.Saturated;
        output[pos + 2] = (short)flags;
        return pos + ZsOutput.RecordOverhead + s;
    }
}
