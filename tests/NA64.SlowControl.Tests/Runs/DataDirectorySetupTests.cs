using NA64.SlowControl.Setup;

namespace NA64.SlowControl.Tests.Runs;

/// <summary>The top-level <c>dataDirectory</c> key, its old name <c>readout.outputDirectory</c>, and the default.</summary>
public sealed class DataDirectorySetupTests : IDisposable
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

    private const string Readout = "\nreadout:\n  sources:\n    - { sourceId: 610, modules: [ { name: M, port: 0, firstChannel: 0 } ] }\n";

    private readonly string _folder = Path.Combine(Path.GetTempPath(), "na64-setup-data", Guid.NewGuid().ToString("N"));

    public DataDirectorySetupTests() => Directory.CreateDirectory(_folder);

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private string Write(string text)
    {
        string path = Path.Combine(_folder, "setup.yaml");
        File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public void A_relative_dataDirectory_is_resolved_against_the_setup_files_folder_not_the_current_directory()
    {
        var setup = SetupLoader.Load(Write("dataDirectory: ../na64-data\n" + Devices));

        Assert.Equal(Path.GetFullPath(Path.Combine(_folder, "..", "na64-data")), setup.DataDirectory);
        Assert.NotEqual(Path.GetFullPath("../na64-data"), setup.DataDirectory);
    }

    [Fact]
    public void An_absolute_dataDirectory_is_taken_as_it_is()
    {
        Assert.Equal("/srv/na64/data", SetupLoader.Load(Write("dataDirectory: /srv/na64/data\n" + Devices)).DataDirectory);
    }

    [Fact]
    public void The_old_readout_outputDirectory_still_loads_and_names_the_data_directory()
    {
        var setup = SetupLoader.Load(Write(Devices + Readout + "  outputDirectory: raw\n"));

        Assert.Equal("raw", setup.Readout!.OutputDirectory);
        Assert.Equal(Path.Combine(_folder, "raw"), setup.DataDirectory);
    }

    [Fact]
    public void Both_keys_at_once_are_refused_with_the_field_and_the_rule()
    {
        var e = Assert.Throws<SetupException>(() => SetupLoader.Load(Write("dataDirectory: d\n" + Devices + Readout + "  outputDirectory: raw\n")));

        var error = Assert.Single(e.Errors);
        Assert.Equal((1, "dataDirectory", "d"), (error.Line, error.Field, error.Value));
        Assert.Contains("not both", error.Rule, StringComparison.Ordinal);
    }

    [Fact]
    public void A_relative_dataDirectory_in_text_without_a_file_is_refused()
    {
        var e = Assert.Throws<SetupException>(() => SetupLoader.LoadFromText("dataDirectory: data\n" + Devices, "text"));

        Assert.Contains("relative path needs the setup file's folder", Assert.Single(e.Errors).Rule, StringComparison.Ordinal);
    }

    [Fact]
    public void Without_either_key_the_data_directory_is_NA64HW_DATA_else_the_users_share_folder()
    {
        Assert.Equal("/data/na64", SetupLoader.DefaultDataDirectory(v => v == "NA64HW_DATA" ? "/data/na64" : "/home/shift"));
        Assert.Equal("/home/shift/.local/share/na64hw", SetupLoader.DefaultDataDirectory(v => v == "HOME" ? "/home/shift" : null));
        Assert.Equal("/home/shift/.local/share/na64hw", SetupLoader.DefaultDataDirectory(v => v == "HOME" ? "/home/shift" : ""));
        Assert.Equal(SetupLoader.DefaultDataDirectory(), SetupLoader.LoadDefault().DataDirectory);
        Assert.Equal(SetupLoader.DefaultDataDirectory(), SetupLoader.Load(Write(Devices)).DataDirectory);
    }

    [Fact]
    public void An_empty_dataDirectory_is_refused()
    {
        var e = Assert.Throws<SetupException>(() => SetupLoader.Load(Write("dataDirectory: ''\n" + Devices)));

        Assert.Equal("dataDirectory", Assert.Single(e.Errors).Field);
    }
}
