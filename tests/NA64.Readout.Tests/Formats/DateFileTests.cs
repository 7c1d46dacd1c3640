using NA64.Hardware.Digitizers.Msadc.Format;
using NA64.Hardware.Errors;
using NA64.Readout.Formats;

namespace NA64.Readout.Tests.Formats;

public class DateFileTests
{
    private static byte[] ThreeEvents()
    {
        var b = DateTestData.Builder();
        return DateTestData.File(
            DateTestData.Event(b, 17, 1, 1, 623),
            DateTestData.Event(b, 17, 2, 2, 623, 624),
            DateTestData.Event(b, 18, 1, 3, 623));
    }

    private static List<(int Burst, int Nb, int Equipments)> ReadAll(DateFileReader r)
    {
        var got = new List<(int, int, int)>();
        while (r.ReadNext() is { } e)
        {
            got.Add((e.Header.Burst, e.Header.NbInBurst, e.Equipments.Length));
        }

        return got;
    }

    [Fact]
    public void Writer_then_reader_round_trips_events_counts_and_samples()
    {
        var ms = new MemoryStream();
        var b = DateTestData.Builder();
        using (var w = new DateFileWriter(ms, bufferBytes: 4096, leaveOpen: true))
        {
            for (int i = 1; i <= 100; i++)
            {
                w.Write(DateTestData.Event(b, 3, i, (uint)i, 623, 624));
            }

            Assert.Equal(100, w.EventsWritten);
            Assert.Equal(100 * (68 + (2 * 64)), w.BytesWritten);
        }

        ms.Position = 0;
        using var r = new DateFileReader(ms);
        var sadc = new SadcEventData();
        int events = 0;
        while (r.ReadNext() is { } e)
        {
            events++;
            sadc.Clear();
            foreach (var eq in e.Equipments)
            {
                SadcDecoder.Decode(e.Payload(eq), sadc, e.Header.NbInBurst, eq.ByteOffset + DateEquipmentHeader.Bytes);
            }

            Assert.Empty(sadc.Problems);
            Assert.Equal(2, sadc.Channels.Length);
            Assert.Equal(DateTestData.Samples, sadc.Samples(sadc.Channels[1]).ToArray());
        }

        Assert.Equal(100, events);
        Assert.Equal(100, r.EventsRead);
        Assert.Equal(ms.Length, r.Position);
    }

    [Fact]
    public void Writer_flushes_every_n_events_and_on_dispose()
    {
        var ms = new MemoryStream();
        var b = DateTestData.Builder();
        var w = new DateFileWriter(ms, flushEveryEvents: 2, leaveOpen: true);
        w.Write(DateTestData.Event(b, 1, 1, 1, 600));
        Assert.Equal(0, ms.Length);
        w.Write(DateTestData.Event(b, 1, 2, 2, 600));
        Assert.Equal(2 * 132, ms.Length);
        w.Write(DateTestData.Event(b, 1, 3, 3, 600));
        Assert.Equal(2 * 132, ms.Length);
        w.Dispose();
        Assert.Equal(3 * 132, ms.Length);
        Assert.Throws<ObjectDisposedException>(() => w.Write(DateTestData.Event(b, 1, 4, 4, 600)));
    }

    [Fact]
    public void Writer_refuses_events_whose_size_word_disagrees_or_run_is_0()
    {
        var b = DateTestData.Builder();
        byte[] e = DateTestData.Event(b, 1, 1, 1, 600);
        using var w = new DateFileWriter(new MemoryStream());
        Assert.Contains("eventSize = 132 disagrees with the 128 bytes", Assert.Throws<ArgumentException>(() => w.Write(e.AsSpan(0, 128))).Message, StringComparison.Ordinal);
        DateTestData.SetWord(e, 20, 0);
        Assert.Contains("run number = 0", Assert.Throws<ArgumentException>(() => w.Write(e)).Message, StringComparison.Ordinal);
        Assert.Equal(0, w.EventsWritten);
    }

    [Fact]
    public void Event_larger_than_the_buffer_is_written_directly_in_order()
    {
        var ms = new MemoryStream();
        var b = DateTestData.Builder();
        byte[] small = DateTestData.Event(b, 1, 1, 1, 600);
        byte[] big = DateTestData.Event(b, 1, 2, 2, Enumerable.Range(600, 40).ToArray());
        using (var w = new DateFileWriter(ms, bufferBytes: 4096, leaveOpen: true))
        {
            w.Write(small);
            w.Write(big);
            w.Write(small);
        }

        Assert.Equal(DateTestData.File(small, big, small), ms.ToArray());
    }

