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
    // Everything below is a bit set (64 per word) or touched only at fired channels and kept strips: a plane has
    // ≈ 9 fired channels, ≈ 46 fired and ≈ 17 kept strips of 320, and the tracker chain's 5 µs/event budget covers
    // 16 planes. Passes over all strips or channels, and short loops whose trip count depends on the data (each one a
    // mispredicted branch at its end), were most of the earlier 1.2 µs per plane.
    private readonly int _stripWords, _channelWords;
    private readonly ulong[] _maskedChannels, _firedChannels;
    // The strips of each channel as a strip bit set (_stripWords per channel): projection is a few ORs per hit.
    private readonly ulong[] _stripsOfChannelBits;
    private readonly ulong[] _stripFired, _kept, _aliveStrips;
    // Channels on more than one surviving strip, and channels in more than one surviving run.
    private readonly ulong[] _sharedChannels, _seenChannels, _multiRunChannels, _seenRunChannels;
    private readonly ChannelValues[] _values;
    // Shared-charge weights: per surviving strip, and their sum and count per channel (summed in increasing strip order).
    private readonly double[] _weight, _weightTotal;
    private readonly int[] _use;
    // Candidate runs: first strip, length, alive, flags, and their channels as a bit set (_channelWords words per run).
    private readonly int[] _runFirst, _runCount;
    private readonly bool[] _runAlive;
    private readonly ClusterFlags[] _runFlags;
    private readonly ulong[] _runChannels;
    private readonly TrackerCluster[] _clusters;

    // The amplitudes of one fired channel, as the charge arithmetic uses them (double of the input floats).
    private struct ChannelValues
    {
        public double Amp, A0, A1, A2;
    }

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
        int p = map.ChannelCount, n = map.StripCount;
        _stripWords = (n + 63) / 64;
        _channelWords = (p + 63) / 64;
        _stripsOfChannel = new int[p * _multiplicity];
        _stripsOfChannelBits = new ulong[p * _stripWords];
        for (int c = 0; c < p; c++)
        {
            map.StripsOfChannel(c).CopyTo(_stripsOfChannel.AsSpan(c * _multiplicity, _multiplicity));
            foreach (int s in map.StripsOfChannel(c))
                _stripsOfChannelBits[c * _stripWords + (s >> 6)] |= 1UL << (s & 63);
        }
        _masked = new bool[p];
        _maskedChannels = new ulong[_channelWords];
        foreach (int c in maskedChannels ?? [])
        {
            if ((uint)c >= (uint)p)
                throw new ArgumentOutOfRangeException(nameof(maskedChannels), c, $"masked channel must be in 0..{p - 1}");
            _masked[c] = true;
            _maskedChannels[c >> 6] |= 1UL << (c & 63);
        }
        _firedChannels = new ulong[_channelWords];
        _values = new ChannelValues[p];
        _weight = new double[n]; _weightTotal = new double[p]; _use = new int[p];
        _stripFired = new ulong[_stripWords]; _kept = new ulong[_stripWords]; _aliveStrips = new ulong[_stripWords];
        _sharedChannels = new ulong[_channelWords]; _seenChannels = new ulong[_channelWords];
        _multiRunChannels = new ulong[_channelWords]; _seenRunChannels = new ulong[_channelWords];
        // Every run has >= 2 strips and runs are separated by >= 1 strip.
        int maxRuns = n / 2 + 1;
        _runFirst = new int[maxRuns]; _runCount = new int[maxRuns]; _runAlive = new bool[maxRuns];
        _runFlags = new ClusterFlags[maxRuns];
        _runChannels = new ulong[maxRuns * _channelWords];
        _clusters = new TrackerCluster[maxRuns];
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
        int p = _map.ChannelCount;
        if (channelSigma.Length != p)
            throw new ArgumentException($"channelSigma has {channelSigma.Length} entries, the plane has {p} channels", nameof(channelSigma));
        int sw = _stripWords, cw = _channelWords;
        ulong[] stripFired = _stripFired, kept = _kept, firedChannels = _firedChannels, maskedChannels = _maskedChannels;
        // Array.Clear(Array) looks up the element type at run time: on arrays of a few words a loop is cheaper.
        for (int w = 0; w < stripFired.Length; w++) stripFired[w] = 0;
        for (int w = 0; w < firedChannels.Length; w++) firedChannels[w] = 0;
        double minSigmas = _options.MinAmplitudeSigmas;

        int fired = 0, maskedHit = 0, duplicates = 0;
        foreach (var h in hits)
        {
            int c = h.Channel;
            if ((uint)c >= (uint)p)
                throw new ArgumentOutOfRangeException(nameof(hits), c, $"hit channel must be in 0..{p - 1}");
            ulong bit = 1UL << (c & 63);
            if ((maskedChannels[c >> 6] & bit) != 0) { maskedHit++; continue; }
            // A channel twice in one event is a decoder problem (DuplicateChannel); the first one counts, as the decoder keeps it.
            if ((firedChannels[c >> 6] & bit) != 0) { duplicates++; continue; }
            double amp = h.MaxAmplitude;
            if (amp <= 0 || amp < minSigmas * channelSigma[c]) continue;
            firedChannels[c >> 6] |= bit;
            ref var v = ref _values[c];
            v.Amp = amp;
            v.A0 = h.A0; v.A1 = h.A1; v.A2 = h.A2;
            fired++;
            var strips = _stripsOfChannelBits.AsSpan(c * sw, sw);
            for (int w = 0; w < strips.Length; w++)
                stripFired[w] |= strips[w];
        }

        // Neighbour rule in strip space: a real cloud of >= 2 strips survives, ghost images are isolated strips.
        // Bit s of (fired << 1) is strip s − 1, of (fired >> 1) strip s + 1, carried across words; no bit beyond n is set.
        int firedStrips = 0, keptStrips = 0;
        for (int w = 0; w < sw; w++)
        {
            ulong f = stripFired[w];
            ulong left = (f << 1) | (w > 0 ? stripFired[w - 1] >> 63 : 0);
            ulong right = (f >> 1) | (w + 1 < sw ? stripFired[w + 1] << 63 : 0);
            kept[w] = f & (left | right);
            firedStrips += BitOperations.PopCount(f);
            keptStrips += BitOperations.PopCount(kept[w]);
        }

        // Runs of kept strips: a start is a kept strip whose left neighbour is not kept, an end one whose right is not.
        // Starts and ends alternate, so the k-th end closes the k-th run.
        int runs = 0, ended = 0;
        for (int w = 0; w < sw; w++)
        {
            ulong k = kept[w];
            ulong starts = k & ~((k << 1) | (w > 0 ? kept[w - 1] >> 63 : 0));
            ulong ends = k & ~((k >> 1) | (w + 1 < sw ? kept[w + 1] << 63 : 0));
            for (; starts != 0; starts &= starts - 1)
                _runFirst[runs++] = (w << 6) + BitOperations.TrailingZeroCount(starts);
            for (; ends != 0; ends &= ends - 1, ended++)
                _runCount[ended] = (w << 6) + BitOperations.TrailingZeroCount(ends) + 1 - _runFirst[ended];
        }

        // Channels of every run; one channel on two strips of a run (decoding rule 5) leaves fewer channels than strips.
        // A run shorter than MinStrips is no candidate at all.
        int minStrips = _options.MinStrips;
        for (int r = 0; r < runs; r++)
        {
            var channels = _runChannels.AsSpan(r * cw, cw);
            channels.Clear();
            int first = _runFirst[r], end = first + _runCount[r];
            for (int s = first; s < end; s++)
            {
                int c = _channelOf[s];
                channels[c >> 6] |= 1UL << (c & 63);
            }
            int distinct = 0;
            for (int w = 0; w < channels.Length; w++) distinct += BitOperations.PopCount(channels[w]);
            _runFlags[r] = distinct < _runCount[r] ? ClusterFlags.SameChannelTwice : ClusterFlags.None;
            _runAlive[r] = _runCount[r] >= minStrips;
        }

        // Ghost removal first, with every candidate as an explainer: a rejected wide cluster is still the hit whose
        // channels make the ghost pairs, and those must not come out as clusters of their own.
        int containedRemoved = _options.RemoveContainedGhosts ? RemoveContainedGhosts(runs) : 0;

        int rejectedTwice = 0;
        if (_options.RejectSameChannelTwice)
        {
            for (int r = 0; r < runs; r++)
            {
                if (_runAlive[r] && (_runFlags[r] & ClusterFlags.SameChannelTwice) != 0)
                {
                    _runAlive[r] = false;
                    rejectedTwice++;
                }
            }
        }

        // Shares: channels on more than one surviving strip, and channels in more than one surviving run.
        ulong[] alive = _aliveStrips, shared = _sharedChannels, seen = _seenChannels, multi = _multiRunChannels, seenRun = _seenRunChannels;
        for (int w = 0; w < alive.Length; w++) alive[w] = 0;
        for (int w = 0; w < cw; w++)
        {
            shared[w] = 0;
            seen[w] = 0;
            multi[w] = 0;
            seenRun[w] = 0;
        }
        for (int r = 0; r < runs; r++)
        {
            if (!_runAlive[r]) continue;
            int first = _runFirst[r], end = first + _runCount[r];
            for (int s = first; s < end; s++)
            {
                alive[s >> 6] |= 1UL << (s & 63);
                int c = _channelOf[s];
                ulong bit = 1UL << (c & 63);
                shared[c >> 6] |= seen[c >> 6] & bit;
                seen[c >> 6] |= bit;
            }
            var channels = _runChannels.AsSpan(r * cw, cw);
            for (int w = 0; w < cw; w++)
            {
                multi[w] |= seenRun[w] & channels[w];
                seenRun[w] |= channels[w];
            }
        }

        // Weights of every surviving strip, summed per channel in increasing strip order (the order of the channel's
        // strips). Only the shared channels' sums are read; adding every strip avoids a branch per strip.
        _weightTotal.AsSpan().Clear();
        _use.AsSpan().Clear();
        bool weighted = _options.SharedCharge == SharedChargePolicy.NeighbourWeighted;
        for (int r = 0; r < runs; r++)
        {
            if (!_runAlive[r]) continue;
            int first = _runFirst[r], end = first + _runCount[r];
            for (int s = first; s < end; s++)
            {
                int c = _channelOf[s];
                double w = weighted ? NeighbourWeight(s) : 1;
                _weight[s] = w;
                _weightTotal[c] += w;
                _use[c]++;
            }
        }

        int clusters = 0;
        for (int r = 0; r < runs; r++)
        {
            if (!_runAlive[r]) continue;
            var flags = _runFlags[r];
            var channels = _runChannels.AsSpan(r * cw, cw);
            bool anyShared = false, ambiguous = false;
            for (int w = 0; w < cw; w++)
            {
                anyShared |= (channels[w] & shared[w]) != 0;
                // A channel of this run in another surviving run is on two surviving strips, hence shared.
                ambiguous |= (channels[w] & multi[w]) != 0;
            }
            if (anyShared) flags |= ClusterFlags.SharedCharge;
            if (ambiguous) flags |= ClusterFlags.Ambiguous;
            _clusters[clusters++] = BuildCluster(_runFirst[r], _runCount[r], anyShared, channelSigma, flags);
        }

        LastEvent = new MicromegasEventCounts(fired, maskedHit, duplicates, firedStrips, firedStrips - keptStrips, rejectedTwice, containedRemoved);
        return _clusters.AsSpan(0, clusters);
    }

    /// <summary>Charge, frames and noise of one surviving run, strip by strip in increasing order (the sums of
    /// <see cref="ClusterMath.Build"/>); a strip of a shared channel gets its fraction of the channel's amplitude: its
    /// weight over the sum of the weights of the channel's surviving strips (<see cref="_weightTotal"/>), equal shares
    /// when that sum is 0.</summary>
    private TrackerCluster BuildCluster(int first, int count, bool anyShared, ReadOnlySpan<float> sigma, ClusterFlags flags)
    {
        double charge = 0, moment = 0, s0 = 0, s1 = 0, s2 = 0, n2 = 0;
        for (int s = first; s < first + count; s++)
        {
            int c = _channelOf[s];
            double fraction = 1;
            if (anyShared && IsSet(_sharedChannels, c))
                fraction = _weightTotal[c] > 0 ? _weight[s] / _weightTotal[c] : 1.0 / _use[c];
            ref readonly var v = ref _values[c];
            double q = fraction * v.Amp;
            charge += q;
            moment += s * q;
            s0 += fraction * v.A0;
            s1 += fraction * v.A1;
            s2 += fraction * v.A2;
            double noise = fraction * sigma[c];
            n2 += noise * noise;
        }
        return ClusterMath.Finish(first, count, charge, moment, s0, s1, s2, n2, _geometry, flags);
    }

    /// <summary>Weight of a surviving strip of a shared channel: 1 for <see cref="SharedChargePolicy.Equal"/>; for
    /// <see cref="SharedChargePolicy.NeighbourWeighted"/> the amplitude of its unshared neighbours in its run (a
    /// surviving neighbour strip is in the same run, runs being maximal), left then right. Without branches on the
    /// data: almost every cluster shares a channel with a ghost pair (85 % in the tracker chain benchmark).</summary>
    private double NeighbourWeight(int s)
    {
        int n = _map.StripCount;
        int left = s > 0 ? s - 1 : s, right = s + 1 < n ? s + 1 : s;
        bool useLeft = s > 0 && IsSet(_aliveStrips, left) && !IsSet(_sharedChannels, _channelOf[left]);
        bool useRight = s + 1 < n && IsSet(_aliveStrips, right) && !IsSet(_sharedChannels, _channelOf[right]);
        // 0 + a = a and a + 0 = a for the positive amplitudes: the same sum as adding only the neighbours that count.
        return (useLeft ? _values[_channelOf[left]].Amp : 0) + (useRight ? _values[_channelOf[right]].Amp : 0);
    }

    private static bool IsSet(ulong[] bits, int i) => (bits[i >> 6] & (1UL << (i & 63))) != 0;

    /// <summary>Drops, in run order, each surviving run all of whose channels belong to other surviving runs that are
    /// longer. Without branches on the other runs: their channels are ANDed with an all-ones or all-zero mask.</summary>
    private int RemoveContainedGhosts(int runs)
    {
        int removed = 0, cw = _channelWords;
        // Channels in two or more candidates: a run with a channel outside them can never be contained (the surviving
        // runs only shrink), and that is most runs, so the quadratic test runs for few.
        ulong[] multi = _multiRunChannels, seen = _seenRunChannels;
        for (int w = 0; w < cw; w++)
        {
            multi[w] = 0;
            seen[w] = 0;
        }
        for (int r = 0; r < runs; r++)
        {
            ulong alive = 0UL - (_runAlive[r] ? 1UL : 0UL);
            for (int w = 0; w < cw; w++)
            {
                ulong channels = _runChannels[r * cw + w] & alive;
                multi[w] |= seen[w] & channels;
                seen[w] |= channels;
            }
        }
        for (int a = 0; a < runs; a++)
        {
            if (!_runAlive[a]) continue;
            bool candidate = true;
            for (int w = 0; w < cw; w++) candidate &= (_runChannels[a * cw + w] & ~multi[w]) == 0;
            if (!candidate) continue;
            int count = _runCount[a];
            bool contained = true;
            for (int w = 0; w < cw; w++)
            {
                ulong union = 0;
                for (int r = 0; r < runs; r++)
                {
                    bool explains = _runAlive[r] & (_runCount[r] > count);
                    union |= _runChannels[r * cw + w] & (0UL - (explains ? 1UL : 0UL));
                }
                contained &= (_runChannels[a * cw + w] & ~union) == 0;
            }
            if (contained)
            {
                _runAlive[a] = false;
                removed++;
            }
        }
        return removed;
    }
}
