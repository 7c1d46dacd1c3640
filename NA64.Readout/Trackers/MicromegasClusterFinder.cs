using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
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
/// <remarks>
/// The tracker chain's budget is 5 µs per event for 16 planes, of which the APVs take 2. A plane has ≈ 9 fired
/// channels, ≈ 46 fired and ≈ 17 kept strips of 320, in ≈ 6 candidate runs. So: strips are bit sets (a projection is
/// a few ORs), the kept strips are listed once in strip order (entries) and every later pass walks that list, a set
/// of channels is one 64-bit word (<see cref="MaxChannels"/>), and the loops carry no data-dependent branch where a
/// mask does the same (each mispredicted branch costs about as much as a whole pass over the list).
/// </remarks>
public sealed class MicromegasClusterFinder
{
    /// <summary>A plane is read by half an APV (its 128 inputs carry X and Y), so a set of its channels is one word.</summary>
    public const int MaxChannels = 64;

    private readonly MultiplexingMap _map;
    // The map's strip → channel table as a plain array: the map's accessor checks its argument and throws with a
    // message, which keeps the JIT from inlining it.
    private readonly int[] _channelOf;
    private readonly int _channelCount, _stripWords;
    private readonly PlaneGeometry _geometry;
    private readonly MicromegasClusterOptions _options;
    private readonly ulong _maskedChannels;
    // The strips of each channel as a strip bit set (_stripWords per channel).
    private readonly ulong[] _stripsOfChannelBits;
    private readonly ulong[] _stripFired, _kept;
    private readonly Amplitudes[] _amplitudes;
    // Per channel: sum and count of the weights of its surviving strips (summed in increasing strip order).
    private readonly double[] _weightTotal;
    private readonly int[] _use;
    // The kept strips in increasing order. Entry e is at index e + 1: index 0 and the one after the last entry belong
    // to run −1, so the neighbour test needs no bounds branch.
    private readonly Entry[] _entries;
    private readonly Run[] _runs;
    private readonly int[] _aliveRuns;
    private readonly TrackerCluster[] _clusters;

    // The amplitudes of one fired channel, as the charge arithmetic uses them (double of the input floats).
    private struct Amplitudes
    {
        public double Max, A0, A1, A2;
    }

    private struct Entry
    {
        public int Strip, Channel, Run;
        public double Weight, Fraction;
    }

    // A candidate cluster: a maximal run of kept strips.
    private struct Run
    {
        public int FirstStrip, FirstEntry, Count;
        public bool Alive;
        public ClusterFlags Flags;
        public ulong Channels;
    }

    public MicromegasClusterFinder(MultiplexingMap map, PlaneGeometry geometry, MicromegasClusterOptions? options = null,
        IEnumerable<int>? maskedChannels = null)
    {
        ArgumentNullException.ThrowIfNull(map);
        ArgumentNullException.ThrowIfNull(geometry);
        geometry.Validate();
        if (geometry.StripCount != map.StripCount)
            throw new ArgumentException($"geometry StripCount = {geometry.StripCount}, the multiplexing map has {map.StripCount} strips", nameof(geometry));
        if (map.ChannelCount > MaxChannels)
            throw new ArgumentException($"multiplexing map channels = {map.ChannelCount}, a micromegas plane is read by half an APV: at most {MaxChannels}", nameof(map));
        _options = options ?? new MicromegasClusterOptions();
        _options.Validate();
        _map = map;
        _geometry = geometry;
        _channelOf = map.StripToChannel.ToArray();
        int p = map.ChannelCount, n = map.StripCount;
        _channelCount = p;
        _stripWords = (n + 63) / 64;
        _stripsOfChannelBits = new ulong[p * _stripWords];
        for (int c = 0; c < p; c++)
        {
            foreach (int s in map.StripsOfChannel(c))
                _stripsOfChannelBits[c * _stripWords + (s >> 6)] |= 1UL << (s & 63);
        }
        foreach (int c in maskedChannels ?? [])
        {
            if ((uint)c >= (uint)p)
                throw new ArgumentOutOfRangeException(nameof(maskedChannels), c, $"masked channel must be in 0..{p - 1}");
            _maskedChannels |= 1UL << c;
        }
        _amplitudes = new Amplitudes[p];
        _stripFired = new ulong[_stripWords];
        _kept = new ulong[_stripWords];
        _weightTotal = new double[p];
        _use = new int[p];
        _entries = new Entry[n + 2];
        _entries[0].Run = -1;
        // Every run has >= 2 strips and runs are separated by >= 1 strip; one more for the end sentinel.
        int maxRuns = n / 2 + 1;
        _runs = new Run[maxRuns + 1];
        _aliveRuns = new int[maxRuns];
        _clusters = new TrackerCluster[maxRuns];
    }

