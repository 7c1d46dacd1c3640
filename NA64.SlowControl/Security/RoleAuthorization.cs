using System.Security.Claims;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Policy;
using Microsoft.AspNetCore.Http;

namespace NA64.SlowControl.Security;

/// <summary>The user's role must include <see cref="Needed"/> (expert ⊇ shifter ⊇ viewer).</summary>
public sealed class MinimumRoleRequirement(Role needed) : IAuthorizationRequirement
{
    public Role Needed { get; } = needed;
}

internal sealed class MinimumRoleHandler : AuthorizationHandler<MinimumRoleRequirement>
{
    protected override Task HandleRequirementAsync(AuthorizationHandlerContext context, MinimumRoleRequirement requirement)
    {
        if (HeldRole(context.User) is { } held && Roles.Includes(held, requirement.Needed))
            context.Succeed(requirement);
        return Task.CompletedTask;
    }

    public static Role? HeldRole(ClaimsPrincipal user) =>
        user.Identity?.IsAuthenticated == true ? Roles.Find(user.FindFirstValue(ClaimTypes.Role)) : null;
}

/// <summary>
/// Turns a refusal of the authorization middleware into problem details: no or a bad token challenges (401, written by
/// <see cref="BearerAuthenticationHandler"/>); a role too low is 403 naming the role needed and the role held.
/// </summary>
internal sealed class ProblemAuthorizationResultHandler : IAuthorizationMiddlewareResultHandler
{
    private readonly AuthorizationMiddlewareResultHandler _default = new();

    public async Task HandleAsync(RequestDelegate next, HttpContext context, AuthorizationPolicy policy, PolicyAuthorizationResult authorizeResult)
    {
        if (authorizeResult.Forbidden)
        {
            var needed = authorizeResult.AuthorizationFailure?.FailedRequirements.OfType<MinimumRoleRequirement>()
                .Select(r => (Role?)r.Needed).Max();
            string user = context.User.Identity?.Name ?? "?";
            string held = MinimumRoleHandler.HeldRole(context.User) is { } r ? Roles.Name(r) : "none";
            string detail = needed is null
                ? $"user '{user}' (role {held}) may not do this"
                : $"this command needs role {Roles.Name(needed.Value)}; user '{user}' holds role {held}";
            await Problems.WriteAsync(context, StatusCodes.Status403Forbidden, "Forbidden", detail).ConfigureAwait(false);
            return;
        }

        await _default.HandleAsync(next, context, policy, authorizeResult).ConfigureAwait(false);
    }
}
