using System.Buffers;
using System.Globalization;
using System.Threading.Channels;
using NA64.Hardware.Digitizers.Apv.Format;
using NA64.Hardware.Digitizers.Msadc.Format;
using NA64.Readout.Pipeline;
using NA64.Readout.Processing.Apv;
using NA64.Readout.Trackers;

namespace NA64.SlowControl.Readout;

/// <summary>One tracker plane of a run: hits, clusters, and against the simulator's truth efficiency, resolution and ghosts.</summary>
/// <param name="Events">Events the plane was reconstructed in.</param>
/// <param name="TrueHits">Events where the beam electron left charge in the plane (truth), the efficiency's denominator.</param>
/// <param name="Efficiency">Share of <paramref name="TrueHits"/> with a cluster within the matching window, null without truth.</param>
/// <param name="ResolutionUm">Core σ of the residuals (cluster - truth) in µm, null without truth.</param>
/// <param name="GhostRate">Clusters not matched to the beam electron, per event.</param>
public sealed record TrackerPlaneResult(
    string Plane, long Events, double HitsPerEvent, double ClustersPerEvent, long TrueHits, double? Efficiency, double? ResolutionUm, double GhostRate);

/// <summary>The trackers of a physics run as the run summary shows them.</summary>
/// <param name="Monitored">Fragments the monitor reconstructed; <paramref name="NotMonitored"/> it let pass because it was busy.</param>
public sealed record TrackerRunResult(
    long Fragments, long Chips, long Channels, long Rejected, IReadOnlyDictionary<FormatProblemKind, long> Problems,
    IReadOnlyList<string> ProblemLocations, long ChipIssues, long Monitored, long NotMonitored, IReadOnlyList<TrackerPlaneResult> Planes);

/// <summary>
/// The trackers' live monitor: the APV fragments the pipeline keeps are copied onto the monitor's own task (a bounded
/// queue: when the monitor falls behind, fragments pass unmonitored and are counted, so the readout never waits for
/// it), decoded and reconstructed into clusters per plane; with a simulated GeSiCA, each plane's clusters are compared
/// with the simulator's truth of that trigger (efficiency, resolution, ghost rate: na64-setup.md §8.1).
/// </summary>
public sealed class TrackerMonitor
{
    /// <summary>Fragments waiting for the monitor before new ones pass unmonitored (a few spills' worth at NA64's rates).</summary>
    public const int QueueFragments = 8192;

    private readonly Channel<(EventMetadata Meta, byte[] Bytes, int Length)> _queue =
        Channel.CreateBounded<(EventMetadata, byte[], int)>(new BoundedChannelOptions(QueueFragments) { SingleReader = true, SingleWriter = true, FullMode = BoundedChannelFullMode.Wait });
    private readonly Func<int, ApvDecoderOptions?> _options;
    private readonly ApvEventData _data = new();
    private Task? _task;
    private long _monitored;
    private long _notMonitored;
    private readonly TrackerReconstruction _reconstruction;
    private readonly Func<int, int, double[], bool>? _truth;
    private readonly PlaneStatistics[] _planes;
    private readonly long[] _hits;
    private readonly long[] _clusters;
    private readonly double[] _truthMm;
    private readonly Lock _gate = new();
    private long _events;

    /// <summary>Events compared with the truth per run: the statistics keep every residual, and this many give the
    /// efficiency to 0.1 % and the resolution to 1 %; later events are reconstructed and counted, not compared.</summary>
    public const int ComparedEvents = 100_000;

    /// <param name="truth">The simulator's truth of a trigger (S-Link spill, event in spill) into a per-plane array in
    /// the layout's plane order (position in mm from the plane's first strip edge, NaN: no charge), false when unknown;
    /// null for a real GeSiCA.</param>
    public TrackerMonitor(TrackerLayout layout, ApvPedestalTable? pedestals, Func<int, int, double[], bool>? truth, Func<int, ApvDecoderOptions?> options)
    {
        _options = options ?? throw new ArgumentNullException(nameof(options));
        _reconstruction = new TrackerReconstruction(layout, pedestals);
        _truth = truth;
        int n = _reconstruction.PlaneCount;
        _planes = [.. Enumerable.Range(0, n).Select(p => new PlaneStatistics(_reconstruction.PlaneName(p)))];
        _hits = new long[n];
        _clusters = new long[n];
        _truthMm = new double[n];
    }

