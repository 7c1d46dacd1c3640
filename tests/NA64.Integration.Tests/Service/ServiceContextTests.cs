using NA64.SlowControl.Cli;

namespace NA64.Integration.Tests.Service;

/// <summary>Where a service started from the command line keeps its data.</summary>
public sealed class ServiceContextTests
{
    [Fact]
    public void The_setup_files_dataDirectory_beside_the_file_is_the_services_data_directory_whatever_the_current_directory()
    {
        string folder = Directory.CreateTempSubdirectory("na64-ctx-").FullName;
        try
        {
            string setup = Path.Combine(folder, "h4.yaml");
            File.WriteAllText(setup, HvRig.SetupText("sim", 3) + "\ndataDirectory: shift-data\n");
            var parse = Na64hwCli.Build(Serilog.Core.Logger.None).Parse(["serve", "--setup", setup]);
            var context = CommonOptions.Context(parse);
            Assert.Equal(Path.Combine(folder, "shift-data"), context.DataDirectory);
            Assert.Equal(File.ReadAllText(setup), context.SetupText);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
