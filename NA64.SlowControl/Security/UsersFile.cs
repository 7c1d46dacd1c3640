using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using NA64.SlowControl.Setup;
using YamlDotNet.RepresentationModel;

namespace NA64.SlowControl.Security;

/// <summary>One user of the API: a name, a role, and the SHA-256 of the user's token (lower-case hex).</summary>
/// <param name="Line">Line of the entry in the users file (0 for a user not from a file, such as <c>local</c>).</param>
public sealed record UserEntry(string Name, Role Role, string TokenSha256, int Line = 0);

/// <summary>
/// The users file named by the setup's <c>usersFile</c> key: who may send commands to the service, with which role.
/// Tokens are never stored in clear, only their SHA-256, so the file may be read by others without giving anyone a token.
/// </summary>
/// <remarks>
/// <code>
/// users:
///   - { name: alice, role: shifter, tokenSha256: 2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824 }
/// </code>
/// Errors are reported as the setup's are (<see cref="SetupException"/>: <c>file:line:col: field = 'value': rule</c>,
/// all at once). The name <c>local</c> is reserved for the service's own local expert token (<see cref="LocalTokens"/>).
/// </remarks>
public static partial class UsersFile
{
    /// <summary>The user name of the local expert token; no users file entry may take it.</summary>
    public const string LocalUser = "local";

    /// <summary>The entry value for a token: lower-case hex SHA-256 of its UTF-8 bytes (as <c>printf %s TOKEN | sha256sum</c>).</summary>
    public static string HashToken(string token)
    {
        ArgumentNullException.ThrowIfNull(token);
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(token)));
    }

    public static IReadOnlyList<UserEntry> Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        return LoadFromText(SetupLoader.ReadFile(path), path);
    }

    public static IReadOnlyList<UserEntry> LoadFromText(string yaml, string sourceName)
    {
        ArgumentNullException.ThrowIfNull(yaml);
        ArgumentNullException.ThrowIfNull(sourceName);
        var root = SetupLoader.ParseSingleDocument(yaml, sourceName, "a mapping with 'users'");
        var errors = new List<SetupError>();
        void Error(YamlNode at, string field, string? value, string rule) =>
            errors.Add(new SetupError(sourceName, (int)at.Start.Line, (int)at.Start.Column, field, value, rule));

        var users = new List<UserEntry>();
        if (root is not YamlMappingNode top)
        {
            Error(root, "(top level)", null, "must be a mapping with 'users' (a list of { name, role, tokenSha256 })");
            throw new SetupException(sourceName, errors);
        }

        YamlNode? list = null;
        foreach (var (k, v) in top.Children)
        {
            if (k is YamlScalarNode { Value: "users" })
                list = v;
            else
                Error(k, Scalar(k) ?? "?", null, "unknown field; allowed here: users");
        }

        if (list is null)
            Error(top, "users", null, "is required (a list of { name, role, tokenSha256 })");
        else if (list is not YamlSequenceNode seq)
            Error(list, "users", null, "must be a list ('- ' items)");
        else
        {
            var names = new Dictionary<string, int>(StringComparer.Ordinal);
            var hashes = new Dictionary<string, string>(StringComparer.Ordinal);
            for (int i = 0; i < seq.Children.Count; i++)
            {
                string path = $"users[{i}]";
                var node = seq.Children[i];
                if (node is not YamlMappingNode m)
                {
                    Error(node, path, Scalar(node), "must be a mapping { name, role, tokenSha256 }");
                    continue;
                }

                var fields = new Dictionary<string, YamlNode>(StringComparer.Ordinal);
                foreach (var (k, v) in m.Children)
                {
                    string key = Scalar(k) ?? "";
                    if (key is "name" or "role" or "tokenSha256")
                        fields[key] = v;
                    else
                        Error(k, $"{path}.{key}", null, "unknown field; allowed here: name, role, tokenSha256");
                }

                string? Field(string key)
                {
                    if (!fields.TryGetValue(key, out var v))
                    {
                        Error(m, $"{path}.{key}", null, "is required");
                        return null;
                    }

                    if (Scalar(v) is { Length: > 0 } s) return s;
                    Error(v, $"{path}.{key}", Scalar(v), "must be a text value");
                    return null;
                }

                string? name = Field("name");
                string? roleName = Field("role");
                string? hash = Field("tokenSha256");
                if (name is not null)
                {
                    if (!NamePattern().IsMatch(name))
                    {
                        Error(fields["name"], $"{path}.name", name, "may contain only letters, digits, '.', '_' and '-'");
                        name = null;
                    }
                    else if (name == LocalUser)
                    {
                        Error(fields["name"], $"{path}.name", name, "is reserved for the service's local expert token");
                        name = null;
                    }
                    else if (!names.TryAdd(name, (int)fields["name"].Start.Line))
                    {
                        Error(fields["name"], $"{path}.name", name,
                            string.Create(CultureInfo.InvariantCulture, $"user name already used at line {names[name]}"));
                        name = null;
                    }
                }

                Role? role = null;
                if (roleName is not null)
                {
                    role = Roles.Find(roleName);
                    if (role is null)
                        Error(fields["role"], $"{path}.role", roleName, $"must be one of {string.Join(", ", Roles.All)}");
                }

                if (hash is not null)
                {
                    if (!HashPattern().IsMatch(hash))
                    {
                        Error(fields["tokenSha256"], $"{path}.tokenSha256", Shorten(hash),
                            "must be 64 hex digits, the SHA-256 of the token (printf %s TOKEN | sha256sum)");
                        hash = null;
                    }
                    else
                    {
                        hash = hash.ToLowerInvariant();
                        // One token for two users would make the audit log name the wrong one.
                        if (!hashes.TryAdd(hash, path))
                        {
                            Error(fields["tokenSha256"], $"{path}.tokenSha256", Shorten(hash), $"same token as {hashes[hash]}; every user needs their own token");
                            hash = null;
                        }
                    }
                }

                if (name is not null && role is not null && hash is not null)
                    users.Add(new UserEntry(name, role.Value, hash, (int)m.Start.Line));
            }
        }

        if (errors.Count > 0)
            throw new SetupException(sourceName, errors);
        return users;
    }

    private static string? Scalar(YamlNode node) => node is YamlScalarNode s ? s.Value : null;

    // A hash is not a secret, but a wrong value is long: the first 12 characters identify it well enough in an error line.
    private static string Shorten(string s) => s.Length <= 16 ? s : s[..12] + "...";

    [GeneratedRegex(@"^[A-Za-z0-9_.\-]+$")]
    private static partial Regex NamePattern();

    [GeneratedRegex(@"^[0-9A-Fa-f]{64}$")]
    private static partial Regex HashPattern();
}
