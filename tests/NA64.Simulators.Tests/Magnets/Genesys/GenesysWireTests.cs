using NA64.Hardware.Magnets.Genesys;
using NA64.Simulators.Magnets.Genesys;

namespace NA64.Simulators.Tests.Magnets.Genesys;

public class GenesysWireTests
{
    [Fact]
    public void Silent_until_a_present_unit_is_selected_with_ADR()
    {
        var t = new GenesysTestLine("GEN8-400", 6);
        Assert.Null(t.Ask("IDN?"));
        Assert.Null(t.Ask(""));
        Assert.Null(t.Ask("ADR 5"));
        Assert.Null(t.Ask("IDN?"));
        Assert.Equal("OK", t.Ask("ADR 6"));
        Assert.Equal("LAMBDA,GEN8-400", t.Ask("IDN?"));
        Assert.Equal("OK", t.Ask(""));
    }

    [Fact]
    public void Multi_drop_only_the_selected_unit_answers_and_keeps_its_own_settings()
    {
        var t = new GenesysTestLine("GEN10-330", 1, 2);
        Assert.Equal("OK", t.Ask("adr 1"));
        Assert.Equal("OK", t.Ask("pc 10"));
        Assert.Equal("OK", t.Ask("ADR 2"));
        Assert.Equal("OK", t.Ask("PC 20"));
        Assert.Equal("20.00", t.Ask("PC?"));
        Assert.Equal(10, t[1].Pc);
        Assert.Equal(20, t[2].Pc);
        Assert.Null(t.Ask("ADR 9"));
        Assert.Null(t.Ask("PC?"));
        Assert.Null(t.Wire.SelectedAddress);
    }

    [Fact]
    public void Every_command_is_answered_unknown_missing_and_illegal_ones_with_their_codes()
    {
        var t = new GenesysTestLine();
        t.Ask("ADR 6");
        Assert.Equal("C01", t.Ask("XYZ"));
        Assert.Equal("C02", t.Ask("PC"));
        Assert.Equal("C03", t.Ask("PC abc"));
        Assert.Equal("C03", t.Ask("PC 1234567890123"));
        Assert.Equal("C03", t.Ask("PC 1,5"));
        Assert.Equal("C03", t.Ask("OUT 2"));
        Assert.Equal("C03", t.Ask("ADR 31"));
        Assert.Equal("C02", t.Ask("ADR"));
    }

    [Fact]
    public void PV_query_returns_the_string_as_sent_and_backslash_repeats_the_last_command()
    {
        var t = new GenesysTestLine();
        t.Ask("ADR 6");
        Assert.Equal("OK", t.Ask("PV 5.0"));
        Assert.Equal("5.0", t.Ask("PV?"));
        Assert.Equal("OK", t.Ask("PV 05.000"));
        Assert.Equal("05.000", t.Ask("PV?"));
        Assert.Equal(5, t[6].Pv);
        Assert.Equal("OK", t.Ask("PC 100"));
        Assert.Equal("100.00", t.Ask("PC?"));
        Assert.Equal("100.00", t.Ask("\\"));
    }

    [Fact]
    public void Range_checks_follow_the_model_ratings_and_the_PV_OVP_UVL_relations()
    {
        var t = new GenesysTestLine();
        t.Ask("ADR 6");
        Assert.Equal("E01", t.Ask("PV 9.5"));      // above 105 % of 8 V
        Assert.Equal("E01", t.Ask("PV 8.4"));      // above 95 % of OVP 8.8
        Assert.Equal("OK", t.Ask("PV 8.3"));
        Assert.Equal("C05", t.Ask("PC 421"));      // above 105 % of 400 A
        Assert.Equal("C05", t.Ask("PC -1"));
        Assert.Equal("OK", t.Ask("PC 420"));
        Assert.Equal("E04", t.Ask("OVP 8.5"));     // below PV + 5 %
        Assert.Equal("C05", t.Ask("OVP 9"));       // above 110 % of 8 V
        Assert.Equal("OK", t.Ask("PV 5"));
        Assert.Equal("OK", t.Ask("OVP 6"));
        Assert.Equal("E01", t.Ask("PV 5.8"));      // above 95 % of OVP
        Assert.Equal("E06", t.Ask("UVL 5"));       // above PV
        Assert.Equal("OK", t.Ask("UVL 2"));
        Assert.Equal("E02", t.Ask("PV 1"));        // below UVL
        Assert.Equal("OK", t.Ask("OVM"));
        Assert.Equal("8.80", t.Ask("OVP?"));
    }

