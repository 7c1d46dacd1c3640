using System.CommandLine;
using NA64.SlowControl.Cli;

namespace NA64.SlowControl.Tests.Readout;

/// <summary>The <c>na64hw readout</c> commands as the CLI wires them (built-in setup, output directory option).</summary>
public sealed class ReadoutCommandTests : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "na64-readout-cli", Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_directory))
            Directory.Delete(_directory, recursive: true);
    }

    private static RootCommand Root()
    {
        var root = new RootCommand("test");
        root.Options.Add(CommonOptions.Setup);
        root.Options.Add(CommonOptions.Speed);
        root.Subcommands.Add(ReadoutCommands.Build(Serilog.Core.Logger.None));
        return root;
    }

    [Fact]
    public async Task Pedestal_run_then_physics_run_write_the_tables_the_DATE_file_and_its_companions()
    {
        Assert.Equal(0, await Root().Parse(["readout", "pedestal-run", "--events", "50", "--out", _directory]).InvokeAsync());
        Assert.True(File.Exists(Path.Combine(_directory, "pedestals", "MSADC-ECAL-A.pedestals.txt")));
        Assert.True(File.Exists(Path.Combine(_directory, "pedestals", "MSADC-ECAL-B.pedestals.txt")));

        Assert.Equal(0, await Root().Parse(["readout", "run", "--events", "100", "--out", _directory]).InvokeAsync());
        Assert.Equal(0, await Root().Parse(["readout", "run", "--events", "10", "--out", _directory]).InvokeAsync());
        // Three runs from the registry: the pedestal run 1001, then 1002 and 1003, each in its own directory.
        Assert.True(File.Exists(Path.Combine(_directory, "runs", "1001", "cdr01001-001001.dat")));
        foreach (var run in new[] { "001002", "001003" })
        {
            string dir = Path.Combine(_directory, "runs", run.TrimStart('0'));
            Assert.True(File.Exists(Path.Combine(dir, $"cdr01001-{run}.dat")));
            Assert.True(File.Exists(Path.Combine(dir, $"cdr01001-{run}.map.xml")));
            Assert.True(File.Exists(Path.Combine(dir, "setup.yaml")));
            Assert.True(File.Exists(Path.Combine(dir, "summary.txt")));
            Assert.True(File.Exists(Path.Combine(dir, "summary.json")));
        }
    }

    [Theory]
    [InlineData("readout", "run", "--out")]
    [InlineData("readout", "run", "--events", "5", "--spills", "1", "--out")]
    [InlineData("readout", "run", "--events", "5", "--latency", "321", "--out")]
    public async Task Physics_run_needs_exactly_one_of_events_or_spills_and_a_latency_the_module_takes(params string[] args)
    {
        Assert.Equal(2, await Root().Parse([.. args, _directory]).InvokeAsync());
        Assert.False(Directory.Exists(_directory) && Directory.EnumerateFiles(_directory, "*.dat", SearchOption.AllDirectories).Any());
    }
}
