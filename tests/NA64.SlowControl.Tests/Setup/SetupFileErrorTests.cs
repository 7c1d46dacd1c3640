using NA64.SlowControl.Setup;

namespace NA64.SlowControl.Tests.Setup;

/// <summary>A setup file that cannot even be read as YAML gives one line naming the file (and line:column where there is one).</summary>
public sealed class SetupFileErrorTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("na64-setup-").FullName;

    private const string Devices = """
        devices:
          - name: B
            kind: caen-n1470
            transport: sim
            address: 0
            channels:
              - { name: X, index: 0, nominalVolts: 100, maxVolts: 200, maxMicroamps: 10, maxRampVoltsPerSecond: 10 }
        """;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private static SetupError OnlyError(Action load)
    {
        var e = Assert.Throws<SetupException>(load);
        Assert.DoesNotContain('\n', e.Message);
        return Assert.Single(e.Errors);
    }

    [Fact]
    public void Yaml_syntax_error_is_one_line_with_line_and_column()
    {
        var error = OnlyError(() => SetupLoader.LoadFromText("devices:\n  - name: B\n    address: [0\n", "bad.yaml"));
        Assert.Equal("(syntax)", error.Field);
        Assert.True(error.Line >= 3, error.ToString());
        Assert.StartsWith("bad.yaml:", error.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("(Line:", error.Rule, StringComparison.Ordinal); // YamlDotNet's own position text is not repeated
    }

    [Fact]
    public void A_folder_given_as_setup_file_is_named_as_a_folder()
    {
        var error = OnlyError(() => SetupLoader.Load(_folder));
        Assert.Equal($"{_folder}: (file): is a folder, not a YAML file", error.ToString());
    }

    [Fact]
    public void A_missing_file_and_a_missing_folder_say_does_not_exist()
    {
        string missing = Path.Combine(_folder, "nope.yaml");
        Assert.Equal($"{missing}: (file): does not exist", OnlyError(() => SetupLoader.Load(missing)).ToString());
        string deeper = Path.Combine(_folder, "no-such-folder", "setup.yaml");
        Assert.Equal($"{deeper}: (file): does not exist (no folder '{Path.Combine(_folder, "no-such-folder")}')",
            OnlyError(() => SetupLoader.Load(deeper)).ToString());
    }

    [Theory]
    [InlineData("")]
    [InlineData("   \n\n")]
    [InlineData("# only a comment\n")]
    [InlineData("---\n")]
    public void An_empty_file_says_so(string text)
    {
        string path = Path.Combine(_folder, "empty.yaml");
        File.WriteAllText(path, text);
        var error = OnlyError(() => SetupLoader.Load(path));
        Assert.Equal($"{path}:1:1: (document): file is empty; expected a mapping with 'devices'", error.ToString());
    }

    [Fact]
    public void UsersFile_is_resolved_beside_the_setup_file()
    {
        File.WriteAllText(Path.Combine(_folder, "users.yaml"), "users: []\n");
        string setup = Path.Combine(_folder, "setup.yaml");
        File.WriteAllText(setup, "usersFile: users.yaml\n" + Devices);

        Assert.Equal(Path.Combine(_folder, "users.yaml"), SetupLoader.Load(setup).UsersFile);
        Assert.Null(SetupLoader.LoadDefault().UsersFile);
    }

    [Fact]
    public void Security_options_of_a_setup_accept_the_tokens_of_its_users_file()
    {
        File.WriteAllText(Path.Combine(_folder, "users.yaml"),
            $"users:\n  - {{ name: sam, role: shifter, tokenSha256: {NA64.SlowControl.Security.UsersFile.HashToken("s3cret")} }}\n");
        string setup = Path.Combine(_folder, "setup.yaml");
        File.WriteAllText(setup, "usersFile: users.yaml\n" + Devices);

        var options = NA64.SlowControl.Security.SecurityOptions.ForSetup(SetupLoader.Load(setup));

        Assert.Equal("sam", options.Tokens.Authenticate("s3cret")?.Name);
        Assert.Null(options.Tokens.Authenticate("S3cret"));
        Assert.Empty(NA64.SlowControl.Security.SecurityOptions.ForSetup(SetupLoader.LoadDefault()).Tokens.Users);
    }

    [Fact]
    public void A_usersFile_that_does_not_exist_is_refused_at_its_line()
    {
        string setup = Path.Combine(_folder, "setup.yaml");
        File.WriteAllText(setup, Devices + "\nusersFile: people.yaml\n");
        var error = OnlyError(() => SetupLoader.Load(setup));
        Assert.Equal(
            $"{setup}:8:12: usersFile = 'people.yaml': does not exist ({Path.Combine(_folder, "people.yaml")}; relative paths start at the setup file's folder)",
            error.ToString());
    }
}
