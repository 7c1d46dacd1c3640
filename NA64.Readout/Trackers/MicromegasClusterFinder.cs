using System.Numerics;
using NA64.Hardware.Trackers.Micromegas;

namespace NA64.Readout.Trackers;

/// <summary>How the amplitude of a channel is divided among its strips when more than one of them ends up in a
/// cluster (the channel measured the sum, the map cannot say how it splits).</summary>
public enum SharedChargePolicy
{
    /// <summary>Each surviving strip of the channel gets amplitude / (number of surviving strips of the channel).</summary>
    Equal,
    /// <summary>In proportion to the unshared charge on the strip's geometric neighbours inside its cluster (a real
    /// strip sits in the middle of a charge cloud, a ghost strip beside a weak partner); equal when no strip has such
    /// neighbours. Default: it keeps a real cluster's centroid when a noise channel forms a ghost pair with one of its
    /// channels elsewhere.</summary>
    NeighbourWeighted,
}

public sealed record MicromegasClusterOptions
{
    /// <summary>Clusters are contiguous runs of at least this many kept strips (na64-setup §8.1: 2). The neighbour rule
    /// already makes every run ≥ 2, so only values above 2 change anything.</summary>
    public int MinStrips { get; init; } = 2;
    public SharedChargePolicy SharedCharge { get; init; } = SharedChargePolicy.NeighbourWeighted;
    /// <summary>Drop clusters that contain one channel twice (decoding rule 5); false keeps them flagged.</summary>
    public bool RejectSameChannelTwice { get; init; } = true;
    /// <summary>Drop a cluster each of whose channels also belongs to a longer cluster: every strip of it is a ghost
    /// image of those clusters' channels, so the map explains it without another hit.</summary>
    public bool RemoveContainedGhosts { get; init; } = true;
    /// <summary>Re-threshold the input at this many σ of the channel's noise (0 = trust the upstream zero suppression).</summary>
    public double MinAmplitudeSigmas { get; init; }

    internal void Validate()
    {
        if (MinStrips < 2)
            throw new ArgumentOutOfRangeException(nameof(MinStrips), MinStrips, "MinStrips must be >= 2 (the neighbour rule keeps no single strip)");
        if (!double.IsFinite(MinAmplitudeSigmas) || MinAmplitudeSigmas < 0)
            throw new ArgumentOutOfRangeException(nameof(MinAmplitudeSigmas), MinAmplitudeSigmas, "MinAmplitudeSigmas must be a finite number >= 0");
        if (!Enum.IsDefined(SharedCharge))
            throw new ArgumentOutOfRangeException(nameof(SharedCharge), SharedCharge, "unknown SharedChargePolicy");
    }
}

/// <summary>What happened to one plane's event on the way to its clusters.</summary>
public readonly record struct MicromegasEventCounts(
    int FiredChannels,
    int MaskedChannelsHit,
    int DuplicateChannels,
    int FiredStrips,
    int IsolatedStripsRemoved,
    int RejectedSameChannelTwice,
    int ContainedGhostsRemoved);

/// <summary>
/// Demultiplexing and cluster finding of one micromegas plane (na64-setup §8.1 decoding rule): project every fired
/// channel onto its strips, keep a strip only if a geometric neighbour is fired too (ghost images are isolated strips),
/// clusters = contiguous runs of ≥ <see cref="MicromegasClusterOptions.MinStrips"/> kept strips. One instance per
/// plane; it owns its scratch arrays, so <see cref="Find"/> allocates nothing. Not thread-safe (one plane, one thread).
/// </summary>
public sealed class MicromegasClusterFinder
{
    private readonly MultiplexingMap _map;
    // The map's tables as plain arrays: the map's accessors check their argument and throw with a message, which keeps
    // the JIT from inlining them, and the inner loops call them hundreds of times per plane.
    private readonly int[] _channelOf, _stripsOfChannel;
    private readonly int _multiplicity;
    private readonly PlaneGeometry _geometry;
    private readonly MicromegasClusterOptions _options;
    private readonly bool[] _masked;
    // Per channel
    private readonly double[] _amp, _c0, _c1, _c2;
    private readonly bool[] _fired;
    private readonly float[] _sigma;
    private readonly int[] _use;
    private readonly int[] _stamp;
    // Per strip
    // Strips as bit sets (64 per word): the neighbour rule and the run search are a few word operations instead of
    // passes over all 320 strips (the tracker chain's 5 µs/event budget covers 16 planes).
    private readonly ulong[] _stripFired, _kept;
    // Channels of each candidate run as a bit set (_channelWords words per run): the ghost and sharing tests become masks.
    private readonly int _channelWords;
    private readonly ulong[] _runChannels;
    // Union of other runs' channels (one run's worth of words), and the strips of the surviving runs.
    private readonly ulong[] _union;
    private readonly ulong[] _aliveStrips;
    private readonly double[] _q, _f0, _f1, _f2, _n2, _weight;
    // Clusters: candidate runs, then results
    private readonly (int First, int Count, bool Alive, ClusterFlags Flags)[] _runs;
    private readonly TrackerCluster[] _clusters;

