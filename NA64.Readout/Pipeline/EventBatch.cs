using System.Buffers;

namespace NA64.Readout.Pipeline;

/// <summary>
/// N records (fragments or built events) with their bytes back to back in one pooled buffer, an offsets
/// table and per-record metadata and status. One hand-off between stages moves a whole batch, because a
/// channel hand-off costs about 60 ns (na64-setup.md 11) and a batch of 64 KiB..4 MiB makes that
/// negligible. Batches come from an <see cref="EventBatchPool"/> and go back to it; never keep a
/// reference to a batch (or a span into it) after handing it on.
/// </summary>
public sealed class EventBatch
{
    private readonly EventBatchPool? _pool;
    private byte[] _bytes;
    private readonly int[] _offsets;          // record i spans [_offsets[i], _offsets[i + 1])
    private readonly EventMetadata[] _metadata;
    private readonly DropReason[] _status;
    private int _count;
    private int _pendingLength = -1;          // >= 0 between BeginAdd and CommitAdd
    private int _references;
    private int _inPool;

    /// <summary>Creates a batch outside any pool (tests, one-off use).</summary>
    public EventBatch(int maxRecords, int byteCapacity) : this(null, maxRecords, byteCapacity)
    {
    }

    internal EventBatch(EventBatchPool? pool, int maxRecords, int byteCapacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxRecords, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(byteCapacity, 1);
        _pool = pool;
        _bytes = ArrayPool<byte>.Shared.Rent(byteCapacity);
        _offsets = new int[maxRecords + 1];
        _metadata = new EventMetadata[maxRecords];
        _status = new DropReason[maxRecords];
    }

    /// <summary>Number of records in the batch.</summary>
    public int Count => _count;

    /// <summary>Largest number of records the batch takes.</summary>
    public int MaxRecords => _metadata.Length;

    /// <summary>Bytes used by all records.</summary>
    public int ByteCount => _offsets[_count];

    /// <summary>Bytes the buffer holds; a single record larger than this still fits into an empty batch (the buffer grows).</summary>
    public int ByteCapacity => _bytes.Length;

    /// <summary>True when no further record can be added.</summary>
    public bool IsFull => _count == _metadata.Length;

    /// <summary>All record bytes, back to back, in record order.</summary>
    public ReadOnlySpan<byte> AllBytes => _bytes.AsSpan(0, ByteCount);

    /// <summary>All record bytes as memory, for asynchronous writers (streams, sockets).</summary>
    public ReadOnlyMemory<byte> AllMemory => _bytes.AsMemory(0, ByteCount);

    /// <summary>The bytes of record <paramref name="index"/>.</summary>
    public ReadOnlySpan<byte> GetBytes(int index) => GetWritableBytes(index);

    /// <summary>The bytes of record <paramref name="index"/> as memory, for asynchronous writers.</summary>
    public ReadOnlyMemory<byte> GetMemory(int index)
    {
        CheckIndex(index);
        return _bytes.AsMemory(_offsets[index], _offsets[index + 1] - _offsets[index]);
    }

    /// <summary>The bytes of record <paramref name="index"/>, writable for stages that work in place.</summary>
    public Span<byte> GetWritableBytes(int index)
    {
        CheckIndex(index);
        return _bytes.AsSpan(_offsets[index], _offsets[index + 1] - _offsets[index]);
    }

    /// <summary>Offset of record <paramref name="index"/> inside <see cref="AllBytes"/>.</summary>
    public int GetOffset(int index)
    {
        CheckIndex(index);
        return _offsets[index];
    }

    /// <summary>Metadata of record <paramref name="index"/>.</summary>
    public ref readonly EventMetadata GetMetadata(int index)
    {
        CheckIndex(index);
        return ref _metadata[index];
    }

    /// <summary>Replaces the metadata of record <paramref name="index"/> (a decoder that reads the real header).</summary>
    public void SetMetadata(int index, in EventMetadata metadata)
    {
        CheckIndex(index);
        _metadata[index] = metadata;
    }

    /// <summary><see cref="DropReason.None"/>, or why a stage rejected record <paramref name="index"/>.</summary>
    public DropReason GetStatus(int index)
    {
        CheckIndex(index);
        return _status[index];
    }

