using NA64.Hardware.Digitizers.Msadc.Format;
using NA64.Readout.Formats;

namespace NA64.Readout.Tests.Formats;

/// <summary>data-formats §6.11: the flat DATE 3.6 event holding the worked S-Link block is 132 bytes.</summary>
public class DateWorkedExampleTests
{
    [Fact]
    public void Builder_writes_the_132_byte_event_word_for_word()
    {
        byte[] e = DateTestData.Event(DateTestData.Builder(), burst: 17, nbInBurst: 1234, nbInRun: 99001, 623);

        uint[] expected =
        [
            132, 0xDA1E5AFE, 68, 0x00030006, 7, DateTestData.Run, 99001, 0x011004D2,
            0x00000003, 0x00000000, 1, 0, 0, 0, 0, 0, (uint)DateTestData.Timestamp,
            64, 64, 623, 0, 0, 0, 4,
            .. DateTestData.SlinkWords,
        ];
        Assert.Equal(132, e.Length);
        Assert.Equal(expected, Enumerable.Range(0, 33).Select(i => DateTestData.Word(e, i * 4)));
    }

    [Fact]
    public void View_reads_the_worked_example_back_to_the_samples()
    {
        byte[] e = DateTestData.Event(DateTestData.Builder(), 17, 1234, 99001, 623);
        var view = new DateEventView();
        view.Load(e);
        Assert.Empty(view.Problems);
        Assert.Equal(DateEventType.Physics, view.Header.Type);
        Assert.Equal((17, 1234, 99001u, 1u), (view.Header.Burst, view.Header.NbInBurst, view.Header.NbInRun, view.Header.TriggerMask));
        var eq = Assert.Single(view.Equipments.ToArray());
        Assert.Equal(623, eq.SourceId);
        Assert.Equal(64u, eq.Header.Size);

        var sadc = new SadcEventData();
        SadcDecoder.Decode(view.Payload(eq), sadc, view.Header.NbInBurst, eq.ByteOffset + DateEquipmentHeader.Bytes);
        Assert.Empty(sadc.Problems);
        Assert.Equal(DateTestData.Samples, sadc.Samples(sadc.Channels[0]).ToArray());
        Assert.Equal(2652, sadc.Channels[0].Sum);
    }

    [Theory]
    [InlineData(0u, 1u, 0u)]
    [InlineData(1u, 3u, 0u)]
    [InlineData(0x80000001u, 3u, 1u)]
    [InlineData(0xFFFFFFFFu, 0xFFFFFFFFu, 1u)]
    public void Trigger_mask_encodes_with_the_validity_bit_and_decodes_as_ddd_does(uint mask, uint p0, uint p1)
    {
        Assert.Equal((p0, p1), DateEventHeader.EncodeTriggerMask(mask));
        var h = new DateEventHeader(68, 68, DateEventHeader.Version36, DateEventType.Physics, 1, 0, 0, 0, p0, p1, 1, 0, 0, 0, 0, 0, 0);
        Assert.Equal(mask, h.TriggerMask);
    }

    [Fact]
    public void Options_set_ldc_gdc_detector_pattern_and_element_size()
    {
        var b = DateTestData.Builder(new DateWriterOptions { LdcId = 3, GdcId = 7, DetectorPattern = 0x5, BasicElementSize = 2 });
        byte[] e = DateTestData.Event(b, 1, 1, 1, 600);
        var h = DateEventHeader.Read(e);
        Assert.Equal((3u, 7u, 5u), (h.LdcId, h.GdcId, h.DetectorPattern));
        Assert.Equal(2u, DateTestData.Word(e, 68 + 24));
        Assert.Equal(0u, h.TypeAttribute2);
    }
}
