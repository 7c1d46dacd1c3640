using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Serilog;

namespace NA64.SlowControl.Service;

/// <summary>
/// <c>na64hw serve</c>: the one long-lived process that owns the hardware. A generic host (ASP.NET Core) with the
/// hardware owner and the run manager as services, the HTTP/JSON API under <c>/api</c>, its OpenAPI document at
/// <c>/openapi/v1.json</c> and the live stream at <c>/api/live</c>. Clients (CLI, scripts, a web panel) never open a device.
/// </summary>
public static class ServiceApp
{
    /// <summary>Loopback only unless the operator says otherwise: the API switches high voltage.</summary>
    public const string DefaultListen = "http://127.0.0.1:8064";

    public static WebApplication Build(ServiceContext context, string listen, ILogger log)
    {
        ArgumentNullException.ThrowIfNull(context);
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            ApplicationName = "na64hw",
            ContentRootPath = AppContext.BaseDirectory,
            EnvironmentName = Environments.Production,
        });
        builder.Host.UseSerilog(log, dispose: false);
        builder.WebHost.UseUrls(listen);
        // A service that is stopping waits for its runs to close their files (EOB, EOR) and its poll loops to end.
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(30));

        var services = builder.Services;
        services.AddSingleton(context);
        services.AddSingleton(context.Time);
        services.AddSingleton(log);
        services.AddSingleton<LiveFeed>();
        services.AddSingleton<HardwareOwner>();
        services.AddHostedService(sp => sp.GetRequiredService<HardwareOwner>());
        services.AddSingleton<RunManager>();
        services.AddSingleton<FaultInjector>();
        services.ConfigureHttpJsonOptions(o =>
        {
            o.SerializerOptions.Converters.Add(new JsonStringEnumConverter());
            o.SerializerOptions.NumberHandling = JsonNumberHandling.Strict;
        });
        // A body that does not bind (malformed JSON, NaN, a number out of range) reaches the exception handler, which
        // answers with a problem naming the field instead of a bare 400.
        services.Configure<Microsoft.AspNetCore.Routing.RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
        services.AddProblemDetails();
        services.AddExceptionHandler<Problems.Handler>();
        services.AddOpenApi(OpenApiSecurity.Add);
        ApiSecurity.Add(services, context, log);

        var app = builder.Build();
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        ApiSecurity.Use(app);
        app.MapOpenApi();
        var api = app.MapGroup("/api");
        HvEndpoints.Map(api);
        RunEndpoints.Map(api);
        MagnetEndpoints.Map(api);
        ServiceEndpoints.Map(api);
        return app;
    }

    /// <summary>The addresses Kestrel listens on once started (port 0 resolved).</summary>
    public static IReadOnlyList<Uri> Addresses(WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var feature = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>();
        return feature?.Addresses.Select(a => new Uri(a)).ToList() ?? [];
    }
}
