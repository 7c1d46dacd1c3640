using System.Text;
using NA64.Readout.Pipeline;
using NA64.Readout.Sinks;
using NA64.Readout.Tests.Pipeline;
using static NA64.Readout.Tests.Pipeline.PipelineTestKit;

namespace NA64.Readout.Tests.Sinks;

public sealed class DateFileSinkTests
{
    [Fact]
    public async Task APipelineRun_WritesTheBuiltDateEventsBackToBack()
    {
        int[] sources = [623, 622];
        var collected = new InProcessSink(keepCopies: true);
        var stream = new MemoryStream();
        await using var file = new DateFileSink(stream, leaveOpen: true);
        var pipeline = new ReadoutPipeline(Options(sources), new ScriptedReceiver(AllFragments(sources, 2, 30), 10).FillAsync, null, NewAssembler(), [file, collected]);

        var summary = await pipeline.RunAsync().WaitAsync(Safety);

        Assert.Equal(60, summary.Sinks[0].Written);
        Assert.Equal(collected.Events.SelectMany(e => e.Bytes).ToArray(), stream.ToArray());
        Assert.Equal(stream.Length, file.BytesWritten);
        Assert.Equal(stream.Length, summary.Sinks[0].BytesWritten);
    }

    [Fact]
    public async Task AnEventThatIsNotADateEvent_IsNotWritten_AndIsCounted()
    {
        var batch = new EventBatch(4, 1024);
        var good = DateEvent(1, 1);
        batch.TryAdd(FragmentMeta(-1, 1, 1), good);
        batch.TryAdd(FragmentMeta(-1, 1, 2), new byte[40]);             // no magic
        var wrongSize = (byte[])good.Clone();
        wrongSize[0] += 4;                                               // size word 4 bytes more than the event
        batch.TryAdd(FragmentMeta(-1, 1, 3), wrongSize);
        batch.TryAdd(FragmentMeta(-1, 1, 4), good);
        var stream = new MemoryStream();
        await using var sink = new DateFileSink(stream, leaveOpen: true);

        var result = await sink.WriteAsync(batch, CancellationToken.None);
        await sink.FlushAsync(CancellationToken.None);

        Assert.Equal(new SinkWriteResult(2, 2 * good.Length, 2, DropReason.MalformedEvent), result);
        Assert.Equal(good.Concat(good).ToArray(), stream.ToArray());
    }

    [Fact]
    public async Task CreateAsync_WritesCompanionFiles_AndNeverOverwritesARun()
    {
        var dir = Directory.CreateTempSubdirectory("na64-datefile-");
        try
        {
            var path = Path.Combine(dir.FullName, DateFileSink.RawFileName(3661));
            Assert.EndsWith("cdr01001-003661.dat", path, StringComparison.Ordinal);
            CompanionFile[] companions =
            [
                new("run-003661.setup.yaml", (s, ct) => s.WriteAsync(Encoding.UTF8.GetBytes("setup: default\n"), ct)),
                new("run-003661.pedestals", (s, ct) => s.WriteAsync(Encoding.UTF8.GetBytes("623 0 0 200.5 2.1\n"), ct)),
                new("run-003661.map", (s, ct) => s.WriteAsync(Encoding.UTF8.GetBytes("SADC ECAL 623 0 0\n"), ct)),
            ];

            var batch = new EventBatch(2, 512);
            var ev = DateEvent(1, 1);
            batch.TryAdd(FragmentMeta(-1, 1, 1), ev);
            await using (var sink = await DateFileSink.CreateAsync(path, companions))
            {
                Assert.Equal(path, sink.FilePath);
                await sink.WriteAsync(batch, CancellationToken.None);
                await sink.FlushAsync(CancellationToken.None);
            }

            Assert.Equal(ev, await File.ReadAllBytesAsync(path));
            Assert.Equal("setup: default\n", await File.ReadAllTextAsync(Path.Combine(dir.FullName, "run-003661.setup.yaml")));
            Assert.Equal("623 0 0 200.5 2.1\n", await File.ReadAllTextAsync(Path.Combine(dir.FullName, "run-003661.pedestals")));
            Assert.True(File.Exists(Path.Combine(dir.FullName, "run-003661.map")));

            await Assert.ThrowsAsync<IOException>(() => DateFileSink.CreateAsync(path, []));
            Assert.Equal(ev, await File.ReadAllBytesAsync(path));
            var bad = await Assert.ThrowsAsync<ArgumentException>(() => DateFileSink.CreateAsync(path + "2", [new("../x", (_, _) => ValueTask.CompletedTask)]));
            Assert.Contains("../x", bad.Message, StringComparison.Ordinal);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}

public sealed class DateFileReplayTests
{
    [Fact]
    public async Task ReplayingAWrittenFile_ThroughThePipeline_ReproducesItByteForByte()
    {
        int[] sources = [623, 622];
        var first = new MemoryStream();
        await using (var sinkA = new DateFileSink(first, leaveOpen: true))
        {
            var live = new ReadoutPipeline(Options(sources), new ScriptedReceiver(AllFragments(sources, 3, 40), 9).FillAsync, null, NewAssembler(), [sinkA]);
            Assert.Equal(120, (await live.RunAsync().WaitAsync(Safety)).Sinks[0].Written);
        }

        first.Position = 0;
        using var replay = new DateFileReplayReceiver(new NA64.Readout.Formats.DateFileReader(first, leaveOpen: true));
        var second = new MemoryStream();
        await using var sinkB = new DateFileSink(second, leaveOpen: true);
        var copies = new InProcessSink(keepCopies: true);
        var again = new ReadoutPipeline(Options(sources, recordsPerBatch: 5), replay.FillAsync, null, NewAssembler(), [sinkB, copies]);

        var summary = await again.RunAsync().WaitAsync(Safety);

        Assert.Equal(120, replay.EventsRead);
        Assert.Equal(240, summary.FragmentsIn);
        Assert.Equal(120, summary.EventsBuilt);
        Assert.True(summary.IsBalanced);
        Assert.Equal(first.ToArray(), second.ToArray());
        var e = copies.Events[41];   // spill 2, event 2
        Assert.Equal((Run, 2u, 2u, 20_002u, 0b101u), (e.Metadata.Run, e.Metadata.Spill, e.Metadata.EventInSpill, e.Metadata.EventInRun, e.Metadata.TriggerMask));
    }

    [Fact]
    public async Task ATruncatedFile_EndsTheReplayWithAFault_AndKeepsWhatWasRead()
    {
        var bytes = DateEvent(1, 1).Concat(DateEvent(1, 2)).Concat(DateEvent(1, 3)).ToArray();
        using var replay = new DateFileReplayReceiver(new NA64.Readout.Formats.DateFileReader(new MemoryStream(bytes[..^10])));
        var sink = new InProcessSink(keepCopies: true);
        var pipeline = new ReadoutPipeline(Options([623], recordsPerBatch: 1), replay.FillAsync, null, NewAssembler(), [sink]);

        var summary = await pipeline.RunAsync().WaitAsync(Safety);

        Assert.Equal(2, sink.Events.Count);
        Assert.Contains(summary.Faults, f => f.Contains("truncated", StringComparison.Ordinal));
        Assert.True(summary.IsBalanced);
    }
}