    public long Monitored => Interlocked.Read(ref _monitored);

    public long NotMonitored => Interlocked.Read(ref _notMonitored);

    /// <summary>Starts the monitor's task (once per run).</summary>
    public void Start() => _task ??= Task.Run(RunAsync);

    /// <summary>The APV stage's observer, on the processing task: a copy of the fragment is queued, or counted as not monitored.</summary>
    public void Offer(in EventMetadata metadata, ReadOnlySpan<byte> fragment)
    {
        var bytes = ArrayPool<byte>.Shared.Rent(fragment.Length);
        fragment.CopyTo(bytes);
        if (!_queue.Writer.TryWrite((metadata, bytes, fragment.Length)))
        {
            ArrayPool<byte>.Shared.Return(bytes);
            Interlocked.Increment(ref _notMonitored);
        }
    }

    /// <summary>No more fragments: the monitor finishes the queued ones.</summary>
    public async Task CompleteAsync()
    {
        _queue.Writer.TryComplete();
        if (_task is not null)
            await _task.ConfigureAwait(false);
    }

    private async Task RunAsync()
    {
        await foreach (var (meta, bytes, length) in _queue.Reader.ReadAllAsync().ConfigureAwait(false))
        {
            try
            {
                _data.Clear();
                ApvDecoder.Decode(bytes.AsSpan(0, length), _data, _options(meta.SourceId));
                Reconstruct(meta);
                Interlocked.Increment(ref _monitored);
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(bytes);
            }
        }
    }

    /// <summary>One decoded APV fragment (one source, one trigger) into the planes' statistics.</summary>
    private void Reconstruct(in EventMetadata metadata)
    {
        var data = _data;
        _reconstruction.Process(data, metadata.SourceId);
        bool known = _truth?.Invoke((int)(metadata.Spill & 0x7FF), (int)metadata.EventInSpill, _truthMm) == true;
        lock (_gate)
        {
            _events++;
            for (int p = 0; p < _planes.Length; p++)
            {
                var clusters = _reconstruction.Clusters(p);
                _hits[p] += _reconstruction.ChannelHits(p).Length;
                _clusters[p] += clusters.Length;
                if (!known || _planes[p].Events >= ComparedEvents)
                    continue;
                var geometry = _reconstruction.Geometry(p);
                // The truth is counted from the plane's first strip edge; the reconstruction's frame has 0 at its centre.
                double? position = double.IsNaN(_truthMm[p]) ? null : _truthMm[p] - (geometry.StripCount * geometry.PitchMm / 2);
                _planes[p].Add(position, clusters);
            }
        }
    }

    /// <summary>Reconstruction counters (chips unknown, missing, without data...) since the start.</summary>
    public long ChipIssues => _reconstruction.Totals.ChipIssues;

    public IReadOnlyList<TrackerPlaneResult> Planes()
    {
        lock (_gate)
        {
            long events = Math.Max(1, _events);
            return [.. _planes.Select((s, p) => new TrackerPlaneResult(_reconstruction.PlaneName(p), _events,
                _hits[p] / (double)events, _clusters[p] / (double)events, s.EventsWithTruth,
                s.EventsWithTruth > 0 ? s.Efficiency : null, s.ResidualsUm.Count > 0 ? s.CoreSigmaUm : null, s.Events > 0 ? s.GhostRate : 0))];
        }
    }

    /// <summary>One line per plane, for logs.</summary>
    public IEnumerable<string> Lines() => Planes().Select(p => string.Create(CultureInfo.InvariantCulture,
        $"{p.Plane}: {p.ClustersPerEvent:0.00} clusters/event, efficiency {p.Efficiency * 100:0.0} %, resolution {p.ResolutionUm:0} um, ghosts {p.GhostRate:0.00}/event"));
}
