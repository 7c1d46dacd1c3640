using System.Buffers.Binary;
using Microsoft.Extensions.Time.Testing;
using NA64.Readout.Formats;
using NA64.Readout.Pipeline;
using NA64.Readout.Sinks;
using static NA64.Readout.Tests.Pipeline.PipelineTestKit;

namespace NA64.Readout.Tests.Formats;

public sealed class DateFileCheckerTests
{
    private const int Sor = 68;

    /// <summary>SOR, 2 × (SOB, 3 physics, EOB), EOR; the offsets of every event.</summary>
    private static async Task<(byte[] File, List<(DateEventType Type, long Offset)> Events)> GoodFile()
    {
        var stream = new MemoryStream();
        var clock = new FakeTimeProvider(new DateTimeOffset(2018, 7, 1, 12, 0, 0, TimeSpan.Zero));
        await using (var sink = new DateFileSink(stream, leaveOpen: true, framing: new DateRunFraming(Run, clock)))
        {
            var batch = new EventBatch(16, 1 << 14);
            for (uint spill = 1; spill <= 2; spill++)
            {
                for (uint ev = 1; ev <= 3; ev++)
                {
                    batch.TryAdd(FragmentMeta(-1, spill, ev), DateEvent(spill, ev));
                }
            }

            await sink.WriteAsync(batch, CancellationToken.None);
            await sink.FlushAsync(CancellationToken.None);
        }

        var bytes = stream.ToArray();
        var events = new List<(DateEventType, long)>();
        using var reader = new DateFileReader(new MemoryStream(bytes));
        while (reader.ReadNext() is { } e)
        {
            events.Add((e.Header.Type, e.ByteOffset));
        }

        return (bytes, events);
    }

    private static byte[] Without(byte[] file, long offset, int length) =>
        [.. file.AsSpan(0, (int)offset), .. file.AsSpan((int)offset + length)];

    [Fact]
    public async Task AGoodFile_CountsEventsPerType_AndHasNoProblem()
    {
        var (file, _) = await GoodFile();

        var result = DateFileChecker.Check(new MemoryStream(file));

        Assert.True(result.IsGood, result.FirstProblem?.ToString());
        Assert.Equal((12L, file.Length, file.Length, Run, 2), (result.Events, result.ValidBytes, result.FileBytes, result.RunNumber!.Value, result.Bursts));
        Assert.Equal((1L, 2L, 6L, 2L, 1L), (result.Count(DateEventType.StartOfRun), result.Count(DateEventType.StartOfBurst),
            result.Count(DateEventType.Physics), result.Count(DateEventType.EndOfBurst), result.Count(DateEventType.EndOfRun)));
    }

    [Fact]
    public async Task ATruncatedFile_ReportsTheCutEventAtItsOffset()
    {
        var (file, events) = await GoodFile();
        var last = events[^2].Offset;   // the last EOB
        var cut = file.AsSpan(0, (int)last + 30).ToArray();

        var result = DateFileChecker.Check(new MemoryStream(cut));

        Assert.Equal(DateFileProblemKind.TruncatedEvent, result.FirstProblem!.Kind);
        Assert.Equal(last, result.FirstProblem.ByteOffset);
        Assert.Contains("need 68 bytes, have 30", result.FirstProblem.Message, StringComparison.Ordinal);
        Assert.Equal(last, result.ValidBytes);
        Assert.Equal(10, result.Events);
    }

