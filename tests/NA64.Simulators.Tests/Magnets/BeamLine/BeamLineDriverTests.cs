using NA64.Hardware.Errors;
using NA64.Hardware.Magnets;
using NA64.Hardware.Magnets.BeamLine;
using NA64.Simulators.Magnets.BeamLine;

namespace NA64.Simulators.Tests.Magnets.BeamLine;

/// <summary>The beam-line driver against the simulated gateway (device-protocols.md §5, §6).</summary>
public sealed class BeamLineDriverTests
{
    private static bool InReference(MagnetReadback r) =>
        r.Output == MagnetOutput.On && r.Conditions.HasFlag(MagnetConditions.CurrentRegulated);

    [Fact]
    public async Task Initialize_only_reads_and_the_capabilities_say_standby_no_polarity_ramps_itself_needs_approval()
    {
        await using var rig = BeamLineRig.InMemory();
        await rig.Magnet.InitializeAsync();
        Assert.Empty(rig.Gateway.Requests);
        Assert.Equal(1, rig.Server.LinesReceived);
        Assert.Equal(new MagnetCapabilities(true, false, true, true), rig.Magnet.Capabilities);
        Assert.Equal(["MBPL1", "MBPL2"], rig.Magnet.Elements);
        Assert.Equal(BeamLineState.Off, rig.Magnet.LastStatus!.State);
    }

    [Fact]
    public async Task Set_735_A_then_on_reaches_in_reference()
    {
        await using var rig = BeamLineRig.InMemory();
        await rig.Magnet.InitializeAsync();
        Assert.Equal(MagnetRequestResult.Done, await rig.Magnet.StandbyAsync());
        Assert.Equal(MagnetRequestResult.Done, await rig.Magnet.SetCurrentAsync(735, "100 GeV electrons"));
        Assert.Equal(MagnetRequestResult.Done, await rig.Magnet.SwitchOnAsync());

        rig.Cycles(1);
        var ramping = await rig.Magnet.ReadAsync();
        Assert.Equal((MagnetOutput.On, 735.0), (ramping.Output, ramping.SetpointAmps));
        Assert.False(InReference(ramping));
        Assert.StartsWith("out of reference", ramping.Detail, StringComparison.Ordinal);

        var on = await rig.ReadUntilAsync(InReference, "in reference");
        Assert.InRange(on.Amps, 734.5, 735.5);
        Assert.Equal(MagnetPolarity.Normal, on.Polarity);
        Assert.Null(on.Volts);
        Assert.All(rig.Gateway.Requests, r => Assert.Equal("na64-shift", r.Request.User));
        Assert.Equal("100 GeV electrons", rig.Gateway.Requests[1].Request.Reason);
    }

    [Fact]
    public async Task A_pending_request_takes_effect_only_after_the_operator_confirms()
    {
        await using var rig = BeamLineRig.InMemory();
        rig.Gateway.Approval = BeamLineApprovalMode.Pending;
        var result = await rig.Magnet.SetCurrentAsync(735);
        Assert.Equal(new MagnetRequestResult(MagnetRequestOutcome.PendingOperator, "ticket T1"), result);

        rig.Cycles(2);
        Assert.Equal(0, (await rig.Magnet.ReadAsync()).SetpointAmps);

        Assert.Null(rig.Gateway.Confirm("T1"));
        rig.Cycles(1);
        Assert.Equal(735, (await rig.Magnet.ReadAsync()).SetpointAmps);
    }

    [Fact]
    public async Task A_denied_request_passes_through_with_the_reason()
    {
        await using var rig = BeamLineRig.InMemory();
        rig.Gateway.Approval = BeamLineApprovalMode.Deny;
        Assert.Equal(new MagnetRequestResult(MagnetRequestOutcome.Denied, rig.Gateway.DenyReason), await rig.Magnet.StandbyAsync());

        // ON from OFF asks for STANDBY first: a denied STANDBY is the outcome and ON is never asked.
        Assert.Equal(new MagnetRequestResult(MagnetRequestOutcome.Denied, rig.Gateway.DenyReason), await rig.Magnet.SwitchOnAsync());
        Assert.Equal(BeamLineState.Off, rig.Mbpl.State);
        Assert.DoesNotContain(rig.Gateway.Requests, r => r.Request.Operation == BeamLineOperation.On);
    }

    [Fact]
    public async Task On_from_off_goes_through_standby_as_the_documented_order_says()
    {
        await using var rig = BeamLineRig.InMemory();
        await rig.Magnet.InitializeAsync();
        Assert.Equal(MagnetRequestResult.Done, await rig.Magnet.SwitchOnAsync());
        Assert.Equal(BeamLineState.On, rig.Mbpl.State);
        Assert.Equal([BeamLineOperation.Standby, BeamLineOperation.On], rig.Gateway.Requests.Select(r => r.Request.Operation));
    }

    [Fact]
    public async Task Above_the_ceiling_is_refused_naming_it_with_nothing_sent()
    {
        await using var rig = BeamLineRig.InMemory();
        var e = await Assert.ThrowsAsync<SetpointOutOfRangeException>(() => rig.Magnet.SetCurrentAsync(99999));
        Assert.Equal("MBPL: I_ref = 99999 refused, the configured ceiling is 900", e.Message);
        Assert.Equal(0, rig.Server.LinesReceived);
        Assert.Empty(rig.Gateway.Requests);
    }