    [Fact]
    public void Global_commands_act_on_every_unit_and_get_no_reply()
    {
        var t = new GenesysTestLine("GEN8-400", 3, 4);
        t.Ask("ADR 3");
        Assert.Null(t.Ask("GPV 6"));
        Assert.Null(t.Ask("GPC 50"));
        Assert.Null(t.Ask("GOUT 1"));
        Assert.All(t.Units, u => Assert.True(u.OutputOn));
        Assert.All(t.Units, u => Assert.Equal(50, u.Pc));
        Assert.All(t.Units, u => Assert.Equal("6", u.PvText));
        Assert.Null(t.Ask("GRST"));
        Assert.All(t.Units, u => Assert.False(u.OutputOn));
        Assert.All(t.Units, u => Assert.Equal(0, u.Pc));
        Assert.Equal(3, t.Wire.SelectedAddress);
    }

    [Fact]
    public void RST_gives_the_safe_state()
    {
        var t = new GenesysTestLine();
        t.Ask("ADR 6");
        t.Ask("PV 5");
        t.Ask("OVP 6");
        t.Ask("PC 100");
        t.Ask("FLD 1");
        t.Ask("AST 1");
        t.Ask("OUT 1");
        Assert.Equal("OK", t.Ask("RST"));
        Assert.Equal("OFF", t.Ask("OUT?"));
        Assert.Equal("0.00", t.Ask("PV?"));
        Assert.Equal("0.00", t.Ask("PC?"));
        Assert.Equal("8.80", t.Ask("OVP?"));
        Assert.Equal("0.00", t.Ask("UVL?"));
        Assert.Equal("OFF", t.Ask("FLD?"));
        Assert.Equal("OFF", t.Ask("AST?"));
        Assert.Equal("OFF", t.Ask("MODE?"));
    }

    [Fact]
    public void MODE_follows_the_load_CV_while_the_current_rises_then_CC()
    {
        var t = new GenesysTestLine();
        t.Ask("ADR 6");
        t.Ask("PV 8");
        t.Ask("PC 400");
        Assert.Equal("OFF", t.Ask("MODE?"));
        t.Ask("OUT 1");
        t.Advance(10);
        Assert.Equal("CV", t.Ask("MODE?"));
        Assert.Equal("8.000", t.Ask("MV?"));
        Assert.Equal("05", t.Ask("STAT?"));
        t.Advance(100);
        Assert.Equal("CC", t.Ask("MODE?"));
        Assert.Equal("4.000", t.Ask("MV?"));
        Assert.InRange(double.Parse(t.Ask("MC?")!, System.Globalization.CultureInfo.InvariantCulture), 399.97, 400.03);
        Assert.Equal("06", t.Ask("STAT?"));
        Assert.StartsWith("MV(4.000),PV(8),MC(", t.Ask("STT?"), StringComparison.Ordinal);
        Assert.EndsWith(",PC(400.00),SR(06),FR(00)", t.Ask("STT?"), StringComparison.Ordinal);
    }

    [Fact]
    public void OUT_1_during_a_fault_is_E07_and_allowed_again_once_it_is_gone()
    {
        var t = new GenesysTestLine();
        t.Ask("ADR 6");
        t.Ask("OUT 1");
        t[6].SetOverTemperature(true);
        Assert.Equal("OFF", t.Ask("OUT?"));
        Assert.Equal("04", t.Ask("FLT?"));
        Assert.Equal("08", t.Ask("STAT?"));
        Assert.Equal("E07", t.Ask("OUT 1"));
        Assert.Equal("OK", t.Ask("CLS"));
        Assert.Equal("04", t.Ask("FLT?"));
        t[6].SetOverTemperature(false);
        Assert.Equal("OK", t.Ask("OUT 1"));
        Assert.Equal("ON", t.Ask("OUT?"));
    }

