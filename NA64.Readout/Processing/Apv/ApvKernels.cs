using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace NA64.Readout.Processing.Apv;

/// <summary>
/// The per-frame and per-APV work, on raw references (the processor has checked every length). All arithmetic on a
/// sample is wrapping int16, in this order: d = (short)(raw &lt;&lt; 2) − pedestal, then d − common mode; sums are
/// int32 and exact. With 10-bit samples nothing ever wraps; on corrupt input every kernel wraps alike, so all kernels
/// are bit-identical for any int16 input (property-tested).
/// </summary>
internal interface IApvKernel
{
    /// <summary>Σ d and the number of channels taking part, over the 128 channels of one frame: a channel takes part if
    /// usable and, when <paramref name="useCut"/>, (short)(d − offset) ≤ its cut.</summary>
    static abstract int Sum(ref short raw, ref short ped, ref short cut, ref short usable, short offset, bool useCut, out int count);

    /// <summary>Channels taking part (as in <see cref="Sum"/>) whose d ≤ x.</summary>
    static abstract int CountAtOrBelow(ref short raw, ref short ped, ref short cut, ref short usable, short offset, bool useCut, short x);

    /// <summary>Writes the kept channels of one APV (3 frames × 128 from <paramref name="raw"/>) to
    /// <paramref name="hits"/>, which has room for 128; returns how many.</summary>
    static abstract int Suppress(ref short raw, ref short ped, ref short thr, short cm0, short cm1, short cm2, bool a1Only, ref ApvKeptChannel hits);
}

internal struct ApvScalarKernel : IApvKernel
{
    private const int N = ApvLayout.ChannelsPerApv;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static short D(short raw, short ped) => unchecked((short)((short)(raw << 2) - ped));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool TakesPart(short d, short cut, short usable, short offset, bool useCut) =>
        usable != 0 && (!useCut || unchecked((short)(d - offset)) <= cut);

    public static int Sum(ref short raw, ref short ped, ref short cut, ref short usable, short offset, bool useCut, out int count)
    {
        int sum = 0, n = 0;
        for (int c = 0; c < N; c++)
        {
            short d = D(Unsafe.Add(ref raw, c), Unsafe.Add(ref ped, c));
            if (TakesPart(d, Unsafe.Add(ref cut, c), Unsafe.Add(ref usable, c), offset, useCut))
            {
                sum += d;
                n++;
            }
        }
        count = n;
        return sum;
    }

    public static int CountAtOrBelow(ref short raw, ref short ped, ref short cut, ref short usable, short offset, bool useCut, short x)
    {
        int n = 0;
        for (int c = 0; c < N; c++)
        {
            short d = D(Unsafe.Add(ref raw, c), Unsafe.Add(ref ped, c));
            if (d <= x && TakesPart(d, Unsafe.Add(ref cut, c), Unsafe.Add(ref usable, c), offset, useCut)) n++;
        }
        return n;
    }

    public static int Suppress(ref short raw, ref short ped, ref short thr, short cm0, short cm1, short cm2, bool a1Only, ref ApvKeptChannel hits)
    {
        int n = 0;
        for (int c = 0; c < N; c++)
        {
            var hit = Hit(ref raw, ref ped, c, cm0, cm1, cm2);
            short amp = a1Only ? hit.A1 : Math.Max(hit.A0, Math.Max(hit.A1, hit.A2));
            if (amp > Unsafe.Add(ref thr, c))
                Unsafe.Add(ref hits, n++) = hit;
        }
        return n;
    }

    /// <summary>Channel c's three subtracted frames; also how the vector kernels write a kept channel, so a kept record
    /// is the same integer expression in every kernel.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ApvKeptChannel Hit(ref short raw, ref short ped, int c, short cm0, short cm1, short cm2)
    {
        short p = Unsafe.Add(ref ped, c);
        return new ApvKeptChannel((short)c,
            unchecked((short)(D(Unsafe.Add(ref raw, c), p) - cm0)),
            unchecked((short)(D(Unsafe.Add(ref raw, N + c), p) - cm1)),
            unchecked((short)(D(Unsafe.Add(ref raw, 2 * N + c), p) - cm2)));
    }
}

