using NA64.Hardware.Errors;
using NA64.Hardware.Magnets;
using NA64.SlowControl.Hv;
using NA64.SlowControl.Magnets;

namespace NA64.SlowControl.Tests.Magnets;

public class MagnetControllerTests
{
    private const double Tolerance = 1.0;

    [Fact]
    public async Task A_ramp_from_0_to_800_A_at_the_dIdt_limit_ends_AtSetpoint_and_no_setpoint_step_exceeds_it()
    {
        var k = new MagnetTestKit(MagnetTestKit.Stepped);
        await k.PollNow();
        Assert.Equal(MagnetState.Off, k.State);
        var commandTime = k.Time.GetUtcNow();

        var result = await k.Controller.RampToAsync(800, 10);

        Assert.Equal(MagnetRequestOutcome.Done, result.Outcome);
        await k.PollUntil(MagnetState.AtSetpoint);
        var steps = k.Supply.SetpointRequests.ToList();
        // The first setpoint (0) comes with the switch-on; then one step per poll, each within 10 A/s of the previous.
        Assert.Equal(0, steps[0].Amps);
        var (previousTime, previousAmps) = (commandTime, 0.0);
        foreach (var (time, amps) in steps.Skip(1))
        {
            double seconds = (time - previousTime).TotalSeconds;
            Assert.True(seconds > 0, $"two steps at {time:O}");
            Assert.True(Math.Abs(amps - previousAmps) <= (10 * seconds) + 1e-9,
                $"step {previousAmps} -> {amps} A in {seconds} s exceeds 10 A/s");
            (previousTime, previousAmps) = (time, amps);
        }
        Assert.Equal(800, steps[^1].Amps);
        Assert.Equal(81, steps.Count); // 0, then 80 steps of 10 A
        var s = k.Controller.Snapshot();
        Assert.Equal(800, s.TargetAmps);
        Assert.InRange(s.Amps!.Value, 800 - Tolerance, 800 + Tolerance);
        Assert.Equal(MagnetRampPhase.None, s.RampPhase);
        Assert.InRange(s.FieldTeslaMetres!.Value, 6.99, 7.01);
        Assert.Empty(k.Alarms);
        Assert.Equal([(MagnetState.Unknown, MagnetState.Off), (MagnetState.Off, MagnetState.Ramping), (MagnetState.Ramping, MagnetState.AtSetpoint)],
            k.Changes);
    }

    [Fact]
    public async Task A_new_ramp_right_after_the_last_step_of_another_continues_from_that_step_within_dIdt()
    {
        var k = new MagnetTestKit(MagnetTestKit.Stepped);
        k.Supply.StartAt(0);
        await k.PollNow();
        await k.Controller.RampToAsync(100, 10);
        await k.Poll(10); // the last step (100 A) goes out after this poll's readback, which still shows 90 A
        Assert.Equal(100, k.Supply.Setpoint);
        Assert.Equal(90, k.Controller.Snapshot().SetpointAmps);
        k.Time.Advance(TimeSpan.FromSeconds(0.1));

        await k.Controller.RampToAsync(50, 10);
        await k.PollUntil(MagnetState.AtSetpoint);

        var steps = k.Supply.SetpointRequests.ToList();
        for (int i = 1; i < steps.Count; i++)
        {
            double seconds = (steps[i].Time - steps[i - 1].Time).TotalSeconds;
            Assert.True(Math.Abs(steps[i].Amps - steps[i - 1].Amps) <= (10 * seconds) + 1e-9,
                $"step {steps[i - 1].Amps} -> {steps[i].Amps} A in {seconds} s exceeds 10 A/s");
        }
        Assert.Equal(50, steps[^1].Amps);
    }

    [Fact]
    public async Task AtSetpoint_needs_the_current_within_tolerance_for_the_stable_time()
    {
        var k = new MagnetTestKit(MagnetTestKit.Stepped);
        k.Supply.StartAt(100);
        await k.PollNow();
        await k.Controller.RampToAsync(105, 10);
        await k.Poll(); // the whole 5 A step in one poll: the last setpoint is sent
        await k.Poll(); // the current follows within the poll: in tolerance from here
        DateTimeOffset inTolerance = k.Time.GetUtcNow();
        Assert.Equal(MagnetState.Ramping, k.State);

        await k.PollUntil(MagnetState.AtSetpoint);

        Assert.Equal(TimeSpan.FromSeconds(5), k.Time.GetUtcNow() - inTolerance);
    }

