using NA64.SlowControl.Setup;

namespace NA64.SlowControl.Tests.Setup;

public class SetupLoaderTests
{
    private const string Good = """
        hvController:
          pollPeriodSeconds: 0.5
          onToleranceVolts: 2
          commandConfirmSeconds: 3
          recovery:
            stepBelowNominalVolts: 25
            stableSeconds: 60
            maxPerHour: 2
        devices:
          - name: HV-A
            kind: caen-n1470
            transport: serial:/dev/ttyUSB0?baud=9600&parity=none&flow=none
            address: 7
            channels:
              - name: MM1.strips
                index: 3
                nominalVolts: 565
                maxVolts: 600
                maxMicroamps: 1.3
                maxRampVoltsPerSecond: 10
                currentLimitMicroamps: 1.1
                rampUpVoltsPerSecond: 5
          - name: HV-B
            kind: caen-n1470
            transport: tcp:ndt1470.cern.ch:1470
            address: 7
            channels:
              - { name: ECAL.PMT.12, index: 0, nominalVolts: 1500, maxVolts: 2000, maxMicroamps: 1000, maxRampVoltsPerSecond: 50 }
        """;

    [Fact]
    public void Good_file_loads_every_field()
    {
        var s = SetupLoader.LoadFromText(Good, "good.yaml");

        Assert.Equal("good.yaml", s.SourceName);
        Assert.Equal(TimeSpan.FromSeconds(0.5), s.HvController.PollPeriod);
        Assert.Equal(2, s.HvController.OnToleranceVolts);
        Assert.Equal(TimeSpan.FromSeconds(3), s.HvController.CommandConfirmTimeout);
        Assert.Equal(new TripRecoverySettings(25, TimeSpan.FromSeconds(60), 2), s.HvController.Recovery);
        Assert.Equal(2, s.Devices.Count);
        var a = s.Devices[0];
        Assert.Equal(("HV-A", "caen-n1470", 7), (a.Name, a.Kind.Name, a.Address));
        Assert.Equal("serial:/dev/ttyUSB0?baud=9600&parity=none&flow=none", a.Transport);
        var c = Assert.Single(a.Channels);
        Assert.Equal(("MM1.strips", 3, 565.0, 600.0, 1.3, 10.0), (c.Name, c.Index, c.NominalVolts, c.MaxVolts, c.MaxMicroamps, c.MaxRampVoltsPerSecond));
        Assert.Equal((1.1, 5.0, 10.0), (c.CurrentLimitMicroamps, c.RampUpVoltsPerSecond, c.RampDownVoltsPerSecond)); // RDW defaults to the max
        var pmt = Assert.Single(s.Devices[1].Channels);
        Assert.Equal(1000, pmt.CurrentLimitMicroamps);
        var limits = a.ChannelLimits();
        Assert.Equal(4, limits.Count);
        Assert.Equal("MM1.strips", limits[3].Name);
        Assert.Equal(0, limits[0].MaxVolts); // an unnamed channel cannot be set
    }

    [Fact]
    public void Controller_section_is_optional()
    {
        var s = SetupLoader.LoadFromText("""
            devices:
              - name: B
                kind: caen-n1470
                transport: sim
                address: 0
                channels:
                  - { name: X, index: 0, nominalVolts: 100, maxVolts: 200, maxMicroamps: 10, maxRampVoltsPerSecond: 10 }
            """, "min.yaml");
        Assert.Equal(HvControllerSettings.Default, s.HvController);
        Assert.Equal(20, s.HvController.Recovery.StepBelowNominalVolts);
    }

    private const string Device = """
        devices:
          - name: B
            kind: caen-n1470
            transport: sim
            address: 0
            channels:
              - name: MM1.drift
                index: 0
                nominalVolts: 330
                maxVolts: 400
                maxMicroamps: 1.3
                maxRampVoltsPerSecond: 10
        """;

