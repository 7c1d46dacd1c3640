using System.Net.ServerSentEvents;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Options;

namespace NA64.SlowControl.Service;

/// <summary><c>/api/status</c>, <c>/api/live</c> (server-sent events) and <c>/api/sim</c> (fault injection).</summary>
internal static class ServiceEndpoints
{
    public static void Map(RouteGroupBuilder api)
    {
        api.MapGet("/status", (HardwareOwner owner, ServiceContext context, LiveFeed feed) =>
            {
                var boards = owner.Hv.Pollers.Select(p => new BoardView(p.Board.Name, p.Cycles, p.FailedCycles, p.LastError?.Message)).ToList();
                var connected = owner.Hv.Pollers.Count(p => p.Channels.Any(c => c.State is not (Hv.HvChannelState.Disconnected or Hv.HvChannelState.Unknown)));
                return new ServiceStatusView(context.Setup.SourceName, context.AllSimulated,
                    context.Time is Simulators.Clock.SimulationClock s ? s.SpeedFactor : 1.0, context.DataDirectory,
                    owner.Hv.Channels.Count, owner.Hv.Pollers.Count, connected, boards, feed.Subscribers, feed.Dropped);
            })
            .WithTags("Service").WithName("GetStatus").WithSummary("What the service runs: setup, boards and their poll counters");

        api.MapGet("/health", () => TypedResults.Text("ok"))
            .WithTags("Service").WithName("Health").WithSummary("200 'ok' while the service runs (for monitors and scripts)");

        api.MapGet("/live", (LiveFeed feed, IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions> json, CancellationToken ct) =>
                TypedResults.ServerSentEvents(Stream(feed, json.Value.SerializerOptions, ct)))
            .WithTags("Service").WithName("Live")
            .WithSummary("Server-sent events: readback (every channel each poll cycle), state, alarm, run, lost");

        api.MapGet("/sim/faults", (FaultInjector injector) => injector.Faults())
            .WithTags("Simulators").WithName("ListFaults").WithSummary("Faults that can be injected into the simulated devices, with what each does");

        api.MapPost("/sim/inject", Results<Ok<string>, ProblemHttpResult> (InjectRequest request, FaultInjector injector) =>
            {
                try
                {
                    return TypedResults.Ok(injector.Inject(request.Target, request.Fault));
                }
                catch (KeyNotFoundException e)
                {
                    return TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Unknown target", detail: e.Message);
                }
                catch (ArgumentOutOfRangeException e)
                {
                    return Problems.For(e)!;
                }
                catch (FaultRefusedException e)
                {
                    return Problems.Conflict("Not a simulated device", e.Message);
                }
            })
            .RequireAuthorization(Security.Roles.Expert)
            .WithTags("Simulators").WithName("InjectFault").WithSummary("Inject a named fault into a simulated device (refused for real devices)");
    }

    private static async IAsyncEnumerable<SseItem<string>> Stream(LiveFeed feed, JsonSerializerOptions options,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
    {
        await foreach (var item in feed.SubscribeAsync(ct).ConfigureAwait(false))
            yield return new SseItem<string>(JsonSerializer.Serialize(item.Data, options), item.Kind);
    }
}