    [Fact]
    public void Truncated_final_event_is_reported_after_the_complete_events()
    {
        byte[] file = ThreeEvents();
        byte[] cut = file.AsSpan(0, file.Length - 10).ToArray();
        using var r = new DateFileReader(new MemoryStream(cut));
        Assert.NotNull(r.ReadNext());
        Assert.NotNull(r.ReadNext());
        var e = Assert.Throws<FrameFormatException>(() => r.ReadNext());
        long at = 132 + 196;
        Assert.Equal(at, e.ByteOffset);
        Assert.Contains(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"truncated event at offset {at} (need 132 bytes, have 122)"), e.Message, StringComparison.Ordinal);
        Assert.Null(r.ReadNext());
        Assert.Equal(2, r.EventsRead);
    }

    [Fact]
    public void Truncated_inside_the_first_16_bytes_is_reported_with_the_size_word()
    {
        byte[] file = ThreeEvents();
        using var r = new DateFileReader(new MemoryStream(file.AsSpan(0, 132 + 6).ToArray()));
        Assert.NotNull(r.ReadNext());
        var e = Assert.Throws<FrameFormatException>(() => r.ReadNext());
        Assert.Contains("truncated event at offset 132 (need 196 bytes, have 6)", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_file_that_is_not_date_is_refused_at_offset_0()
    {
        byte[] text = "<?xml version=\"1.0\"?><Maps></Maps>\n"u8.ToArray();
        using var r = new DateFileReader(new MemoryStream(text));
        var e = Assert.Throws<FrameFormatException>(() => r.ReadNext());
        Assert.Equal(0, e.ByteOffset);
        Assert.Contains("not a DATE event", e.Message, StringComparison.Ordinal);
        Assert.Contains("0xDA1E5AFE", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_big_endian_file_is_named_as_such()
    {
        byte[] file = ThreeEvents();
        for (int i = 0; i < file.Length; i += 4)
        {
            Array.Reverse(file, i, 4);
        }

        using var r = new DateFileReader(new MemoryStream(file));
        var e = Assert.Throws<FrameFormatException>(() => r.ReadNext());
        Assert.Contains("big-endian file", e.Message, StringComparison.Ordinal);
        Assert.Equal(0, e.ByteOffset);
    }

    [Fact]
    public void Old_header_flavour_and_other_versions_are_refused_clearly()
    {
        byte[] file = ThreeEvents();
        DateTestData.SetWord(file, 12, 80);
        var e = Assert.Throws<FrameFormatException>(() => new DateFileReader(new MemoryStream(file)).ReadNext());
        Assert.Contains("old DATE header flavour", e.Message, StringComparison.Ordinal);

        DateTestData.SetWord(file, 12, 0x00030009);
        e = Assert.Throws<FrameFormatException>(() => new DateFileReader(new MemoryStream(file)).ReadNext());
        Assert.Contains("version 0x00030009 is not supported", e.Message, StringComparison.Ordinal);

        using var lenient = new DateFileReader(new MemoryStream(file), new DateReaderOptions { AcceptAny3xVersion = true });
        Assert.Equal(3, ReadAll(lenient).Count);
    }

    [Theory]
    [InlineData(0u, "non-zero and a multiple of 4")]
    [InlineData(130u, "non-zero and a multiple of 4")]
    [InlineData(64u, "smaller than eventHeadSize = 68")]
    public void Size_rules_are_checked(uint size, string message)
    {
        byte[] file = ThreeEvents();
        DateTestData.SetWord(file, 132, size);
        using var r = new DateFileReader(new MemoryStream(file));
        Assert.NotNull(r.ReadNext());
        var e = Assert.Throws<FrameFormatException>(() => r.ReadNext());
        Assert.Equal(132, e.ByteOffset);
        Assert.Contains(message, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Size_word_larger_than_the_limit_is_not_allocated()
    {
        byte[] file = ThreeEvents();
        DateTestData.SetWord(file, 0, 0x7FFFFFF0);
        var e = Assert.Throws<FrameFormatException>(() => new DateFileReader(new MemoryStream(file)).ReadNext());
        Assert.Contains("exceeds the limit MaxEventBytes", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Size_that_disagrees_with_the_header_shows_up_at_the_next_event()
    {
        // Event 1 claims 4 bytes more than it has: the reader takes them from event 2, whose magic is then misplaced.
        byte[] file = ThreeEvents();
        DateTestData.SetWord(file, 0, 136);
        using var r = new DateFileReader(new MemoryStream(file));
        var first = r.ReadNext();
        Assert.NotNull(first);
        Assert.Contains(first.Problems, p => p.Kind == FormatProblemKind.EquipmentTooShort);
        var e = Assert.Throws<FrameFormatException>(() => r.ReadNext());
        Assert.Equal(136, e.ByteOffset);
    }

    [Fact]
    public void File_round_trip_through_disk()
    {
        string path = Path.Combine(Path.GetTempPath(), "na64-date-" + Guid.NewGuid().ToString("N") + ".raw");
        try
        {
            using (var w = DateFileWriter.Create(path))
            {
                var b = DateTestData.Builder();
                w.Write(DateTestData.Event(b, 2, 1, 1, 623));
                w.Write(DateTestData.Event(b, 2, 2, 2, 623));
            }

            using var r = DateFileReader.Open(path);
            Assert.Equal([(2, 1, 1), (2, 2, 1)], ReadAll(r));
        }
        finally
        {
            File.Delete(path);
        }
    }
}
