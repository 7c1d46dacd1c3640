using System.Runtime.Versioning;
using NA64.SlowControl.Security;

namespace NA64.SlowControl.Tests.Security;

[SupportedOSPlatform("linux")]
public sealed class LocalTokensTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), $"na64-tokens-{Guid.NewGuid():N}");
    private string Folder => Path.Combine(_root, "na64hw");

    public void Dispose()
    {
        if (Directory.Exists(_root))
            Directory.Delete(_root, recursive: true);
    }

    [Fact]
    public void Issue_writes_a_fresh_token_readable_only_by_the_owner_and_registers_it_as_local_expert()
    {
        var registry = new TokenRegistry();
        using var issued = LocalTokens.Issue(new Uri("http://127.0.0.1:5064"), registry, Folder);

        Assert.Equal(Path.Combine(Folder, "http-local-5064.token"), issued.Path);
        Assert.Equal(43, issued.Token.Length); // 32 bytes, base64url without padding
        Assert.Matches("^[A-Za-z0-9_-]+$", issued.Token);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(issued.Path));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(Folder));
        Assert.Equal(issued.Token, File.ReadAllText(issued.Path));
        var user = registry.Authenticate(issued.Token);
        Assert.NotNull(user);
        Assert.Equal(("local", Role.Expert), (user.Name, user.Role));
    }

    [Fact]
    public void A_new_start_replaces_the_token_and_the_old_one_is_refused()
    {
        var registry = new TokenRegistry();
        var address = new Uri("http://localhost:5064");
        var first = LocalTokens.Issue(address, registry, Folder);
        using var second = LocalTokens.Issue(address, registry, Folder);

        Assert.NotEqual(first.Token, second.Token);
        Assert.Equal(second.Token, LocalTokens.Find(address, Folder));
        Assert.Null(registry.Authenticate(first.Token));
        Assert.NotNull(registry.Authenticate(second.Token));
        Assert.Single(Directory.GetFiles(Folder));
    }

    [Fact]
    public void Stop_deletes_the_file_and_unregisters_the_token()
    {
        var registry = new TokenRegistry([new UserEntry("alice", Role.Shifter, UsersFile.HashToken("a"))]);
        var address = new Uri("http://0.0.0.0:5064");
        var issued = LocalTokens.Issue(address, registry, Folder);
        issued.Dispose();

        Assert.False(File.Exists(issued.Path));
        Assert.Null(LocalTokens.Find(address, Folder));
        Assert.Null(registry.Authenticate(issued.Token));
        Assert.Equal("alice", registry.Authenticate("a")?.Name); // the users file's entries stay
    }

    [Fact]
    public void An_existing_folder_open_to_others_is_narrowed_to_the_owner()
    {
        Directory.CreateDirectory(Folder);
        File.SetUnixFileMode(Folder, (UnixFileMode)0b111_101_101);
        using var issued = LocalTokens.Issue(new Uri("http://localhost:5064"), new TokenRegistry(), Folder);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(Folder));
    }

    [Theory]
    [InlineData("http://localhost:5064", "http-local-5064.token")]
    [InlineData("http://127.0.0.1:5064", "http-local-5064.token")]
    [InlineData("http://[::1]:5064", "http-local-5064.token")]
    [InlineData("http://0.0.0.0:5064", "http-local-5064.token")]
    [InlineData("https://DAQ01.cern.ch", "https-daq01.cern.ch-443.token")]
    [InlineData("http://[fe80::1]:80", "http-fe80__1-80.token")]
    public void File_name_comes_from_scheme_host_and_port_with_every_local_name_alike(string address, string name)
    {
        Assert.Equal(name, LocalTokens.FileName(new Uri(address)));
    }

    [Fact]
    public void Folder_is_under_XDG_RUNTIME_DIR_else_under_HOME()
    {
        Assert.Equal("/run/user/1000/na64hw", LocalTokens.Folder(v => v == "XDG_RUNTIME_DIR" ? "/run/user/1000" : "/home/shift"));
        Assert.Equal("/home/shift/.config/na64hw/tokens", LocalTokens.Folder(v => v == "HOME" ? "/home/shift" : null));
    }

    [Fact]
    public void Resolver_takes_the_option_then_the_environment_then_the_local_file()
    {
        var server = new Uri("http://localhost:5064");
        using var issued = LocalTokens.Issue(server, new TokenRegistry(), Folder);
        string? Env(string name) => name == TokenResolver.EnvironmentVariable ? "from-env" : null;

        Assert.Equal(new ResolvedToken("from-option", "--token"), TokenResolver.Resolve("from-option", server, Env, Folder));
        Assert.Equal(new ResolvedToken("from-env", "NA64HW_TOKEN"), TokenResolver.Resolve(null, server, Env, Folder));
        Assert.Equal(new ResolvedToken(issued.Token, issued.Path), TokenResolver.Resolve(" ", server, _ => null, Folder));
        Assert.Null(TokenResolver.Resolve(null, new Uri("http://localhost:5065"), _ => null, Folder));
    }
}
