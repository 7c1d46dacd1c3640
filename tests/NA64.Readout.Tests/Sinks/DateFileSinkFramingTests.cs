using Microsoft.Extensions.Time.Testing;
using NA64.Readout.Formats;
using NA64.Readout.Pipeline;
using NA64.Readout.Sinks;
using NA64.Readout.Tests.Pipeline;
using static NA64.Readout.Tests.Pipeline.PipelineTestKit;

namespace NA64.Readout.Tests.Sinks;

public sealed class DateFileSinkFramingTests
{
    private static readonly FakeTimeProvider Clock = new(new DateTimeOffset(2018, 7, 1, 12, 0, 0, TimeSpan.Zero));

    private static DateRunFraming Framing(bool bursts = true) => new(Run, Clock, new DateWriterOptions { LdcId = 1, GdcId = 1 }, bursts);

    private static List<(DateEventType Type, int Burst, int NbInBurst, uint NbInRun, uint Run, int Equipments)> ReadBack(byte[] file)
    {
        var list = new List<(DateEventType, int, int, uint, uint, int)>();
        using var reader = new DateFileReader(new MemoryStream(file));
        while (reader.ReadNext() is { } ev)
        {
            Assert.Empty(ev.Problems);
            list.Add((ev.Header.Type, ev.Header.Burst, ev.Header.NbInBurst, ev.Header.NbInRun, ev.Header.RunNumber, ev.Equipments.Length));
        }

        return list;
    }

    [Fact]
    public async Task ATwoSpillRun_WritesSor_SobPhysicsEob_Twice_ThenEor()
    {
        int[] sources = [623, 622];
        var stream = new MemoryStream();
        await using var file = new DateFileSink(stream, leaveOpen: true, framing: Framing());
        var pipeline = new ReadoutPipeline(Options(sources), new ScriptedReceiver(AllFragments(sources, 2, 5), 7).FillAsync, null, NewAssembler(), [file]);

        var summary = await pipeline.RunAsync().WaitAsync(Safety);

        Assert.Equal(10, summary.Sinks[0].Written);
        Assert.True(summary.IsBalanced);
        var events = ReadBack(stream.ToArray());
        Assert.Equal(
            [DateEventType.StartOfRun,
             DateEventType.StartOfBurst, .. Enumerable.Repeat(DateEventType.Physics, 5), DateEventType.EndOfBurst,
             DateEventType.StartOfBurst, .. Enumerable.Repeat(DateEventType.Physics, 5), DateEventType.EndOfBurst,
             DateEventType.EndOfRun],
            events.Select(e => e.Type).ToArray());
        Assert.All(events, e => Assert.Equal(Run, e.Run));
        // SOB/EOB carry their burst; EOB the last event number of the burst and the run's count so far.
        Assert.Equal((1, 0), (events[1].Burst, events[1].NbInBurst));
        Assert.Equal((1, 5, 10_005u, 0), (events[7].Burst, events[7].NbInBurst, events[7].NbInRun, events[7].Equipments));
        Assert.Equal((2, 0, 10_005u), (events[8].Burst, events[8].NbInBurst, events[8].NbInRun));
        Assert.Equal((2, 5, 20_005u), (events[14].Burst, events[14].NbInBurst, events[14].NbInRun));
        Assert.Equal((2, 20_005u), (events[15].Burst, events[15].NbInRun));
        Assert.All(events.Where(e => e.Type == DateEventType.Physics), e => Assert.Equal(2, e.Equipments));
        Assert.Equal(stream.Length, file.BytesWritten);
        Assert.Equal(16, file.EventsWritten);
        Assert.Equal(2, file.EventsOfType(DateEventType.EndOfBurst));
        Assert.True(file.EndOfRunWritten);
        var check = DateFileChecker.Check(new MemoryStream(stream.ToArray()));
        Assert.True(check.IsGood, check.FirstProblem?.ToString());
        Assert.Equal((16L, 2, 10L), (check.Events, check.Bursts, check.Count(DateEventType.Physics)));
    }