    [Fact]
    public async Task A_self_ramping_supply_gets_one_setpoint_and_is_watched_to_AtSetpoint()
    {
        var k = new MagnetTestKit(MagnetTestKit.SelfRamping);
        k.Supply.StartAt(0);
        await k.PollNow();
        Assert.Equal(MagnetState.AtSetpoint, k.State);

        var result = await k.Controller.RampToAsync(800);

        Assert.Equal(MagnetRequestOutcome.Done, result.Outcome);
        int polls = await k.PollUntil(MagnetState.AtSetpoint);
        Assert.Equal([800.0], k.Supply.SetpointRequests.Select(r => r.Amps));
        Assert.Single(k.Supply.Requests);
        Assert.InRange(polls, 200, 210); // the supply's own 4 A/s, plus the stable time
    }

    [Fact]
    public async Task First_contact_adopts_a_magnet_found_at_current_and_writes_nothing()
    {
        var k = new MagnetTestKit(MagnetTestKit.Stepped);
        k.Supply.StartAt(735);

        await k.PollNow();
        await k.Poll(20);

        Assert.Equal(MagnetState.AtSetpoint, k.State);
        Assert.Equal([(MagnetState.Unknown, MagnetState.AtSetpoint)], k.Changes);
        Assert.Equal(735, k.Controller.TargetAmps);
        Assert.Empty(k.Supply.Requests);
        Assert.Empty(k.Alarms);
    }

    [Fact]
    public async Task An_interlock_mid_ramp_latches_switches_the_output_off_and_raises_an_alarm_and_reset_recovers_once_the_cause_is_gone()
    {
        var k = new MagnetTestKit(MagnetTestKit.Stepped);
        await k.PollNow();
        await k.Controller.RampToAsync(800);
        await k.Poll(30);
        Assert.Equal(MagnetState.Ramping, k.State);
        int stepsBefore = k.Supply.SetpointRequests.Count();

        // Magnet over-temperature with the output still on: the controller must make it safe.
        k.Supply.InjectInterlock(MagnetConditions.OverTemperature, dropsOutput: false);
        await k.Poll();

        Assert.Equal(MagnetState.Interlocked, k.State);
        Assert.Equal(MagnetOutput.Off, k.Supply.Output);
        Assert.Equal("SwitchOff", k.Supply.Requests[^1].What);
        var alarm = Assert.Single(k.Alarms);
        Assert.Equal((AlarmSeverity.Major, MagnetAlarmKind.Interlocked), (alarm.Severity, alarm.Kind));
        Assert.Contains("during a ramp", alarm.Message, StringComparison.Ordinal);
        await k.Poll(20);
        Assert.Equal(stepsBefore, k.Supply.SetpointRequests.Count()); // no more steps
        Assert.Equal(MagnetState.Interlocked, k.State);
        await Assert.ThrowsAsync<MagnetCommandRefusedException>(() => k.Controller.RampToAsync(100));

        // Reset while the cause is there: the supply refuses it and the magnet stays latched.
        var refused = await Assert.ThrowsAsync<DeviceException>(() => k.Controller.ResetAsync());
        Assert.Contains("OverTemperature", refused.Message, StringComparison.Ordinal);
        await k.Poll();
        Assert.Equal(MagnetState.Interlocked, k.State);

        k.Supply.ClearCause();
        await k.Poll(3);
        Assert.Equal(MagnetState.Interlocked, k.State); // still latched: the cause went away, nobody reset
        Assert.Equal(MagnetRequestOutcome.Done, (await k.Controller.ResetAsync()).Outcome);
        await k.Poll();

        Assert.Equal(MagnetState.Off, k.State);
        Assert.Equal(0, k.Controller.TargetAmps);
        await k.Controller.RampToAsync(200);
        await k.PollUntil(MagnetState.AtSetpoint);
        Assert.Equal(200, k.Controller.TargetAmps);
    }

