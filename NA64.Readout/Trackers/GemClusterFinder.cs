namespace NA64.Readout.Trackers;

public sealed record GemClusterOptions
{
    /// <summary>Smallest cluster, in strips. Default 1: a GEM plane is not multiplexed, so there are no ghost images
    /// for a size-2 rule to remove, and a track on a chip boundary leaves one strip on each side; noise singles are cut
    /// by <see cref="SingleStripMinSigmas"/> instead (README).</summary>
    public int MinStrips { get; init; } = 1;
    /// <summary>A one-strip cluster must reach this many σ of its strip's noise (3 σ upstream ZS lets 0.13 % of noise
    /// strips through, ≈ 0.35 per 256-strip plane and event; 5 σ makes that ≈ 7·10⁻⁵).</summary>
    public double SingleStripMinSigmas { get; init; } = 5;
    /// <summary>Strips per readout chip: neighbour logic never crosses a multiple of it (128 = one APV25). 0 = no boundary.</summary>
    public int ChipBoundaryStrips { get; init; } = 128;
    /// <summary>Re-threshold the input at this many σ (0 = trust the upstream zero suppression).</summary>
    public double MinAmplitudeSigmas { get; init; }

    internal void Validate()
    {
        if (MinStrips < 1)
            throw new ArgumentOutOfRangeException(nameof(MinStrips), MinStrips, "MinStrips must be >= 1");
        if (ChipBoundaryStrips < 0)
            throw new ArgumentOutOfRangeException(nameof(ChipBoundaryStrips), ChipBoundaryStrips, "ChipBoundaryStrips must be >= 0");
        if (!double.IsFinite(SingleStripMinSigmas) || SingleStripMinSigmas < 0)
            throw new ArgumentOutOfRangeException(nameof(SingleStripMinSigmas), SingleStripMinSigmas, "SingleStripMinSigmas must be a finite number >= 0");
        if (!double.IsFinite(MinAmplitudeSigmas) || MinAmplitudeSigmas < 0)
            throw new ArgumentOutOfRangeException(nameof(MinAmplitudeSigmas), MinAmplitudeSigmas, "MinAmplitudeSigmas must be a finite number >= 0");
    }
}

/// <summary>
/// Cluster finding of one GEM plane: channel = strip (no multiplexing), clusters = contiguous runs of fired strips that
/// never cross a chip boundary (na64-setup §9.12: "never across the 128-channel chip boundary"). One instance per
/// plane, no allocation per event, not thread-safe.
/// </summary>
public sealed class GemClusterFinder
{
    private readonly PlaneGeometry _geometry;
    private readonly GemClusterOptions _options;
    private readonly bool[] _masked, _fired;
    private readonly double[] _q, _f0, _f1, _f2, _n2;
    private readonly TrackerCluster[] _clusters;

    public GemClusterFinder(PlaneGeometry geometry, GemClusterOptions? options = null, IEnumerable<int>? maskedStrips = null)
    {
        ArgumentNullException.ThrowIfNull(geometry);
        geometry.Validate();
        _options = options ?? new GemClusterOptions();
        _options.Validate();
        _geometry = geometry;
        int n = geometry.StripCount;
        _masked = new bool[n];
        foreach (int s in maskedStrips ?? [])
        {
            if ((uint)s >= (uint)n)
                throw new ArgumentOutOfRangeException(nameof(maskedStrips), s, $"masked strip must be in 0..{n - 1}");
            _masked[s] = true;
        }
        _fired = new bool[n];
        _q = new double[n]; _f0 = new double[n]; _f1 = new double[n]; _f2 = new double[n]; _n2 = new double[n];
        _clusters = new TrackerCluster[n];
    }

    public PlaneGeometry Geometry => _geometry;
    public GemClusterOptions Options => _options;

    /// <summary>Hits dropped in the last <see cref="Find"/>: on a masked strip, or a strip given twice.</summary>
    public (int Masked, int Duplicates) LastEventDropped { get; private set; }

    /// <summary>The clusters of one event, ordered by first strip; <paramref name="stripSigma"/> has StripCount entries.
    /// The span stays valid until the next call.</summary>
    public ReadOnlySpan<TrackerCluster> Find(ReadOnlySpan<TrackerChannelHit> hits, ReadOnlySpan<float> stripSigma)
    {
        int n = _geometry.StripCount;
        if (stripSigma.Length != n)
            throw new ArgumentException($"stripSigma has {stripSigma.Length} entries, the plane has {n} strips", nameof(stripSigma));
        Array.Clear(_fired);
        int masked = 0, duplicates = 0;
        foreach (var h in hits)
        {
            if ((uint)h.Channel >= (uint)n)
                throw new ArgumentOutOfRangeException(nameof(hits), h.Channel, $"hit strip must be in 0..{n - 1}");
            if (_masked[h.Channel]) { masked++; continue; }
            if (_fired[h.Channel]) { duplicates++; continue; }
            double amp = h.MaxAmplitude;
            if (amp <= 0 || amp < _options.MinAmplitudeSigmas * stripSigma[h.Channel]) continue;
            _fired[h.Channel] = true;
            _q[h.Channel] = amp;
            _f0[h.Channel] = h.A0; _f1[h.Channel] = h.A1; _f2[h.Channel] = h.A2;
            _n2[h.Channel] = (double)stripSigma[h.Channel] * stripSigma[h.Channel];
        }
        LastEventDropped = (masked, duplicates);

        int chip = _options.ChipBoundaryStrips;
        int count = 0;
        for (int s = 0; s < n;)
        {
            if (!_fired[s]) { s++; continue; }
            int first = s++;
            // A run stops at a chip boundary: strip s starts a new chip when s is a multiple of the chip size.
            while (s < n && _fired[s] && (chip == 0 || s % chip != 0)) s++;
            int size = s - first;
            if (size < _options.MinStrips) continue;
            if (size == 1 && _q[first] < _options.SingleStripMinSigmas * Math.Sqrt(_n2[first])) continue;
            var flags = ClusterFlags.None;
            if (chip != 0 && ((first % chip == 0 && first > 0) || (s % chip == 0 && s < n)))
                flags |= ClusterFlags.AtChipBoundary;
            _clusters[count++] = ClusterMath.Build(first, size, _q, _f0, _f1, _f2, _n2, _geometry, flags);
        }
        return _clusters.AsSpan(0, count);
    }
}
