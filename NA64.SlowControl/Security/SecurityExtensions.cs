using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using NA64.SlowControl.Setup;

namespace NA64.SlowControl.Security;

/// <summary>What <see cref="SecurityExtensions.AddNa64Security"/> needs: the tokens the service accepts.</summary>
public sealed class SecurityOptions
{
    /// <summary>Users file entries plus, once issued, the local expert token (<see cref="LocalTokens.Issue"/>).</summary>
    public TokenRegistry Tokens { get; init; } = new();

    /// <summary>Options with the users of the setup's <c>usersFile</c> (none when it names none: only the local token then).</summary>
    public static SecurityOptions ForSetup(SetupFile setup)
    {
        ArgumentNullException.ThrowIfNull(setup);
        return new SecurityOptions { Tokens = new TokenRegistry(setup.UsersFile is { } path ? UsersFile.Load(path) : []) };
    }
}

/// <summary>
/// The integration surface of roles, tokens and audit:
/// <code>
/// builder.Services.AddNa64Security(options);
/// app.UseNa64Audit(auditLog);     // first: so that 401 and 403 are recorded too
/// app.UseNa64Security();
/// app.MapPost("/api/hv/{channel}/on", ...).RequireAuthorization(Roles.Shifter);
/// </code>
/// Endpoints without <c>RequireAuthorization</c> need no token (reads).
/// </summary>
public static class SecurityExtensions
{
    private const string SecurityMarker = "NA64.SlowControl.Security.UseNa64Security";

    public static IServiceCollection AddNa64Security(this IServiceCollection services, SecurityOptions options)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(options);
        services.AddSingleton(options);
        services.AddSingleton(options.Tokens);
        services.AddAuthentication(BearerAuthenticationHandler.SchemeName)
            .AddScheme<AuthenticationSchemeOptions, BearerAuthenticationHandler>(BearerAuthenticationHandler.SchemeName, configureOptions: null);
        services.AddAuthorizationBuilder()
            .AddPolicy(Roles.Viewer, Policy(Role.Viewer))
            .AddPolicy(Roles.Shifter, Policy(Role.Shifter))
            .AddPolicy(Roles.Expert, Policy(Role.Expert));
        services.AddSingleton<IAuthorizationHandler, MinimumRoleHandler>();
        services.AddSingleton<Microsoft.AspNetCore.Authorization.IAuthorizationMiddlewareResultHandler, ProblemAuthorizationResultHandler>();
        return services;
    }

    private static Action<AuthorizationPolicyBuilder> Policy(Role role) => p => p
        .AddAuthenticationSchemes(BearerAuthenticationHandler.SchemeName)
        .RequireAuthenticatedUser()
        .AddRequirements(new MinimumRoleRequirement(role));

    public static IApplicationBuilder UseNa64Security(this IApplicationBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.Properties[SecurityMarker] = true;
        app.UseAuthentication();
        app.UseAuthorization();
        return app;
    }

    /// <summary>Records every command in <paramref name="log"/>. Must come before <see cref="UseNa64Security"/>.</summary>
    public static IApplicationBuilder UseNa64Audit(this IApplicationBuilder app, AuditLog log)
    {
        ArgumentNullException.ThrowIfNull(app);
        ArgumentNullException.ThrowIfNull(log);
        if (app.Properties.ContainsKey(SecurityMarker))
            throw new InvalidOperationException("UseNa64Audit must come before UseNa64Security, or refused commands (401, 403) would not be recorded");
        return app.UseMiddleware<AuditMiddleware>(log);
    }
}
