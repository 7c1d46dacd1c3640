using Microsoft.Extensions.Time.Testing;
using NA64.Hardware.Magnets.BeamLine;
using NA64.Simulators.Magnets.BeamLine;

namespace NA64.Simulators.Tests.Magnets.BeamLine;

public class BeamLineModelTests
{
    private static readonly TimeSpan Period = BeamLineFacts.DefaultCyclePeriod;
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 9, 1, 8, 0, 0, TimeSpan.Zero));

    private BeamLineGatewayModel NewGateway(int seed = 64) => new(_time, seed: seed);

    private static BeamLineRequest Req(BeamLineOperation op, double? amps = null, string target = BeamLineFacts.MbplCircuit) =>
        new(op, target, amps, "shift", "test");

    private static BeamLineCircuitModel InState(BeamLineCircuitModel c, BeamLineState state)
    {
        switch (state)
        {
            case BeamLineState.Standby:
                Assert.Null(c.TryStandby());
                break;
            case BeamLineState.On:
                Assert.Null(c.TryStandby());
                Assert.Null(c.TryOn());
                break;
            case BeamLineState.Fault:
                c.Trip();
                break;
        }

        Assert.Equal(state, c.State);
        return c;
    }

    [Theory]
    [InlineData(BeamLineState.Off, BeamLineOperation.Standby, BeamLineState.Standby, true)]
    [InlineData(BeamLineState.Off, BeamLineOperation.On, BeamLineState.Off, false)]
    [InlineData(BeamLineState.Off, BeamLineOperation.Off, BeamLineState.Off, true)]
    [InlineData(BeamLineState.Off, BeamLineOperation.Reset, BeamLineState.Off, true)]
    [InlineData(BeamLineState.Off, BeamLineOperation.SetCurrent, BeamLineState.Off, true)]
    [InlineData(BeamLineState.Standby, BeamLineOperation.On, BeamLineState.On, true)]
    [InlineData(BeamLineState.Standby, BeamLineOperation.Off, BeamLineState.Off, true)]
    [InlineData(BeamLineState.Standby, BeamLineOperation.SetCurrent, BeamLineState.Standby, true)]
    [InlineData(BeamLineState.On, BeamLineOperation.Standby, BeamLineState.Standby, true)]
    [InlineData(BeamLineState.On, BeamLineOperation.Off, BeamLineState.Off, true)]
    [InlineData(BeamLineState.On, BeamLineOperation.SetCurrent, BeamLineState.On, true)]
    [InlineData(BeamLineState.Fault, BeamLineOperation.Standby, BeamLineState.Fault, false)]
    [InlineData(BeamLineState.Fault, BeamLineOperation.On, BeamLineState.Fault, false)]
    [InlineData(BeamLineState.Fault, BeamLineOperation.Off, BeamLineState.Fault, false)]
    [InlineData(BeamLineState.Fault, BeamLineOperation.SetCurrent, BeamLineState.Fault, false)]
    [InlineData(BeamLineState.Fault, BeamLineOperation.Reset, BeamLineState.Off, true)]
    public void The_state_table_of_section_5_3(BeamLineState from, BeamLineOperation op, BeamLineState to, bool accepted)
    {
        var gateway = NewGateway();
        InState(gateway.Circuit(BeamLineFacts.MbplCircuit)!, from);
        var outcome = gateway.Submit(Req(op, op == BeamLineOperation.SetCurrent ? 735 : null));
        Assert.Equal(accepted ? BeamLineOutcomeKind.Accepted : BeamLineOutcomeKind.Denied, outcome.Kind);
        Assert.Equal(to, gateway.Circuit(BeamLineFacts.MbplCircuit)!.State);
        Assert.Equal(accepted && op == BeamLineOperation.SetCurrent ? 735 : 0, gateway.Circuit(BeamLineFacts.MbplCircuit)!.RefAmps);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Reset_is_refused_while_the_water_or_temperature_cause_persists_then_goes_to_off(bool water)
    {
        var c = InState(NewGateway().Circuit(BeamLineFacts.MbplCircuit)!, BeamLineState.On);
        if (water)
        {
            c.SetWaterFault(true);
        }
        else
        {
            c.SetOverTemperature(true);
        }

        Assert.Equal(BeamLineState.Fault, c.State);
        var cause = water ? BeamLineFacts.Causes.Water : BeamLineFacts.Causes.OverTemperature;
        Assert.Equal($"{BeamLineFacts.MbplCircuit}: fault cause {cause} persists, reset refused", c.TryReset());
        Assert.Equal(BeamLineState.Fault, c.State);

        if (water)
        {
            c.SetWaterFault(false);
        }
        else
        {
            c.SetOverTemperature(false);
        }

        Assert.Equal(BeamLineState.Fault, c.State); // latched until Reset
        Assert.Null(c.TryReset());
        Assert.Equal(BeamLineState.Off, c.State);
        Assert.NotNull(c.TryOn()); // the documented recovery goes through STANDBY
        Assert.Null(c.TryStandby());
        Assert.Null(c.TryOn());
    }

    [Fact]
    public void A_fault_drops_the_current_to_zero()
    {
        var c = InState(NewGateway().Circuit(BeamLineFacts.MbplCircuit)!, BeamLineState.On);
        Assert.Null(c.TrySetCurrent(735));
        _time.Advance(TimeSpan.FromSeconds(100));
        Assert.Equal(735, c.Amps, 6);
        c.Trip();
        _time.Advance(TimeSpan.FromSeconds(735 / c.Options.DischargeAmpsPerSecond));
        Assert.Equal(0, c.Amps, 6);
    }

    [Fact]
    public void The_read_back_is_refreshed_only_at_SPS_cycle_boundaries()
    {
        var c = NewGateway().Circuit(BeamLineFacts.MbplCircuit)!;
        var start = _time.GetUtcNow();
        Assert.Equal(0, c.Published.Cycle);
        Assert.Null(c.TryStandby());
        _time.Advance(Period - TimeSpan.FromMilliseconds(1));
        Assert.Equal(BeamLineState.Standby, c.State);
        Assert.Equal(BeamLineState.Off, c.Published.State);
        Assert.Equal(0, c.Published.Cycle);

        _time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal(BeamLineState.Standby, c.Published.State);
        Assert.Equal(1, c.Published.Cycle);
        Assert.Equal(start + Period, c.Published.Timestamp);

        _time.Advance(Period * 3);
        Assert.Equal(4, c.Published.Cycle);
        Assert.Equal(start + (Period * 4), c.Published.Timestamp);
    }

    [Fact]
    public void The_current_slews_at_the_configured_rate_and_is_in_reference_only_inside_the_band()
    {
        var c = InState(NewGateway().Circuit(BeamLineFacts.MbplCircuit)!, BeamLineState.On);
        Assert.Null(c.TrySetCurrent(735));
        _time.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal(100, c.Amps, 6); // 10 A/s from 0 (standby had no time to charge)
        _time.Advance(Period); // a cycle boundary while ramping
        Assert.Equal(BeamLineState.On, c.Published.State);
        Assert.False(c.Published.InReference);

        _time.Advance(Period * 6);
        Assert.Equal(735, c.Amps, 6);
        Assert.True(c.Published.InReference);
        Assert.InRange(c.Published.MeasuredAmps, 735 - c.Options.ToleranceAmps, 735 + c.Options.ToleranceAmps);
        Assert.NotEqual(735, c.Published.MeasuredAmps); // noise

        c.SetDrift(c.Options.ToleranceAmps * 0.5);
        _time.Advance(Period);
        Assert.True(c.Published.InReference);
        c.SetDrift(c.Options.ToleranceAmps * 3);
        _time.Advance(Period);
        Assert.False(c.Published.InReference);
        Assert.Equal(BeamLineState.On, c.Published.State); // out of reference is a flag, not a state
    }

    [Fact]
    public void The_noise_is_reproducible_for_a_seed()
    {
        double[] Run(int seed)
        {
            var time = new FakeTimeProvider(new DateTimeOffset(2026, 9, 1, 8, 0, 0, TimeSpan.Zero));
            var c = new BeamLineGatewayModel(time, seed: seed).Circuit(BeamLineFacts.MbplCircuit)!;
            Assert.Null(c.TryStandby());
            return Enumerable.Range(0, 5).Select(_ =>
            {
                time.Advance(Period);
                return c.Published.MeasuredAmps;
            }).ToArray();
        }

        Assert.Equal(Run(7), Run(7));
        Assert.NotEqual(Run(7), Run(8));
    }

    [Fact]
    public void Communication_loss_freezes_cycle_and_timestamp_until_it_comes_back()
    {
        var c = NewGateway().Circuit(BeamLineFacts.MbplCircuit)!;
        _time.Advance(Period);
        c.SetCommunicationLost(true);
        Assert.Null(c.TryStandby());
        _time.Advance(Period * 5);
        Assert.Equal(1, c.Published.Cycle);
        Assert.Equal(BeamLineState.Off, c.Published.State);
        c.SetCommunicationLost(false);
        _time.Advance(Period);
        Assert.Equal(7, c.Published.Cycle);
        Assert.Equal(BeamLineState.Standby, c.Published.State);
    }

    [Fact]
    public void A_pending_request_is_carried_out_only_when_the_operator_confirms_and_every_request_is_logged()
    {
        var gateway = NewGateway();
        gateway.Approval = BeamLineApprovalMode.Pending;
        var first = gateway.Submit(Req(BeamLineOperation.SetCurrent, 735));
        var second = gateway.Submit(Req(BeamLineOperation.Standby));
        Assert.Equal(new BeamLineOutcome(BeamLineOutcomeKind.PendingOperator, "T1"), first);
        Assert.Equal(["T1", "T2"], gateway.PendingTickets);
        Assert.Equal(0, gateway.Circuit(BeamLineFacts.MbplCircuit)!.RefAmps);

        Assert.Null(gateway.Confirm("T1"));
        Assert.Equal(735, gateway.Circuit(BeamLineFacts.MbplCircuit)!.RefAmps);
        gateway.Reject("T2", "beam to another user");
        Assert.Equal(BeamLineState.Off, gateway.Circuit(BeamLineFacts.MbplCircuit)!.State);
        Assert.Empty(gateway.PendingTickets);
        Assert.Throws<ArgumentException>(() => gateway.Confirm("T2"));

        gateway.Approval = BeamLineApprovalMode.Deny;
        Assert.Equal(new BeamLineOutcome(BeamLineOutcomeKind.Denied, Reason: gateway.DenyReason), gateway.Submit(Req(BeamLineOperation.Standby)));

        Assert.Equal(
            [BeamLineOutcomeKind.PendingOperator, BeamLineOutcomeKind.PendingOperator, BeamLineOutcomeKind.Accepted, BeamLineOutcomeKind.Denied, BeamLineOutcomeKind.Denied],
            gateway.Requests.Select(r => r.Outcome));
        Assert.All(gateway.Requests, r => Assert.Equal("shift", r.Request.User));
        Assert.Equal("beam to another user", gateway.Requests[3].Reason);
    }

    [Fact]
    public void A_confirmed_request_the_converter_refuses_is_logged_as_denied_with_its_ticket()
    {
        var gateway = NewGateway();
        gateway.Approval = BeamLineApprovalMode.Pending;
        gateway.Submit(Req(BeamLineOperation.On));
        Assert.Contains("STANDBY first", gateway.Confirm("T1"), StringComparison.Ordinal);
        Assert.Equal((BeamLineOutcomeKind.Denied, "T1"), (gateway.Requests[^1].Outcome, gateway.Requests[^1].Ticket));
    }

    [Fact]
    public void A_beam_file_applies_every_current_at_once_or_none()
    {
        var gateway = NewGateway();
        Assert.Equal(BeamLineOutcome.Accepted, gateway.Submit(Req(BeamLineOperation.LoadBeamFile, target: "H4-100GeV-e")));
        Assert.Equal(735, gateway.Circuit(BeamLineFacts.MbplCircuit)!.RefAmps);
        Assert.Equal(412, gateway.Circuit("H4-B4")!.RefAmps);
        _time.Advance(Period);
        Assert.Equal("H4-100GeV-e", gateway.Circuit(BeamLineFacts.MbplCircuit)!.Published.BeamFile);

        gateway.Circuit("H4-B4")!.Trip();
        var refused = gateway.Submit(Req(BeamLineOperation.LoadBeamFile, target: "H4-150GeV-e"));
        Assert.Equal(BeamLineOutcomeKind.Denied, refused.Kind);
        Assert.Contains("H4-B4 is in FAULT", refused.Reason, StringComparison.Ordinal);
        Assert.Equal(735, gateway.Circuit(BeamLineFacts.MbplCircuit)!.RefAmps);

        Assert.StartsWith("no beam file H4-7GeV", gateway.Submit(Req(BeamLineOperation.LoadBeamFile, target: "H4-7GeV")).Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void A_current_above_the_converter_rating_is_denied()
    {
        var c = NewGateway().Circuit(BeamLineFacts.MbplCircuit)!;
        Assert.Equal("I_ref 1200 A is outside the converter's 0..1000 A", c.TrySetCurrent(1200));
        Assert.Equal(0, c.RefAmps);
    }
}