    public MultiplexingMap Map => _map;
    public PlaneGeometry Geometry => _geometry;
    public MicromegasClusterOptions Options => _options;

    /// <summary>True for a masked channel; its <see cref="MultiplexingMap.Multiplicity"/> strips never fire.</summary>
    public bool IsMasked(int channel) => (uint)channel < (uint)_channelCount
        ? (_maskedChannels & (1UL << channel)) != 0
        : throw new ArgumentOutOfRangeException(nameof(channel), channel, $"channel must be in 0..{_channelCount - 1}");

    /// <summary>True when the strip's channel is masked.</summary>
    public bool IsStripMasked(int strip) => IsMasked(_map.ChannelOfStrip(strip));

    /// <summary>Counters of the last <see cref="Find"/> call.</summary>
    public MicromegasEventCounts LastEvent { get; private set; }

    /// <summary>
    /// The clusters of one event of this plane, ordered by first strip. <paramref name="channelSigma"/> is the noise σ
    /// of every channel (ChannelCount entries, from the pedestal run). The span stays valid until the next call.
    /// </summary>
    public ReadOnlySpan<TrackerCluster> Find(ReadOnlySpan<TrackerChannelHit> hits, ReadOnlySpan<float> channelSigma)
    {
        if (channelSigma.Length != _channelCount)
            throw new ArgumentException($"channelSigma has {channelSigma.Length} entries, the plane has {_channelCount} channels", nameof(channelSigma));
        int fired = Project(hits, channelSigma, out int maskedHit, out int duplicates);
        int firedStrips = KeepNeighbours();
        int entries = ListKeptStrips(out int runs);

        // One channel on two strips of a run (decoding rule 5) leaves fewer channels than strips. A run shorter than
        // MinStrips is no candidate at all.
        ref Run run0 = ref MemoryMarshal.GetArrayDataReference(_runs);
        int minStrips = _options.MinStrips;
        for (int r = 0; r < runs; r++)
        {
            ref Run run = ref Unsafe.Add(ref run0, r);
            run.Flags = BitOperations.PopCount(run.Channels) < run.Count ? ClusterFlags.SameChannelTwice : ClusterFlags.None;
            run.Alive = run.Count >= minStrips;
        }

        // Ghost removal first, with every candidate as an explainer: a rejected wide cluster is still the hit whose
        // channels make the ghost pairs, and those must not come out as clusters of their own.
        int containedRemoved = _options.RemoveContainedGhosts ? RemoveContainedGhosts(runs) : 0;

        int rejectedTwice = 0;
        if (_options.RejectSameChannelTwice)
        {
            for (int r = 0; r < runs; r++)
            {
                ref Run run = ref Unsafe.Add(ref run0, r);
                bool reject = run.Alive & (run.Flags & ClusterFlags.SameChannelTwice) != 0;
                run.Alive &= !reject;
                rejectedTwice += reject ? 1 : 0;
            }
        }

        // Shares: channels on more than one surviving strip, and channels in more than one surviving run.
        ulong shared = 0, seen = 0, multiRun = 0, seenRun = 0;
        for (int r = 0; r < runs; r++)
        {
            ref Run run = ref Unsafe.Add(ref run0, r);
            ulong channels = run.Channels & AllIf(run.Alive);
            multiRun |= seenRun & channels;
            seenRun |= channels;
        }
        ref Entry entry0 = ref MemoryMarshal.GetArrayDataReference(_entries);
        for (int e = 1; e <= entries; e++)
        {
            ref Entry entry = ref Unsafe.Add(ref entry0, e);
            ulong bit = (1UL << entry.Channel) & AllIf(Unsafe.Add(ref run0, entry.Run).Alive);
            shared |= seen & bit;
            seen |= bit;
        }

        ShareCharge(entries, shared);

        int clusters = 0;
        ref int alive0 = ref MemoryMarshal.GetArrayDataReference(_aliveRuns);
        for (int r = 0; r < runs; r++)
        {
            Unsafe.Add(ref alive0, clusters) = r;
            clusters += Unsafe.Add(ref run0, r).Alive ? 1 : 0;
        }
        for (int i = 0; i < clusters; i++)
        {
            int r = Unsafe.Add(ref alive0, i);
            ref Run run = ref Unsafe.Add(ref run0, r);
            var flags = run.Flags
                | ((run.Channels & shared) != 0 ? ClusterFlags.SharedCharge : ClusterFlags.None)
                // A channel of this run in another surviving run is on two surviving strips, hence shared.
                | ((run.Channels & multiRun) != 0 ? ClusterFlags.Ambiguous : ClusterFlags.None);
            _clusters[i] = BuildCluster(ref run, channelSigma, flags);
        }

        LastEvent = new MicromegasEventCounts(fired, maskedHit, duplicates, firedStrips, firedStrips - entries, rejectedTwice, containedRemoved);
        return _clusters.AsSpan(0, clusters);
    }

