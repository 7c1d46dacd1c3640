using NA64.Hardware.Magnets;
using NA64.SlowControl.Magnets;

namespace NA64.SlowControl.Tests.Magnets;

/// <summary>docs/magnet-states.dot is generated from the machine; this keeps the committed file in step.</summary>
public class MagnetStateDiagramTests
{
    private const string DocPath = "docs/magnet-states.dot";
    private const string UpdateVariable = "NA64_UPDATE_DOCS";

    private static MagnetController NewController() =>
        new(new ScriptedMagnetSupply(TimeProvider.System, MagnetTestKit.Stepped), MagnetSettings.Default);

    [Fact]
    public void Committed_state_diagram_matches_the_machine()
    {
        string generated = Normalise(NewController().ToDotGraph());
        string path = Path.Combine(RepoRoot(), DocPath);

        if (Environment.GetEnvironmentVariable(UpdateVariable) == "1")
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllText(path, generated);
        }

        string committed = File.Exists(path) ? Normalise(File.ReadAllText(path)) : "";
        Assert.True(committed == generated,
            $"{DocPath} differs from MagnetController.ToDotGraph(). If the machine change is intended, regenerate it with " +
            $"`{UpdateVariable}=1 dotnet test tests/NA64.SlowControl.Tests --filter FullyQualifiedName~{nameof(MagnetStateDiagramTests)}` and commit the file.");
    }

    [Fact]
    public void Diagram_names_every_state_and_the_ramp_and_latch_guards()
    {
        string dot = NewController().ToDotGraph();
        foreach (var state in Enum.GetNames<MagnetState>())
            Assert.Contains(state, dot, StringComparison.Ordinal);
        Assert.Contains("dI/dt", dot, StringComparison.Ordinal);
        Assert.Contains("reset sent and the readbacks show the cause gone", dot, StringComparison.Ordinal);
        Assert.DoesNotContain("Function", dot, StringComparison.Ordinal);
    }

    private static string Normalise(string text) => text.Replace("\r\n", "\n", StringComparison.Ordinal).TrimEnd() + "\n";

    private static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "NA64.Hw.sln")))
                return dir.FullName;
        throw new DirectoryNotFoundException($"NA64.Hw.sln not found above {AppContext.BaseDirectory}");
    }
}