internal struct ApvVector256Kernel : IApvKernel
{
    private const int N = ApvLayout.ChannelsPerApv;
    private const int W = 16;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<short> D(ref short raw, ref short ped, nuint o) =>
        Vector256.ShiftLeft(Vector256.LoadUnsafe(ref raw, o), 2) - Vector256.LoadUnsafe(ref ped, o);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<short> TakesPart(Vector256<short> d, ref short cut, ref short usable, Vector256<short> offset, bool useCut, nuint o)
    {
        var lanes = Vector256.LoadUnsafe(ref usable, o);
        return useCut ? lanes & Vector256.LessThanOrEqual(d - offset, Vector256.LoadUnsafe(ref cut, o)) : lanes;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static int Sum(ref short raw, ref short ped, ref short cut, ref short usable, short offset, bool useCut, out int count)
    {
        var off = Vector256.Create(offset);
        var acc = Vector256<int>.Zero;
        int n = 0;
        for (nuint o = 0; o < N; o += W)
        {
            var d = D(ref raw, ref ped, o);
            var lanes = TakesPart(d, ref cut, ref usable, off, useCut, o);
            var (lo, hi) = Vector256.Widen(d & lanes);
            acc += lo + hi;
            n += BitOperations.PopCount(lanes.ExtractMostSignificantBits());
        }
        count = n;
        return Vector256.Sum(acc);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static int CountAtOrBelow(ref short raw, ref short ped, ref short cut, ref short usable, short offset, bool useCut, short x)
    {
        var off = Vector256.Create(offset);
        var limit = Vector256.Create(x);
        int n = 0;
        for (nuint o = 0; o < N; o += W)
        {
            var d = D(ref raw, ref ped, o);
            var lanes = TakesPart(d, ref cut, ref usable, off, useCut, o) & Vector256.LessThanOrEqual(d, limit);
            n += BitOperations.PopCount(lanes.ExtractMostSignificantBits());
        }
        return n;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static int Suppress(ref short raw, ref short ped, ref short thr, short cm0, short cm1, short cm2, bool a1Only, ref ApvKeptChannel hits)
    {
        var c0 = Vector256.Create(cm0);
        var c1 = Vector256.Create(cm1);
        var c2 = Vector256.Create(cm2);
        ref short raw1 = ref Unsafe.Add(ref raw, N);
        ref short raw2 = ref Unsafe.Add(ref raw, 2 * N);
        int n = 0;
        for (nuint o = 0; o < N; o += W)
        {
            var a1 = D(ref raw1, ref ped, o) - c1;
            var amp = a1Only ? a1 : Vector256.Max(Vector256.Max(D(ref raw, ref ped, o) - c0, a1), D(ref raw2, ref ped, o) - c2);
            uint bits = Vector256.GreaterThan(amp, Vector256.LoadUnsafe(ref thr, o)).ExtractMostSignificantBits();
            // Rare (a few channels in a hundred): the kept channel is recomputed from its samples, still in L1.
            while (bits != 0)
            {
                int c = (int)o + BitOperations.TrailingZeroCount(bits);
                Unsafe.Add(ref hits, n++) = ApvScalarKernel.Hit(ref raw, ref ped, c, cm0, cm1, cm2);
                bits &= bits - 1;
            }
        }
        return n;
    }
}

internal struct ApvVector512Kernel : IApvKernel
{
    private const int N = ApvLayout.ChannelsPerApv;
    private const int W = 32;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<short> D(ref short raw, ref short ped, nuint o) =>
        Vector512.ShiftLeft(Vector512.LoadUnsafe(ref raw, o), 2) - Vector512.LoadUnsafe(ref ped, o);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<short> TakesPart(Vector512<short> d, ref short cut, ref short usable, Vector512<short> offset, bool useCut, nuint o)
    {
        var lanes = Vector512.LoadUnsafe(ref usable, o);
        return useCut ? lanes & Vector512.LessThanOrEqual(d - offset, Vector512.LoadUnsafe(ref cut, o)) : lanes;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static int Sum(ref short raw, ref short ped, ref short cut, ref short usable, short offset, bool useCut, out int count)
    {
        var off = Vector512.Create(offset);
        var acc = Vector512<int>.Zero;
        int n = 0;
        for (nuint o = 0; o < N; o += W)
        {
            var d = D(ref raw, ref ped, o);
            var lanes = TakesPart(d, ref cut, ref usable, off, useCut, o);
            var (lo, hi) = Vector512.Widen(d & lanes);
            acc += lo + hi;
            n += BitOperations.PopCount(lanes.ExtractMostSignificantBits());
        }
        count = n;
        return Vector512.Sum(acc);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static int CountAtOrBelow(ref short raw, ref short ped, ref short cut, ref short usable, short offset, bool useCut, short x)
    {
        var off = Vector512.Create(offset);
        var limit = Vector512.Create(x);
        int n = 0;
        for (nuint o = 0; o < N; o += W)
        {
            var d = D(ref raw, ref ped, o);
            var lanes = TakesPart(d, ref cut, ref usable, off, useCut, o) & Vector512.LessThanOrEqual(d, limit);
            n += BitOperations.PopCount(lanes.ExtractMostSignificantBits());
        }
        return n;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static int Suppress(ref short raw, ref short ped, ref short thr, short cm0, short cm1, short cm2, bool a1Only, ref ApvKeptChannel hits)
    {
        var c0 = Vector512.Create(cm0);
        var c1 = Vector512.Create(cm1);
        var c2 = Vector512.Create(cm2);
        ref short raw1 = ref Unsafe.Add(ref raw, N);
        ref short raw2 = ref Unsafe.Add(ref raw, 2 * N);
        int n = 0;
        for (nuint o = 0; o < N; o += W)
        {
            var a1 = D(ref raw1, ref ped, o) - c1;
            var amp = a1Only ? a1 : Vector512.Max(Vector512.Max(D(ref raw, ref ped, o) - c0, a1), D(ref raw2, ref ped, o) - c2);
            ulong bits = Vector512.GreaterThan(amp, Vector512.LoadUnsafe(ref thr, o)).ExtractMostSignificantBits();
            while (bits != 0)
            {
                int c = (int)o + BitOperations.TrailingZeroCount(bits);
                Unsafe.Add(ref hits, n++) = ApvScalarKernel.Hit(ref raw, ref ped, c, cm0, cm1, cm2);
                bits &= bits - 1;
            }
        }
        return n;
    }
}