    /// <summary>Fired channels (above the re-threshold, not masked, first of duplicates) and their strips in
    /// <see cref="_stripFired"/>; returns how many fired.</summary>
    private int Project(ReadOnlySpan<TrackerChannelHit> hits, ReadOnlySpan<float> channelSigma, out int maskedHit, out int duplicates)
    {
        int p = _channelCount, sw = _stripWords;
        Span<ulong> stripFired = _stripFired;
        ReadOnlySpan<ulong> stripsOfChannel = _stripsOfChannelBits;
        stripFired.Clear();
        ulong masked = _maskedChannels, firedChannels = 0;
        double minSigmas = _options.MinAmplitudeSigmas;
        int fired = 0;
        maskedHit = 0;
        duplicates = 0;
        foreach (ref readonly var h in hits)
        {
            int c = h.Channel;
            if ((uint)c >= (uint)p)
                throw new ArgumentOutOfRangeException(nameof(hits), c, $"hit channel must be in 0..{p - 1}");
            ulong bit = 1UL << c;
            if ((masked & bit) != 0) { maskedHit++; continue; }
            // A channel twice in one event is a decoder problem (DuplicateChannel); the first one counts, as the decoder keeps it.
            if ((firedChannels & bit) != 0) { duplicates++; continue; }
            double amp = h.MaxAmplitude;
            if (amp <= 0 || amp < minSigmas * channelSigma[c]) continue;
            firedChannels |= bit;
            ref var v = ref _amplitudes[c];
            v.Max = amp;
            v.A0 = h.A0;
            v.A1 = h.A1;
            v.A2 = h.A2;
            fired++;
            var strips = stripsOfChannel.Slice(c * sw, sw);
            for (int w = 0; w < strips.Length; w++)
                stripFired[w] |= strips[w];
        }
        return fired;
    }

    /// <summary>The neighbour rule in strip space into <see cref="_kept"/>: a real cloud of >= 2 strips survives, ghost
    /// images are isolated strips. Bit s of (fired &lt;&lt; 1) is strip s − 1, of (fired >> 1) strip s + 1, carried across
    /// words; no bit beyond the last strip is set. Returns the number of fired strips.</summary>
    private int KeepNeighbours()
    {
        ReadOnlySpan<ulong> stripFired = _stripFired;
        Span<ulong> kept = _kept;
        int sw = _stripWords, firedStrips = 0;
        for (int w = 0; w < sw; w++)
        {
            ulong f = stripFired[w];
            ulong left = (f << 1) | (w > 0 ? stripFired[w - 1] >> 63 : 0);
            ulong right = (f >> 1) | (w + 1 < sw ? stripFired[w + 1] << 63 : 0);
            kept[w] = f & (left | right);
            firedStrips += BitOperations.PopCount(f);
        }
        return firedStrips;
    }

