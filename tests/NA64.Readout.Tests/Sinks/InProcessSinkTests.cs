using NA64.Readout.Pipeline;
using NA64.Readout.Sinks;
using static NA64.Readout.Tests.Pipeline.PipelineTestKit;

namespace NA64.Readout.Tests.Sinks;

public sealed class InProcessSinkTests
{
    [Fact]
    public async Task CallbackAndCopies_SeeEveryEventOfTheBatch()
    {
        var batch = new EventBatch(3, 256);
        for (uint i = 1; i <= 3; i++)
        {
            batch.TryAdd(FragmentMeta(-1, 4, i), FragmentBytes(623, 4, i));
        }

        var seen = new List<(uint, int)>();
        var sink = new InProcessSink("histogram", (in EventMetadata m, ReadOnlySpan<byte> b) => seen.Add((m.EventInSpill, b.Length)), keepCopies: true);

        var result = await sink.WriteAsync(batch, CancellationToken.None);
        batch.Clear();   // copies must survive the batch going back to the pool

        Assert.Equal(3, result.Written);
        Assert.Equal([(1u, 28), (2u, 28), (3u, 28)], seen);
        Assert.Equal(FragmentBytes(623, 4, 2), sink.Events[1].Bytes);
        Assert.Equal(2u, sink.Events[1].Metadata.EventInSpill);
    }

    [Fact]
    public void ASinkThatWouldOnlyDiscard_IsRefused()
    {
        Assert.Throws<ArgumentException>(() => new InProcessSink());
    }
}