    [Fact]
    public async Task AnEmptyRun_StillHasSorAndEor()
    {
        var stream = new MemoryStream();
        await using (var file = new DateFileSink(stream, leaveOpen: true, framing: Framing()))
        {
            await file.FlushAsync(CancellationToken.None);
        }

        Assert.Equal([DateEventType.StartOfRun, DateEventType.EndOfRun], ReadBack(stream.ToArray()).Select(e => e.Type).ToArray());
    }

    [Fact]
    public async Task WithoutBursts_CalibrationEventsSitBetweenSorAndEor()
    {
        var batch = new EventBatch(4, 4096);
        for (uint i = 1; i <= 3; i++)
        {
            var bytes = DateEvent(0, i);
            bytes[16] = (byte)DateEventType.Calibration;
            batch.TryAdd(FragmentMeta(-1, 0, i) with { EventType = (byte)DateEventType.Calibration }, bytes);
        }

        var stream = new MemoryStream();
        await using (var file = new DateFileSink(stream, leaveOpen: true, framing: Framing(bursts: false)))
        {
            Assert.Equal(3, (await file.WriteAsync(batch, CancellationToken.None)).Written);
            await file.FlushAsync(CancellationToken.None);
        }

        Assert.Equal([DateEventType.StartOfRun, DateEventType.Calibration, DateEventType.Calibration, DateEventType.Calibration, DateEventType.EndOfRun],
            ReadBack(stream.ToArray()).Select(e => e.Type).ToArray());
    }

    [Fact]
    public async Task ACancelledRun_ClosesTheOpenBurstAndTheRun()
    {
        int[] sources = [623];
        var stream = new MemoryStream();
        using var cancel = new CancellationTokenSource();
        await using var file = new DateFileSink(stream, leaveOpen: true, framing: Framing());
        var receiver = new ScriptedReceiver(AllFragments(sources, 3, 10), 4) { OnCall = call => { if (call == 4) cancel.Cancel(); } };
        var pipeline = new ReadoutPipeline(Options(sources, recordsPerBatch: 4), receiver.FillAsync, null, NewAssembler(), [file]);

        var summary = await pipeline.RunAsync(cancel.Token).WaitAsync(Safety);

        Assert.True(summary.IsBalanced);
        var types = ReadBack(stream.ToArray()).Select(e => e.Type).ToList();
        Assert.Equal(DateEventType.StartOfRun, types[0]);
        Assert.Equal(DateEventType.EndOfRun, types[^1]);
        Assert.Equal(types.Count(t => t == DateEventType.StartOfBurst), types.Count(t => t == DateEventType.EndOfBurst));
        Assert.Equal(summary.Sinks[0].Written, types.Count(t => t == DateEventType.Physics));
        Assert.True(DateFileChecker.Check(new MemoryStream(stream.ToArray())).IsGood);
    }

    [Theory]
    [InlineData(3000)]
    [InlineData(5000)]
    [InlineData(200)]
    public async Task ADiskFullDuringARun_StopsIt_CountsTheLostEvents_AndLeavesOnlyCompleteEvents(long capacity)
    {
        int[] sources = [623, 622];
        var stream = new FullDiskStream(capacity);
        await using var file = new DateFileSink(stream, leaveOpen: true, framing: Framing());
        var pipeline = new ReadoutPipeline(Options(sources, recordsPerBatch: 8), new ScriptedReceiver(AllFragments(sources, 4, 50), 8).FillAsync,
            null, NewAssembler(), [file]);

        var summary = await pipeline.RunAsync().WaitAsync(Safety);

        var sink = summary.Sinks[0];
        Assert.True(summary.IsBalanced);
        Assert.True(sink.GetDropped(DropReason.SinkFailure) > 0);
        Assert.True(summary.EventsIn < 200, "the run stops at the write error instead of reading on");
        Assert.Contains(summary.Faults, f => f.Contains("No space left on device", StringComparison.Ordinal));
        Assert.Contains(summary.Faults, f => f.StartsWith("run stopped", StringComparison.Ordinal));
        Assert.Equal("No space left on device", file.Fault);
        Assert.Equal(stream.Length, file.BytesWritten);
        var check = DateFileChecker.Check(new MemoryStream(stream.ToArray()));
        // Every event in the file is complete; EOB + EOR are there when the cut left room for them, else only they are missing.
        if (file.EndOfRunWritten)
        {
            Assert.True(check.IsGood, check.FirstProblem?.ToString());
        }
        else
        {
            Assert.Equal(DateFileProblemKind.MissingEndOfRun, check.FirstProblem?.Kind);
        }

        Assert.Equal(stream.Length, check.ValidBytes);
        Assert.Equal(sink.Written, check.Count(DateEventType.Physics));
    }

