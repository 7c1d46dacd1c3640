using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using NA64.SlowControl.Hv;

namespace NA64.SlowControl.Service;

/// <summary>
/// <c>/api/hv</c>: channels, switching, setpoints. Reads never touch a device (they return the last readback);
/// commands go through the channel's controller, whose limits are the only ones (the driver checks them before any
/// byte is sent) whatever the client.
/// </summary>
internal static class HvEndpoints
{
    public static void Map(RouteGroupBuilder api)
    {
        var hv = api.MapGroup("/hv").WithTags("HV");

        hv.MapGet("/channels", (HardwareOwner owner) => owner.Hv.Snapshot().Select(ApiViews.Channel).ToList())
            .WithName("ListHvChannels").WithSummary("Every HV channel: state and last readback (no device access)");

        hv.MapGet("/channels/{name}", Results<Ok<HvChannelView>, ProblemHttpResult> (string name, HardwareOwner owner) =>
                Find(owner, name, out var c) is { } missing ? missing : TypedResults.Ok(ApiViews.Channel(c!.Snapshot())))
            .WithName("GetHvChannel").WithSummary("One HV channel");

        hv.MapPost("/channels/{name}/on", async Task<Results<Ok<HvChannelView>, Accepted<HvChannelView>, ProblemHttpResult>> (
                string name, bool? wait, HardwareOwner owner, CancellationToken ct) =>
            {
                if (Find(owner, name, out var c) is { } missing)
                    return missing;
                return await CommandAsync(c!, wait == true, w => w ? c!.RampAsync(c.TargetVolts, null, ct) : c!.SwitchOnAsync(null, ct)).ConfigureAwait(false);
            })
            .RequireAuthorization(Security.Roles.Shifter)
            .WithName("SwitchHvChannelOn").WithSummary("Switch on at the channel's target (nominal unless an expert set another); ?wait=true returns when the readbacks say On");

        hv.MapPost("/channels/{name}/off", async Task<Results<Ok<HvChannelView>, Accepted<HvChannelView>, ProblemHttpResult>> (
                string name, bool? wait, HardwareOwner owner, CancellationToken ct) =>
            {
                if (Find(owner, name, out var c) is { } missing)
                    return missing;
                return await CommandAsync(c!, wait == true, async w =>
                {
                    var off = WaitForAsync(c!, s => s == HvChannelState.Off, ct);
                    await c!.SwitchOffAsync(ct).ConfigureAwait(false);
                    if (w)
                        await off.ConfigureAwait(false);
                }).ConfigureAwait(false);
            })
            .RequireAuthorization(Security.Roles.Shifter)
            .WithName("SwitchHvChannelOff").WithSummary("Switch off following the channel's power-down mode; ?wait=true returns when the readbacks say Off");

        hv.MapPut("/channels/{name}/setpoint", async Task<Results<Ok<HvChannelView>, Accepted<HvChannelView>, ProblemHttpResult>> (
                string name, SetpointRequest request, HardwareOwner owner, CancellationToken ct) =>
            {
                if (Find(owner, name, out var c) is { } missing)
                    return missing;
                if (!double.IsFinite(request.Volts))
                    return Problems.Invalid("volts", request.Volts, "a finite number of volts");
                if (request.RampUpVoltsPerSecond is { } rate && !double.IsFinite(rate))
                    return Problems.Invalid("rampUpVoltsPerSecond", rate, "a finite number of V/s");
                return await CommandAsync(c!, request.Wait, async w =>
                {
                    if (request.RampUpVoltsPerSecond is { } rup)
                        await c!.SetRampUpAsync(rup, ct).ConfigureAwait(false);
                    if (w)
                        await c!.RampAsync(request.Volts, null, ct).ConfigureAwait(false);
                    else
                        await c!.SwitchOnAsync(request.Volts, ct).ConfigureAwait(false);
                }).ConfigureAwait(false);
            })
            .RequireAuthorization(Security.Roles.Expert)
            .WithName("SetHvChannelSetpoint").WithSummary("Set VSET (and RUP) and switch on; ?wait in the body returns when On at VSET");

        hv.MapPost("/apply", async Task<Results<Ok<ApplyResultView>, ProblemHttpResult>> (ApplyRequest request, HardwareOwner owner, CancellationToken ct) =>
            {
                if (request.All == (request.Channel is not null))
                    return Problems.Invalid("channel", request.Channel, "give exactly one of channel or all");
                HvChannelController? one = null;
                if (request.Channel is { } name && Find(owner, name, out one) is { } missing)
                    return missing;
                var channels = one is null ? owner.Hv.Channels : [one];
                var differences = channels.SelectMany(c => c.PlanApply().Select(d =>
                    new SettingDifferenceView(c.Name, d.Parameter.ToString(), d.OnDevice, d.InSetup))).ToList();
                var applied = new List<string>();
                if (!request.DryRun)
                {
                    foreach (var c in channels.Where(c => differences.Any(d => d.Channel == c.Name)))
                    {
                        try
                        {
                            await c.ApplyAsync(ct).ConfigureAwait(false);
                        }
                        catch (Exception e) when (Problems.For(e) is { } problem)
                        {
                            return problem;
                        }

                        applied.Add(c.Name);
                    }
                }

                return TypedResults.Ok(new ApplyResultView(request.DryRun, differences, applied));
            })
            .RequireAuthorization(Security.Roles.Expert)
            .WithName("ApplySetup").WithSummary("Write the setup's settings (ISET, RUP, RDW; VSET of channels not on) to one channel or all; dryRun lists the differences only");

        hv.MapGet("/alarms", (HardwareOwner owner) => owner.Alarms().Select(ApiViews.Alarm).ToList())
            .WithName("ListAlarms").WithSummary("The most recent alarms, oldest first");
    }

