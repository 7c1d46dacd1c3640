using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

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
            ZsImplementation.Vector256 when Avx2.IsSupported && !_options.KeepNeighbours && block.SamplesPerChannel is >= 16 and <= 32
                => RunWindow(block, output, vector512: false),
            ZsImplementation.Vector512 when !_options.KeepNeighbours && block.SamplesPerChannel is > 16 and <= 32
                => RunWindow(block, output, vector512: true),
            ZsImplementation.Vector256 => Run<Vector256Kernel>(block, output),
            ZsImplementation.Vector512 => Run<Vector512Kernel>(block, output),
            _ => throw new InvalidOperationException($"implementation {Implementation} is not runnable"),
        };
    }

    private ZsResult Run<TKernel>(MsadcBlock block, Span<short> output) where TKernel : struct, IZsKernel
    {
        int s = block.SamplesPerChannel;
        int n = block.ChannelCount;
        var scan = new ZsScan(block.Samples, s, _table.PedestalPair, _table.LimitPair);
        short saturation = _options.SaturationLevel;
        int chip = _options.ChannelsPerChip;
        bool neighbours = _options.KeepNeighbours;

        output[0] = ZsOutput.HeaderMarker;
        output[1] = (short)s;
        ZsOutput.WriteInt(output[2..], n);
        int pos = ZsOutput.HeaderLength;
        int kept = 0;

        // The kernel's scan loop runs over channels until one passes; only then does control come back
        // here to write it (and its neighbours) out while its samples are still in L1.
        int last = -1;
        int hit = TKernel.NextHit(in scan, 0);
        while (hit < n)
        {
            if (neighbours && hit >= 1 && hit - 1 > last && SameChip(hit - 1, hit, chip))
            {
                pos = Emit<TKernel>(in scan, hit - 1, saturation, ZsChannelFlags.Neighbour, output, pos);
                kept++;
            }
            pos = Emit<TKernel>(in scan, hit, saturation, ZsChannelFlags.None, output, pos);
            kept++;
            last = hit;
            int next = hit + 1 < n ? TKernel.NextHit(in scan, hit + 1) : n;
            if (neighbours && hit + 1 < n && next != hit + 1 && SameChip(hit, hit + 1, chip))
            {
                pos = Emit<TKernel>(in scan, hit + 1, saturation, ZsChannelFlags.Neighbour, output, pos);
                kept++;
                last = hit + 1;
            }
            hit = next;
        }

        output[pos] = ZsOutput.TrailerMarker;
        ZsOutput.WriteInt(output[(pos + 1)..], kept);
        ZsOutput.WriteInt(output[(pos + 3)..], n);
        return new ZsResult(pos + ZsOutput.TrailerLength, kept, n);
    }

    /// <summary>
    /// NA64's windows (16..32 samples, no neighbour keeping) in one loop that tests and writes out in place: the test
    /// against pedestal + threshold, and for a kept channel the subtraction from the samples just loaded
    /// (<see cref="EmitWindow"/>). Returning to a caller for every kept channel cost more than the test itself.
    /// Output is bit-identical to the other kernels (tested).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private ZsResult RunWindow(MsadcBlock block, Span<short> output, bool vector512)
    {
        int s = block.SamplesPerChannel;
        int n = block.ChannelCount;
        output[0] = ZsOutput.HeaderMarker;
        output[1] = (short)s;
        ZsOutput.WriteInt(output[2..], n);

        var w = new WindowTables(ref MemoryMarshal.GetArrayDataReference(_table.LimitPair),
            ref MemoryMarshal.GetArrayDataReference(_table.PedestalPair), Vector256.Create(_options.SaturationLevel),
            ref MemoryMarshal.GetReference(output));
        ref short samples = ref MemoryMarshal.GetReference(block.Samples);
        int kept = 0;
        // Odd s: the second 16-sample load starts on an odd sample, so its limit and pedestal lanes are swapped. The parity
        // is a constant in each copy of the loop, which keeps the even case (NA64's 32) at one compare per channel.
        nuint pos = vector512 ? ScanWindows512(ref samples, n, s, block.Samples.Length, in w, ref kept)
            : (s & 1) == 0 ? ScanWindows(ref samples, n, s, in w, ref kept, oddSecond: false)
            : ScanWindows(ref samples, n, s, in w, ref kept, oddSecond: true);

        int end = (int)pos;
        output[end] = ZsOutput.TrailerMarker;
        ZsOutput.WriteInt(output[(end + 1)..], kept);
        ZsOutput.WriteInt(output[(end + 3)..], n);
        return new ZsResult(end + ZsOutput.TrailerLength, kept, n);
    }

    /// <summary>The table rows and the output of one <see cref="RunWindow"/> pass.</summary>
    private readonly ref struct WindowTables(ref int limits, ref int pedestals, Vector256<short> saturation, ref short output)
    {
        public readonly ref int Limits = ref limits;
        public readonly ref int Pedestals = ref pedestals;
        public readonly Vector256<short> Saturation = saturation;
        public readonly ref short Output = ref output;
    }

    /// <summary>
    /// Vector256 loop of <see cref="RunWindow"/>: two loads per channel (at 0 and at s − 16, overlapping when s &lt; 32).
    /// Channels go four at a time: one 128-bit load brings the four limit pairs and an in-register shuffle spreads
    /// each over a vector, so a channel costs only its two sample loads, and one test-and-branch serves four channels
    /// that are mostly all below threshold (measured: 1 MiB 0.57 → 0.77 of the read-only pass).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static nuint ScanWindows(ref short channel, int n, int s, in WindowTables w, ref int kept, bool oddSecond)
    {
        nuint stride = (nuint)s;
        nuint second = stride - 16;
        int swap = oddSecond ? 16 : 0;
        var swapPaths = Vector256.Create((byte)2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13,
            2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13);
        ref int limits = ref w.Limits;
        nuint pos = ZsOutput.HeaderLength;
        int c = 0;
        for (; c + 4 <= n; c += 4, channel = ref Unsafe.Add(ref channel, 4 * stride))
        {
            // [l0 l1 l2 l3 | l0 l1 l2 l3]; Shuffle(.., 0x55) is then l1 in every lane, and so on.
            var group = Vector256.Create(Vector128.LoadUnsafe(ref limits, (nuint)c));
            var groupSwapped = oddSecond ? Avx2.Shuffle(group.AsByte(), swapPaths).AsInt32() : group;
            ref short channel1 = ref Unsafe.Add(ref channel, stride);
            ref short channel2 = ref Unsafe.Add(ref channel, 2 * stride);
            ref short channel3 = ref Unsafe.Add(ref channel, 3 * stride);
            var over0 = Over(ref channel, second, Avx2.Shuffle(group, 0x00), Avx2.Shuffle(groupSwapped, 0x00), oddSecond);
            var over1 = Over(ref channel1, second, Avx2.Shuffle(group, 0x55), Avx2.Shuffle(groupSwapped, 0x55), oddSecond);
            var over2 = Over(ref channel2, second, Avx2.Shuffle(group, 0xAA), Avx2.Shuffle(groupSwapped, 0xAA), oddSecond);
            var over3 = Over(ref channel3, second, Avx2.Shuffle(group, 0xFF), Avx2.Shuffle(groupSwapped, 0xFF), oddSecond);
            if (((over0 | over1) | (over2 | over3)) != Vector256<short>.Zero)
            {
                pos = EmitGroup(in w, ref channel, c, s, swap, pos, ref kept,
                    over0 != Vector256<short>.Zero, over1 != Vector256<short>.Zero, over2 != Vector256<short>.Zero, over3 != Vector256<short>.Zero);
            }
        }
        return ScanOneByOne(ref channel, c, n, s, in w, pos, ref kept);
    }

    /// <summary>
    /// Vector512 loop of <see cref="RunWindow"/>: one 32-lane load per channel from its first sample (below 32 samples
    /// it reaches into the next channel, whose lanes are masked off), limit pair broadcast straight from the table, four
    /// channels per test-and-branch. The last channels, whose load would leave the block, go one by one.
    /// Same structure as the measured Vector256 loop; not measured on AVX-512 hardware yet (none here).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static nuint ScanWindows512(ref short channel, int n, int s, int length, in WindowTables w, ref int kept)
    {
        const int W = 32;
        nuint stride = (nuint)s;
        int swap = (s & 1) * 16;
        var lanes = Vector512.LessThan(Vector512<short>.Indices, Vector512.Create((short)s));
        int safe = length < W ? 0 : Math.Min(n, ((length - W) / s) + 1);
        ref int limits = ref w.Limits;
        nuint pos = ZsOutput.HeaderLength;
        int c = 0;
        for (; c + 4 <= safe; c += 4, channel = ref Unsafe.Add(ref channel, 4 * stride))
        {
            ref short channel1 = ref Unsafe.Add(ref channel, stride);
            ref short channel2 = ref Unsafe.Add(ref channel, 2 * stride);
            ref short channel3 = ref Unsafe.Add(ref channel, 3 * stride);
            var over0 = Vector512.GreaterThan(Vector512.LoadUnsafe(ref channel), Vector512.Create(Unsafe.Add(ref limits, c)).AsInt16()) & lanes;
            var over1 = Vector512.GreaterThan(Vector512.LoadUnsafe(ref channel1), Vector512.Create(Unsafe.Add(ref limits, c + 1)).AsInt16()) & lanes;
            var over2 = Vector512.GreaterThan(Vector512.LoadUnsafe(ref channel2), Vector512.Create(Unsafe.Add(ref limits, c + 2)).AsInt16()) & lanes;
            var over3 = Vector512.GreaterThan(Vector512.LoadUnsafe(ref channel3), Vector512.Create(Unsafe.Add(ref limits, c + 3)).AsInt16()) & lanes;
            if (((over0 | over1) | (over2 | over3)) != Vector512<short>.Zero)
            {
                pos = EmitGroup(in w, ref channel, c, s, swap, pos, ref kept,
                    over0 != Vector512<short>.Zero, over1 != Vector512<short>.Zero, over2 != Vector512<short>.Zero, over3 != Vector512<short>.Zero);
            }
        }
        return ScanOneByOne(ref channel, c, n, s, in w, pos, ref kept);
    }

    /// <summary>Writes the kept ones of a group of four channels (the rare path of both window loops).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static nuint EmitGroup(in WindowTables w, ref short channel, int c, int s, int swap, nuint pos, ref int kept,
        bool keep0, bool keep1, bool keep2, bool keep3)
    {
        nuint second = (nuint)(s - 16);
        ref int pedestals = ref w.Pedestals;
        if (keep0)
            pos = EmitWindow(ref channel, c, Unsafe.Add(ref pedestals, c), second, swap, s, w.Saturation, ref w.Output, pos, ref kept);
        if (keep1)
            pos = EmitWindow(ref Unsafe.Add(ref channel, s), c + 1, Unsafe.Add(ref pedestals, c + 1), second, swap, s, w.Saturation, ref w.Output, pos, ref kept);
        if (keep2)
            pos = EmitWindow(ref Unsafe.Add(ref channel, 2 * s), c + 2, Unsafe.Add(ref pedestals, c + 2), second, swap, s, w.Saturation, ref w.Output, pos, ref kept);
        if (keep3)
            pos = EmitWindow(ref Unsafe.Add(ref channel, 3 * s), c + 3, Unsafe.Add(ref pedestals, c + 3), second, swap, s, w.Saturation, ref w.Output, pos, ref kept);
        return pos;
    }

    /// <summary>Channels <paramref name="first"/>..n−1 of a window pass one at a time (the last n mod 4, or the ones a
    /// 32-lane load would read past the block for): two Vector256 loads each, then as the loops above.</summary>
    private static nuint ScanOneByOne(ref short channel, int first, int n, int s, in WindowTables w, nuint pos, ref int kept)
    {
        nuint second = (nuint)(s - 16);
        int swap = (s & 1) * 16;
        for (int c = first; c < n; c++, channel = ref Unsafe.Add(ref channel, s))
        {
            int limit = Unsafe.Add(ref w.Limits, c);
            var over = Over(ref channel, second, Vector256.Create(limit), Vector256.Create((int)BitOperations.RotateLeft((uint)limit, swap)), oddSecond: true);
            if (over != Vector256<short>.Zero)
                pos = EmitWindow(ref channel, c, Unsafe.Add(ref w.Pedestals, c), second, swap, s, w.Saturation, ref w.Output, pos, ref kept);
        }
        return pos;
    }

    /// <summary>Lanes of one channel's window above its limit (all-ones), from both loads.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<short> Over(ref short channel, nuint second, Vector256<int> limit, Vector256<int> limitSecond, bool oddSecond)
    {
        var first = Vector256.LoadUnsafe(ref channel);
        var last = Vector256.LoadUnsafe(ref channel, second);
        // Even s: both loads start on an even sample, so the maximum of the two needs a single compare.
        return oddSecond
            ? Vector256.GreaterThan(first, limit.AsInt16()) | Vector256.GreaterThan(last, limitSecond.AsInt16())
            : Vector256.GreaterThan(Vector256.Max(first, last), limit.AsInt16());
    }

    /// <summary>Writes one kept channel of <see cref="RunWindow"/>: index, flags, sample − pedestal, exactly s samples
    /// (two overlapping 16-sample stores).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static nuint EmitWindow(ref short channel, int c, int pedestalPair, nuint second, int swap, int s,
        Vector256<short> saturation, ref short dst, nuint pos, ref int kept)
    {
        var first = Vector256.LoadUnsafe(ref channel);
        var last = Vector256.LoadUnsafe(ref channel, second);
        ref short record = ref Unsafe.Add(ref dst, pos);
        record = unchecked((short)c);
        Unsafe.Add(ref record, 1) = unchecked((short)(c >> 16));
        bool saturated = (Vector256.GreaterThanOrEqual(first, saturation) | Vector256.GreaterThanOrEqual(last, saturation)) != Vector256<short>.Zero;
        Unsafe.Add(ref record, 2) = (short)(saturated ? ZsChannelFlags.Saturated : ZsChannelFlags.None);
        ref short samples = ref Unsafe.Add(ref record, ZsOutput.RecordOverhead);
        (first - Vector256.Create(pedestalPair).AsInt16()).StoreUnsafe(ref samples);
        (last - Vector256.Create((int)BitOperations.RotateLeft((uint)pedestalPair, swap)).AsInt16()).StoreUnsafe(ref samples, second);
        kept++;
        return pos + (nuint)(ZsOutput.RecordOverhead + s);
    }

    private static bool SameChip(int a, int b, int chip) => chip == 0 || a / chip == b / chip;

    // Rare (one channel in twenty at NA64 occupancy): kept out of line so the scan loop keeps its registers.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static int Emit<TKernel>(in ZsScan scan, int channel, short saturation, ZsChannelFlags flags,
        Span<short> output, int pos) where TKernel : struct, IZsKernel
    {
        int s = scan.SamplesPerChannel;
        ZsOutput.WriteInt(output[pos..], channel);
        var samples = output.Slice(pos + ZsOutput.RecordOverhead, s);
        if (TKernel.SubtractInto(ref scan.Channel(channel), s, scan.PedestalPair(channel), saturation, samples))
            flags |= ZsChannelFlags.Saturated;
        output[pos + 2] = (short)flags;
        return pos + ZsOutput.RecordOverhead + s;
    }
}
