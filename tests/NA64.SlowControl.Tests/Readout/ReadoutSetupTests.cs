using NA64.SlowControl.Readout;
using NA64.SlowControl.Setup;
using NA64.Simulators.Physics;

namespace NA64.SlowControl.Tests.Readout;

public class ReadoutSetupTests
{
    private const string Devices = """
        devices:
          - name: HV-A
            kind: caen-n1470
            transport: sim
            address: 0
            channels:
              - { name: ECAL.PMT.12, index: 0, nominalVolts: 1500, maxVolts: 2000, maxMicroamps: 1000, maxRampVoltsPerSecond: 50 }
        """;

    [Fact]
    public void Default_setup_describes_NA64_on_two_simulated_MSADC_modules_and_the_trackers_GeSiCA()
    {
        var readout = SetupLoader.LoadDefault().Readout!;
        Assert.Equal(32, readout.SamplesPerChannel);
        Assert.NotEqual(0u, readout.RunNumber);
        Assert.Equal(5, readout.ZeroSuppressionSigma);
        Assert.Equal(new SignalBoxSetup(50, 2), readout.SignalBox);
        Assert.Equal([610, 611, 622], readout.Sources.Select(s => s.SourceId));
        Assert.Equal([ReadoutSourceKind.Msadc, ReadoutSourceKind.Msadc, ReadoutSourceKind.Apv], readout.Sources.Select(s => s.Kind));
        // 8 micromegas on one APV each, 2 GEMs on four: 16 APVs on 4 APV-ADCs of the GeSiCA (source 622, na64-setup.md §8.1).
        Assert.Equal(16, readout.Trackers!.Layout.Chips.Count());
        Assert.Equal([0, 1, 2, 3], readout.Sources[2].Adcs.Select(a => a.AdcId));
        Assert.Equal("data", readout.OutputDirectory);
        Assert.Equal(40, readout.Latency);
        Assert.Equal(readout.Latency, readout.Beam.TimedInLatency); // the built-in installation is timed in

        // Every channel of the generator's layout (ECAL 2 × 6×6, HCAL, VETO, SRD, counters) is read by exactly one module.
        var layout = new DetectorLayout(new CalorimeterOptions());
        var map = new ReadoutChannelMap(readout, layout);
        var entries = map.MapEntries();
        Assert.Equal(layout.Count, entries.Count);
        Assert.Equal(layout.Count, entries.Select(e => (e.SourceId, e.Port, e.AdcId, e.ChanId)).Distinct().Count());
        Assert.Contains(entries, e => e.Detector == "ECAL1" && e.X == 3 && e.Y == 3);
        Assert.Contains(entries, e => e.Detector == "HCAL3");
        Assert.Contains(entries, e => e.Detector == "SRD" && e.X == 2);
        Assert.Contains(entries, e => e.Detector == "S1");
        Assert.All(entries, e => Assert.InRange(e.SourceId, 0, 895));
    }

    [Fact]
    public void Readout_section_with_every_field_loads()
    {
        var s = SetupLoader.LoadFromText(Devices + """

            readout:
              runNumber: 4242
              samplesPerChannel: 25
              latency: 120
              zsSigma: 4.5
              keepNeighbours: true
              pedestalEvents: 500
              outputDirectory: /tmp/na64
              signalBox: { ecalMaxGeV: 45, hcalMaxGeV: 1 }
              beam: { spillOnSeconds: 4.8, spillOffSeconds: 10, particlesPerSpill: 1000000, triggerRateHz: 5000, pileUp: false, signalFraction: 0.01, seed: 7, timedInLatency: 117 }
              sources:
                - sourceId: 620
                  modules:
                    - { name: M0, port: 2, firstChannel: 0 }
                    - { name: M1, port: 5, firstChannel: 64 }
            """, "r.yaml");
        var r = s.Readout!;
        Assert.Equal((4242u, 25, 4.5, true, 500, "/tmp/na64"), (r.RunNumber, r.SamplesPerChannel, r.ZeroSuppressionSigma, r.KeepNeighbours, r.PedestalEvents, r.OutputDirectory));
        Assert.Equal(new SignalBoxSetup(45, 1), r.SignalBox);
        Assert.Equal(120, r.Latency);
        Assert.Equal(new BeamSetup(4.8, 10, 1e6, 5000, false, 0.01, 7, 117), r.Beam);
        var source = Assert.Single(r.Sources);
        Assert.Equal(620, source.SourceId);
        Assert.Equal([("M0", 2, 0), ("M1", 5, 64)], source.Modules.Select(m => (m.Name, m.Port, m.FirstChannel)));
    }