    [Fact]
    public async Task A_reset_the_supply_accepts_while_it_still_reports_the_cause_keeps_the_latch_and_says_so()
    {
        var k = new MagnetTestKit(MagnetTestKit.Stepped);
        k.Supply.StartAt(300);
        k.Supply.RefuseResetWhileCause = false;
        await k.PollNow();
        k.Supply.InjectInterlock(MagnetConditions.WaterFlow, dropsOutput: true);
        await k.Poll();
        Assert.Equal(MagnetState.Interlocked, k.State);

        await k.Controller.ResetAsync();
        await k.Poll();

        Assert.Equal(MagnetState.Interlocked, k.State);
        Assert.Contains(k.Alarms, a => a.Kind == MagnetAlarmKind.ResetIneffective && a.Message.Contains("WaterFlow", StringComparison.Ordinal));
        k.Supply.ClearCause();
        await k.Poll(2);
        Assert.Equal(MagnetState.Interlocked, k.State); // the earlier reset does not count
        await k.Controller.ResetAsync();
        await k.Poll();
        Assert.Equal(MagnetState.Off, k.State);
    }

    [Fact]
    public async Task A_fault_with_safe_action_ramp_down_steps_the_current_to_zero_within_dIdt_then_switches_off()
    {
        var settings = MagnetTestKit.TestSettings with { SafeAction = MagnetSafeAction.RampDown };
        var k = new MagnetTestKit(MagnetTestKit.Stepped, settings);
        k.Supply.StartAt(100);
        await k.PollNow();
        // Magnet over-temperature warning: the supply still regulates, the controller brings it down.
        k.Supply.InjectInterlock(MagnetConditions.OverTemperature, dropsOutput: false);
        await k.Poll();
        Assert.Equal(MagnetState.Interlocked, k.State);
        var faultTime = k.Time.GetUtcNow();

        await k.Poll(15);

        var steps = k.Supply.SetpointRequests.ToList();
        Assert.Equal(10, steps.Count);
        var (previousTime, previousAmps) = (faultTime, 100.0);
        foreach (var (time, amps) in steps)
        {
            Assert.True(Math.Abs(amps - previousAmps) <= (10 * (time - previousTime).TotalSeconds) + 1e-9);
            (previousTime, previousAmps) = (time, amps);
        }
        Assert.Equal(0, steps[^1].Amps);
        Assert.Equal("SwitchOff", k.Supply.Requests[^1].What);
        Assert.Equal(MagnetOutput.Off, k.Supply.Output);
        Assert.Equal(MagnetState.Interlocked, k.State);
    }

    [Fact]
    public async Task A_supply_fault_latches_Fault_and_is_released_by_a_confirmed_reset()
    {
        var k = new MagnetTestKit(MagnetTestKit.SelfRamping);
        k.Supply.StartAt(400);
        await k.PollNow();
        k.Supply.InjectFault(MagnetConditions.OverVoltage);
        await k.Poll();
        Assert.Equal(MagnetState.Fault, k.State);
        Assert.Equal("SwitchOff", k.Supply.Requests[^1].What); // output FAULT is not off: made off on purpose
        Assert.Contains(k.Alarms, a => a.Kind == MagnetAlarmKind.Fault && a.Severity == AlarmSeverity.Major);

        k.Supply.ClearCause();
        await k.Controller.ResetAsync();
        await k.Poll();

        Assert.Equal(MagnetState.Off, k.State);
    }

    [Fact]
    public async Task A_polarity_reversal_goes_through_zero_waits_there_then_switches_and_ramps_out()
    {
        var k = new MagnetTestKit(MagnetTestKit.Stepped);
        k.Supply.StartAt(100);
        await k.PollNow();

        await k.Controller.RampToAsync(-100);
        var phases = new List<MagnetRampPhase>();
        for (int i = 0; i < 200; i++)
        {
            await k.Poll();
            phases.Add(k.Controller.Snapshot().RampPhase);
            if (k.State == MagnetState.AtSetpoint) break;
        }

        Assert.Equal(MagnetState.AtSetpoint, k.State);
        var polarity = Assert.Single(k.Supply.Requests, r => r.What == "SetPolarity");
        Assert.Equal(-1, polarity.Value);
        var steps = k.Supply.SetpointRequests.ToList();
        var reachedZero = steps.First(s => s.Amps == 0).Time;
        Assert.True(polarity.Time - reachedZero >= TimeSpan.FromSeconds(10), $"polarity switched {polarity.Time - reachedZero} after the zero setpoint");
        Assert.All(steps.Where(s => s.Time < polarity.Time), s => Assert.True(s.Amps <= 100));
        Assert.All(steps.Where(s => s.Time > polarity.Time), s => Assert.True(s.Amps > 0)); // out again, reversed
        Assert.Contains(MagnetRampPhase.WaitAtZero, phases);
        var snapshot = k.Controller.Snapshot();
        Assert.Equal(MagnetPolarity.Reversed, snapshot.Polarity);
        Assert.InRange(snapshot.Amps!.Value, -101, -99);
        Assert.InRange(snapshot.FieldTeslaMetres!.Value, -0.876, -0.874);
        Assert.Empty(k.Alarms);
    }