    /// <summary>Each broken rule: the text replaced in <see cref="Device"/>, the line, field and rule the error must name.</summary>
    [Theory]
    [InlineData("address: 0", "address: 32", 5, "devices[0].address = '32'", "must be in 0..31")]
    [InlineData("address: 0", "address: abc", 5, "devices[0].address = 'abc'", "whole number")]
    [InlineData("address: 0", "address: 0x1F", 5, "devices[0].address = '0x1F'", "base 10")]
    [InlineData("index: 0", "index: 4", 8, "devices[0].channels[0].index = '4'", "must be in 0..3")]
    [InlineData("nominalVolts: 330", "nominalVolts: 450", 9, "devices[0].channels[0].nominalVolts = '450'", "must not exceed maxVolts (400)")]
    [InlineData("nominalVolts: 330", "nominalVolts: 3,30", 9, "nominalVolts = '3,30'", "must be a number")]
    [InlineData("nominalVolts: 330", "nominalVolts: -330", 9, "nominalVolts = '-330'", "must be at least 0")]
    [InlineData("nominalVolts: 330", "nominalVolt: 330", 9, "devices[0].channels[0].nominalVolt", "unknown field")]
    [InlineData("        maxVolts: 400\n", "", 7, "devices[0].channels[0].maxVolts", "is required")]
    [InlineData("maxVolts: 400", "maxVolts: 9000", 10, "maxVolts = '9000'", "hardware maximum of a caen-n1470")]
    [InlineData("maxMicroamps: 1.3", "maxMicroamps: 0", 11, "maxMicroamps = '0'", "must be above 0")]
    [InlineData("maxMicroamps: 1.3", "maxMicroamps: 1.3\n        currentLimitMicroamps: 1.5", 12, "currentLimitMicroamps = '1.5'", "must not exceed maxMicroamps (1.3)")]
    [InlineData("transport: sim", "transport: usb:/dev/ttyACM0", 4, "devices[0].transport = 'usb:/dev/ttyACM0'", "must be 'serial:")]
    [InlineData("transport: sim", "transport: 'tcp:'", 4, "devices[0].transport", "'tcp:<host>:<port>'")]
    [InlineData("kind: caen-n1470", "kind: caen-sy4527", 3, "devices[0].kind = 'caen-sy4527'", "known kinds: caen-n1470")]
    [InlineData("name: B", "name: 'B 1'", 2, "devices[0].name = 'B 1'", "letters, digits")]
    [InlineData("name: MM1.drift", "name: [a, b]", 7, "channels[0].name = '(a list)'", "must be a text value")]
    [InlineData("kind: caen-n1470", "kind: {a: 1}", 3, "devices[0].kind = '(a mapping)'", "must be a text value")]
    [InlineData("devices:", "device:", 1, "device", "unknown field; allowed here: hvController, devices")]
    public void Each_broken_rule_is_reported_with_line_field_value_and_rule(string find, string replace, int line, string field, string rule)
    {
        Assert.Contains(find, Device, StringComparison.Ordinal);
        var yaml = Device.Replace(find, replace, StringComparison.Ordinal);

        var e = Assert.Throws<SetupException>(() => SetupLoader.LoadFromText(yaml, "bad.yaml"));

        var error = e.Errors.FirstOrDefault(x => x.ToString().Contains(field, StringComparison.Ordinal));
        Assert.True(error is not null, $"no error naming {field} in:\n{e.Message}");
        Assert.Equal(line, error.Line);
        Assert.Contains(rule, error.Rule, StringComparison.Ordinal);
        Assert.Contains($"bad.yaml:{line}:", e.Message, StringComparison.Ordinal);
        Assert.Contains(rule, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Duplicate_channel_names_across_devices_name_both_places()
    {
        var yaml = Device + """

              - name: C
                kind: caen-n1470
                transport: sim
                address: 1
                channels:
                  - { name: MM1.drift, index: 0, nominalVolts: 30, maxVolts: 40, maxMicroamps: 1, maxRampVoltsPerSecond: 1 }
            """;
        var e = Assert.Throws<SetupException>(() => SetupLoader.LoadFromText(yaml, "dup.yaml"));

        var error = Assert.Single(e.Errors);
        Assert.Equal(18, error.Line);
        Assert.Equal("devices[1].channels[0].name", error.Field);
        Assert.Equal("MM1.drift", error.Value);
        Assert.Contains("already used by devices[0].channels[0].name at line 7", error.Rule, StringComparison.Ordinal);
    }

    [Fact]
    public void Duplicate_channel_index_on_one_device_is_refused()
    {
        var yaml = Device + """

                  - { name: MM1.strips, index: 0, nominalVolts: 565, maxVolts: 600, maxMicroamps: 1.3, maxRampVoltsPerSecond: 10 }
            """;
        var e = Assert.Throws<SetupException>(() => SetupLoader.LoadFromText(yaml, "dup.yaml"));
        var error = Assert.Single(e.Errors);
        Assert.Equal((13, "devices[0].channels[1].index", "0"), (error.Line, error.Field, error.Value));
        Assert.Contains("already used by 'MM1.drift'", error.Rule, StringComparison.Ordinal);
    }

    [Fact]
    public void Two_devices_with_one_address_on_one_transport_are_refused_but_other_transports_are_fine()
    {
        string Second(string transport) => Device + $$"""

              - name: C
                kind: caen-n1470
                transport: {{transport}}
                address: 0
                channels:
                  - { name: X, index: 0, nominalVolts: 30, maxVolts: 40, maxMicroamps: 1, maxRampVoltsPerSecond: 1 }
            """;
        var e = Assert.Throws<SetupException>(() => SetupLoader.LoadFromText(Second("sim"), "bus.yaml"));
        var error = Assert.Single(e.Errors);
        Assert.Equal((16, "devices[1].address"), (error.Line, error.Field));
        Assert.Contains("already used on transport 'sim' by device 'B'", error.Rule, StringComparison.Ordinal);

        Assert.Equal(2, SetupLoader.LoadFromText(Second("sim:chain2"), "bus.yaml").Devices.Count);
    }

    [Fact]
    public void Duplicate_device_names_are_refused()
    {
        var yaml = Device + """

              - name: B
                kind: caen-n1470
                transport: sim
                address: 1
                channels:
                  - { name: X, index: 0, nominalVolts: 30, maxVolts: 40, maxMicroamps: 1, maxRampVoltsPerSecond: 1 }
            """;
        var e = Assert.Throws<SetupException>(() => SetupLoader.LoadFromText(yaml, "d.yaml"));
        Assert.Equal((13, "devices[1].name"), (Assert.Single(e.Errors).Line, e.Errors[0].Field));
    }

    [Fact]
    public void All_problems_are_reported_together()
    {
        var yaml = Device.Replace("address: 0", "address: 40", StringComparison.Ordinal)
            .Replace("index: 0", "index: 9", StringComparison.Ordinal)
            .Replace("maxVolts: 400", "maxVolts: 300", StringComparison.Ordinal);
        var e = Assert.Throws<SetupException>(() => SetupLoader.LoadFromText(yaml, "many.yaml"));
        Assert.Equal(["devices[0].address", "devices[0].channels[0].index", "devices[0].channels[0].nominalVolts"],
            e.Errors.Select(x => x.Field).Order(StringComparer.Ordinal));
        Assert.Contains("3 problems", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Recovery_step_must_leave_a_positive_voltage()
    {
        var yaml = "hvController:\n  recovery:\n    stepBelowNominalVolts: 400\n" + Device;
        var e = Assert.Throws<SetupException>(() => SetupLoader.LoadFromText(yaml, "r.yaml"));
        var error = Assert.Single(e.Errors);
        Assert.Equal((12, "devices[0].channels[0].nominalVolts"), (error.Line, error.Field));
        Assert.Contains("stepBelowNominalVolts (400)", error.Rule, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("hvController:\n  pollPeriodSeconds: 0\n", 2, "hvController.pollPeriodSeconds = '0'", "must be in 0.01..3600")]
    [InlineData("hvController:\n  recovery:\n    maxPerHour: 2.5\n", 3, "hvController.recovery.maxPerHour = '2.5'", "whole number")]
    [InlineData("hvController:\n  recovery:\n    stableSecs: 10\n", 3, "hvController.recovery.stableSecs", "unknown field")]
    [InlineData("hvController: fast\n", 1, "hvController = 'fast'", "must be a mapping")]
    public void Controller_settings_are_validated(string prefix, int line, string field, string rule)
    {
        var e = Assert.Throws<SetupException>(() => SetupLoader.LoadFromText(prefix + Device, "c.yaml"));
        var error = Assert.Single(e.Errors);
        Assert.Equal(line, error.Line);
        Assert.Contains(field, error.ToString(), StringComparison.Ordinal);
        Assert.Contains(rule, error.Rule, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("", 1, "file is empty")]
    [InlineData("devices: [\n  - a\n", 2, "(syntax)")]
    [InlineData("- just\n- a list\n", 1, "must be a mapping")]
    [InlineData("hvController: {}\nhvController: {}\n", 2, "Duplicate key")]
    [InlineData("devices: []\n", 1, "at least one device")]
    [InlineData("hvController: {}\n", 1, "devices: is required")]
    [InlineData("devices:\n  - name: B\n    kind: caen-n1470\n    transport: sim\n    address: 0\n    channels: 3\n", 6, "devices[0].channels = '3': must be a list")]
    public void Structural_errors_are_reported(string yaml, int line, string text)
    {
        var e = Assert.Throws<SetupException>(() => SetupLoader.LoadFromText(yaml, "s.yaml"));
        Assert.Equal(line, e.Errors[0].Line);
        Assert.Contains(text, e.Message, StringComparison.Ordinal);
        Assert.Contains("s.yaml:", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_names_the_file_path()
    {
        string dir = Path.Combine(Path.GetTempPath(), "na64-setup-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            string path = Path.Combine(dir, "setup.yaml");
            File.WriteAllText(path, Device.Replace("address: 0", "address: -1", StringComparison.Ordinal));
            var e = Assert.Throws<SetupException>(() => SetupLoader.Load(path));
            Assert.Contains(path + ":5:", e.Message, StringComparison.Ordinal);

            File.WriteAllText(path, Device);
            Assert.Equal(path, SetupLoader.Load(path).SourceName);

            var missing = Assert.Throws<SetupException>(() => SetupLoader.Load(Path.Combine(dir, "nope.yaml")));
            Assert.Contains("nope.yaml: (file): does not exist", missing.Message, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Default_setup_is_NA64_2018_on_simulated_boards()
    {
        var s = SetupLoader.LoadDefault();

        Assert.Equal(SetupLoader.DefaultSourceName, s.SourceName);
        Assert.All(s.Devices, d => Assert.Equal("sim", d.Transport));
        Assert.All(s.Devices, d => Assert.Same(DeviceKind.CaenN1470, d.Kind));
        Assert.Equal(s.Devices.Count, s.Devices.Select(d => d.Address).Distinct().Count());
        var ch = s.AllChannels.ToDictionary(x => x.Channel.Name, x => x.Channel);
        Assert.Equal([565.0, 570, 560, 563, 555, 565], Enumerable.Range(1, 6).Select(i => ch[$"MM{i}.strips"].NominalVolts));
        Assert.All(Enumerable.Range(1, 6), i =>
        {
            var drift = ch[$"MM{i}.drift"];
            Assert.InRange(drift.NominalVolts, 300, 360);
            Assert.InRange(drift.CurrentLimitMicroamps, 1.0, 1.3);
            Assert.InRange(ch[$"MM{i}.strips"].CurrentLimitMicroamps, 1.0, 1.3);
        });
        Assert.InRange(ch["SRD.1"].NominalVolts, 1000, 1023);
        Assert.Contains("ECAL.PMT.12", ch.Keys);
        Assert.Equal(TimeSpan.FromSeconds(1), s.HvController.PollPeriod);
        Assert.Equal(20, s.HvController.Recovery.StepBelowNominalVolts);
        Assert.Equal(SetupLoader.LoadFromText(SetupLoader.DefaultText(), "again").Devices.Count, s.Devices.Count);
    }
}
