using System.Globalization;
using NA64.Hardware.Digitizers.Apv.Format;
using NA64.Hardware.Digitizers.Msadc.Format;
using Serilog;

namespace NA64.Readout.Pipeline;

/// <summary>Sees a fragment a stage kept (valid only during the call: copy what is needed later).</summary>
public delegate void FragmentObserver(in EventMetadata metadata, ReadOnlySpan<byte> fragment);

/// <summary>
/// The <see cref="IFragmentStage"/> for APV sources (a GeSiCA behind APV-ADCs: the trackers). Decodes each fragment
/// with every check of data-formats.md §7.10 (<see cref="ApvDecoder"/>), counts each problem with its location, and
/// keeps the fragment's bytes as the front-end sent them (the DATE file stores the APV blocks as the real GeSiCA
/// would; on-board sparse data need no host processing before the file). A problem that loses data rejects the
/// fragment as a decode error (an event-number mismatch as such); flags that lose nothing are only counted. A kept
/// fragment is shown to <see cref="Accepted"/> (the trackers' monitor, which samples it onto its own task).
/// Nothing is allocated per event on the good path.
/// </summary>
public sealed class ApvSourceStage : IFragmentStage
{
    private const int KeptProblemLocations = 200;

    private readonly HashSet<int> _sources;
    private readonly Func<int, ApvDecoderOptions?>? _optionsFor;
    private readonly ILogger _log;
    private readonly ApvEventData _data = new();
    private readonly long[] _problems = new long[Enum.GetValues<FormatProblemKind>().Length];
    private readonly List<string> _locations = [];
    private long _fragments;
    private long _bytes;
    private long _chips;
    private long _hits;
    private long _rejected;
    private int _notes;

    /// <param name="sourceIds">The APV sources of the run.</param>
    /// <param name="optionsFor">Decoder options per source (sparse variant, expected ADC ids); null: the defaults.</param>
    public ApvSourceStage(IEnumerable<int> sourceIds, Func<int, ApvDecoderOptions?>? optionsFor = null, ILogger? log = null)
    {
        ArgumentNullException.ThrowIfNull(sourceIds);
        _sources = [.. sourceIds];
        if (_sources.Count == 0)
            throw new ArgumentException("the stage needs at least one APV source", nameof(sourceIds));
        _optionsFor = optionsFor;
        _log = log ?? Serilog.Core.Logger.None;
    }

    /// <summary>Called on the processing task with each fragment kept (after its checks), before it goes on.</summary>
    public FragmentObserver? Accepted { get; set; }

    public long Fragments => Interlocked.Read(ref _fragments);
    public long Bytes => Interlocked.Read(ref _bytes);
    public long Chips => Interlocked.Read(ref _chips);

    /// <summary>Sparse channels (or latch-all channel triples) decoded.</summary>
    public long Channels => Interlocked.Read(ref _hits);

    public long Rejected => Interlocked.Read(ref _rejected);

    public bool Handles(int sourceId) => _sources.Contains(sourceId);

    public int ProcessFragment(ReadOnlySpan<byte> fragment, in EventMetadata metadata, Span<byte> destination, out DropReason reason)
    {
        Interlocked.Increment(ref _fragments);
        Interlocked.Add(ref _bytes, fragment.Length);
        _data.Clear();
        var result = ApvDecoder.Decode(fragment, _data, _optionsFor?.Invoke(metadata.SourceId),
            (int)metadata.EventInSpill, 0, (int)metadata.Spill);
        reason = CheckProblems(metadata, result);
        if (reason != DropReason.None)
        {
            Interlocked.Increment(ref _rejected);
            return 0;
        }

        var chips = _data.Chips;
        Interlocked.Add(ref _chips, chips.Length);
        long channels = 0;
        foreach (ref readonly var chip in chips)
            channels += chip.Sparse ? chip.DataCount : chip.DataCount / ApvFacts.Frames;
        Interlocked.Add(ref _hits, channels);
        Accepted?.Invoke(metadata, fragment);
        fragment.CopyTo(destination);
        return fragment.Length;
    }

    /// <summary>Problems counted by kind since the start (kinds never seen are left out).</summary>
    public IReadOnlyDictionary<FormatProblemKind, long> ProblemCounts()
    {
        var counts = new SortedDictionary<FormatProblemKind, long>();
        for (int k = 0; k < _problems.Length; k++)
        {
            long n = Interlocked.Read(ref _problems[k]);
            if (n > 0)
                counts[(FormatProblemKind)k] = n;
        }

        return counts;
    }

    /// <summary>The first problems that lost data, each with run, spill, event, source and location.</summary>
    public IReadOnlyList<string> ProblemLocations()
    {
        lock (_locations)
            return [.. _locations];
    }

    private DropReason CheckProblems(in EventMetadata metadata, in ApvSourceResult result)
    {
        var reason = DropReason.None;
        var problems = _data.Problems;
        var where = _data.ProblemLocations;
        for (int p = 0; p < problems.Count; p++)
        {
            var problem = problems[p];
            Interlocked.Increment(ref _problems[(int)problem.Kind]);
            if (!problem.DataLost)
                continue;
            if (reason == DropReason.None && problem.Kind is FormatProblemKind.SlinkEventNumber or FormatProblemKind.ApvWrongEvent)
                reason = DropReason.EventNumberMismatch;
            var at = p < where.Count ? where[p] : default;
            Note(metadata, string.Create(CultureInfo.InvariantCulture, $"{problem} (ADC {at.AdcId}, chip {at.ChipId}, word {at.WordOffset})"));
        }

        if (reason == DropReason.None && (result.Discarded || result.Stopped))
        {
            reason = DropReason.DecodeError;
            Note(metadata, result.Discarded ? "source discarded by the decoder" : "decoding of the source stopped");
        }

        return reason;
    }

    private void Note(in EventMetadata metadata, string what)
    {
        string line = string.Create(CultureInfo.InvariantCulture,
            $"run {metadata.Run} spill {metadata.Spill} event {metadata.EventInSpill} source {metadata.SourceId}: {what}");
        lock (_locations)
        {
            if (_locations.Count < KeptProblemLocations)
                _locations.Add(line);
        }

        // The first problems are logged each; then one line in a thousand, so a broken source cannot flood the log.
        int n = Interlocked.Increment(ref _notes);
        if (n <= 20 || n % 1000 == 0)
            _log.Warning("APV fragment problem: {Problem}", line);
    }
}