    /// <summary>
    /// The kept strips in order, each with its channel and run, into <see cref="_entries"/>; the runs into
    /// <see cref="_runs"/>. A run starts at a kept strip whose left neighbour is not kept. Without a branch on the
    /// start: the run index steps by the start bit, and a start clears what the run's slot held from an earlier event.
    /// Returns the number of entries.
    /// </summary>
    private int ListKeptStrips(out int runs)
    {
        ReadOnlySpan<ulong> kept = _kept;
        ReadOnlySpan<int> channelOf = _channelOf;
        ref Entry entry0 = ref MemoryMarshal.GetArrayDataReference(_entries);
        ref Run run0 = ref MemoryMarshal.GetArrayDataReference(_runs);
        int entries = 0, r = -1, sw = _stripWords;
        for (int w = 0; w < sw; w++)
        {
            ulong k = kept[w];
            ulong starts = k & ~((k << 1) | (w > 0 ? kept[w - 1] >> 63 : 0));
            for (; k != 0; k &= k - 1)
            {
                int b = BitOperations.TrailingZeroCount(k);
                int s = (w << 6) + b;
                int start = (int)((starts >> b) & 1);
                r += start;
                int keep = start - 1; // 0 at a start, all ones inside a run
                int c = channelOf[s];
                ref Run run = ref Unsafe.Add(ref run0, r);
                run.FirstStrip = (run.FirstStrip & keep) | (s & ~keep);
                run.FirstEntry = (run.FirstEntry & keep) | (entries & ~keep);
                run.Count = (run.Count & keep) + 1;
                run.Channels = (run.Channels & (ulong)(long)keep) | (1UL << c);
                entries++;
                ref Entry entry = ref Unsafe.Add(ref entry0, entries);
                entry.Strip = s;
                entry.Channel = c;
                entry.Run = r;
            }
        }
        runs = r + 1;
        Unsafe.Add(ref run0, runs).FirstEntry = entries;
        Unsafe.Add(ref entry0, entries + 1).Run = -1;
        return entries;
    }

    /// <summary>
    /// The fraction of its channel's amplitude every entry gets: a strip of a shared channel its weight over the sum of
    /// the weights of the channel's surviving strips (summed in increasing strip order, the order of the channel's
    /// strips), equal shares when that sum is 0; any other strip all of it. No branch on the data: which strips survive
    /// and share changes from event to event, and a mispredicted branch costs more than the arithmetic it skips.
    /// x·1 = x, x + 0 = x and a masked value is +0, so the sums are the sums over the surviving strips exactly.
    /// </summary>
    private void ShareCharge(int entries, ulong shared)
    {
        ref Entry entry0 = ref MemoryMarshal.GetArrayDataReference(_entries);
        if (shared == 0)
        {
            for (int e = 1; e <= entries; e++) Unsafe.Add(ref entry0, e).Fraction = 1.0;
            return;
        }
        ref Run run0 = ref MemoryMarshal.GetArrayDataReference(_runs);
        ref Amplitudes amp0 = ref MemoryMarshal.GetArrayDataReference(_amplitudes);
        ref double total0 = ref MemoryMarshal.GetArrayDataReference(_weightTotal);
        ref int use0 = ref MemoryMarshal.GetArrayDataReference(_use);
        for (int e = 1; e <= entries; e++)
        {
            int c = Unsafe.Add(ref entry0, e).Channel;
            Unsafe.Add(ref total0, c) = 0;
            Unsafe.Add(ref use0, c) = 0;
        }
        bool weighted = _options.SharedCharge == SharedChargePolicy.NeighbourWeighted;
        for (int e = 1; e <= entries; e++)
        {
            ref Entry entry = ref Unsafe.Add(ref entry0, e);
            double weight = 1;
            if (weighted)
            {
                // A geometric neighbour that survives is the neighbouring entry of the same run (runs are maximal and
                // separated by at least one strip that is not kept); it counts if its channel is not shared. Left, then right.
                ref Entry left = ref Unsafe.Add(ref entry0, e - 1), right = ref Unsafe.Add(ref entry0, e + 1);
                bool useLeft = (left.Run == entry.Run) & ((shared >> left.Channel) & 1) == 0;
                bool useRight = (right.Run == entry.Run) & ((shared >> right.Channel) & 1) == 0;
                weight = KeepIf(Unsafe.Add(ref amp0, left.Channel).Max, useLeft) + KeepIf(Unsafe.Add(ref amp0, right.Channel).Max, useRight);
            }
            entry.Weight = weight;
            bool alive = Unsafe.Add(ref run0, entry.Run).Alive;
            Unsafe.Add(ref total0, entry.Channel) += KeepIf(weight, alive);
            Unsafe.Add(ref use0, entry.Channel) += alive ? 1 : 0;
        }
        for (int e = 1; e <= entries; e++)
        {
            ref Entry entry = ref Unsafe.Add(ref entry0, e);
            int c = entry.Channel;
            double total = Unsafe.Add(ref total0, c);
            bool split = ((shared >> c) & 1) != 0, byWeight = total > 0;
            // Both quotients are computed; the one not taken may be 0/0 or 1/0 and is masked away.
            entry.Fraction = KeepIf(entry.Weight / total, split & byWeight) + KeepIf(1.0 / Unsafe.Add(ref use0, c), split & !byWeight)
                + KeepIf(1.0, !split);
        }
    }