    [Fact]
    public async Task A_self_ramping_supply_reverses_with_two_setpoints_zero_then_the_target_and_the_wait_at_zero()
    {
        var k = new MagnetTestKit(MagnetTestKit.SelfRamping with { HasPolaritySwitch = true });
        k.Supply.StartAt(40);
        await k.PollNow();

        await k.Controller.RampToAsync(-40);
        await k.Poll();
        Assert.Equal(MagnetRampPhase.ToZero, k.Controller.Snapshot().RampPhase);
        await k.PollUntil(MagnetState.AtSetpoint);

        Assert.Equal(["SetCurrent 0", "SetPolarity -1", "SetCurrent 40"], k.Supply.Requests.Select(r => $"{r.What} {r.Value}"));
        var atZero = k.Supply.Requests[0].Time + TimeSpan.FromSeconds(10); // 40 A at the supply's 4 A/s
        Assert.True(k.Supply.Requests[1].Time >= atZero + TimeSpan.FromSeconds(10), "polarity switched before the wait at zero");
        Assert.Equal(-40, k.Controller.Snapshot().TargetAmps);
        Assert.InRange(k.Controller.Snapshot().Amps!.Value, -41, -39);
    }

    [Fact]
    public async Task A_beam_line_magnet_goes_to_standby_and_a_ramp_from_standby_switches_it_on_first()
    {
        var k = new MagnetTestKit(MagnetTestKit.BeamLine);
        await k.PollNow();
        Assert.Equal(MagnetState.Off, k.State);

        await k.Controller.StandbyAsync();
        await k.Poll();
        Assert.Equal(MagnetState.Standby, k.State);
        await k.Controller.RampToAsync(100);
        await k.PollUntil(MagnetState.AtSetpoint);

        Assert.Equal(["Standby", "SwitchOn", "SetCurrent"], k.Supply.Requests.Select(r => r.What));
    }

    [Fact]
    public async Task A_request_held_for_an_operator_is_shown_pending_and_done_only_when_the_readbacks_show_it()
    {
        var k = new MagnetTestKit(MagnetTestKit.BeamLine);
        k.Supply.StartAt(700);
        await k.PollNow();
        k.Supply.Approval = Approval.Pending;

        var result = await k.Controller.RampToAsync(735);

        Assert.Equal(MagnetRequestOutcome.PendingOperator, result.Outcome);
        await k.Poll(10);
        var s = k.Controller.Snapshot();
        Assert.Equal(MagnetState.AtSetpoint, s.State); // still at its old current, and shown so
        Assert.Equal(700, s.TargetAmps);
        Assert.Contains("735", s.PendingRequest, StringComparison.Ordinal);
        Assert.Contains(k.Alarms, a => a.Kind == MagnetAlarmKind.RequestPending);

        k.Supply.Approve();
        await k.Poll();
        Assert.Null(k.Controller.Snapshot().PendingRequest);
        Assert.Equal(735, k.Controller.TargetAmps);
        Assert.Equal(MagnetState.Ramping, k.State);
        await k.PollUntil(MagnetState.AtSetpoint);
    }

    [Fact]
    public async Task A_denied_request_is_shown_with_its_reason_and_changes_nothing()
    {
        var k = new MagnetTestKit(MagnetTestKit.BeamLine);
        k.Supply.StartAt(700);
        await k.PollNow();
        k.Supply.Approval = Approval.Deny;

        var result = await k.Controller.RampToAsync(800);

        Assert.Equal(MagnetRequestOutcome.Denied, result.Outcome);
        await k.Poll(10);
        var s = k.Controller.Snapshot();
        Assert.Equal(MagnetState.AtSetpoint, s.State);
        Assert.Equal(700, s.TargetAmps);
        Assert.Equal(700, k.Supply.Setpoint);
        Assert.Contains("no beam-line control token", s.LastDenied, StringComparison.Ordinal);
        var alarm = Assert.Single(k.Alarms);
        Assert.Equal((AlarmSeverity.Major, MagnetAlarmKind.RequestDenied), (alarm.Severity, alarm.Kind));
    }