    [Theory]
    [InlineData("runNumber: 0", "readout.runNumber = '0': must be in 1..4294967295 (DDD loads no maps for run 0)")]
    [InlineData("samplesPerChannel: 24", "readout.samplesPerChannel = '24': must be in 25..32 (MSADC samples per channel)")]
    [InlineData("zsSigma: 0", "readout.zsSigma = '0': must be in 0.5..100")]
    [InlineData("latency: 321", "readout.latency = '321': must be in 0..320 (MSADC window position in sample clocks)")]
    [InlineData("beam: { timedInLatency: -1 }", "readout.beam.timedInLatency = '-1': must be in 0..320 (MSADC sample clocks)")]
    [InlineData("keepNeighbours: yes", "readout.keepNeighbours = 'yes': must be true or false")]
    [InlineData("colour: red", "readout.colour: unknown field")]
    public void Bad_readout_value_names_file_line_field_value_and_rule(string line, string expected)
    {
        var text = Devices + "\nreadout:\n  " + line + "\n  sources:\n    - { sourceId: 610, modules: [ { name: M, port: 0, firstChannel: 0 } ] }\n";
        var e = Assert.Throws<SetupException>(() => SetupLoader.LoadFromText(text, "bad.yaml"));
        var error = Assert.Single(e.Errors);
        Assert.Equal("bad.yaml", error.SourceName);
        Assert.Equal(9, error.Line);
        Assert.StartsWith(expected, error.ToString()[(error.ToString().IndexOf(' ', StringComparison.Ordinal) + 1)..], StringComparison.Ordinal);
    }

    [Fact]
    public void Multiplexer_source_ids_duplicate_ports_and_overlapping_modules_are_refused_together()
    {
        var text = Devices + """

            readout:
              sources:
                - sourceId: 900
                  modules:
                    - { name: M0, port: 0, firstChannel: 0 }
                - sourceId: 610
                  modules:
                    - { name: M1, port: 1, firstChannel: 32 }
                    - { name: M2, port: 1, firstChannel: 200 }
            """;
        var e = Assert.Throws<SetupException>(() => SetupLoader.LoadFromText(text, "bad.yaml"));
        var messages = e.Errors.Select(x => x.ToString()).ToArray();
        Assert.Contains(messages, m => m.Contains("readout.sources[0].sourceId = '900': must be in 0..895", StringComparison.Ordinal));
        Assert.Contains(messages, m => m.Contains("readout.sources[1].modules[0].firstChannel = '32': channels 32..95 overlap", StringComparison.Ordinal));
        Assert.Contains(messages, m => m.Contains("readout.sources[1].modules[1].port = '1': port already used", StringComparison.Ordinal));
    }