    private static ulong AllIf(bool condition) => 0UL - (condition ? 1UL : 0UL);

    /// <summary><paramref name="x"/> if <paramref name="keep"/>, else +0, by masking the bits (no branch).</summary>
    private static double KeepIf(double x, bool keep) =>
        BitConverter.Int64BitsToDouble(BitConverter.DoubleToInt64Bits(x) & -(keep ? 1L : 0L));

    /// <summary>Charge, frames and noise of one surviving run, strip by strip in increasing order (the sums of
    /// <see cref="ClusterMath.Build"/>), each strip with its fraction of its channel's amplitude.</summary>
    private TrackerCluster BuildCluster(ref Run run, ReadOnlySpan<float> sigma, ClusterFlags flags)
    {
        ref Entry entry0 = ref MemoryMarshal.GetArrayDataReference(_entries);
        ref Amplitudes amp0 = ref MemoryMarshal.GetArrayDataReference(_amplitudes);
        // Entry e at index e + 1.
        int first = run.FirstEntry + 1, end = first + run.Count;
        double charge = 0, moment = 0, s0 = 0, s1 = 0, s2 = 0, n2 = 0;
        for (int e = first; e < end; e++)
        {
            ref Entry entry = ref Unsafe.Add(ref entry0, e);
            int c = entry.Channel;
            double fraction = entry.Fraction;
            ref Amplitudes v = ref Unsafe.Add(ref amp0, c);
            double q = fraction * v.Max;
            charge += q;
            moment += entry.Strip * q;
            s0 += fraction * v.A0;
            s1 += fraction * v.A1;
            s2 += fraction * v.A2;
            double noise = fraction * sigma[c];
            n2 += noise * noise;
        }
        return ClusterMath.Finish(run.FirstStrip, run.Count, charge, moment, s0, s1, s2, n2, _geometry, flags);
    }

    /// <summary>Drops, in run order, each surviving run all of whose channels belong to other surviving runs that are
    /// longer. Without branches on the other runs: their channels are ANDed with an all-ones or all-zero mask.</summary>
    private int RemoveContainedGhosts(int runs)
    {
        ref Run run0 = ref MemoryMarshal.GetArrayDataReference(_runs);
        // Channels in two or more candidates: a run with a channel outside them can never be contained (the surviving
        // runs only shrink), and that is most runs, so the quadratic test runs for few.
        ulong multi = 0, seen = 0;
        for (int r = 0; r < runs; r++)
        {
            ref Run run = ref Unsafe.Add(ref run0, r);
            ulong channels = run.Channels & AllIf(run.Alive);
            multi |= seen & channels;
            seen |= channels;
        }
        int removed = 0;
        for (int a = 0; a < runs; a++)
        {
            ref Run candidate = ref Unsafe.Add(ref run0, a);
            if (!(candidate.Alive & (candidate.Channels & ~multi) == 0)) continue;
            int count = candidate.Count;
            ulong union = 0;
            for (int r = 0; r < runs; r++)
            {
                ref Run other = ref Unsafe.Add(ref run0, r);
                union |= other.Channels & AllIf(other.Alive & (other.Count > count));
            }
            if ((candidate.Channels & ~union) == 0)
            {
                candidate.Alive = false;
                removed++;
            }
        }
        return removed;
    }
}