    [Fact]
    public async Task AWriteErrorWithNoRoomLeft_LeavesCompleteEventsWithoutEor_AndRefusesMoreEvents()
    {
        var stream = new FullDiskStream(2500);
        await using var file = new DateFileSink(stream, leaveOpen: true, framing: Framing());
        var batch = new EventBatch(64, 1 << 16);
        for (uint i = 1; i <= 40; i++)
        {
            batch.TryAdd(FragmentMeta(-1, 1, i), DateEvent(1, i));
        }

        var result = await file.WriteAsync(batch, CancellationToken.None);
        await file.FlushAsync(CancellationToken.None);

        Assert.NotNull(result.Fault);
        Assert.Contains("No space left on device", result.Fault, StringComparison.Ordinal);
        Assert.Equal(40, result.Written + result.Dropped);
        Assert.Equal(DropReason.SinkFailure, result.DropReason);
        // One failed batch write, one failed attempt at EOB + EOR; the file is cut back after each.
        Assert.Equal(2, stream.Failures);
        var check = DateFileChecker.Check(new MemoryStream(stream.ToArray()));
        Assert.Equal(DateFileProblemKind.MissingEndOfRun, check.FirstProblem?.Kind);
        Assert.Equal(stream.Length, check.ValidBytes);
        Assert.Equal(result.Written, check.Count(DateEventType.Physics));
        await Assert.ThrowsAsync<InvalidOperationException>(async () => await file.WriteAsync(batch, CancellationToken.None));
    }

    [Fact]
    public async Task AWriteErrorWithRoomForTheEnd_ClosesTheFileWithEobAndEor()
    {
        var one = DateEvent(1, 1, payloadWords: 100).Length;
        // Room for SOR, SOB, 10 events and 300 bytes: the 11th event does not fit, but after the cut EOB + EOR (136 bytes) do.
        var stream = new FullDiskStream((68 * 2) + (10 * one) + 300);
        await using var file = new DateFileSink(stream, leaveOpen: true, framing: Framing());
        var batch = new EventBatch(64, 1 << 16);
        for (uint i = 1; i <= 20; i++)
        {
            batch.TryAdd(FragmentMeta(-1, 1, i), DateEvent(1, i, payloadWords: 100));
        }

        var result = await file.WriteAsync(batch, CancellationToken.None);

        Assert.Equal((10, 10, DropReason.SinkFailure), (result.Written, result.Dropped, result.DropReason));
        Assert.True(file.EndOfRunWritten);
        var check = DateFileChecker.Check(new MemoryStream(stream.ToArray()));
        Assert.True(check.IsGood, check.FirstProblem?.ToString());
        Assert.Equal((1L, 1L, 1L, 10L), (check.Count(DateEventType.StartOfBurst), check.Count(DateEventType.EndOfBurst), check.Count(DateEventType.EndOfRun), check.Count(DateEventType.Physics)));
        Assert.Equal(stream.Length, file.BytesWritten);
    }
}
