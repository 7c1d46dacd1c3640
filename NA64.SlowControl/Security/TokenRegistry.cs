using System.Collections.Immutable;
using System.Security.Cryptography;
using System.Text;

namespace NA64.SlowControl.Security;

/// <summary>
/// The tokens the service accepts: the users file's entries plus the local expert token issued at start.
/// Safe to use from concurrent requests; <see cref="Add"/> and <see cref="Remove"/> swap an immutable list.
/// </summary>
public sealed class TokenRegistry
{
    private ImmutableArray<(UserEntry User, byte[] Hash)> _entries = [];

    public TokenRegistry(IEnumerable<UserEntry>? users = null)
    {
        foreach (var user in users ?? [])
            Add(user);
    }

    public IReadOnlyList<UserEntry> Users => [.. _entries.Select(e => e.User)];

    public void Add(UserEntry user)
    {
        ArgumentNullException.ThrowIfNull(user);
        byte[] hash = Convert.FromHexString(user.TokenSha256);
        if (hash.Length != SHA256.HashSizeInBytes)
            throw new ArgumentException($"user '{user.Name}': tokenSha256 has {hash.Length} bytes; a SHA-256 has {SHA256.HashSizeInBytes}", nameof(user));
        ImmutableInterlocked.Update(ref _entries, list => list.Add((user, hash)));
    }

    /// <summary>Forgets every entry of that user name (the local token on stop).</summary>
    public void Remove(string name) =>
        ImmutableInterlocked.Update(ref _entries, list => list.RemoveAll(e => e.User.Name == name));

    /// <summary>
    /// The user holding <paramref name="token"/>, or null. Every entry is compared, each in constant time, so the
    /// time taken tells nothing about which entry, or how much of one, matched.
    /// </summary>
    public UserEntry? Authenticate(string token)
    {
        ArgumentNullException.ThrowIfNull(token);
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.UTF8.GetBytes(token), hash);
        UserEntry? found = null;
        foreach (var (user, expected) in _entries)
        {
            if (CryptographicOperations.FixedTimeEquals(hash, expected))
                found ??= user;
        }

        return found;
    }
}
