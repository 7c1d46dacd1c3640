using NA64.SlowControl.Magnets;
using NA64.SlowControl.Setup;

namespace NA64.SlowControl.Tests.Setup;

/// <summary>The <c>magnets:</c> section: read kind-neutrally, each kind's own fields and ratings checked, every refusal with line, field and rule.</summary>
public sealed class MagnetSetupTests
{
    // Line numbers in the Theory below count from the first line of this text.
    private const string Magnets = """
        magnetController: { rampAmpsPerSecond: 4, maxRampAmpsPerSecond: 8 }
        magnets:
          - name: MBPL
            kind: beamline
            transport: sim:gw
            elements: [MBPL1, MBPL2]
            maxAmps: 900
            bendingAngleMrad: 21
            calibration: [[0, 0], [800, 7.0], [900, 7.875]]
            control: { stableSeconds: 15 }
          - name: BENCH-GEN
            kind: genesys
            transport: sim:rs485
            address: 6
            model: GEN8-400
            maxAmps: 400
            maxVolts: 8
          - name: BENCH-DFK
            kind: danfysik8500
            transport: sim:dfk
            fullScaleAmps: 1000
            ampsPerCurrentCount: 0.001
            voltsPerVoltageCount: 0.001
            slewAmpsPerSecond: 20
            maxAmps: 800
        """;

    [Fact]
    public void A_bench_of_magnets_alone_loads_with_defaults_overrides_and_kind_fields()
    {
        var s = SetupLoader.LoadFromText(Magnets, "m.yaml");
        Assert.Empty(s.Devices);
        Assert.Equal(["MBPL", "BENCH-GEN", "BENCH-DFK"], s.Magnets.Select(m => m.Name));
        var mbpl = s.Magnets[0];
        Assert.Equal("beamline", mbpl.Kind.Name);
        Assert.Equal(["MBPL1", "MBPL2"], mbpl.Elements);
        Assert.True(mbpl.Answers("MBPL2"));
        Assert.Equal(0.021, mbpl.BendingAngleRadians!.Value, 12);
        Assert.Equal(7.0, mbpl.Calibration!.FieldAt(800), 12);
        Assert.Equal(TimeSpan.FromSeconds(15), mbpl.Control.StableTime);     // the magnet's own
        Assert.Equal(4, mbpl.Control.RampAmpsPerSecond);                      // the section's default
        Assert.Equal("H4-MBPL", mbpl.Fields.Text("circuit"));                 // the kind's default
        Assert.Equal(6, s.Magnets[1].Address);
        Assert.Null(s.Magnets[2].Address);                                   // alone on its line
        Assert.Equal(MagnetSettings.Default.ZeroCrossingWait, s.Magnets[2].Control.ZeroCrossingWait);
    }

    [Theory]
    [InlineData("kind: genesys", "kind: lambda", 12, "magnets[1].kind = 'lambda'", "known kinds: genesys, danfysik8500, beamline")]
    [InlineData("maxAmps: 400", "maxAmps: 401", 16, "magnets[1].maxAmps = '401'", "must not exceed the GEN8-400 rating (400 A)")]
    [InlineData("maxVolts: 8", "maxVolts: 9", 17, "magnets[1].maxVolts = '9'", "rating (8 V)")]
    [InlineData("model: GEN8-400", "model: TDK8", 15, "magnets[1].model = 'TDK8'", "GEN<volts>-<amps>")]
    [InlineData("address: 6", "address: 31", 14, "magnets[1].address = '31'", "must be in 0..30")]
    [InlineData("    address: 6\n", "", 11, "magnets[1].address", "is required for a genesys")]
    [InlineData("maxAmps: 800", "maxAmps: 1001", 25, "magnets[2].maxAmps = '1001'", "must not exceed fullScaleAmps (1000 A)")]
    [InlineData("maxAmps: 900", "maxAmps: 9,00", 7, "magnets[0].maxAmps = '9,00'", "must be a number")]
    [InlineData("[800, 7.0], [900", "[800, 7.0], [700", 9, "magnets[0].calibration", "must be above point 1")]
    [InlineData("[800, 7.0], [900, 7.875]]", "[800, 7.0]]", 9, "magnets[0].calibration", "the table ends at 800 A, below maxAmps (900 A)")]
    [InlineData("[800, 7.0]", "[800, x]", 9, "magnets[0].calibration[1]", "pair [amps, tesla-metres]")]
    [InlineData("{ stableSeconds: 15 }", "{ rampAmpsPerSecond: 9 }", 10, "magnets[0].control.rampAmpsPerSecond = '9'", "must not exceed maxRampAmpsPerSecond (8)")]
    [InlineData("{ stableSeconds: 15 }", "{ safeAction: panic }", 10, "magnets[0].control.safeAction = 'panic'", "switchOff or rampDown")]
    [InlineData("bendingAngleMrad: 21", "bendingAngle: 21", 8, "magnets[0].bendingAngle", "unknown field")]
    [InlineData("elements: [MBPL1, MBPL2]", "elements: [MBPL1, BENCH-DFK]", 18, "magnets[2].name = 'BENCH-DFK'", "already used by magnets[0].elements at line 3")]
    [InlineData("transport: sim:dfk", "transport: sim:rs485", 20, "magnets[2].transport = 'sim:rs485'", "one port carries one kind")]
    [InlineData("maxAmps: 900", "maxAmps: 900\n    maxVolts: 10", 8, "magnets[0].maxVolts", "takes no voltage setting")]
    public void Each_broken_magnet_rule_is_reported_with_line_field_value_and_rule(string find, string replace, int line, string field, string rule)
    {
        Assert.Contains(find, Magnets, StringComparison.Ordinal);
        var yaml = Magnets.Replace(find, replace, StringComparison.Ordinal);

        var e = Assert.Throws<SetupException>(() => SetupLoader.LoadFromText(yaml, "bad.yaml"));

        var error = e.Errors.FirstOrDefault(x => x.ToString().Contains(field, StringComparison.Ordinal));
        Assert.True(error is not null, $"no error naming {field} in:\n{e.Message}");
        Assert.Equal(line, error.Line);
        Assert.Contains(rule, error.Rule, StringComparison.Ordinal);
    }

    [Fact]
    public void Two_Genesys_at_one_address_of_one_line_are_refused_naming_the_other()
    {
        var yaml = Magnets + """

              - { name: BENCH-GEN2, kind: genesys, transport: "sim:rs485", address: 6, model: GEN8-400, maxAmps: 100 }
            """;
        var e = Assert.Throws<SetupException>(() => SetupLoader.LoadFromText(yaml, "bus.yaml"));
        Assert.Contains("address already used on transport 'sim:rs485' by magnet 'BENCH-GEN'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_built_in_setup_has_the_MBPL_pair_and_a_bench_magnet_on_each_serial_kind()
    {
        var s = SetupLoader.LoadDefault();
        Assert.Equal(["beamline", "genesys", "danfysik8500"], s.Magnets.Select(m => m.Kind.Name));
        Assert.Equal(["MBPL1", "MBPL2"], s.Magnets[0].Elements);
        // 100 GeV at the setup's bending angle lies inside the calibration table (a --momentum 100GeV must work).
        double field = MagnetCalibration.FieldForMomentum(100, s.Magnets[0].BendingAngleRadians!.Value);
        Assert.InRange(s.Magnets[0].Calibration!.AmpsFor(field), 700, s.Magnets[0].MaxAmps);
    }
}
