using NA64.SlowControl.Security;
using NA64.SlowControl.Setup;

namespace NA64.SlowControl.Tests.Security;

public class UsersFileTests
{
    // printf %s hello | sha256sum
    private const string HelloSha256 = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";

    [Fact]
    public void HashToken_is_the_sha256sum_of_the_token_bytes()
    {
        Assert.Equal(HelloSha256, UsersFile.HashToken("hello"));
    }

    [Fact]
    public void Good_file_loads_every_user_with_role_and_lower_case_hash()
    {
        var users = UsersFile.LoadFromText($"""
            users:
              - {"{"} name: alice, role: shifter, tokenSha256: {HelloSha256.ToUpperInvariant()} {"}"}
              - name: bob
                role: expert
                tokenSha256: {UsersFile.HashToken("bob-token")}
              - {"{"} name: carol.v, role: viewer, tokenSha256: {UsersFile.HashToken("c")} {"}"}
            """, "users.yaml");

        Assert.Equal(3, users.Count);
        Assert.Equal(new UserEntry("alice", Role.Shifter, HelloSha256, 2), users[0]);
        Assert.Equal(("bob", Role.Expert, 3), (users[1].Name, users[1].Role, users[1].Line));
        Assert.Equal(Role.Viewer, users[2].Role);
    }

    [Fact]
    public void Every_broken_entry_is_reported_at_once_with_line_field_value_and_rule()
    {
        var e = Assert.Throws<SetupException>(() => UsersFile.LoadFromText($"""
            users:
              - {"{"} name: alice, role: operator, tokenSha256: {HelloSha256} {"}"}
              - {"{"} name: alice, role: viewer, tokenSha256: {UsersFile.HashToken("x")} {"}"}
              - {"{"} name: local, role: expert, tokenSha256: {UsersFile.HashToken("y")} {"}"}
              - {"{"} name: dave, role: expert, tokenSha256: hello {"}"}
              - {"{"} name: eve, role: expert, tokenSha256: {HelloSha256} {"}"}
              - {"{"} name: frank, role: expert, token: secret {"}"}
            """, "users.yaml"));

        var lines = e.Errors.Select(x => x.ToString()).ToList();
        Assert.Contains("users.yaml:2:26: users[0].role = 'operator': must be one of viewer, shifter, expert", lines);
        Assert.Contains("users.yaml:3:13: users[1].name = 'alice': user name already used at line 2", lines);
        Assert.Contains("users.yaml:4:13: users[2].name = 'local': is reserved for the service's local expert token", lines);
        Assert.Contains(lines, l => l.StartsWith("users.yaml:5:46: users[3].tokenSha256 = 'hello': must be 64 hex digits", StringComparison.Ordinal));
        Assert.Contains(lines, l => l == "users.yaml:6:45: users[4].tokenSha256 = '2cf24dba5fb0...': same token as users[0]; every user needs their own token");
        Assert.Contains(lines, l => l.StartsWith("users.yaml:7:", StringComparison.Ordinal) && l.Contains("users[5].token: unknown field", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("users.yaml:7:", StringComparison.Ordinal) && l.Contains("users[5].tokenSha256: is required", StringComparison.Ordinal));
        Assert.Equal(7, e.Errors.Count);
    }

    [Theory]
    [InlineData("", "users.yaml:1:1: (document): file is empty")]
    [InlineData("users: [", "users.yaml:2:1: (syntax): While parsing a node, did not find expected node content.")]
    [InlineData("- a", "users.yaml:1:1: (top level): must be a mapping")]
    [InlineData("people: []\nusers: []", "users.yaml:1:1: people: unknown field; allowed here: users")]
    public void Broken_structure_gives_one_line(string yaml, string start)
    {
        var e = Assert.Throws<SetupException>(() => UsersFile.LoadFromText(yaml, "users.yaml"));
        Assert.True(e.Errors[0].ToString().StartsWith(start, StringComparison.Ordinal), e.Errors[0].ToString());
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void A_missing_users_file_is_one_line_naming_it()
    {
        string path = Path.Combine(Path.GetTempPath(), $"na64-no-users-{Guid.NewGuid():N}.yaml");
        var e = Assert.Throws<SetupException>(() => UsersFile.Load(path));
        Assert.Equal($"Setup '{path}' is invalid: {path}: (file): does not exist", e.Message);
    }
}