    public MicromegasClusterFinder(MultiplexingMap map, PlaneGeometry geometry, MicromegasClusterOptions? options = null,
        IEnumerable<int>? maskedChannels = null)
    {
        ArgumentNullException.ThrowIfNull(map);
        ArgumentNullException.ThrowIfNull(geometry);
        geometry.Validate();
        if (geometry.StripCount != map.StripCount)
            throw new ArgumentException($"geometry StripCount = {geometry.StripCount}, the multiplexing map has {map.StripCount} strips", nameof(geometry));
        _options = options ?? new MicromegasClusterOptions();
        _options.Validate();
        _map = map;
        _geometry = geometry;
        _channelOf = map.StripToChannel.ToArray();
        _multiplicity = map.Multiplicity;
        _stripsOfChannel = new int[map.ChannelCount * _multiplicity];
        for (int c = 0; c < map.ChannelCount; c++)
            map.StripsOfChannel(c).CopyTo(_stripsOfChannel.AsSpan(c * _multiplicity, _multiplicity));
        int p = map.ChannelCount, n = map.StripCount;
        _masked = new bool[p];
        foreach (int c in maskedChannels ?? [])
        {
            if ((uint)c >= (uint)p)
                throw new ArgumentOutOfRangeException(nameof(maskedChannels), c, $"masked channel must be in 0..{p - 1}");
            _masked[c] = true;
        }
        _amp = new double[p]; _c0 = new double[p]; _c1 = new double[p]; _c2 = new double[p];
        _fired = new bool[p]; _sigma = new float[p]; _use = new int[p]; _stamp = new int[p];
        _stripFired = new ulong[(n + 63) / 64]; _kept = new ulong[(n + 63) / 64];
        _channelWords = (p + 63) / 64;
        _runChannels = new ulong[(n / 2 + 1) * _channelWords];
        _union = new ulong[_channelWords];
        _aliveStrips = new ulong[(n + 63) / 64];
        _q = new double[n]; _f0 = new double[n]; _f1 = new double[n]; _f2 = new double[n]; _n2 = new double[n]; _weight = new double[n];
        _runs = new (int, int, bool, ClusterFlags)[n / 2 + 1];
        _clusters = new TrackerCluster[n / 2 + 1];
    }

    public MultiplexingMap Map => _map;
    public PlaneGeometry Geometry => _geometry;
    public MicromegasClusterOptions Options => _options;

    /// <summary>True for a masked channel; its <see cref="MultiplexingMap.Multiplicity"/> strips never fire.</summary>
    public bool IsMasked(int channel) => _masked[channel];

    /// <summary>True when the strip's channel is masked.</summary>
    public bool IsStripMasked(int strip) => _masked[_map.ChannelOfStrip(strip)];

    /// <summary>Counters of the last <see cref="Find"/> call.</summary>
    public MicromegasEventCounts LastEvent { get; private set; }

