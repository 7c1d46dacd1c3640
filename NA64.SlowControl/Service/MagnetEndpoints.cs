using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using NA64.Hardware.Magnets;
using NA64.SlowControl.Magnets;
using NA64.SlowControl.Setup;

namespace NA64.SlowControl.Service;

/// <summary>
/// <c>/api/magnets</c>: circuits, setpoints (current, field or momentum), on, off, standby, reset. A magnet may be named
/// by its circuit or by any element of it (MBPL1 is on the MBPL circuit). Reads never touch a supply; commands go
/// through the magnet's controller, which checks every limit before a byte is sent.
/// </summary>
internal static class MagnetEndpoints
{
    public static void Map(RouteGroupBuilder api)
    {
        var magnets = api.MapGroup("/magnets").WithTags("Magnets");

        magnets.MapGet("/", (HardwareOwner owner) => owner.Magnets.Setup.Magnets.Select(m => View(owner, m)).ToList())
            .WithName("ListMagnets").WithSummary("Every magnet circuit: state, current, field, momentum (no device access)");

        magnets.MapGet("/alarms", (HardwareOwner owner) => owner.MagnetAlarms().Select(ApiViews.Alarm).ToList())
            .WithName("ListMagnetAlarms").WithSummary("The most recent magnet alarms, oldest first");

        magnets.MapGet("/{name}", Results<Ok<MagnetView>, ProblemHttpResult> (string name, HardwareOwner owner) =>
                Find(owner, name, out var c, out var m) is { } missing ? missing : TypedResults.Ok(ApiViews.Magnet(c!.Snapshot(), m!)))
            .WithName("GetMagnet").WithSummary("One magnet circuit (by its name or an element's)");

        magnets.MapPut("/{name}/setpoint", async Task<Results<Ok<MagnetView>, Accepted<MagnetView>, ProblemHttpResult>> (
                string name, MagnetSetpointRequest request, HardwareOwner owner, CancellationToken ct) =>
            {
                if (Find(owner, name, out var c, out var m) is { } missing)
                    return missing;
                if (Target(request, m!) is { } refused)
                    return refused;
                return await CommandAsync(c!, m!, request.Wait ? MagnetState.AtSetpoint : null, () => request switch
                {
                    { Amps: { } amps } => c!.RampToAsync(amps, request.RampAmpsPerSecond, ct),
                    { TeslaMetres: { } field } => c!.RampToFieldAsync(field, request.RampAmpsPerSecond, ct),
                    _ => c!.RampToMomentumAsync(request.MomentumGeV!.Value, m!.BendingAngleRadians!.Value, request.RampAmpsPerSecond, ct),
                }, ct).ConfigureAwait(false);
            })
            .RequireAuthorization(Security.Roles.Expert)
            .WithName("SetMagnetSetpoint")
            .WithSummary("Ramp to a current, a field or a momentum (exactly one) at the configured or given dI/dt; wait in the body returns when AtSetpoint");

        MapCommand(magnets, "on", Security.Roles.Expert, MagnetState.AtSetpoint, (c, ct) => c.SwitchOnAsync(ct),
            "Output on (a supply the controller steps starts from 0 A); ?wait=true returns when AtSetpoint");
        MapCommand(magnets, "off", Security.Roles.Shifter, MagnetState.Off, (c, ct) => c.SwitchOffAsync(ct),
            "Output off at once; ?wait=true returns when the readbacks say Off (current at zero)");
        MapCommand(magnets, "standby", Security.Roles.Shifter, MagnetState.Standby, (c, ct) => c.StandbyAsync(ct),
            "Standby (beam-line converters); ?wait=true returns when the readbacks say Standby");
        MapCommand(magnets, "reset", Security.Roles.Shifter, null, (c, ct) => c.ResetAsync(ct),
            "Clear a latched fault or interlock; released only when the readbacks show the cause gone");
    }