    [Fact]
    public void Event_registers_latch_rising_edges_and_clear_on_read()
    {
        var t = new GenesysTestLine();
        t.Ask("ADR 6");
        Assert.Equal("00", t.Ask("FEVE?"));
        t[6].SetEnableOpen(true);
        t[6].SetEnableOpen(false);
        Assert.Equal("00", t.Ask("FLT?"));
        Assert.Equal("80", t.Ask("FEVE?"));
        Assert.Equal("00", t.Ask("FEVE?"));
        Assert.Equal("0C", t.Ask("SEVE?"));        // NFLT then FLT rose
        Assert.Equal("00", t.Ask("SEVE?"));
        t[6].SetAcFailure(true);
        Assert.Equal("OK", t.Ask("CLS"));
        Assert.Equal("00", t.Ask("FEVE?"));
        Assert.Equal("02", t.Ask("FLT?"));
    }

    [Fact]
    public void SRQ_goes_out_ahead_of_the_next_reply_once_per_zero_to_non_zero_transition_of_enabled_events()
    {
        var t = new GenesysTestLine("GEN8-400", 6, 7);
        t.Ask("ADR 6");
        Assert.Equal("OK", t.Ask("SENA 08"));
        Assert.Equal("08", t.Ask("SENA?"));
        t[6].SetOverTemperature(true);
        Assert.Equal("!06\rOFF", t.Ask("OUT?"));
        Assert.Equal("OFF", t.Ask("OUT?"));
        t[6].SetOverTemperature(false);
        t[6].SetOverTemperature(true);
        Assert.Equal("04", t.Ask("FLT?"));         // event still latched: no new transition, no SRQ
        Assert.Equal("0C", t.Ask("SEVE?"));
        Assert.Equal("OK", t.Ask("ADR 7"));
        t[6].SetOverTemperature(false);
        t[6].SetOverTemperature(true);
        Assert.Equal("!06\rLAMBDA,GEN8-400", t.Ask("IDN?")); // another unit's reply carries it too
        Assert.Equal("LAMBDA,GEN8-400", t.Ask("IDN?"));
    }

    [Fact]
    public void Local_mode_refuses_settings_and_shows_the_LCL_bit_lockout_keeps_the_panel_out()
    {
        var t = new GenesysTestLine();
        t.Ask("ADR 6");
        Assert.Equal("REM", t.Ask("RMT?"));
        t[6].SetFrontPanelLocal(true);
        Assert.Equal("LOC", t.Ask("RMT?"));
        Assert.Equal("84", t.Ask("STAT?"));
        Assert.Equal("C03", t.Ask("PC 10"));
        Assert.Equal("C03", t.Ask("OUT 1"));
        Assert.Equal("C03", t.Ask("RMT 1"));
        Assert.Equal("0.00", t.Ask("PC?"));
        t[6].SetFrontPanelLocal(false);
        Assert.Equal("OK", t.Ask("RMT 2"));
        Assert.Equal("LLO", t.Ask("RMT?"));
        t[6].SetFrontPanelLocal(true);
        Assert.Equal("OK", t.Ask("PC 10"));
        Assert.Equal("OK", t.Ask("RMT 0"));
        Assert.Equal("C03", t.Ask("PC 11"));
        Assert.Equal("OK", t.Ask("RMT REM"));
    }

    [Fact]
    public void Front_panel_OFF_shows_in_the_fault_register_and_OUT_1_clears_it()
    {
        var t = new GenesysTestLine();
        t.Ask("ADR 6");
        t.Ask("OUT 1");
        t[6].FrontPanelOutputOff();
        Assert.Equal("40", t.Ask("FLT?"));
        Assert.Equal("OK", t.Ask("OUT 1"));
        Assert.Equal("00", t.Ask("FLT?"));
    }