    /// <summary>
    /// The clusters of one event of this plane, ordered by first strip. <paramref name="channelSigma"/> is the noise σ
    /// of every channel (ChannelCount entries, from the pedestal run). The span stays valid until the next call.
    /// </summary>
    public ReadOnlySpan<TrackerCluster> Find(ReadOnlySpan<TrackerChannelHit> hits, ReadOnlySpan<float> channelSigma)
    {
        int p = _map.ChannelCount, n = _map.StripCount;
        if (channelSigma.Length != p)
            throw new ArgumentException($"channelSigma has {channelSigma.Length} entries, the plane has {p} channels", nameof(channelSigma));
        Array.Clear(_fired);
        Array.Clear(_use);
        Array.Clear(_stripFired);
        Array.Clear(_kept);
        channelSigma.CopyTo(_sigma);

        int fired = 0, maskedHit = 0, duplicates = 0;
        foreach (var h in hits)
        {
            if ((uint)h.Channel >= (uint)p)
                throw new ArgumentOutOfRangeException(nameof(hits), h.Channel, $"hit channel must be in 0..{p - 1}");
            if (_masked[h.Channel]) { maskedHit++; continue; }
            // A channel twice in one event is a decoder problem (DuplicateChannel); the first one counts, as the decoder keeps it.
            if (_fired[h.Channel]) { duplicates++; continue; }
            double amp = h.MaxAmplitude;
            if (amp <= 0 || amp < _options.MinAmplitudeSigmas * _sigma[h.Channel]) continue;
            _fired[h.Channel] = true;
            _amp[h.Channel] = amp;
            _c0[h.Channel] = h.A0; _c1[h.Channel] = h.A1; _c2[h.Channel] = h.A2;
            fired++;
            foreach (int s in StripsOf(h.Channel))
                _stripFired[s >> 6] |= 1UL << (s & 63);
        }

        // Neighbour rule in strip space: a real cloud of >= 2 strips survives, ghost images are isolated strips.
        // Bit s of (fired << 1) is strip s − 1, of (fired >> 1) strip s + 1, carried across words; no bit beyond n is set.
        int firedStrips = 0, removed = 0, words = _stripFired.Length;
        for (int w = 0; w < words; w++)
        {
            ulong f = _stripFired[w];
            ulong left = (f << 1) | (w > 0 ? _stripFired[w - 1] >> 63 : 0);
            ulong right = (f >> 1) | (w + 1 < words ? _stripFired[w + 1] << 63 : 0);
            _kept[w] = f & (left | right);
            firedStrips += BitOperations.PopCount(f);
            removed += BitOperations.PopCount(f & ~_kept[w]);
        }

        int runs = 0;
        for (int s = NextBit(_kept, 0, true, n); s < n;)
        {
            int first = s;
            s = NextBit(_kept, s, false, n);
            if (s - first >= _options.MinStrips)
                _runs[runs++] = (first, s - first, true, ClusterFlags.None);
            s = NextBit(_kept, s, true, n);
        }
        Array.Clear(_runChannels, 0, runs * _channelWords);
        for (int r = 0; r < runs; r++)
        {
            for (int s = _runs[r].First; s < _runs[r].First + _runs[r].Count; s++)
            {
                int c = _channelOf[s];
                _runChannels[r * _channelWords + (c >> 6)] |= 1UL << (c & 63);
            }
        }

        // Same channel twice inside one cluster (decoding rule 5): stamp channels with the run number.
        Array.Clear(_stamp);
        for (int r = 0; r < runs; r++)
        {
            var (first, count, _, _) = _runs[r];
            int tag = r + 1;
            for (int s = first; s < first + count; s++)
            {
                int c = _channelOf[s];
                if (_stamp[c] == tag) { _runs[r].Flags |= ClusterFlags.SameChannelTwice; break; }
                _stamp[c] = tag;
            }
        }

        // Ghost removal first, with every candidate as an explainer: a rejected wide cluster is still the hit whose
        // channels make the ghost pairs, and those must not come out as clusters of their own.
        int containedRemoved = _options.RemoveContainedGhosts ? RemoveContainedGhosts(runs) : 0;

        int rejectedTwice = 0;
        for (int r = 0; r < runs; r++)
        {
            if (_runs[r].Alive && (_runs[r].Flags & ClusterFlags.SameChannelTwice) != 0 && _options.RejectSameChannelTwice)
            {
                _runs[r].Alive = false;
                rejectedTwice++;
            }
        }

        // Shares: how many surviving strips each channel feeds, and which clusters share channels.
        Array.Clear(_aliveStrips);
        for (int r = 0; r < runs; r++)
        {
            if (!_runs[r].Alive) continue;
            for (int s = _runs[r].First; s < _runs[r].First + _runs[r].Count; s++)
            {
                _use[_channelOf[s]]++;
                _aliveStrips[s >> 6] |= 1UL << (s & 63);
            }
        }
        AssignStripCharges(runs);

        int clusters = 0;
        for (int r = 0; r < runs; r++)
        {
            if (!_runs[r].Alive) continue;
            var flags = _runs[r].Flags;
            bool othersKnown = false;
            for (int s = _runs[r].First; s < _runs[r].First + _runs[r].Count; s++)
            {
                int c = _channelOf[s];
                if (_use[c] > 1)
                {
                    flags |= ClusterFlags.SharedCharge;
                    if (!othersKnown)
                    {
                        UnionOfRuns(runs, r, 0);
                        othersKnown = true;
                    }
                    if ((_union[c >> 6] & (1UL << (c & 63))) != 0) flags |= ClusterFlags.Ambiguous;
                }
            }
            _clusters[clusters++] = ClusterMath.Build(_runs[r].First, _runs[r].Count, _q, _f0, _f1, _f2, _n2, _geometry, flags);
        }

        LastEvent = new MicromegasEventCounts(fired, maskedHit, duplicates, firedStrips, removed, rejectedTwice, containedRemoved);
        return _clusters.AsSpan(0, clusters);
    }

