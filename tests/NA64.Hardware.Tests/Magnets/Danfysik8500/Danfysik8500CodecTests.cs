using NA64.Hardware.Errors;
using NA64.Hardware.Magnets;
using NA64.Hardware.Magnets.Danfysik8500;
using C = NA64.Hardware.Magnets.Danfysik8500.Danfysik8500Conditions;

namespace NA64.Hardware.Tests.Magnets.Danfysik8500;

public class Danfysik8500CodecTests
{
    [Fact]
    public void S1_of_the_manual_example_power_on_polarity_normal()
    {
        var s = Danfysik8500Codec.DecodeStatus("S1", ".!......................");
        Assert.Equal(C.PolarityNormal, s.Conditions);
        Assert.True(s.PowerOn);
        Assert.Equal(MagnetPolarity.Normal, s.Polarity);
        Assert.Equal(MagnetOutput.On, Danfysik8500Codec.MapOutput(s.Conditions));
        Assert.Equal(MagnetConditions.None, Danfysik8500Codec.MapConditions(s.Conditions));
    }

    [Fact]
    public void S1_power_off_is_position_1_and_not_ready_position_23()
    {
        var s = Danfysik8500Codec.DecodeStatus("S1", "!!....................!.");
        Assert.Equal(C.MainPowerOff | C.PolarityNormal | C.MpsNotReady, s.Conditions);
        Assert.False(s.PowerOn);
        Assert.Equal(MagnetOutput.Off, Danfysik8500Codec.MapOutput(s.Conditions));
        Assert.Equal(MagnetConditions.NotReady, Danfysik8500Codec.MapConditions(s.Conditions));
    }

    [Fact]
    public void S1_sum_interlock_position_10_and_magnet_water_flow_position_21_are_a_fault()
    {
        var s = Danfysik8500Codec.DecodeStatus("S1", ".!.......!..........!...");
        Assert.Equal(C.PolarityNormal | C.SumInterlock | C.MagnetWaterFlowFailure, s.Conditions);
        Assert.True(s.SumInterlock);
        Assert.Equal(MagnetOutput.Fault, Danfysik8500Codec.MapOutput(s.Conditions));
        Assert.Equal(MagnetConditions.Interlock | MagnetConditions.WaterFlow, Danfysik8500Codec.MapConditions(s.Conditions));
        Assert.Equal("polarity normal, sum interlock, magnet water-flow failure", s.ActiveNames);
    }

    [Theory]
    [InlineData(C.MpsWaterFlowFailure, MagnetConditions.WaterFlow)]
    [InlineData(C.MagnetOverTemperature, MagnetConditions.OverTemperature)]
    [InlineData(C.MpsOverTemperature, MagnetConditions.OverTemperature)]
    [InlineData(C.ThermalFailure, MagnetConditions.OverTemperature)]
    [InlineData(C.DoorSwitch, MagnetConditions.Door)]
    [InlineData(C.PhaseFailure, MagnetConditions.AcFailure)]
    [InlineData(C.EarthLeakFailure, MagnetConditions.OtherFault)]
    [InlineData(C.DcOverCurrent, MagnetConditions.OtherFault)]
    [InlineData(C.TransistorFault, MagnetConditions.OtherFault)]
    public void Each_fault_position_maps_to_its_condition(C s1, MagnetConditions expected)
    {
        Assert.Equal(expected, Danfysik8500Codec.MapConditions(s1));
        Assert.Equal(MagnetOutput.Fault, Danfysik8500Codec.MapOutput(s1 | C.PolarityNormal));
    }

    [Fact]
    public void S1_positions_are_the_table_positions()
    {
        // Position n (1-based) is bit n-1: check a few against §4.4 by building the string by hand.
        Assert.Equal(C.SumInterlock, Danfysik8500Codec.DecodeStatus("S1", new string('.', 9) + "!" + new string('.', 14)).Conditions);
        Assert.Equal(C.DoorSwitch, Danfysik8500Codec.DecodeStatus("S1", new string('.', 19) + "!" + new string('.', 4)).Conditions);
        Assert.Equal(C.Spare24, Danfysik8500Codec.DecodeStatus("S1", new string('.', 23) + "!").Conditions);
    }

