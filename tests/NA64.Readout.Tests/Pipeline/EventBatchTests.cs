using NA64.Readout.Pipeline;
using static NA64.Readout.Tests.Pipeline.PipelineTestKit;

namespace NA64.Readout.Tests.Pipeline;

public sealed class EventBatchTests
{
    [Fact]
    public void Records_AreContiguous_WithOffsetsAndMetadata()
    {
        var batch = new EventBatch(4, 256);
        Assert.True(batch.TryAdd(FragmentMeta(1, 1, 1), [1, 2, 3]));
        Assert.True(batch.TryAdd(FragmentMeta(2, 1, 1), [4, 5]));

        Assert.Equal(2, batch.Count);
        Assert.Equal(5, batch.ByteCount);
        Assert.Equal(new byte[] { 1, 2, 3, 4, 5 }, batch.AllBytes.ToArray());
        Assert.Equal(3, batch.GetOffset(1));
        Assert.Equal(new byte[] { 4, 5 }, batch.GetBytes(1).ToArray());
        Assert.Equal(2, batch.GetMetadata(1).SourceId);
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => batch.GetBytes(2));
        Assert.Contains("index 2", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TryAdd_RefusesWhenFull_ButAnEmptyBatchTakesAnyRecord()
    {
        var batch = new EventBatch(2, 16);
        Assert.True(batch.TryAdd(FragmentMeta(1, 1, 1), new byte[10]));
        Assert.False(batch.TryAdd(FragmentMeta(1, 1, 2), new byte[10]));   // bytes do not fit
        Assert.True(batch.TryAdd(FragmentMeta(1, 1, 2), new byte[6]));
        Assert.False(batch.TryAdd(FragmentMeta(1, 1, 3), []));             // records full
        Assert.True(batch.IsFull);

        batch.Clear();
        Assert.True(batch.TryAdd(FragmentMeta(1, 1, 4), new byte[100_000]));   // grows
        Assert.Equal(100_000, batch.ByteCount);
    }

    [Fact]
    public void InPlaceWriting_CommitsOnlyWhatWasWritten()
    {
        var batch = new EventBatch(2, 64);
        Assert.True(batch.TryBeginAdd(32, out var destination));
        destination[0] = 42;
        Assert.Throws<InvalidOperationException>(() => batch.TryBeginAdd(4, out _));
        Assert.Throws<ArgumentOutOfRangeException>(() => batch.CommitAdd(FragmentMeta(1, 1, 1), 33));
        batch.CommitAdd(FragmentMeta(1, 1, 1), 1);
        Assert.Equal(1, batch.ByteCount);
        Assert.Equal(42, batch.GetBytes(0)[0]);
        Assert.Throws<InvalidOperationException>(() => batch.CommitAdd(FragmentMeta(1, 1, 2), 0));
    }

    [Fact]
    public void Reject_KeepsTheFirstReason()
    {
        var batch = new EventBatch(1, 8);
        batch.TryAdd(FragmentMeta(1, 1, 1), [0]);
        batch.Reject(0, DropReason.DecodeError);
        batch.Reject(0, DropReason.EventNumberMismatch);
        Assert.Equal(DropReason.DecodeError, batch.GetStatus(0));
        Assert.Throws<ArgumentException>(() => batch.Reject(0, DropReason.None));
    }

    [Fact]
    public void Pool_ReusesReturnedBatches()
    {
        var pool = new EventBatchPool(4, 64);
        var a = pool.Rent();
        a.TryAdd(FragmentMeta(1, 1, 1), [1]);
        a.Return();
        var b = pool.Rent();
        Assert.Same(a, b);
        Assert.Equal(0, b.Count);
        Assert.Equal(1, pool.Created);
        Assert.Equal(1, pool.Outstanding);
        b.Return();
        Assert.Equal(0, pool.Outstanding);
        Assert.Throws<InvalidOperationException>(() => b.Return());
        Assert.Equal(0, pool.Outstanding);
    }
}
