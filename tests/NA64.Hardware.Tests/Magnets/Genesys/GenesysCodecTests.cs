using System.Globalization;
using NA64.Hardware.Errors;
using NA64.Hardware.Magnets;
using NA64.Hardware.Magnets.Genesys;

namespace NA64.Hardware.Tests.Magnets.Genesys;

public class GenesysCodecTests
{
    [Theory]
    [InlineData("LAMBDA,GEN8-400", "GEN8-400", 8, 400)]
    [InlineData("lambda,gen10-330", "GEN10-330", 10, 330)]
    [InlineData("LAMBDA,GEN7.5-1000", "GEN7.5-1000", 7.5, 1000)]
    [InlineData(" LAMBDA,GEN150-5 ", "GEN150-5", 150, 5)]
    public void Identity_gives_the_model_ratings(string reply, string name, double volts, double amps)
    {
        var model = GenesysCodec.ParseIdentity("IDN?", reply);
        Assert.Equal(new GenesysModel(name, volts, amps), model);
    }

    [Theory]
    [InlineData("LAMBDA,GEN8")]
    [InlineData("KEPCO,GEN8-400")]
    [InlineData("LAMBDA,GEN0-400")]
    [InlineData("OK")]
    [InlineData("")]
    public void A_foreign_identity_is_a_reply_error_with_the_raw_line(string reply)
    {
        var e = Assert.Throws<DeviceReplyException>(() => GenesysCodec.ParseIdentity("IDN?", reply));
        Assert.Equal(reply, e.RawReply);
        Assert.Equal("IDN?", e.Request);
    }