    [Theory]
    [InlineData(".!.....................")]
    [InlineData(".!.......................")]
    [InlineData("")]
    public void S1_of_23_or_25_characters_is_a_reply_error_with_the_raw_bytes(string raw)
    {
        var e = Assert.Throws<Danfysik8500ReplyException>(() => Danfysik8500Codec.DecodeStatus("S1", raw));
        Assert.Equal(raw, e.RawReply);
        Assert.Equal("S1", e.Request);
        Assert.Contains($"{raw.Length} characters, expected 24", e.Message, StringComparison.Ordinal);
        Assert.IsAssignableFrom<DeviceReplyException>(e);
    }

    [Fact]
    public void S1_with_a_foreign_character_names_its_position()
    {
        var e = Assert.Throws<Danfysik8500ReplyException>(() => Danfysik8500Codec.DecodeStatus("S1", ".!.......x.............."));
        Assert.Contains("position 10 is 'x'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void S1_with_both_polarities_or_none_has_no_polarity()
    {
        Assert.Null(Danfysik8500Codec.DecodeStatus("S1", ".!!.....................").Polarity);
        Assert.Null(Danfysik8500Codec.DecodeStatus("S1", "........................").Polarity);
        Assert.Equal(MagnetPolarity.Reversed, Danfysik8500Codec.DecodeStatus("S1", "..!.....................").Polarity);
    }

    [Theory]
    [InlineData("250000", 250000)]
    [InlineData("0", 0)]
    [InlineData("010", 10)]
    [InlineData(" 42 ", 42)]
    [InlineData("-12", -12)]
    public void Integers_are_base_10(string raw, int expected) => Assert.Equal(expected, Danfysik8500Codec.ParseInteger("RA", raw));

    [Theory]
    [InlineData("")]
    [InlineData("25,0")]
    [InlineData("1e5")]
    [InlineData("ERROR: UNKNOWN COMMAND")]
    [InlineData("99999999999")]
    [InlineData("-")]
    [InlineData("0x10")]
    public void Not_an_integer_is_a_reply_error(string raw)
    {
        var e = Assert.Throws<Danfysik8500ReplyException>(() => Danfysik8500Codec.ParseInteger("AD 8", raw));
        Assert.Equal(raw, e.RawReply);
    }

    [Fact]
    public void Polarity_is_plus_or_minus()
    {
        Assert.Equal(MagnetPolarity.Normal, Danfysik8500Codec.ParsePolarity("PO", "+"));
        Assert.Equal(MagnetPolarity.Reversed, Danfysik8500Codec.ParsePolarity("PO", "-"));
        Assert.Equal("x", Assert.Throws<Danfysik8500ReplyException>(() => Danfysik8500Codec.ParsePolarity("PO", "x")).RawReply);
    }

    [Fact]
    public void Requests_are_the_manual_bytes()
    {
        Assert.Equal("WA 250000", Danfysik8500Protocol.WriteSetpoint.Format(250000));
        Assert.Equal("AD 8", Danfysik8500Protocol.ReadAdcChannel(8));
        Assert.Equal("PO +", Danfysik8500Protocol.SelectPolarity(MagnetPolarity.Normal));
        Assert.Equal("PO -", Danfysik8500Protocol.SelectPolarity(MagnetPolarity.Reversed));
        Assert.Equal("ADR 7", Danfysik8500Protocol.Address.Format(7));
        Assert.Equal(Danfysik8500Facts.StatusLength, Danfysik8500Protocol.ConditionNames.Count);
        Assert.All(Danfysik8500Protocol.Commands.Where(c => c.Class == Danfysik8500CommandClass.Directive),
            c => Assert.Contains(c.Mnemonic, new[] { "N", "F", "RS", "WA", "REM", "LOC", "ADR" }));
    }
}