    [Fact]
    public async Task N_consecutive_failed_reads_make_the_magnet_Disconnected_and_a_good_read_brings_it_back_without_a_write()
    {
        var k = new MagnetTestKit(MagnetTestKit.Stepped);
        k.Supply.StartAt(735);
        await k.PollNow();
        k.Supply.FailReads = 2;
        await k.Poll(2);
        Assert.Equal(MagnetState.AtSetpoint, k.State); // two in a row are not three
        await k.Poll(); // a good one resets the count
        k.Supply.FailReads = 3;
        await k.Poll(2);
        Assert.Equal(2, k.Controller.Snapshot().ConsecutiveFailures);

        await k.Poll();

        Assert.Equal(MagnetState.Disconnected, k.State);
        var alarm = Assert.Single(k.Alarms);
        Assert.Equal((AlarmSeverity.Invalid, MagnetAlarmKind.Disconnected), (alarm.Severity, alarm.Kind));
        await Assert.ThrowsAsync<MagnetCommandRefusedException>(() => k.Controller.RampToAsync(700));
        Assert.Equal(5, k.Poller.FailedCycles);

        await k.Poll();

        Assert.Equal(MagnetState.AtSetpoint, k.State);
        Assert.Equal(735, k.Controller.TargetAmps);
        Assert.Empty(k.Supply.Requests);
    }

    [Fact]
    public async Task A_ramp_under_way_stops_at_a_disconnect_and_the_supplys_setpoint_is_adopted_on_reconnect()
    {
        var k = new MagnetTestKit(MagnetTestKit.Stepped);
        await k.PollNow();
        await k.Controller.RampToAsync(800);
        await k.Poll(10);
        int steps = k.Supply.SetpointRequests.Count();
        k.Supply.FailReads = 3;
        await k.Poll(3);
        Assert.Equal(MagnetState.Disconnected, k.State);
        Assert.Contains("ramp to 800 A stopped", k.Alarms[^1].Message, StringComparison.Ordinal);

        await k.PollUntil(MagnetState.AtSetpoint);

        Assert.Equal(steps, k.Supply.SetpointRequests.Count());
        Assert.Equal(k.Supply.Setpoint, k.Controller.TargetAmps);
    }

