using NA64.Hardware.Digitizers.Apv.Format;
using NA64.Readout.Trackers;
using NA64.SlowControl.Setup;

namespace NA64.SlowControl.Tests.Setup;

/// <summary>APV sources and the <c>readout.trackers</c> section: references checked, maps validated, every refusal with its line.</summary>
public sealed class TrackerSetupTests
{
    // Line numbers in the Theory below count from the first line of this text.
    private const string Readout = """
        readout:
          sources:
            - sourceId: 610
              modules:
                - { name: MSADC-A, port: 0, firstChannel: 0 }
            - sourceId: 622
              kind: apv
              adcs:
                - { name: APV-ADC-0, adcId: 0 }
                - { name: APV-ADC-2, adcId: 2 }
          trackers:
            multiplexingMap: na64-improved
            sparseVariant: twoSlope
            detectors:
              - { name: MM1, kind: micromegas, adc: 0, chip: 0 }
              - { name: MM2, kind: micromegas, adc: 0, chip: 1, zsSigma: 2.5 }
              - { name: GM1, kind: gem, adc: 2, chip: 0 }
        magnets:
          - { name: M, kind: genesys, transport: sim, address: 1, model: GEN8-400, maxAmps: 10 }
        """;

    [Fact]
    public void An_apv_source_and_its_trackers_load_into_the_tracker_layout()
    {
        var readout = SetupLoader.LoadFromText(Readout, "t.yaml").Readout!;
        var apv = readout.Sources.Single(s => s.Kind == ReadoutSourceKind.Apv);
        Assert.Equal(622, apv.SourceId);
        Assert.Equal([0, 2], apv.Adcs.Select(a => a.AdcId));
        Assert.Empty(apv.Modules);
        var layout = readout.Trackers!.Layout;
        Assert.Equal("na64-improved", readout.Trackers.MapName);
        Assert.Equal(ApvSparseVariant.TwoSlope, layout.SparseVariant);
        Assert.Equal(["MM1", "MM2", "GM1"], layout.Detectors.Select(d => d.Name));
        Assert.Equal(622, layout.Detectors[0].SourceId);                      // the only apv source is the default
        Assert.Equal([2.0, 2.5, 3.0], layout.Detectors.Select(d => d.ThresholdSigmas));
        Assert.Equal(6, layout.Chips.Count());                                // 1 + 1 + 4
        Assert.Equal(16, layout.Map.Properties.MinSameChannelSeparation);
    }

    [Theory]
    [InlineData("kind: apv", "kind: gesica", 7, "readout.sources[1].kind = 'gesica'", "must be msadc")]
    [InlineData("{ name: APV-ADC-2, adcId: 2 }", "{ name: APV-ADC-2, adcId: 0 }", 10, "readout.sources[1].adcs[1].adcId = '0'", "adc id already used")]
    [InlineData("{ name: APV-ADC-2, adcId: 2 }", "{ name: MSADC-A, adcId: 2 }", 10, "readout.sources[1].adcs[1].name = 'MSADC-A'", "module name already used")]
    [InlineData("multiplexingMap: na64-improved", "multiplexingMap: nope.txt", 12, "readout.trackers.multiplexingMap = 'nope.txt'", "nor an absolute path")]
    [InlineData("sparseVariant: twoSlope", "sparseVariant: rich", 13, "readout.trackers.sparseVariant = 'rich'", "gemSi")]
    [InlineData("kind: micromegas, adc: 0, chip: 0", "kind: straw, adc: 0, chip: 0", 15, "readout.trackers.detectors[0].kind = 'straw'", "micromegas or gem")]
    [InlineData("{ name: MM2, kind: micromegas, adc: 0, chip: 1,", "{ name: MM2, kind: micromegas, adc: 1, chip: 1,", 16, "readout.trackers.detectors[1].adc = '1'", "no APV-ADC with this adcId")]
    [InlineData("{ name: MM2, kind: micromegas, adc: 0, chip: 1,", "{ name: MM2, kind: micromegas, adc: 0, chip: 0,", 16, "readout.trackers.detectors[1].chip = '0'", "already read by readout.trackers.detectors[0]")]
    [InlineData("kind: gem, adc: 2, chip: 0", "kind: gem, adc: 2, chip: 13", 17, "readout.trackers.detectors[2].chip = '13'", "past chip 15")]
    [InlineData("{ name: GM1, kind: gem, adc: 2, chip: 0 }", "{ name: GM1, kind: gem, adc: 2, chip: 0, source: 610 }", 17, "readout.trackers.detectors[2].source = '610'", "not a source of kind apv")]
    [InlineData("  trackers:", "  tracker:", 11, "readout.tracker", "unknown field")]
    public void Each_broken_tracker_rule_is_reported_with_line_field_value_and_rule(string find, string replace, int line, string field, string rule)
    {
        Assert.Contains(find, Readout, StringComparison.Ordinal);
        var yaml = Readout.Replace(find, replace, StringComparison.Ordinal);

        var e = Assert.Throws<SetupException>(() => SetupLoader.LoadFromText(yaml, "bad.yaml"));

        var error = e.Errors.FirstOrDefault(x => x.ToString().Contains(field, StringComparison.Ordinal));
        Assert.True(error is not null, $"no error naming {field} in:\n{e.Message}");
        Assert.Equal(line, error.Line);
        Assert.Contains(rule, error.Rule, StringComparison.Ordinal);
    }

    [Fact]
    public void A_multiplexing_map_file_that_does_not_validate_is_refused_naming_its_own_line()
    {
        var folder = Directory.CreateTempSubdirectory("na64-mux-");
        try
        {
            // The NA64 map in the setup format with one strip moved to another channel: that channel then drives 6 strips.
            var text = NA64.Hardware.Trackers.Micromegas.MultiplexingMap.Na64.ToSetupText().Split('\n').ToList();
            File.WriteAllText(Path.Combine(folder.FullName, "good.mux"), string.Join('\n', text));
            var good = SetupLoader.LoadFromText(Readout.Replace("multiplexingMap: na64-improved", "multiplexingMap: good.mux", StringComparison.Ordinal),
                "t.yaml", folder.FullName);
            Assert.True(good.Readout!.Trackers!.Layout.Map.SameWiring(NA64.Hardware.Trackers.Micromegas.MultiplexingMap.Na64));

            int strip = text.FindIndex(l => l.Trim() == "1 1");
            Assert.True(strip >= 0, "no line '1 1' (strip 1 on channel 1) in the setup text");
            text[strip] = "1 0";
            File.WriteAllText(Path.Combine(folder.FullName, "bad.mux"), string.Join('\n', text));
            var e = Assert.Throws<SetupException>(() => SetupLoader.LoadFromText(
                Readout.Replace("multiplexingMap: na64-improved", "multiplexingMap: bad.mux", StringComparison.Ordinal), "t.yaml", folder.FullName));
            Assert.Contains("readout.trackers.multiplexingMap = 'bad.mux': map refused:", e.Message, StringComparison.Ordinal);
            Assert.Contains("bad.mux:", e.Message, StringComparison.Ordinal);
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    [Fact]
    public void An_apv_source_without_trackers_is_refused()
    {
        int start = Readout.IndexOf("  trackers:", StringComparison.Ordinal);
        int end = Readout.IndexOf("magnets:", StringComparison.Ordinal);
        var yaml = Readout.Remove(start, end - start);
        var e = Assert.Throws<SetupException>(() => SetupLoader.LoadFromText(yaml, "t.yaml"));
        Assert.Contains("readout.trackers: is required when a source is of kind apv", e.Message, StringComparison.Ordinal);
    }
}
