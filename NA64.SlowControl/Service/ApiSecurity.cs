using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace NA64.SlowControl.Service;

/// <summary>Roles, tokens and the audit log of the API.</summary>
internal static class ApiSecurity
{
    public static void Add(IServiceCollection services, ServiceContext context)
    {
        services.AddAuthorization(o =>
        {
            o.AddPolicy(ApiRoles.Viewer, p => p.RequireRole(ApiRoles.Viewer, ApiRoles.Shifter, ApiRoles.Expert));
            o.AddPolicy(ApiRoles.Shifter, p => p.RequireRole(ApiRoles.Shifter, ApiRoles.Expert));
            o.AddPolicy(ApiRoles.Expert, p => p.RequireRole(ApiRoles.Expert));
        });
        _ = context;
    }

    public static void Use(WebApplication app) => app.UseAuthorization();

    public static string? LocalToken(WebApplication app)
    {
        _ = app;
        return null;
    }
}