    [Fact]
    public void Readout_commands_refuse_a_setup_without_readout_section()
    {
        var setup = SetupLoader.LoadFromText(Devices, "hv-only.yaml");
        var e = Assert.Throws<InvalidOperationException>(() => new ReadoutRun(setup, Devices, TimeProvider.System));
        Assert.Contains("no 'readout:' section", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Transport_keys_default_to_sim_and_load_udp_endpoints()
    {
        Assert.All(SetupLoader.LoadDefault().Readout!.Sources, source =>
        {
            Assert.Equal("sim", source.Data);
            Assert.All(source.Modules, m => Assert.Equal("sim", m.Control));
        });

        var s = SetupLoader.LoadFromText(Devices + """

            readout:
              sources:
                - sourceId: 620
                  data: udp:0.0.0.0:5620
                  modules:
                    - { name: M0, port: 2, firstChannel: 0, control: "udp:10.0.0.5:6000" }
                - sourceId: 621
                  data: sim
                  modules:
                    - { name: M1, port: 0, firstChannel: 64, control: sim }
            """, "t.yaml");
        var sources = s.Readout!.Sources;
        Assert.Equal(("udp:0.0.0.0:5620", "udp:10.0.0.5:6000"), (sources[0].Data, sources[0].Modules[0].Control));
        Assert.Equal(("sim", "sim"), (sources[1].Data, sources[1].Modules[0].Control));
    }

    [Theory]
    [InlineData("data: tcp:1.2.3.4:5", "", "readout.sources[0].data = 'tcp:1.2.3.4:5': must be 'sim' or 'udp:HOST:PORT'")]
    [InlineData("data: udp:host:70000", "", "readout.sources[0].data = 'udp:host:70000': must be 'udp:HOST:PORT' with PORT in 1..65535")]
    [InlineData("data: 'udp::5000'", "", "readout.sources[0].data = 'udp::5000': must be 'udp:HOST:PORT' (HOST missing)")]
    [InlineData("", ", control: udp:10.0.0.5:6000", "readout.sources[0].modules[0].control = 'udp:10.0.0.5:6000': must be 'sim' exactly when the source's data is 'sim'")]
    [InlineData("data: udp:127.0.0.1:5000", "", "readout.sources[0].modules[0].control = 'sim': must be 'sim' exactly when the source's data is 'sim'")]
    public void Bad_transport_endpoint_names_file_line_field_value_and_rule(string sourceLine, string moduleKey, string expected)
    {
        var text = Devices + "\nreadout:\n  sources:\n    - sourceId: 610\n      " + (sourceLine.Length > 0 ? sourceLine + "\n      " : "")
            + "modules: [ { name: M, port: 0, firstChannel: 0" + moduleKey + " } ]\n";
        var e = Assert.Throws<SetupException>(() => SetupLoader.LoadFromText(text, "bad.yaml"));
        var error = Assert.Single(e.Errors);
        Assert.Equal("bad.yaml", error.SourceName);
        Assert.InRange(error.Line, 11, 12);   // the data line, or the module line
        Assert.Contains(expected, error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Udp_endpoints_get_udp_channels_and_no_simulator()
    {
        using var probe = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Dgram, System.Net.Sockets.ProtocolType.Udp);
        probe.Bind(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 0));
        int port = ((System.Net.IPEndPoint)probe.LocalEndPoint!).Port;
        probe.Close();   // free again: the crate binds it for the data
        var setup = SetupLoader.LoadFromText(Devices + $$"""

            readout:
              sources:
                - sourceId: 620
                  data: udp:127.0.0.1:{{port}}
                  modules:
                    - { name: M0, port: 2, firstChannel: 0, control: "udp:127.0.0.1:9" }
            """, "udp.yaml");
        await using var run = new ReadoutRun(setup, "", TimeProvider.System, dataDirectory: Path.GetTempPath());
        Assert.Null(run.Crate.Simulator);
        Assert.Empty(run.Crate.Devices);
        var data = Assert.Single(run.Crate.DataSources);
        Assert.Equal(620, data.SourceId);
        var channel = Assert.IsType<NA64.Hardware.Digitizers.Msadc.UdpDatagramChannel>(data.Channel);
        Assert.Equal(port, channel.LocalEndPoint.Port);
        Assert.Equal("M0", Assert.Single(run.Crate.Drivers).Name);
        Assert.Throws<InvalidOperationException>(() => run.Crate.Source(620));
    }
}
