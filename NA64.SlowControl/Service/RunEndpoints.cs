using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;

namespace NA64.SlowControl.Service;

/// <summary><c>/api/runs</c>: start, watch and stop readout runs.</summary>
internal static class RunEndpoints
{
    public static void Map(RouteGroupBuilder api)
    {
        var runs = api.MapGroup("/runs").WithTags("Runs");

        runs.MapGet("/", (RunManager manager) => manager.Finished().Concat(manager.Current is { } c ? [c] : []).ToList())
            .WithName("ListRuns").WithSummary("Runs of this service, oldest first, the one going last");

        runs.MapGet("/current", Results<Ok<RunView>, NoContent> (RunManager manager) =>
                manager.Current is { } c ? TypedResults.Ok(c) : TypedResults.NoContent())
            .WithName("GetCurrentRun").WithSummary("The run going on (204 when none)");

        runs.MapPost("/", Results<Accepted<RunView>, ProblemHttpResult> (RunStartRequest request, RunManager manager) =>
            {
                try
                {
                    return TypedResults.Accepted("/api/runs/current", manager.Start(request));
                }
                catch (RunRefusedException e)
                {
                    return Problems.Conflict("Run not started", e.Message);
                }
                catch (ArgumentOutOfRangeException e)
                {
                    return Problems.For(e)!;
                }
            })
            .RequireAuthorization(Security.Roles.Shifter)
            .WithName("StartRun").WithSummary("Start a physics or pedestal run (one at a time)");

        runs.MapPost("/current/stop", async Task<Results<Ok<RunView>, ProblemHttpResult>> (RunManager manager) =>
                await manager.StopAsync().ConfigureAwait(false) is { } v ? TypedResults.Ok(v)
                    : Problems.Conflict("No run", "no run is going"))
            .RequireAuthorization(Security.Roles.Shifter)
            .WithName("StopRun").WithSummary("Operator stop of the run going on: file closed properly, run marked stopped");
    }
}