    [Fact]
    public async Task Reversed_polarity_is_denied_with_nothing_sent()
    {
        await using var rig = BeamLineRig.InMemory();
        Assert.Equal(MagnetRequestOutcome.Denied, (await rig.Magnet.SetPolarityAsync(MagnetPolarity.Reversed)).Outcome);
        Assert.Equal(MagnetRequestResult.Done, await rig.Magnet.SetPolarityAsync(MagnetPolarity.Normal));
        Assert.Equal(0, rig.Server.LinesReceived);
    }

    [Fact]
    public async Task A_read_back_whose_cycle_stops_advancing_is_reported_stale_after_the_configured_cycles()
    {
        await using var rig = BeamLineRig.InMemory();
        await rig.Magnet.InitializeAsync();
        rig.Mbpl.SetCommunicationLost(true);
        rig.Cycles(3);
        await rig.Magnet.ReadAsync(); // 3 cycles unchanged: at the limit, still accepted

        rig.Cycles(1);
        var e = await Assert.ThrowsAsync<BeamLineStaleReadbackException>(() => rig.Magnet.ReadAsync());
        Assert.Equal("MBPL: read-back stale, SPS cycle 0 unchanged for 57.6 s, limit is 3 cycles of 14.4 s", e.Message);
        Assert.Equal(0, e.Last.Cycle);

        rig.Mbpl.SetCommunicationLost(false);
        rig.Cycles(1);
        Assert.Equal(5, (await rig.Magnet.ReadStatusAsync()).Cycle);
    }

    [Fact]
    public async Task A_trip_during_a_ramp_faults_reset_is_refused_while_the_cause_persists_then_off_standby_on()
    {
        await using var rig = BeamLineRig.InMemory();
        await rig.Magnet.InitializeAsync();
        await rig.Magnet.StandbyAsync();
        await rig.Magnet.SetCurrentAsync(735);
        await rig.Magnet.SwitchOnAsync();
        rig.Cycles(2);
        Assert.InRange(rig.Mbpl.Amps, 100, 700); // mid-ramp

        rig.Mbpl.SetWaterFault(true);
        rig.Cycles(1);
        var fault = await rig.Magnet.ReadAsync();
        Assert.Equal((MagnetOutput.Fault, 0.0), (fault.Output, fault.Amps));
        Assert.True(fault.Conditions.HasFlag(MagnetConditions.WaterFlow));
        Assert.Contains("fault WATER", fault.Detail, StringComparison.Ordinal);

        Assert.Equal(new MagnetRequestResult(MagnetRequestOutcome.Denied, "H4-MBPL: fault cause WATER persists, reset refused"), await rig.Magnet.ResetAsync());
        Assert.Equal(MagnetRequestOutcome.Denied, (await rig.Magnet.SwitchOnAsync()).Outcome);

        rig.Mbpl.SetWaterFault(false);
        Assert.Equal(MagnetRequestResult.Done, await rig.Magnet.ResetAsync());
        rig.Cycles(1);
        Assert.Equal(MagnetOutput.Off, (await rig.Magnet.ReadAsync()).Output);
        Assert.Equal(MagnetRequestResult.Done, await rig.Magnet.StandbyAsync());
        rig.Cycles(1);
        Assert.Equal(MagnetOutput.Standby, (await rig.Magnet.ReadAsync()).Output);
        Assert.Equal(MagnetRequestResult.Done, await rig.Magnet.SwitchOnAsync());
        var back = await rig.ReadUntilAsync(InReference, "in reference after recovery");
        Assert.Equal(735, back.SetpointAmps);
    }

    [Fact]
    public async Task A_beam_file_load_is_seen_in_the_read_back()
    {
        await using var rig = BeamLineRig.InMemory();
        Assert.Equal(MagnetRequestResult.Done, await rig.Magnet.LoadBeamFileAsync("H4-150GeV-e", "begin of run 2026"));
        rig.Cycles(1);
        var status = await rig.Magnet.ReadStatusAsync();
        Assert.Equal(("H4-150GeV-e", 800.0), (status.BeamFile, status.RefAmps));
        Assert.Equal(618, rig.Gateway.Circuit("H4-B4")!.RefAmps);
    }

    [Fact]
    public async Task Over_TCP_loopback_through_the_device_server_the_magnet_reaches_standby()
    {
        await using var rig = BeamLineRig.OverTcp();
        await rig.Magnet.InitializeAsync();
        Assert.Equal(MagnetRequestResult.Done, await rig.Magnet.StandbyAsync());
        var standby = await rig.ReadUntilAsync(r => r.Output == MagnetOutput.Standby, "standby");
        Assert.InRange(standby.Amps, 0, rig.Mbpl.Options.StandbyAmps + 1);
        Assert.Equal(BeamLineOperation.Standby, Assert.Single(rig.Gateway.Requests).Request.Operation);
    }
}
