using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using NA64.SlowControl.Security;
using Serilog;

namespace NA64.SlowControl.Service;

/// <summary>
/// Roles, tokens and the audit log of the API, in one place: every write needs a bearer token (users file of the
/// setup, or the local expert token the service writes for clients on this machine); every command, accepted or
/// refused, is appended to <c>audit.log</c> beside the run data.
/// </summary>
internal static class ApiSecurity
{
    public const string AuditFileName = "audit.log";

    public static void Add(IServiceCollection services, ServiceContext context, ILogger log)
    {
        services.AddNa64Security(SecurityOptions.ForSetup(context.Setup));
        // The audit log records real time, also when the devices run on a faster simulated clock.
        services.AddSingleton(_ => new AuditLog(Path.Combine(context.DataDirectory, AuditFileName), TimeProvider.System, log));
        services.AddSingleton<LocalTokenIssuer>();
        services.AddHostedService(sp => sp.GetRequiredService<LocalTokenIssuer>());
    }

    public static void Use(WebApplication app)
    {
        // Audit first, so that a command refused with 401 or 403 is recorded too.
        app.UseNa64Audit(app.Services.GetRequiredService<AuditLog>());
        app.UseNa64Security();
    }

    /// <summary>The local expert token of a started service (the demo drives its own service with it).</summary>
    public static string? LocalToken(WebApplication app) => app.Services.GetRequiredService<LocalTokenIssuer>().Token;

    /// <summary>
    /// Once the server listens (its address known, port 0 resolved), writes the local expert token for that address to
    /// a file only this user can read; deletes it on stop.
    /// </summary>
    internal sealed class LocalTokenIssuer(IHostApplicationLifetime lifetime, TokenRegistry registry, Microsoft.AspNetCore.Hosting.Server.IServer server, ILogger log)
        : IHostedService, IDisposable
    {
        private IssuedToken? _issued;

        public string? Token => _issued?.Token;

        public Task StartAsync(CancellationToken cancellationToken)
        {
            lifetime.ApplicationStarted.Register(() =>
            {
                var addresses = server.Features.Get<Microsoft.AspNetCore.Hosting.Server.Features.IServerAddressesFeature>()?.Addresses;
                if (addresses is null || addresses.Count == 0)
                    return;
                try
                {
                    _issued = LocalTokens.Issue(new Uri(addresses.First()), registry);
                    log.Information("Local expert token for {Address} written to {Path}", addresses.First(), _issued.Path);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    // Writes then need --token or NA64HW_TOKEN; reads work as before.
                    log.Error(e, "Local expert token not written: {Reason}", e.Message);
                }
            });
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken)
        {
            Dispose();
            return Task.CompletedTask;
        }

        public void Dispose()
        {
            _issued?.Dispose();
            _issued = null;
        }
    }
}