    [Fact]
    public void AC_failure_with_auto_restart_brings_the_output_back_without_it_it_stays_off()
    {
        var t = new GenesysTestLine("GEN8-400", 1, 2);
        t.Ask("ADR 1");
        t.Ask("AST 1");
        t.Ask("OUT 1");
        t.Ask("ADR 2");
        t.Ask("OUT 1");
        foreach (var u in t.Units)
        {
            u.SetAcFailure(true);
        }

        Assert.All(t.Units, u => Assert.False(u.OutputOn));
        Assert.Equal("E07", t.Ask("OUT 1"));
        foreach (var u in t.Units)
        {
            u.SetAcFailure(false);
        }

        Assert.True(t[1].OutputOn);
        Assert.False(t[2].OutputOn);
    }

    [Fact]
    public void Foldback_trips_on_entering_CC_and_OVP_trips_latch_until_OUT_0()
    {
        var t = new GenesysTestLine();
        t.Ask("ADR 6");
        t.Ask("PV 8");
        t.Ask("PC 10");
        t.Ask("FLD 1");
        Assert.Equal("24", t.Ask("STAT?"));
        t.Ask("OUT 1");
        t.Advance(60);
        Assert.Equal("OFF", t.Ask("OUT?"));
        Assert.Equal("08", t.Ask("FLT?"));
        Assert.Equal("E07", t.Ask("OUT 1"));
        Assert.Equal("OK", t.Ask("OUT 0"));
        Assert.Equal("OK", t.Ask("FLD 0"));
        Assert.Equal("OK", t.Ask("OUT 1"));
        t[6].TripOverVoltage();
        Assert.Equal("10", t.Ask("FLT?"));
        Assert.Equal("E07", t.Ask("OUT 1"));
        Assert.Equal("OK", t.Ask("OUT 0"));
        Assert.Equal("OK", t.Ask("OUT 1"));
    }

    [Fact]
    public void Checksums_are_checked_when_present_and_the_backdoor_breaks_them()
    {
        var t = new GenesysTestLine();
        t.Ask("ADR 6");
        var sum = "PC 10".Sum(c => c) & 0xFF;
        Assert.Equal("OK", t.Ask("PC 10$" + sum.ToString("X2", System.Globalization.CultureInfo.InvariantCulture)));
        Assert.Equal("C04", t.Ask("PC 11$00"));
        Assert.Equal(10, t[6].Pc);
        t.Wire.FailNextChecksums();
        Assert.Equal("C04", t.Ask("PC 12"));
        Assert.Equal("OK", t.Ask("PC 12"));
    }

    [Fact]
    public void Backspace_deletes_the_character_before_it()
    {
        var t = new GenesysTestLine();
        t.Ask("ADR 6");
        Assert.Equal("OK", t.Ask("PC 19\b5"));
        Assert.Equal(15, t[6].Pc);
    }

    [Fact]
    public void SAV_and_RCL_keep_the_settings()
    {
        var t = new GenesysTestLine();
        t.Ask("ADR 6");
        t.Ask("PV 5.5");
        t.Ask("PC 42");
        Assert.Equal("OK", t.Ask("SAV"));
        t.Ask("RST");
        Assert.Equal("OK", t.Ask("RCL"));
        Assert.Equal("5.5", t.Ask("PV?"));
        Assert.Equal("42.00", t.Ask("PC?"));
    }

    [Fact]
    public void A_line_with_a_duplicate_address_is_refused()
    {
        var model = GenesysFacts.ParseModel("GEN8-400");
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider();
        var e = Assert.Throws<ArgumentException>(() => new GenesysWire([new GenesysUnitModel(1, model, time), new GenesysUnitModel(1, model, time)]));
        Assert.Contains("address 1", e.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => new GenesysUnitModel(31, model, time));
    }
}
