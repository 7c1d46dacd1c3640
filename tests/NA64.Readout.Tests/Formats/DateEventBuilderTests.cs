using NA64.Hardware.Digitizers.Msadc.Format;
using NA64.Readout.Formats;

namespace NA64.Readout.Tests.Formats;

public class DateEventBuilderTests
{
    [Fact]
    public void Run_number_0_is_refused()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => DateTestData.Builder().Begin(DateEventType.Physics, 0, 1, 1, 1, 1));
        Assert.Equal("RunNumber", e.ParamName);
        Assert.Contains("run number = 0", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(4096, 1, "Burst")]
    [InlineData(-1, 1, "Burst")]
    [InlineData(1, 0x100000, "NbInBurst")]
    public void Burst_and_event_in_burst_wider_than_their_fields_are_refused(int burst, int nb, string field)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => DateTestData.Builder().Begin(DateEventType.Physics, 5, 1, burst, nb, 1));
        Assert.Equal(field, e.ParamName);
    }

    [Fact]
    public void Slink_event_number_must_equal_nb_in_burst()
    {
        var b = DateTestData.Builder();
        b.Begin(DateEventType.Physics, 5, 1, 17, 1235, 1);
        var ex = Assert.Throws<ArgumentException>(() => b.AddEquipment(DateTestData.File(DateTestData.SlinkWords.SelectMany(BitConverter.GetBytes).ToArray())));
        Assert.Contains("event_number = 1234 of source 623 refused: it must equal DATE nbInBurst = 1235", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Slink_size_must_equal_the_bytes_written()
    {
        var b = DateTestData.Builder();
        b.Begin(DateEventType.Physics, 5, 1, 17, 1234, 1);
        byte[] block = DateTestData.SlinkWords.SelectMany(BitConverter.GetBytes).Concat(new byte[4]).ToArray();
        var ex = Assert.Throws<ArgumentException>(() => b.AddEquipment(block));
        Assert.Contains("event_size = 9 words (36 bytes) of source 623 disagrees with the 40 bytes", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Start_of_run_carries_no_equipment_and_is_a_bare_header()
    {
        var b = DateTestData.Builder();
        b.Begin(DateEventType.StartOfRun, 5, 0, 0, 0, 0);
        Assert.Throws<InvalidOperationException>(() => b.GetEquipmentSpan(64));
        var e = b.Finish().ToArray();
        Assert.Equal(68, e.Length);
        Assert.Equal(1u, DateTestData.Word(e, 16));
    }

    [Fact]
    public void Finish_without_begin_or_with_an_open_equipment_is_refused()
    {
        var b = DateTestData.Builder();
        Assert.Throws<InvalidOperationException>(() => b.Finish());
        b.Begin(DateEventType.Physics, 5, 1, 1, 1, 1);
        b.GetEquipmentSpan(64);
        Assert.Throws<InvalidOperationException>(() => b.Finish());
    }

    [Fact]
    public void Many_sources_grow_the_buffer_and_keep_every_equipment()
    {
        var b = new DateEventBuilder(new Microsoft.Extensions.Time.Testing.FakeTimeProvider(), initialCapacity: 100);
        b.Begin(DateEventType.Physics, 5, 1, 1, 7, 1);
        for (int src = 600; src < 640; src++)
        {
            Span<byte> room = b.GetEquipmentSpan(SadcBlockWriter.LatchAllBytes(4, 32));
            var w = new SadcBlockWriter(room, src, 7, 1);
            for (int adc = 0; adc < 4; adc++)
            {
                w.BeginAdc(0, adc);
                for (int ch = 0; ch < 16; ch++)
                {
                    w.AddChannel(ch, new ushort[32], 0);
                }
            }

            b.CommitEquipment(w.Finish());
        }

        byte[] e = b.Finish().ToArray();
        Assert.Equal(40, b.EquipmentCount);
        Assert.Equal(68 + (40 * (28 + SadcBlockWriter.LatchAllBytes(4, 32))), e.Length);
        var view = new DateEventView();
        view.Load(e);
        Assert.Equal(Enumerable.Range(600, 40), view.Equipments.ToArray().Select(q => q.SourceId));
    }
}
