using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace NA64.Readout.Processing;

/// <summary>
/// One channel's work in the fused pass. The keep test compares raw samples with pedestal + threshold
/// (exact, see <see cref="SuppressionTable"/>), so it is the same integer rule in every kernel for any input.
/// The stored difference sample − pedestal is wrapping int16: with 12-bit samples and pedestals in 0..4095
/// it stays in −4095..4095 and never wraps; on out-of-range input all kernels wrap alike.
/// </summary>
/// <summary>What a kernel scans: the block and the per-channel table, as raw references (no bounds checks in
/// the loop; <see cref="ZeroSuppressor"/> has checked the lengths).</summary>
internal readonly ref struct ZsScan
{
    public ZsScan(ReadOnlySpan<short> samples, int samplesPerChannel, ReadOnlySpan<int> pedestalPairs, ReadOnlySpan<int> limitPairs)
    {
        Samples = ref MemoryMarshal.GetReference(samples);
        Length = samples.Length;
        SamplesPerChannel = samplesPerChannel;
        ChannelCount = samples.Length / samplesPerChannel;
        PedestalPairs = ref MemoryMarshal.GetReference(pedestalPairs);
        LimitPairs = ref MemoryMarshal.GetReference(limitPairs);
    }

    public readonly ref short Samples;
    public readonly ref int PedestalPairs;
    public readonly ref int LimitPairs;
    public readonly int Length;
    public readonly int SamplesPerChannel;
    public readonly int ChannelCount;

    public ref short Channel(int c) => ref Unsafe.Add(ref Samples, (nint)c * SamplesPerChannel);
    public int PedestalPair(int c) => Unsafe.Add(ref PedestalPairs, c);
    public int LimitPair(int c) => Unsafe.Add(ref LimitPairs, c);

    /// <summary>True if a vector of <paramref name="width"/> lanes may be loaded from channel c's start.</summary>
    public bool CanOverRead(int c, int width) => (long)c * SamplesPerChannel + width <= Length;
}

internal interface IZsKernel
{
    /// <summary>First channel at or after <paramref name="from"/> that passes its threshold; ChannelCount if none.</summary>
    static abstract int NextHit(in ZsScan scan, int from);

    /// <summary>True if any sample &gt; its path's limit (pedestal + threshold). <paramref name="canOverRead"/> says a
    /// full vector may be loaded from the channel start even if the channel is shorter.</summary>
    static abstract bool Exceeds(ref short channel, int samples, int limitPair, bool canOverRead);

    /// <summary>Writes sample − pedestal to <paramref name="destination"/>; true if a raw sample &gt;= saturation.</summary>
    static abstract bool SubtractInto(ref short channel, int samples, int pedestalPair, short saturation, Span<short> destination);
}

internal struct ScalarKernel : IZsKernel
{
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static int NextHit(in ZsScan scan, int from)
    {
        int s = scan.SamplesPerChannel;
        for (int c = from; c < scan.ChannelCount; c++)
        {
            if (Exceeds(ref scan.Channel(c), s, scan.LimitPair(c), false)) return c;
        }
        return scan.ChannelCount;
    }

    public static bool Exceeds(ref short channel, int samples, int limitPair, bool canOverRead)
    {
        short even = (short)limitPair, odd = (short)(limitPair >> 16);
        for (int k = 0; k < samples; k++)
        {
            if (Unsafe.Add(ref channel, k) > ((k & 1) == 0 ? even : odd)) return true;
        }
        return false;
    }

    public static bool SubtractInto(ref short channel, int samples, int pedestalPair, short saturation, Span<short> destination)
    {
        short even = (short)pedestalPair, odd = (short)(pedestalPair >> 16);
        bool saturated = false;
        for (int k = 0; k < samples; k++)
        {
            short x = Unsafe.Add(ref channel, k);
            saturated |= x >= saturation;
            destination[k] = unchecked((short)(x - ((k & 1) == 0 ? even : odd)));
        }
        return saturated;
    }
}

