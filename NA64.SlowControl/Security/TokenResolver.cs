namespace NA64.SlowControl.Security;

/// <summary>A token a client will send, and where it came from (for messages such as "token from NA64HW_TOKEN refused").</summary>
public sealed record ResolvedToken(string Token, string Source);

/// <summary>Which token a CLI command sends: <c>--token</c>, else <c>NA64HW_TOKEN</c>, else the local token file of that server.</summary>
public static class TokenResolver
{
    public const string EnvironmentVariable = "NA64HW_TOKEN";

    /// <returns>The token with its source, or null when there is none (reads still work; writes will get 401).</returns>
    public static ResolvedToken? Resolve(string? option, Uri server, Func<string, string?>? environment = null, string? folder = null)
    {
        ArgumentNullException.ThrowIfNull(server);
        environment ??= Environment.GetEnvironmentVariable;
        if (!string.IsNullOrWhiteSpace(option))
            return new ResolvedToken(option.Trim(), "--token");
        if (environment(EnvironmentVariable) is { } env && !string.IsNullOrWhiteSpace(env))
            return new ResolvedToken(env.Trim(), EnvironmentVariable);
        string path = Path.Combine(folder ?? LocalTokens.Folder(environment), LocalTokens.FileName(server));
        return LocalTokens.Find(server, folder ?? LocalTokens.Folder(environment)) is { } local ? new ResolvedToken(local, path) : null;
    }
}
