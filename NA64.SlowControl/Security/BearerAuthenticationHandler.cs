using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace NA64.SlowControl.Security;

/// <summary>
/// Scheme "Bearer": <c>Authorization: Bearer &lt;token&gt;</c> checked against the <see cref="TokenRegistry"/>. A known
/// token gives a principal with the user's name and role; no header gives no result (reads stay anonymous); a malformed
/// header or an unknown token fails. The challenge (401) and its reason go out as problem details.
/// </summary>
public sealed class BearerAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder, TokenRegistry tokens)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "Bearer";

    /// <summary>Realm named in <c>WWW-Authenticate</c>.</summary>
    public const string Realm = "na64hw";

    internal const string NoToken = "this command needs a token: send 'Authorization: Bearer <token>' (na64hw: --token, NA64HW_TOKEN, or the local token file)";
    internal const string Malformed = "the Authorization header is not 'Bearer <token>'";
    internal const string Unknown = "the token is not known to this service (wrong, revoked, or the local token of an earlier start)";

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        string? header = Request.Headers.Authorization;
        if (string.IsNullOrEmpty(header))
            return Task.FromResult(AuthenticateResult.NoResult());
        if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) || header.Length <= 7 || string.IsNullOrWhiteSpace(header[7..]))
            return Task.FromResult(AuthenticateResult.Fail(Malformed));
        var user = tokens.Authenticate(header[7..].Trim());
        if (user is null)
            return Task.FromResult(AuthenticateResult.Fail(Unknown));

        var identity = new ClaimsIdentity(
            [new Claim(ClaimTypes.Name, user.Name), new Claim(ClaimTypes.Role, Roles.Name(user.Role))], SchemeName, ClaimTypes.Name, ClaimTypes.Role);
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName)));
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        var result = await HandleAuthenticateOnceSafeAsync().ConfigureAwait(false);
        string? failure = result.Failure?.Message;
        Response.Headers.WWWAuthenticate = failure is null
            ? $"Bearer realm=\"{Realm}\""
            : $"Bearer realm=\"{Realm}\", error=\"invalid_token\"";
        await Problems.WriteAsync(Context, StatusCodes.Status401Unauthorized, "Unauthorized", failure ?? NoToken).ConfigureAwait(false);
    }
}
