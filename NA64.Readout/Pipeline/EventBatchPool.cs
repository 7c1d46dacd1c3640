using System.Collections.Concurrent;

namespace NA64.Readout.Pipeline;

/// <summary>
/// Reusable batches. The bounded channels limit how many batches can be in flight, so after warm-up a
/// run rents and returns the same few batches and allocates nothing; <see cref="Created"/> shows it.
/// </summary>
public sealed class EventBatchPool
{
    private readonly ConcurrentQueue<EventBatch> _free = new();
    private long _created;
    private long _outstanding;

    public EventBatchPool(int recordsPerBatch, int bytesPerBatch)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(recordsPerBatch, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(bytesPerBatch, 1);
        RecordsPerBatch = recordsPerBatch;
        BytesPerBatch = bytesPerBatch;
    }

    public int RecordsPerBatch { get; }

    public int BytesPerBatch { get; }

    /// <summary>Batches ever created by this pool.</summary>
    public long Created => Interlocked.Read(ref _created);

    /// <summary>Batches rented and not yet returned.</summary>
    public long Outstanding => Interlocked.Read(ref _outstanding);

    /// <summary>An empty batch, reused when one is free.</summary>
    public EventBatch Rent()
    {
        Interlocked.Increment(ref _outstanding);
        if (_free.TryDequeue(out var batch))
        {
            batch.MarkRented();
            return batch;
        }

        Interlocked.Increment(ref _created);
        return new EventBatch(this, RecordsPerBatch, BytesPerBatch);
    }

    internal void Return(EventBatch batch)
    {
        if (!batch.TryMarkReturned())
        {
            // Two owners would then write into the same buffer: fail loudly instead.
            throw new InvalidOperationException("EventBatch returned to its pool twice.");
        }

        batch.Clear();
        Interlocked.Decrement(ref _outstanding);
        _free.Enqueue(batch);
    }
}
