using NA64.Hardware.Digitizers.Msadc.Format;
using NA64.Hardware.Errors;
using NA64.Readout.Formats;

namespace NA64.Readout.Tests.Formats;

/// <summary>The equipment walk (data-formats §4.3): a bad equipment costs itself or the rest of the event, never more.</summary>
public class DateEventViewTests
{
    private static byte[] TwoSources() => DateTestData.Event(DateTestData.Builder(), 17, 1234, 5, 623, 624);

    private static DateEventView Load(byte[] e)
    {
        var v = new DateEventView();
        v.Load(e, 1000);
        return v;
    }

    [Fact]
    public void Equipment_size_disagreeing_with_slink_size_skips_only_that_source()
    {
        byte[] e = TwoSources();
        // S-Link event_size of the first source: 8 instead of 9.
        DateTestData.SetWord(e, 68 + 28, (DateTestData.Word(e, 68 + 28) & ~0xFFFFu) | 8);
        var v = Load(e);
        var p = Assert.Single(v.Problems);
        Assert.Equal(FormatProblemKind.EquipmentSlinkSizeMismatch, p.Kind);
        Assert.Equal(1068, p.ByteOffset);
        Assert.Equal(623, p.SourceId);
        Assert.Contains("equipmentSize = 64 bytes, but 28 + 4 × S-Link event_size (8) = 60", p.Message, StringComparison.Ordinal);
        Assert.Equal(624, Assert.Single(v.Equipments.ToArray()).SourceId);
    }

    [Fact]
    public void Payload_only_equipment_size_is_the_ddd_event_corrupted_case()
    {
        byte[] e = TwoSources();
        DateTestData.SetWord(e, 68, 36);   // 36 = payload only, the 28-byte header not counted
        var v = Load(e);
        // 36 bytes leave no room for an S-Link header (skipped), and the walk then lands inside the S-Link block.
        Assert.Equal(1, v.SkippedShortEquipments);
        Assert.Equal(FormatProblemKind.EquipmentOverrun, Assert.Single(v.Problems).Kind);
        Assert.Empty(v.Equipments.ToArray());
    }

    [Fact]
    public void Equipment_overrunning_the_event_stops_the_walk()
    {
        byte[] e = TwoSources();
        DateTestData.SetWord(e, 68 + 64, 68);
        var v = Load(e);
        Assert.Equal(FormatProblemKind.EquipmentOverrun, Assert.Single(v.Problems).Kind);
        Assert.Equal(623, Assert.Single(v.Equipments.ToArray()).SourceId);
    }

    [Theory]
    [InlineData(20u, FormatProblemKind.EquipmentTooShort)]
    [InlineData(62u, FormatProblemKind.EquipmentSizeNotMultipleOf4)]
    public void Equipment_size_below_header_or_not_multiple_of_4_corrupts_the_rest(uint size, FormatProblemKind kind)
    {
        byte[] e = TwoSources();
        DateTestData.SetWord(e, 68, size);
        var v = Load(e);
        Assert.Equal(kind, Assert.Single(v.Problems).Kind);
        Assert.Empty(v.Equipments.ToArray());
    }

    [Fact]
    public void Equipment_with_no_room_for_an_slink_header_is_skipped_and_counted()
    {
        var b = DateTestData.Builder();
        byte[] one = DateTestData.Event(b, 1, 1, 1, 623);
        // Insert a 32-byte equipment (28 header + 4) before the real one.
        var e = new byte[one.Length + 32];
        one.AsSpan(0, 68).CopyTo(e);
        DateTestData.SetWord(e, 68, 32);
        DateTestData.SetWord(e, 72, 64);
        one.AsSpan(68).CopyTo(e.AsSpan(100));
        DateTestData.SetWord(e, 0, (uint)e.Length);
        var v = Load(e);
        Assert.Empty(v.Problems);
        Assert.Equal(1, v.SkippedShortEquipments);
        Assert.Single(v.Equipments.ToArray());
    }

    [Fact]
    public void Leftover_bytes_too_short_for_an_equipment_header_are_reported()
    {
        byte[] one = DateTestData.Event(DateTestData.Builder(), 1, 1, 1, 623);
        byte[] e = [.. one, .. new byte[8]];
        DateTestData.SetWord(e, 0, (uint)e.Length);
        var v = Load(e);
        Assert.Equal(FormatProblemKind.EquipmentTooShort, Assert.Single(v.Problems).Kind);
        Assert.Single(v.Equipments.ToArray());
    }

    [Fact]
    public void Non_data_event_types_are_not_walked_and_unknown_types_are_reported()
    {
        byte[] e = TwoSources();
        DateTestData.SetWord(e, 16, 5);
        Assert.Empty(Load(e).Equipments.ToArray());
        DateTestData.SetWord(e, 16, 99);
        var v = Load(e);
        Assert.Equal(FormatProblemKind.UnknownEventType, Assert.Single(v.Problems).Kind);
    }

    [Fact]
    public void Load_refuses_bytes_that_disagree_with_the_size_word()
    {
        byte[] e = TwoSources();
        var ex = Assert.Throws<FrameFormatException>(() => new DateEventView().Load(e.AsMemory(0, e.Length - 4), 50));
        Assert.Equal(50, ex.ByteOffset);
        Assert.Contains("disagrees", ex.Message, StringComparison.Ordinal);
    }

    private static byte[] SuperEvent(byte[] sub1, byte[] sub2)
    {
        var e = new byte[68 + sub1.Length + sub2.Length];
        sub1.AsSpan(0, 68).CopyTo(e);
        DateTestData.SetWord(e, 0, (uint)e.Length);
        DateTestData.SetWord(e, 52, DateEventHeader.SuperEventAttributeBit);
        sub1.CopyTo(e, 68);
        sub2.CopyTo(e, 68 + sub1.Length);
        return e;
    }

    [Fact]
    public void Super_event_equipments_come_from_every_sub_event()
    {
        var b = DateTestData.Builder();
        byte[] e = SuperEvent(DateTestData.Event(b, 17, 1234, 5, 623), DateTestData.Event(b, 17, 1234, 5, 624, 625));
        var v = Load(e);
        Assert.True(v.Header.IsSuperEvent);
        Assert.Empty(v.Problems);
        Assert.Equal([623, 624, 625], v.Equipments.ToArray().Select(q => q.SourceId));
    }

    [Fact]
    public void Sub_event_header_that_differs_stops_the_super_event()
    {
        var b = DateTestData.Builder();
        byte[] e = SuperEvent(DateTestData.Event(b, 17, 1234, 5, 623), DateTestData.Event(b, 17, 1235, 5, 624));
        var v = Load(e);
        Assert.Equal(FormatProblemKind.SubEventHeaderDiffers, Assert.Single(v.Problems).Kind);
        Assert.Equal(623, Assert.Single(v.Equipments.ToArray()).SourceId);
    }
}
