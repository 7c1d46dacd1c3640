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

        runs.MapGet("/", (RunManager manager, CancellationToken ct) => manager.ListAsync(ct))
            .WithName("ListRuns").WithSummary("Every run of the data directory's registry, oldest first (the one going with live counters)");

        runs.MapGet("/last", Results<Ok<RunView>, NoContent> (RunManager manager) =>
                manager.Last is { } last ? TypedResults.Ok(last) : TypedResults.NoContent())
            .WithName("GetLastRun").WithSummary("The run that ended last in this service, with its summary (204 when none)");

        runs.MapGet("/{number}", async Task<Results<Ok<RunView>, ProblemHttpResult>> (uint number, RunManager manager, CancellationToken ct) =>
                await manager.GetAsync(number, ct).ConfigureAwait(false) is { } run ? TypedResults.Ok(run)
                    : TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Unknown run", detail: $"run {number} is not in the registry"))
            .WithName("GetRun").WithSummary("One run with its summary (the text of its summary.txt)");

        runs.MapGet("/current", async Task<Results<Ok<RunView>, NoContent>> (RunManager manager, CancellationToken ct) =>
                await manager.CurrentAsync(ct).ConfigureAwait(false) is { } c ? TypedResults.Ok(c) : TypedResults.NoContent())
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
