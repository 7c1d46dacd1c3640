using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace NA64.Readout.Processing;

/// <summary>
/// One channel's work in the fused pass. Arithmetic is wrapping int16 in every kernel: with 12-bit samples
/// and pedestals in 0..4095 the difference stays in −4095..4095, so nothing wraps or saturates; on
/// out-of-range input all kernels wrap the same way, which keeps them bit-identical.
/// </summary>
internal interface IZsKernel
{
    /// <summary>Lanes of one vector load (1 for scalar).</summary>
    static abstract int Width { get; }

    /// <summary>True if any (sample − pedestal) &gt; threshold. <paramref name="canOverRead"/> says a full
    /// vector may be loaded from the channel start even if the channel is shorter.</summary>
    static abstract bool Exceeds(ref short channel, int samples, int pedestalPair, short threshold, bool canOverRead);

    /// <summary>Writes sample − pedestal to <paramref name="destination"/>; true if a raw sample &gt;= saturation.</summary>
    static abstract bool SubtractInto(ref short channel, int samples, int pedestalPair, short saturation, Span<short> destination);
}

internal struct ScalarKernel : IZsKernel
{
    public static int Width => 1;

    public static bool Exceeds(ref short channel, int samples, int pedestalPair, short threshold, bool canOverRead)
    {
        short even = (short)pedestalPair, odd = (short)(pedestalPair >> 16);
        for (int k = 0; k < samples; k++)
        {
            short d = unchecked((short)(Unsafe.Add(ref channel, k) - ((k & 1) == 0 ? even : odd)));
            if (d > threshold) return true;
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
    public static int Width => W;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<short> Pedestal(int pair, int offset) =>
        Vector256.Create((offset & 1) == 0 ? pair : (int)BitOperations.RotateLeft((uint)pair, 16)).AsInt16();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool Exceeds(ref short channel, int samples, int pedestalPair, short threshold, bool canOverRead)
    {
        var thr = Vector256.Create(threshold);
        var ped = Vector256.Create(pedestalPair).AsInt16();
        if (samples >= W)
        {
            var hit = Vector256.GreaterThan(Vector256.LoadUnsafe(ref channel) - ped, thr);
            int off = W;
            for (; off + W <= samples; off += W)
                hit |= Vector256.GreaterThan(Vector256.LoadUnsafe(ref channel, (nuint)off) - ped, thr);
            if (off < samples)
            {
                // Tail: the last W samples of the channel, overlapping ones already tested (max is idempotent).
                int t = samples - W;
                hit |= Vector256.GreaterThan(Vector256.LoadUnsafe(ref channel, (nuint)t) - Pedestal(pedestalPair, t), thr);
            }
            return hit != Vector256<short>.Zero;
        }
        if (canOverRead)
        {
            var lanes = Vector256.LessThan(Vector256<short>.Indices, Vector256.Create((short)samples));
            return (Vector256.GreaterThan(Vector256.LoadUnsafe(ref channel) - ped, thr) & lanes) != Vector256<short>.Zero;
        }
        return ScalarKernel.Exceeds(ref channel, samples, pedestalPair, threshold, canOverRead);
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
            (x - Pedestal(pedestalPair, t)).StoreUnsafe(ref dst, (nuint)t);
        }
        return hit != Vector256<short>.Zero;
    }
}

internal struct Vector512Kernel : IZsKernel
{
    private const int W = 32;
    public static int Width => W;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<short> Pedestal(int pair, int offset) =>
        Vector512.Create((offset & 1) == 0 ? pair : (int)BitOperations.RotateLeft((uint)pair, 16)).AsInt16();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool Exceeds(ref short channel, int samples, int pedestalPair, short threshold, bool canOverRead)
    {
        var thr = Vector512.Create(threshold);
        var ped = Vector512.Create(pedestalPair).AsInt16();
        if (samples >= W)
        {
            var hit = Vector512.GreaterThan(Vector512.LoadUnsafe(ref channel) - ped, thr);
            int off = W;
            for (; off + W <= samples; off += W)
                hit |= Vector512.GreaterThan(Vector512.LoadUnsafe(ref channel, (nuint)off) - ped, thr);
            if (off < samples)
            {
                int t = samples - W;
                hit |= Vector512.GreaterThan(Vector512.LoadUnsafe(ref channel, (nuint)t) - Pedestal(pedestalPair, t), thr);
            }
            return hit != Vector512<short>.Zero;
        }
        if (canOverRead)
        {
            // 25..31 samples: one load reaching into the next channel, the foreign lanes masked off.
            var lanes = Vector512.LessThan(Vector512<short>.Indices, Vector512.Create((short)samples));
            return (Vector512.GreaterThan(Vector512.LoadUnsafe(ref channel) - ped, thr) & lanes) != Vector512<short>.Zero;
        }
        return Vector256Kernel.Exceeds(ref channel, samples, pedestalPair, threshold, false);
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
            (x - Pedestal(pedestalPair, t)).StoreUnsafe(ref dst, (nuint)t);
        }
        return hit != Vector512<short>.Zero;
    }
}