    private static void MapCommand(RouteGroupBuilder magnets, string verb, string role, MagnetState? goal,
        Func<MagnetController, CancellationToken, Task<MagnetRequestResult>> command, string summary)
    {
        magnets.MapPost($"/{{name}}/{verb}", async Task<Results<Ok<MagnetView>, Accepted<MagnetView>, ProblemHttpResult>> (
                string name, bool? wait, HardwareOwner owner, CancellationToken ct) =>
            {
                if (Find(owner, name, out var c, out var m) is { } missing)
                    return missing;
                return await CommandAsync(c!, m!, wait == true ? goal : null, () => command(c!, ct), ct).ConfigureAwait(false);
            })
            .RequireAuthorization(role)
            .WithName("Magnet" + char.ToUpperInvariant(verb[0]) + verb[1..])
            .WithSummary(summary);
    }

    private static MagnetView View(HardwareOwner owner, MagnetSetup m) =>
        owner.Magnets.TryFind(m.Name, out var c, out _) ? ApiViews.Magnet(c.Snapshot(), m) : throw new InvalidOperationException($"magnet {m.Name} has no controller");

    private static ProblemHttpResult? Find(HardwareOwner owner, string name, out MagnetController? controller, out MagnetSetup? magnet)
    {
        if (owner.Magnets.TryFind(name, out var c, out var m))
        {
            (controller, magnet) = (c, m);
            return null;
        }

        (controller, magnet) = (null, null);
        var known = owner.Magnets.Names.ToList();
        return Problems.NotFound("magnet", name, known.Count == 0 ? "(the setup has no magnets)" : string.Join(", ", known));
    }

    /// <summary>Exactly one of amps, field or momentum, finite; momentum needs the setup's bending angle.</summary>
    private static ProblemHttpResult? Target(MagnetSetpointRequest r, MagnetSetup m)
    {
        int given = (r.Amps is null ? 0 : 1) + (r.TeslaMetres is null ? 0 : 1) + (r.MomentumGeV is null ? 0 : 1);
        if (given != 1)
            return Problems.Invalid("amps", r.Amps, "give exactly one of amps, teslaMetres or momentumGeV");
        foreach (var (field, value) in new[] { ("amps", r.Amps), ("teslaMetres", r.TeslaMetres), ("momentumGeV", r.MomentumGeV), ("rampAmpsPerSecond", r.RampAmpsPerSecond) })
        {
            if (value is { } v && !double.IsFinite(v))
                return Problems.Invalid(field, v, "a finite number");
        }

        if (r.MomentumGeV is not null && m.BendingAngleRadians is null)
            return Problems.Invalid("momentumGeV", r.MomentumGeV, $"{m.Name} has no bendingAngleMrad in the setup: ask for amps or teslaMetres");
        return null;
    }

    /// <summary>
    /// Runs a command. A request held for an operator answers 202 with the pending request in the view; a denied one is a
    /// 409 with the gateway's reason; otherwise 202 once sent, or 200 once the readbacks show <paramref name="goal"/>.
    /// </summary>
    private static async Task<Results<Ok<MagnetView>, Accepted<MagnetView>, ProblemHttpResult>> CommandAsync(
        MagnetController controller, MagnetSetup magnet, MagnetState? goal,
        Func<Task<MagnetRequestResult>> command, CancellationToken ct)
    {
        try
        {
            var result = await command().ConfigureAwait(false);
            if (result.Outcome == MagnetRequestOutcome.Denied)
                return Problems.Conflict("Request denied", $"{controller.Name}: request denied: {result.Reason}",
                    new Dictionary<string, object?> { ["magnet"] = controller.Name, ["reason"] = result.Reason });
            if (goal is { } g && result.Outcome == MagnetRequestOutcome.Done)
            {
                await controller.WaitForAsync(g, ct).ConfigureAwait(false);
                return TypedResults.Ok(ApiViews.Magnet(controller.Snapshot(), magnet));
            }
        }
        catch (Exception e) when (Problems.For(e) is { } problem)
        {
            return problem;
        }

        return TypedResults.Accepted($"/api/magnets/{Uri.EscapeDataString(controller.Name)}", ApiViews.Magnet(controller.Snapshot(), magnet));
    }
}