    private static ProblemHttpResult? Find(HardwareOwner owner, string name, out HvChannelController? channel) =>
        owner.Hv.TryGetChannel(name, out channel) ? null
            : Problems.NotFound("channel", name, string.Join(", ", owner.Hv.Channels.Select(c => c.Name)));

    /// <summary>
    /// Runs a command; without waiting it answers 202 once the bytes are on the wire, with waiting 200 once the readbacks
    /// show the result. Refusals become problems (nothing was sent for a refused setpoint or state).
    /// </summary>
    private static async Task<Results<Ok<HvChannelView>, Accepted<HvChannelView>, ProblemHttpResult>> CommandAsync(
        HvChannelController channel, bool wait, Func<bool, Task> command)
    {
        try
        {
            await command(wait).ConfigureAwait(false);
        }
        catch (Exception e) when (Problems.For(e) is { } problem)
        {
            return problem;
        }

        var view = ApiViews.Channel(channel.Snapshot());
        return wait ? TypedResults.Ok(view) : TypedResults.Accepted($"/api/hv/channels/{Uri.EscapeDataString(channel.Name)}", view);
    }

    private static Task WaitForAsync(HvChannelController channel, Func<HvChannelState, bool> reached, CancellationToken ct)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        void OnState(HvChannelState from, HvChannelState to)
        {
            if (reached(to))
                done.TrySetResult();
            else if (to is HvChannelState.Disconnected or HvChannelState.Interlocked or HvChannelState.Killed)
                done.TrySetException(new HvRampFailedException(channel.Name, 0, to, $"went {to} while switching off"));
        }

        channel.StateChanged += OnState;
        if (reached(channel.State))
            done.TrySetResult();
        return Unsubscribe();

        async Task Unsubscribe()
        {
            try
            {
                await done.Task.WaitAsync(ct).ConfigureAwait(false);
            }
            finally
            {
                channel.StateChanged -= OnState;
            }
        }
    }
}