    [Fact]
    public async Task Limits_are_refused_in_one_line_with_nothing_sent()
    {
        var k = new MagnetTestKit(MagnetTestKit.SelfRamping);
        k.Supply.StartAt(100);
        await k.PollNow();

        var tooHigh = await Assert.ThrowsAsync<SetpointOutOfRangeException>(() => k.Controller.RampToAsync(901));
        Assert.Equal("MBPL: current (A) = 901 refused, supply maxAmps is 900", tooHigh.Message);
        var tooFast = await Assert.ThrowsAsync<SetpointOutOfRangeException>(() => k.Controller.RampToAsync(200, 10.5));
        Assert.Equal("MBPL: dI/dt (A/s) = 10.5 refused, maxRampAmpsPerSecond is 10", tooFast.Message);
        var negative = await Assert.ThrowsAsync<SetpointOutOfRangeException>(() => k.Controller.RampToAsync(-50));
        Assert.Contains("without a polarity switch", negative.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<SetpointOutOfRangeException>(() => k.Controller.RampToAsync(double.NaN));
        await Assert.ThrowsAsync<SetpointOutOfRangeException>(() => k.Controller.RampToAsync(200, 0));
        var field = await Assert.ThrowsAsync<SetpointOutOfRangeException>(() => k.Controller.RampToFieldAsync(7.5));
        Assert.Equal("MBPL1+MBPL2: field (T·m) = 7.5 refused, calibration table maximum is 7", field.Message);
        var standby = await Assert.ThrowsAsync<MagnetCommandRefusedException>(() => k.Controller.StandbyAsync());
        Assert.Equal("MBPL: Standby refused: this supply has no standby", standby.Message);

        Assert.Empty(k.Supply.Requests);
        Assert.Equal(MagnetState.AtSetpoint, k.State);
    }

    [Fact]
    public async Task Commands_before_the_first_readback_and_in_local_are_refused_with_nothing_sent()
    {
        var k = new MagnetTestKit(MagnetTestKit.Stepped);
        var early = await Assert.ThrowsAsync<MagnetCommandRefusedException>(() => k.Controller.RampToAsync(100));
        Assert.Equal("MBPL: RampTo refused: no readback from the supply yet", early.Message);
        k.Supply.Cause = MagnetConditions.Local;
        await k.PollNow();

        var local = await Assert.ThrowsAsync<MagnetCommandRefusedException>(() => k.Controller.SwitchOnAsync());

        Assert.Contains("LOCAL", local.Message, StringComparison.Ordinal);
        Assert.Empty(k.Supply.Requests);
    }

    [Fact]
    public async Task A_field_or_a_momentum_is_turned_into_a_current_through_the_calibration()
    {
        var k = new MagnetTestKit(MagnetTestKit.SelfRamping);
        k.Supply.StartAt(0);
        await k.PollNow();

        await k.Controller.RampToMomentumAsync(100, 0.020);

        double expected = 100 * 0.020 / 0.299792458 / 7.0 * 800;
        Assert.Equal(expected, k.Supply.SetpointRequests.Single().Amps, 9);
    }

    [Fact]
    public async Task A_handler_awaiting_a_command_on_the_same_magnet_does_not_deadlock()
    {
        var k = new MagnetTestKit(MagnetTestKit.Stepped);
        k.Supply.StartAt(300);
        await k.PollNow();
        var handled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        k.Controller.StateChanged += async (_, to) =>
        {
            if (to != MagnetState.Interlocked) return;
            try
            {
                await k.Controller.SwitchOffAsync();
                handled.SetResult();
            }
            catch (Exception e) when (e is MagnetCommandRefusedException or DeviceException)
            {
                handled.SetException(e);
            }
        };
        var alarmHandled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        k.Controller.AlarmRaised += async a =>
        {
            if (a.Kind != MagnetAlarmKind.Interlocked) return;
            try
            {
                await Assert.ThrowsAsync<DeviceException>(() => k.Controller.ResetAsync()); // cause still there
                alarmHandled.SetResult();
            }
            catch (Exception e) when (e is MagnetCommandRefusedException or Xunit.Sdk.XunitException)
            {
                alarmHandled.SetException(e);
            }
        };
        k.Supply.InjectInterlock(MagnetConditions.Door, dropsOutput: true);

        await k.Poll();

        // The gate was free when the handlers ran: their commands went out before the poll returned.
        Assert.True(handled.Task.IsCompleted, "StateChanged handler's SwitchOff completed within the poll");
        Assert.True(alarmHandled.Task.IsCompleted, "AlarmRaised handler's Reset completed within the poll");
        await handled.Task.WaitAsync(TimeSpan.FromSeconds(30)); // deadlock guard only, not a timing assertion
        await alarmHandled.Task.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(["SwitchOff"], k.Supply.Requests.Select(r => r.What)); // output already off: only the handler's
    }

    [Fact]
    public async Task Events_are_raised_in_order_and_a_failing_handler_does_not_stop_the_others()
    {
        var k = new MagnetTestKit(MagnetTestKit.Stepped);
        k.Controller.StateChanged += (_, _) => throw new InvalidOperationException("subscriber bug");
        var after = new List<MagnetState>();
        k.Controller.StateChanged += (_, to) => after.Add(to);

        await k.PollNow();
        k.Supply.InjectInterlock(MagnetConditions.Interlock, dropsOutput: true);
        await k.Poll();

        Assert.Equal([MagnetState.Off, MagnetState.Interlocked], after);
    }

    [Fact]
    public void Settings_out_of_range_are_refused_in_one_line()
    {
        var bad = MagnetTestKit.TestSettings with { RampAmpsPerSecond = 12 };
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => bad.Validate());
        Assert.StartsWith("magnet rampAmpsPerSecond = 12, must be > 0 and <= maxRampAmpsPerSecond 10", e.Message, StringComparison.Ordinal);
        MagnetSettings.Default.Validate();
    }
}