internal struct Vector256Kernel : IZsKernel
{
    private const int W = 16;
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static int NextHit(in ZsScan scan, int from)
    {
        int s = scan.SamplesPerChannel;
        int n = scan.ChannelCount;
        if (s >= W && s <= 2 * W)
        {
            // NA64's 25..32 samples: two loads per channel, at 0 and at s − 16 (overlapping when s < 32).
            // The second starts on an odd sample when s is odd, so its pedestal lanes are swapped.
            nuint second = (nuint)(s - W);
            int swap = (s & 1) * 16;
            ref short channel = ref scan.Channel(from);
            ref int limits = ref scan.LimitPairs;
            int c = from;
            // Two channels per iteration: one test-and-branch for both, more loads in flight.
            for (; c + 1 < n; c += 2)
            {
                int pair0 = Unsafe.Add(ref limits, c);
                int pair1 = Unsafe.Add(ref limits, c + 1);
                var over0 = Vector256.GreaterThan(Vector256.LoadUnsafe(ref channel), Vector256.Create(pair0).AsInt16())
                    | Vector256.GreaterThan(Vector256.LoadUnsafe(ref channel, second),
                        Vector256.Create((int)BitOperations.RotateLeft((uint)pair0, swap)).AsInt16());
                ref short next = ref Unsafe.Add(ref channel, s);
                var over1 = Vector256.GreaterThan(Vector256.LoadUnsafe(ref next), Vector256.Create(pair1).AsInt16())
                    | Vector256.GreaterThan(Vector256.LoadUnsafe(ref next, second),
                        Vector256.Create((int)BitOperations.RotateLeft((uint)pair1, swap)).AsInt16());
                if ((over0 | over1) != Vector256<short>.Zero)
                    return over0 != Vector256<short>.Zero ? c : c + 1;
                channel = ref Unsafe.Add(ref next, s);
            }
            if (c < n)
            {
                int pair = Unsafe.Add(ref limits, c);
                var over = Vector256.GreaterThan(Vector256.LoadUnsafe(ref channel), Vector256.Create(pair).AsInt16())
                    | Vector256.GreaterThan(Vector256.LoadUnsafe(ref channel, second),
                        Vector256.Create((int)BitOperations.RotateLeft((uint)pair, swap)).AsInt16());
                if (over != Vector256<short>.Zero) return c;
            }
            return n;
        }
        for (int c = from; c < n; c++)
        {
            if (Exceeds(ref scan.Channel(c), s, scan.LimitPair(c), scan.CanOverRead(c, W))) return c;
        }
        return n;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<short> Pattern(int pair, int offset) =>
        Vector256.Create((offset & 1) == 0 ? pair : (int)BitOperations.RotateLeft((uint)pair, 16)).AsInt16();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool Exceeds(ref short channel, int samples, int limitPair, bool canOverRead)
    {
        var limit = Vector256.Create(limitPair).AsInt16();
        if (samples >= W)
        {
            var hit = Vector256.GreaterThan(Vector256.LoadUnsafe(ref channel), limit);
            int off = W;
            for (; off + W <= samples; off += W)
                hit |= Vector256.GreaterThan(Vector256.LoadUnsafe(ref channel, (nuint)off), limit);
            if (off < samples)
            {
                // Tail: the last W samples of the channel, overlapping ones already tested (max is idempotent).
                int t = samples - W;
                hit |= Vector256.GreaterThan(Vector256.LoadUnsafe(ref channel, (nuint)t), Pattern(limitPair, t));
            }
            return hit != Vector256<short>.Zero;
        }
        if (canOverRead)
        {
            var lanes = Vector256.LessThan(Vector256<short>.Indices, Vector256.Create((short)samples));
            return (Vector256.GreaterThan(Vector256.LoadUnsafe(ref channel), limit) & lanes) != Vector256<short>.Zero;
        }
        return ScalarKernel.Exceeds(ref channel, samples, limitPair, canOverRead);
    }

    public static bool SubtractInto(ref short channel, int samples, int pedestalPair, short saturation, Span<short> destination)
    {
        if (samples < W)
            return ScalarKernel.SubtractInto(ref channel, samples, pedestalPair, saturation, destination);
        ref short dst = ref MemoryMarshal.GetReference(destination);
        var ped = Vector256.Create(pedestalPair).AsInt16();
        var sat = Vector256.Create(saturation);
        var hit = Vector256<short>.Zero;
        int off = 0;
        for (; off + W <= samples; off += W)
        {
            var x = Vector256.LoadUnsafe(ref channel, (nuint)off);
            hit |= Vector256.GreaterThanOrEqual(x, sat);
            (x - ped).StoreUnsafe(ref dst, (nuint)off);
        }
        if (off < samples)
        {
            int t = samples - W;
            var x = Vector256.LoadUnsafe(ref channel, (nuint)t);
            hit |= Vector256.GreaterThanOrEqual(x, sat);
            (x - Pattern(pedestalPair, t)).StoreUnsafe(ref dst, (nuint)t);
        }
        return hit != Vector256<short>.Zero;
    }
}

internal struct Vector512Kernel : IZsKernel
{
    private const int W = 32;
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static int NextHit(in ZsScan scan, int from)
    {
        int s = scan.SamplesPerChannel;
        int n = scan.ChannelCount;
        if (s > W / 2 && s <= W)
        {
            // One load per channel. Below 32 samples it reaches into the next channel; those lanes are
            // masked off. The last channels, whose load would leave the block, go to the Vector256 scan.
            int safe = scan.Length < W ? 0 : (int)Math.Min(n, (scan.Length - W) / s + 1L);
            var lanes = Vector512.LessThan(Vector512<short>.Indices, Vector512.Create((short)s));
            ref short channel = ref scan.Channel(from);
            ref int limits = ref scan.LimitPairs;
            int c = from;
            for (; c < safe; c++)
            {
                var over = Vector512.GreaterThan(Vector512.LoadUnsafe(ref channel), Vector512.Create(Unsafe.Add(ref limits, c)).AsInt16()) & lanes;
                if (over != Vector512<short>.Zero) return c;
                channel = ref Unsafe.Add(ref channel, s);
            }
            return c >= n ? n : Vector256Kernel.NextHit(in scan, c);
        }
        for (int c = from; c < n; c++)
        {
            if (Exceeds(ref scan.Channel(c), s, scan.LimitPair(c), scan.CanOverRead(c, W))) return c;
        }
        return n;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<short> Pattern(int pair, int offset) =>
        Vector512.Create((offset & 1) == 0 ? pair : (int)BitOperations.RotateLeft((uint)pair, 16)).AsInt16();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool Exceeds(ref short channel, int samples, int limitPair, bool canOverRead)
    {
        var limit = Vector512.Create(limitPair).AsInt16();
        if (samples >= W)
        {
            var hit = Vector512.GreaterThan(Vector512.LoadUnsafe(ref channel), limit);
            int off = W;
            for (; off + W <= samples; off += W)
                hit |= Vector512.GreaterThan(Vector512.LoadUnsafe(ref channel, (nuint)off), limit);
            if (off < samples)
            {
                // Tail: the last W samples of the channel, overlapping ones already tested (max is idempotent).
                int t = samples - W;
                hit |= Vector512.GreaterThan(Vector512.LoadUnsafe(ref channel, (nuint)t), Pattern(limitPair, t));
            }
            return hit != Vector512<short>.Zero;
        }
        if (canOverRead)
        {
            var lanes = Vector512.LessThan(Vector512<short>.Indices, Vector512.Create((short)samples));
            return (Vector512.GreaterThan(Vector512.LoadUnsafe(ref channel), limit) & lanes) != Vector512<short>.Zero;
        }
        return Vector256Kernel.Exceeds(ref channel, samples, limitPair, false);
    }

    public static bool SubtractInto(ref short channel, int samples, int pedestalPair, short saturation, Span<short> destination)
    {
        if (samples < W)
            return Vector256Kernel.SubtractInto(ref channel, samples, pedestalPair, saturation, destination);
        ref short dst = ref MemoryMarshal.GetReference(destination);
        var ped = Vector512.Create(pedestalPair).AsInt16();
        var sat = Vector512.Create(saturation);
        var hit = Vector512<short>.Zero;
        int off = 0;
        for (; off + W <= samples; off += W)
        {
            var x = Vector512.LoadUnsafe(ref channel, (nuint)off);
            hit |= Vector512.GreaterThanOrEqual(x, sat);
            (x - ped).StoreUnsafe(ref dst, (nuint)off);
        }
        if (off < samples)
        {
            int t = samples - W;
            var x = Vector512.LoadUnsafe(ref channel, (nuint)t);
            hit |= Vector512.GreaterThanOrEqual(x, sat);
            (x - Pattern(pedestalPair, t)).StoreUnsafe(ref dst, (nuint)t);
        }
        return hit != Vector512<short>.Zero;
    }
}