    /// <summary>
    /// Marks record <paramref name="index"/> as bad (for example a decode error). The record stays in the
    /// batch so that the event builder counts its event as dropped with this reason; the first reason wins.
    /// </summary>
    public void Reject(int index, DropReason reason)
    {
        CheckIndex(index);
        if (reason == DropReason.None)
        {
            throw new ArgumentException("Reject needs a reason other than None.", nameof(reason));
        }

        if (_status[index] == DropReason.None)
        {
            _status[index] = reason;
        }
    }

    /// <summary>Copies a record into the batch; false (nothing changed) when the batch is full or the bytes do not fit.</summary>
    public bool TryAdd(in EventMetadata metadata, ReadOnlySpan<byte> bytes)
    {
        if (!TryBeginAdd(bytes.Length, out var destination))
        {
            return false;
        }

        bytes.CopyTo(destination);
        CommitAdd(metadata, bytes.Length);
        return true;
    }

    /// <summary>
    /// Reserves <paramref name="maxLength"/> bytes for a record written in place (a receiver reading from a
    /// socket, an encoder writing a DATE event); finish with <see cref="CommitAdd"/>. False when the batch
    /// is full or the bytes do not fit; an empty batch always takes the record (its buffer grows).
    /// </summary>
    public bool TryBeginAdd(int maxLength, out Span<byte> destination)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxLength);
        if (_pendingLength >= 0)
        {
            throw new InvalidOperationException("TryBeginAdd called twice without CommitAdd.");
        }

        destination = default;
        if (IsFull)
        {
            return false;
        }

        var start = _offsets[_count];
        if (start + maxLength > _bytes.Length)
        {
            if (_count > 0)
            {
                return false;
            }

            // One record larger than the usual batch: grow rather than refuse, so no event is ever unfit.
            ArrayPool<byte>.Shared.Return(_bytes);
            _bytes = ArrayPool<byte>.Shared.Rent(maxLength);
        }

        _pendingLength = maxLength;
        destination = _bytes.AsSpan(start, maxLength);
        return true;
    }

    /// <summary>Completes a <see cref="TryBeginAdd"/> with the number of bytes actually written.</summary>
    public void CommitAdd(in EventMetadata metadata, int length)
    {
        if (_pendingLength < 0)
        {
            throw new InvalidOperationException("CommitAdd without TryBeginAdd.");
        }

        if (length < 0 || length > _pendingLength)
        {
            throw new ArgumentOutOfRangeException(nameof(length), length,
                $"CommitAdd length {length} is outside the reserved 0..{_pendingLength} bytes.");
        }

        _metadata[_count] = metadata;
        _status[_count] = DropReason.None;
        _offsets[_count + 1] = _offsets[_count] + length;
        _count++;
        _pendingLength = -1;
    }

    /// <summary>Forgets a <see cref="TryBeginAdd"/> whose record was not written.</summary>
    public void CancelAdd() => _pendingLength = -1;

    /// <summary>Empties the batch, keeping its buffers.</summary>
    public void Clear()
    {
        _count = 0;
        _pendingLength = -1;
        _offsets[0] = 0;
    }

    /// <summary>Gives the batch back to its pool (or frees its buffer if it has none).</summary>
    public void Return()
    {
        if (_pool is null)
        {
            Clear();
            return;
        }

        _pool.Return(this);
    }

    internal void SetReferences(int count) => Volatile.Write(ref _references, count);

    /// <summary>Marks the batch as back in its pool; false if it already was (a second return, a bug upstream).</summary>
    internal bool TryMarkReturned() => Interlocked.Exchange(ref _inPool, 1) == 0;

    internal void MarkRented() => Volatile.Write(ref _inPool, 0);

    /// <summary>Drops one reference (one sink done with it); the last one returns the batch to the pool.</summary>
    internal void Release()
    {
        var left = Interlocked.Decrement(ref _references);
        if (left == 0)
        {
            Return();
        }
        else if (left < 0)
        {
            throw new InvalidOperationException("EventBatch released more often than it was shared.");
        }
    }

    private void CheckIndex(int index)
    {
        if ((uint)index >= (uint)_count)
        {
            throw new ArgumentOutOfRangeException(nameof(index), index, $"Record index {index} is outside the batch of {_count} records.");
        }
    }
}
