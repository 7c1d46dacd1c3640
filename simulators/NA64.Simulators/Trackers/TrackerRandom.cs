namespace NA64.Simulators.Trackers;

/// <summary>
/// xoshiro256** generator seeded through SplitMix64 from (simulator seed, event number). The tracker simulator
/// reseeds it for every event, so the tracker response of event n depends only on the seed and n: the same no
/// matter in which order (or how often) events are simulated, and independent of how many numbers the calorimeter
/// generator drew for the same event.
/// </summary>
internal sealed class TrackerRandom
{
    private ulong _s0, _s1, _s2, _s3;
    private bool _hasSpare;
    private double _spare;

    public TrackerRandom(ulong seed) => Reset(seed);

    /// <summary>A stream per (seed, stream): both are mixed, so neighbouring event numbers give unrelated streams.</summary>
    public static ulong Mix(long seed, long stream)
    {
        ulong x = (ulong)seed * 0x9E3779B97F4A7C15UL ^ (ulong)stream * 0xD1B54A32D192ED03UL;
        return SplitMix(ref x);
    }

    public void Reset(ulong seed)
    {
        ulong x = seed;
        _s0 = SplitMix(ref x);
        _s1 = SplitMix(ref x);
        _s2 = SplitMix(ref x);
        _s3 = SplitMix(ref x);
        _hasSpare = false;
    }

    public ulong NextULong()
    {
        ulong result = RotateLeft(_s1 * 5, 7) * 9;
        ulong t = _s1 << 17;
        _s2 ^= _s0;
        _s3 ^= _s1;
        _s1 ^= _s2;
        _s0 ^= _s3;
        _s2 ^= t;
        _s3 = RotateLeft(_s3, 45);
        return result;
    }

    /// <summary>Uniform in [0, 1) with 53 random bits.</summary>
    public double NextDouble() => (NextULong() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Uniform in (0, 1): safe under a logarithm.</summary>
    public double NextOpenDouble() => ((NextULong() >> 11) + 0.5) * (1.0 / (1UL << 53));

    /// <summary>Standard normal deviate (Marsaglia polar method).</summary>
    public double NextGaussian()
    {
        if (_hasSpare)
        {
            _hasSpare = false;
            return _spare;
        }
        double u, v, s;
        do
        {
            u = 2.0 * NextDouble() - 1.0;
            v = 2.0 * NextDouble() - 1.0;
            s = u * u + v * v;
        }
        while (s >= 1.0 || s == 0.0);
        double factor = Math.Sqrt(-2.0 * Math.Log(s) / s);
        _spare = v * factor;
        _hasSpare = true;
        return u * factor;
    }

    /// <summary>Poisson deviate by multiplication of uniforms (fine for the small means of pile-up).</summary>
    public int NextPoisson(double mean)
    {
        if (mean <= 0)
            return 0;
        double limit = Math.Exp(-mean);
        int k = 0;
        double p = NextDouble();
        while (p > limit)
        {
            k++;
            p *= NextDouble();
        }
        return k;
    }

    private static ulong RotateLeft(ulong x, int k) => (x << k) | (x >> (64 - k));

    private static ulong SplitMix(ref ulong x)
    {
        ulong z = x += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
