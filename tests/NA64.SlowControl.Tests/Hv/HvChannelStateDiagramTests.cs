using Moq;
using NA64.Hardware.Hv;
using NA64.SlowControl.Hv;
using NA64.SlowControl.Setup;

namespace NA64.SlowControl.Tests.Hv;

/// <summary>docs/hv-channel-states.dot is generated from the machine; this keeps the committed file in step.</summary>
public class HvChannelStateDiagramTests
{
    private const string DocPath = "docs/hv-channel-states.dot";
    private const string UpdateVariable = "NA64_UPDATE_DOCS";

    [Fact]
    public void Committed_state_diagram_matches_the_machine()
    {
        var controller = new HvChannelController(new Mock<IHvChannel>().Object,
            new ChannelSetup("MM1.strips", 1, 565, 600, 1.3, 10, 1.2, 5, 10, 1), HvControllerSettings.Default);
        string generated = Normalise(controller.ToDotGraph());
        string path = Path.Combine(RepoRoot(), DocPath);

        if (Environment.GetEnvironmentVariable(UpdateVariable) == "1")
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllText(path, generated);
        }

        string committed = File.Exists(path) ? Normalise(File.ReadAllText(path)) : "";
        Assert.True(committed == generated,
            $"{DocPath} differs from HvChannelController.ToDotGraph(). If the machine change is intended, regenerate it with " +
            $"`{UpdateVariable}=1 dotnet test tests/NA64.SlowControl.Tests --filter {nameof(Committed_state_diagram_matches_the_machine)}` and commit the file.");
    }

    [Fact]
    public void Diagram_names_every_state_and_the_recovery_guards()
    {
        var controller = new HvChannelController(new Mock<IHvChannel>().Object,
            new ChannelSetup("X", 0, 100, 200, 1, 10, 1, 10, 10, 1), HvControllerSettings.Default);
        string dot = controller.ToDotGraph();
        foreach (var state in Enum.GetNames<HvChannelState>())
            Assert.Contains(state, dot, StringComparison.Ordinal);
        Assert.Contains("On for stableTime", dot, StringComparison.Ordinal);
        Assert.Contains("recoveries in the last hour", dot, StringComparison.Ordinal);
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
