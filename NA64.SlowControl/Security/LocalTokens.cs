using System.Globalization;
using System.Net;
using System.Security.Cryptography;

namespace NA64.SlowControl.Security;

/// <summary>
/// The local expert token: the service makes a fresh one on each start and writes it where only its own Unix user can
/// read it, so that whoever runs the service on this machine can use the CLI against it without a users file.
/// One file per listening address, replaced on each start, deleted on stop.
/// </summary>
/// <remarks>
/// Folder: <c>$XDG_RUNTIME_DIR/na64hw/</c> (a per-user tmpfs, gone at logout) or, without it, <c>$HOME/.config/na64hw/tokens/</c>;
/// created 0700, files created 0600 from the first byte (never created open and narrowed after). A loopback or
/// any-address host (<c>localhost</c>, <c>127.0.0.1</c>, <c>::1</c>, <c>0.0.0.0</c>, <c>::</c>, <c>*</c>, <c>+</c>) is one
/// name, <c>local</c>, so that a service listening on <c>0.0.0.0:5064</c> is found by a client that asks <c>localhost:5064</c>.
/// </remarks>
public static class LocalTokens
{
    /// <summary>Bytes of randomness of a token (written base64url, 43 characters).</summary>
    public const int TokenBytes = 32;

    /// <summary>The token folder for this Unix user (<paramref name="environment"/>: how to read a variable; default the process's).</summary>
    public static string Folder(Func<string, string?>? environment = null)
    {
        environment ??= Environment.GetEnvironmentVariable;
        if (environment("XDG_RUNTIME_DIR") is { Length: > 0 } runtime)
            return Path.Combine(runtime, "na64hw");
        string home = environment("HOME") is { Length: > 0 } h ? h : Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        return Path.Combine(home, ".config", "na64hw", "tokens");
    }

    /// <summary>File name of the token of a server address: <c>http-local-5064.token</c>, <c>https-daq01.cern.ch-443.token</c>.</summary>
    public static string FileName(Uri address)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (!address.IsAbsoluteUri)
            throw new ArgumentException($"server address '{address}' is not absolute (expected e.g. http://localhost:5064)", nameof(address));
        string host = address.Host.Trim('[', ']');
        bool local = host is "localhost" or "*" or "+"
            || (IPAddress.TryParse(host, out var ip) && (IPAddress.IsLoopback(ip) || ip.Equals(IPAddress.Any) || ip.Equals(IPAddress.IPv6Any)));
        string name = local ? "local" : host.ToLowerInvariant();
        // Only characters safe in a file name; a host name has no others, an IPv6 literal has ':'.
        name = string.Concat(name.Select(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-' ? c : '_'));
        return string.Create(CultureInfo.InvariantCulture, $"{address.Scheme}-{name}-{address.Port}.token");
    }

    /// <summary>
    /// Makes a fresh token for the service listening on <paramref name="listenAddress"/>, registers it in
    /// <paramref name="registry"/> as user <c>local</c> with role expert and writes it to its file (replacing an old one).
    /// Dispose the result on stop: the file is deleted and the token no longer accepted.
    /// </summary>
    public static IssuedToken Issue(Uri listenAddress, TokenRegistry registry, string? folder = null)
    {
        ArgumentNullException.ThrowIfNull(registry);
        folder ??= Folder();
        string path = Path.Combine(folder, FileName(listenAddress));
        string token = Base64UrlToken(RandomNumberGenerator.GetBytes(TokenBytes));
        PrepareFolder(folder);

        // Written under a temporary name and moved over the old file, so a client never reads half a token.
        string temporary = path + "." + Environment.ProcessId.ToString(CultureInfo.InvariantCulture) + ".tmp";
        var create = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
        // Windows has no mode bits: there the profile folder's ACL is what keeps others out.
        if (!OperatingSystem.IsWindows())
            create.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        if (File.Exists(temporary))
            File.Delete(temporary); // left by a killed service with this process id: ours to remove
        using (var stream = new FileStream(temporary, create))
        using (var writer = new StreamWriter(stream))
        {
            writer.Write(token);
        }

        File.Move(temporary, path, overwrite: true);
        var entry = new UserEntry(UsersFile.LocalUser, Role.Expert, UsersFile.HashToken(token));
        registry.Remove(UsersFile.LocalUser);
        registry.Add(entry);
        return new IssuedToken(token, path, registry);
    }

    /// <summary>The local token for <paramref name="server"/> if its file exists (the service runs here, as this user); else null.</summary>
    public static string? Find(Uri server, string? folder = null)
    {
        string path = Path.Combine(folder ?? Folder(), FileName(server));
        if (!File.Exists(path))
            return null;
        try
        {
            return File.ReadAllText(path).Trim() is { Length: > 0 } token ? token : null;
        }
        catch (FileNotFoundException)
        {
            // The service stopped between the check and the read: no service, no token.
            return null;
        }
    }

    private static void PrepareFolder(string folder)
    {
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(folder);
            return;
        }

        const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
        if (!Directory.Exists(folder))
            Directory.CreateDirectory(folder, OwnerOnly);
        // An existing folder (made by hand or by an older version) is narrowed: others must not list or replace tokens.
        if ((File.GetUnixFileMode(folder) & ~OwnerOnly) != 0)
            File.SetUnixFileMode(folder, OwnerOnly);
    }

    private static string Base64UrlToken(byte[] bytes) =>
        Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}

/// <summary>A local token in force. Dispose on stop: deletes the file (if it still holds this token) and unregisters it.</summary>
public sealed class IssuedToken : IDisposable
{
    private readonly TokenRegistry _registry;
    private bool _disposed;

    internal IssuedToken(string token, string path, TokenRegistry registry)
    {
        Token = token;
        Path = path;
        _registry = registry;
    }

    public string Token { get; }

    /// <summary>The file the token was written to.</summary>
    public string Path { get; }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _registry.Remove(UsersFile.LocalUser);
        // A second service started on the same address has replaced the file with its own token: leave that one.
        string? current;
        try
        {
            current = File.ReadAllText(Path).Trim();
        }
        catch (FileNotFoundException)
        {
            // Already removed (by hand, or a tmpfs cleared at logout): nothing left to delete.
            return;
        }

        if (current == Token)
            File.Delete(Path);
    }
}