    [Fact]
    public async Task ACorruptedMagic_IsReportedAtItsEvent()
    {
        var (file, events) = await GoodFile();
        var at = events[3].Offset;
        BinaryPrimitives.WriteUInt32LittleEndian(file.AsSpan((int)at + 4), 0xDEADBEEF);

        var result = DateFileChecker.Check(new MemoryStream(file));

        Assert.Equal((DateFileProblemKind.BadMagic, at, 3L), (result.FirstProblem!.Kind, result.FirstProblem.ByteOffset, result.Events));
        Assert.Contains("0xDEADBEEF", result.FirstProblem.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnEquipmentSizeThatDisagreesWithItsSlinkSize_IsASizeMismatch()
    {
        var (file, events) = await GoodFile();
        var at = events[2].Offset;   // first physics event: its equipment starts after the 68-byte header
        var slink = (int)at + 68 + 28;
        var w0 = BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(slink));
        BinaryPrimitives.WriteUInt32LittleEndian(file.AsSpan(slink), w0 - 1);

        var result = DateFileChecker.Check(new MemoryStream(file));

        Assert.Equal((DateFileProblemKind.SizeMismatch, at + 68), (result.FirstProblem!.Kind, result.FirstProblem.ByteOffset));
        Assert.Contains("28 + 4 × S-Link event_size", result.FirstProblem.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnEventSizeWordThatIsNotAMultipleOfFour_IsABadHeader()
    {
        var (file, events) = await GoodFile();
        var at = events[5].Offset;
        BinaryPrimitives.WriteUInt32LittleEndian(file.AsSpan((int)at), 130);

        var result = DateFileChecker.Check(new MemoryStream(file));

        Assert.Equal((DateFileProblemKind.BadHeader, at), (result.FirstProblem!.Kind, result.FirstProblem.ByteOffset));
    }

    [Fact]
    public async Task ASlinkEventNumberThatIsNotNbInBurst_FailsTheDecoderCheck()
    {
        var (file, events) = await GoodFile();
        var at = events[3].Offset;
        var w1 = (int)at + 68 + 28 + 4;
        BinaryPrimitives.WriteUInt32LittleEndian(file.AsSpan(w1), BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(w1)) + 1);

        var result = DateFileChecker.Check(new MemoryStream(file));

        Assert.Equal((DateFileProblemKind.DecoderCheck, at + 68 + 28), (result.FirstProblem!.Kind, result.FirstProblem.ByteOffset));
        Assert.Contains("nbInBurst", result.FirstProblem.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task APhysicsEventOutsideABurst_IsOutOfOrder()
    {
        var (file, events) = await GoodFile();
        var sob = events[1].Offset;   // drop the first SOB: its physics events are outside a burst

        var result = DateFileChecker.Check(new MemoryStream(Without(file, sob, Sor)));

        Assert.Equal((DateFileProblemKind.OutOfOrder, sob), (result.FirstProblem!.Kind, result.FirstProblem.ByteOffset));
        Assert.Contains("outside a burst", result.FirstProblem.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AFileWithoutEor_IsMissingTheEndOfRunAtItsEnd()
    {
        var (file, events) = await GoodFile();
        var eor = events[^1].Offset;

        var result = DateFileChecker.Check(new MemoryStream(file.AsSpan(0, (int)eor).ToArray()));

        Assert.Equal((DateFileProblemKind.MissingEndOfRun, eor), (result.FirstProblem!.Kind, result.FirstProblem.ByteOffset));
        Assert.Equal(11, result.Events);
    }

    [Fact]
    public async Task AFileWithoutSor_IsOutOfOrder_UnlessTheRunStructureIsNotRequired()
    {
        var (file, _) = await GoodFile();
        var noSor = Without(file, 0, Sor);

        var strict = DateFileChecker.Check(new MemoryStream(noSor));
        var loose = DateFileChecker.Check(new MemoryStream(noSor), new DateFileCheckOptions { RequireRunStructure = false });

        Assert.Equal((DateFileProblemKind.OutOfOrder, 0L), (strict.FirstProblem!.Kind, strict.FirstProblem.ByteOffset));
        Assert.Contains("expected START_OF_RUN", strict.FirstProblem.Message, StringComparison.Ordinal);
        Assert.True(loose.IsGood);
        Assert.Equal(11, loose.Events);
    }

    [Fact]
    public async Task ARunNumberThatChanges_IsReported()
    {
        var (file, events) = await GoodFile();
        var at = events[4].Offset;
        BinaryPrimitives.WriteUInt32LittleEndian(file.AsSpan((int)at + 20), Run + 1);

        var result = DateFileChecker.Check(new MemoryStream(file));

        Assert.Equal((DateFileProblemKind.RunNumberChanged, at + 20), (result.FirstProblem!.Kind, result.FirstProblem.ByteOffset));
    }

    [Fact]
    public async Task Check_ReadsAFileByPath()
    {
        var (file, _) = await GoodFile();
        var path = Path.Combine(Path.GetTempPath(), $"na64-check-{Guid.NewGuid():N}.dat");
        try
        {
            await File.WriteAllBytesAsync(path, file);
            Assert.True(DateFileChecker.Check(path).IsGood);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
