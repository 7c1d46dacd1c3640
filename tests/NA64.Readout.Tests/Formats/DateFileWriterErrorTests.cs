using NA64.Readout.Formats;
using NA64.Readout.Tests.Sinks;
using static NA64.Readout.Tests.Pipeline.PipelineTestKit;

namespace NA64.Readout.Tests.Formats;

public sealed class DateFileWriterErrorTests
{
    [Fact]
    public void APartialWrite_KeepsTheCompleteEvents_AndCutsThePartialOne()
    {
        var one = DateEvent(1, 1);
        // Room for 3 events and half of the fourth.
        var stream = new FullDiskStream((3 * one.Length) + (one.Length / 2));
        using var writer = new DateFileWriter(stream, leaveOpen: true);
        for (uint i = 1; i <= 5; i++)
            writer.Write(DateEvent(1, i));

        var e = Assert.Throws<DateWriteException>(writer.Commit);

        Assert.Equal((3, 2, 3L * one.Length), (e.KeptEvents, e.LostEvents, e.DurableBytes));
        Assert.Equal("No space left on device", e.Message);
        Assert.Equal(3L * one.Length, stream.Length);
        Assert.Equal((3L, 3L * one.Length), (writer.EventsWritten, writer.BytesWritten));
        var check = DateFileChecker.Check(new MemoryStream(stream.ToArray()), new DateFileCheckOptions { RequireRunStructure = false });
        Assert.True(check.IsGood);
        Assert.Equal(3, check.Events);

        // The disk has room again: writing goes on after the last complete event.
        stream.Room = long.MaxValue;
        writer.Write(DateEvent(1, 4));
        writer.Flush();
        Assert.Equal(4, DateFileChecker.Check(new MemoryStream(stream.ToArray()), new DateFileCheckOptions { RequireRunStructure = false }).Events);
    }

    [Fact]
    public void AnEventLargerThanTheBufferThatDoesNotFit_IsCutOff_AndTheEarlierEventsStay()
    {
        var small = DateEvent(1, 1);
        var big = DateEvent(1, 2, payloadWords: 2000);   // 8 KB, above the 4 KiB buffer: written directly
        var stream = new FullDiskStream(small.Length + 1000);
        using var writer = new DateFileWriter(stream, bufferBytes: 4096, leaveOpen: true);
        writer.Write(small);

        var e = Assert.Throws<DateWriteException>(() => writer.Write(big));

        Assert.Equal((0, 1), (e.KeptEvents, e.LostEvents));
        Assert.Equal(small, stream.ToArray());
        Assert.Equal((1L, (long)small.Length), (writer.EventsWritten, writer.BytesWritten));
    }
}