    private ReadOnlySpan<int> StripsOf(int channel) => _stripsOfChannel.AsSpan(channel * _multiplicity, _multiplicity);

    /// <summary>Channels of the surviving runs other than <paramref name="except"/> that are longer than
    /// <paramref name="longerThan"/> strips, into <see cref="_union"/>.</summary>
    private void UnionOfRuns(int runs, int except, int longerThan)
    {
        Array.Clear(_union);
        for (int r = 0; r < runs; r++)
        {
            if (r == except || !_runs[r].Alive || _runs[r].Count <= longerThan) continue;
            for (int w = 0; w < _channelWords; w++)
                _union[w] |= _runChannels[r * _channelWords + w];
        }
    }

    /// <summary>First strip ≥ <paramref name="from"/> whose bit equals <paramref name="set"/>, or <paramref name="n"/>.</summary>
    private static int NextBit(ulong[] bits, int from, bool set, int n)
    {
        if (from >= n) return n;
        int w = from >> 6;
        ulong word = (set ? bits[w] : ~bits[w]) & (ulong.MaxValue << (from & 63));
        while (word == 0)
        {
            if (++w == bits.Length) return n;
            word = set ? bits[w] : ~bits[w];
        }
        return Math.Min(n, (w << 6) + BitOperations.TrailingZeroCount(word));
    }

    private int RemoveContainedGhosts(int runs)
    {
        int removed = 0;
        for (int a = 0; a < runs; a++)
        {
            if (!_runs[a].Alive) continue;
            // Contained: every channel of run a belongs to some other surviving, longer run (as evaluated in run order).
            UnionOfRuns(runs, a, _runs[a].Count);
            bool contained = true;
            for (int w = 0; w < _channelWords && contained; w++)
                contained = (_runChannels[a * _channelWords + w] & ~_union[w]) == 0;
            if (contained)
            {
                _runs[a].Alive = false;
                removed++;
            }
        }
        return removed;
    }

    private void AssignStripCharges(int runs)
    {
        // Unshared strips first: they carry their channel's whole amplitude and are the evidence the weighted policy uses.
        for (int r = 0; r < runs; r++)
        {
            if (!_runs[r].Alive) continue;
            for (int s = _runs[r].First; s < _runs[r].First + _runs[r].Count; s++)
            {
                int c = _channelOf[s];
                _weight[s] = 1;
                if (_options.SharedCharge == SharedChargePolicy.NeighbourWeighted && _use[c] > 1)
                {
                    double w = 0;
                    if (s > _runs[r].First && _use[_channelOf[s - 1]] == 1) w += _amp[_channelOf[s - 1]];
                    if (s < _runs[r].First + _runs[r].Count - 1 && _use[_channelOf[s + 1]] == 1) w += _amp[_channelOf[s + 1]];
                    _weight[s] = w;
                }
            }
        }
        for (int r = 0; r < runs; r++)
        {
            if (!_runs[r].Alive) continue;
            for (int s = _runs[r].First; s < _runs[r].First + _runs[r].Count; s++)
            {
                int c = _channelOf[s];
                double fraction = 1;
                if (_use[c] > 1)
                {
                    double total = 0;
                    foreach (int t in StripsOf(c))
                        if ((_aliveStrips[t >> 6] & (1UL << (t & 63))) != 0) total += _weight[t];
                    fraction = total > 0 ? _weight[s] / total : 1.0 / _use[c];
                }
                _q[s] = fraction * _amp[c];
                _f0[s] = fraction * _c0[c];
                _f1[s] = fraction * _c1[c];
                _f2[s] = fraction * _c2[c];
                double sigma = fraction * _sigma[c];
                _n2[s] = sigma * sigma;
            }
        }
    }
}
