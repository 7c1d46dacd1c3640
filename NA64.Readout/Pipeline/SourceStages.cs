using System.Globalization;

namespace NA64.Readout.Pipeline;

/// <summary>
/// The processing of one source kind (MSADC, APV): which sources it takes, and what it makes of one fragment. Writes
/// the fragment to keep into <c>destination</c> (at least as long as the input) and returns its length, or sets
/// <c>reason</c> to why the fragment is rejected.
/// </summary>
public interface IFragmentStage
{
    bool Handles(int sourceId);

    int ProcessFragment(ReadOnlySpan<byte> fragment, in EventMetadata metadata, Span<byte> destination, out DropReason reason);
}

/// <summary>
/// The pipeline's <see cref="FragmentProcessor"/> for a run with several source kinds: each fragment goes to the stage
/// of its source's kind (one stage per kind, one event builder and one DATE file for all). A fragment of a source no
/// stage handles is rejected as a decode error (the setup names every source, so this is a wiring bug, counted).
/// </summary>
public sealed class SourceStages
{
    private readonly IFragmentStage[] _stages;
    private readonly IFragmentStage?[] _bySource = new IFragmentStage?[Hardware.Digitizers.Msadc.Format.SlinkHeader.FirstMultiplexerSourceId];
    private long _unhandled;

    public SourceStages(IEnumerable<IFragmentStage> stages)
    {
        ArgumentNullException.ThrowIfNull(stages);
        _stages = [.. stages];
        if (_stages.Length == 0)
            throw new ArgumentException("at least one source stage is needed", nameof(stages));
        for (int id = 0; id < _bySource.Length; id++)
            _bySource[id] = Array.Find(_stages, s => s.Handles(id));
    }

    /// <summary>Fragments of a source no stage handles (rejected).</summary>
    public long Unhandled => Interlocked.Read(ref _unhandled);

    public EventBatch Process(EventBatch fragments, EventBatch spare)
    {
        ArgumentNullException.ThrowIfNull(fragments);
        ArgumentNullException.ThrowIfNull(spare);
        for (int i = 0; i < fragments.Count; i++)
        {
            ref readonly var meta = ref fragments.GetMetadata(i);
            var input = fragments.GetBytes(i);
            // Every stage's output is at most as long as its input, so this always fits (the batches share one capacity).
            if (!spare.TryBeginAdd(input.Length, out var destination))
                throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture,
                    $"no room for fragment {i} ({input.Length} bytes) in the output batch ({spare.ByteCount} of {spare.ByteCapacity} bytes used)"));
            var reason = fragments.GetStatus(i);
            int length = 0;
            if (reason == DropReason.None)
            {
                var stage = meta.SourceId >= 0 && meta.SourceId < _bySource.Length ? _bySource[meta.SourceId] : null;
                if (stage is null)
                {
                    Interlocked.Increment(ref _unhandled);
                    reason = DropReason.DecodeError;
                }
                else
                {
                    length = stage.ProcessFragment(input, meta, destination, out reason);
                }
            }

            if (reason != DropReason.None)
            {
                input.CopyTo(destination);
                length = input.Length;
            }

            spare.CommitAdd(meta, length);
            if (reason != DropReason.None)
                spare.Reject(spare.Count - 1, reason);
        }

        return spare;
    }
}