    [Theory]
    [InlineData("C01")]
    [InlineData("C02")]
    [InlineData("C03")]
    [InlineData("C04")]
    [InlineData("C05")]
    public void Command_errors_are_typed_with_their_code(string code)
    {
        var e = Assert.Throws<GenesysCommandErrorException>(() => GenesysCodec.ParseOk("PC 1", code));
        Assert.Equal(code, e.Code);
        Assert.Equal(code, e.RawReply);
        Assert.Contains(GenesysProtocol.CommandErrors[code], e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("E01")]
    [InlineData("E02")]
    [InlineData("E04")]
    [InlineData("E06")]
    public void Execution_errors_are_typed_with_their_code(string code)
    {
        var e = Assert.Throws<GenesysExecutionErrorException>(() => GenesysCodec.ParseOk("PV 9.5", code));
        Assert.Equal(code, e.Code);
        Assert.IsNotType<GenesysFaultShutdownException>(e);
    }

    [Fact]
    public void An_error_code_the_manual_does_not_list_is_still_an_execution_error_carrying_the_raw_line()
    {
        var e = Assert.Throws<GenesysExecutionErrorException>(() => GenesysCodec.ParseOk("PC 50", "E99"));
        Assert.Equal("E99", e.Code);
        Assert.Equal("E99", e.RawReply);
        Assert.Contains("not in the manual's table", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void E07_is_the_fault_shutdown_exception_even_where_a_number_was_expected()
    {
        Assert.Throws<GenesysFaultShutdownException>(() => GenesysCodec.ParseOk("OUT 1", "E07"));
        Assert.Throws<GenesysFaultShutdownException>(() => GenesysCodec.ParseNumber("MC?", "E07"));
    }

    [Theory]
    [InlineData("400.00", 400)]
    [InlineData("0.000", 0)]
    [InlineData("007.5", 7.5)]
    [InlineData("-0.01", -0.01)]
    [InlineData(" 5.0 ", 5)]
    public void Numbers_are_base_10_invariant(string reply, double expected) =>
        Assert.Equal(expected, GenesysCodec.ParseNumber("MC?", reply));

    [Theory]
    [InlineData("5,0")]
    [InlineData("1E3")]
    [InlineData("NaN")]
    [InlineData("OK")]
    [InlineData("4\u00000.0")]
    public void Non_numbers_are_reply_errors(string reply)
    {
        var e = Assert.Throws<DeviceReplyException>(() => GenesysCodec.ParseNumber("MC?", reply));
        Assert.Equal(reply, e.RawReply);
    }

    [Theory]
    [InlineData("06", 0x06)]
    [InlineData("8C", 0x8C)]
    [InlineData("ff", 0xFF)]
    [InlineData("4", 4)]
    public void Registers_are_hex(string reply, int expected) => Assert.Equal(expected, GenesysCodec.ParseHex("STAT?", reply));

    [Theory]
    [InlineData("100")]
    [InlineData("G1")]
    [InlineData("")]
    public void Bad_registers_are_reply_errors(string reply) =>
        Assert.Throws<DeviceReplyException>(() => GenesysCodec.ParseHex("FLT?", reply));

    [Theory]
    [InlineData("CC", GenesysMode.ConstantCurrent)]
    [InlineData("cv", GenesysMode.ConstantVoltage)]
    [InlineData("OFF", GenesysMode.Off)]
    public void Modes(string reply, GenesysMode mode) => Assert.Equal(mode, GenesysCodec.ParseMode("MODE?", reply));

    [Theory]
    [InlineData("ON", true)]
    [InlineData("1", true)]
    [InlineData("OFF", false)]
    [InlineData("0", false)]
    public void Output_words_and_digits_are_both_accepted(string reply, bool on) =>
        Assert.Equal(on, GenesysCodec.ParseOutput("OUT?", reply));

    [Theory]
    [InlineData("!06", 6)]
    [InlineData("!00", 0)]
    [InlineData("!30", 30)]
    public void Srq_lines_name_their_unit(string line, int address) => Assert.Equal(address, GenesysCodec.ParseSrq(line));

    [Theory]
    [InlineData("!31")]
    [InlineData("!")]
    [InlineData("!ab")]
    [InlineData("06")]
    public void Other_lines_are_not_srq(string line) => Assert.Null(GenesysCodec.ParseSrq(line));

    [Fact]
    public void Numbers_are_written_in_the_invariant_culture_whatever_the_thread_culture()
    {
        var saved = CultureInfo.CurrentCulture;
        try
        {
            // Tests run in globalization-invariant mode: a culture with a decimal comma is built by hand.
            var comma = (CultureInfo)CultureInfo.InvariantCulture.Clone();
            comma.NumberFormat.NumberDecimalSeparator = ",";
            CultureInfo.CurrentCulture = comma;
            Assert.Equal("100,5", 100.5.ToString(CultureInfo.CurrentCulture));
            Assert.Equal("100.5", GenesysCodec.FormatNumber(100.5));
            Assert.Equal("0", GenesysCodec.FormatNumber(-0.0001));
            Assert.Equal("8", GenesysCodec.FormatNumber(8));
        }
        finally
        {
            CultureInfo.CurrentCulture = saved;
        }
    }

    [Fact]
    public void A_number_too_long_for_the_supply_is_refused_naming_the_limit()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => GenesysCodec.FormatNumber(1e12 + 0.5));
        Assert.Contains("at most 12", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Registers_map_to_the_contract_conditions()
    {
        var time = DateTimeOffset.UnixEpoch;
        var running = GenesysSupply.ToReadback(time, true, 400, 399.98, 4.0, GenesysMode.ConstantCurrent, GenesysStatus.ConstantCurrent | GenesysStatus.NoFault, GenesysFault.None);
        Assert.Equal(MagnetOutput.On, running.Output);
        Assert.Equal(MagnetConditions.CurrentRegulated, running.Conditions);
        Assert.Equal(MagnetPolarity.Normal, running.Polarity);

        var ramping = GenesysSupply.ToReadback(time, true, 400, 100, 8, GenesysMode.ConstantVoltage, GenesysStatus.ConstantVoltage | GenesysStatus.NoFault | GenesysStatus.Local, GenesysFault.None);
        Assert.Equal(MagnetConditions.VoltageLimited | MagnetConditions.Local, ramping.Conditions);

        var hot = GenesysSupply.ToReadback(time, false, 400, 0, 0, GenesysMode.Off, GenesysStatus.Fault, GenesysFault.OverTemperature | GenesysFault.EnableOpen | GenesysFault.AcFailure | GenesysFault.OverVoltage);
        Assert.Equal(MagnetOutput.Fault, hot.Output);
        Assert.Equal(MagnetConditions.OverTemperature | MagnetConditions.Interlock | MagnetConditions.AcFailure | MagnetConditions.OverVoltage, hot.Conditions);
        Assert.Contains("FLT 96", hot.Detail, StringComparison.Ordinal);

        var panelOff = GenesysSupply.ToReadback(time, false, 10, 0, 0, GenesysMode.Off, GenesysStatus.Fault, GenesysFault.FrontPanelOff);
        Assert.Equal(MagnetOutput.Off, panelOff.Output);
    }
}
