using Moq;
using NA64.Hardware.Errors;
using NA64.Hardware.Hv;
using NA64.SlowControl.Hv;
using static NA64.Hardware.Hv.HvChannelStatus;

namespace NA64.SlowControl.Tests.Hv;

public class HvChannelControllerTests
{
    [Fact]
    public async Task First_contact_writes_nothing_and_follows_the_readback()
    {
        var k = new HvTestKit();
        Assert.Equal(HvChannelState.Unknown, k.Controller.State);

        await k.Feed(0, 0, None);
        await k.Feed(0, 0, None);

        Assert.Equal(HvChannelState.Off, k.Controller.State);
        Assert.Empty(k.Writes);
        Assert.Equal(HvParameter.None, k.Controller.Snapshot().OperatorSet);
    }

    [Fact]
    public async Task A_channel_found_on_stays_on_at_its_VSET_with_no_write()
    {
        var k = new HvTestKit();

        await k.Feed(548, 548.2, On);
        for (int i = 0; i < 5; i++)
        {
            k.Time.Advance(TimeSpan.FromSeconds(1));
            await k.Feed(548, 548.1, On);
        }

        Assert.Equal(HvChannelState.On, k.Controller.State);
        Assert.Equal(548, k.Controller.TargetVolts);
        Assert.Empty(k.Writes);
        Assert.Empty(k.Alarms);
        // A trip of the adopted channel is recovered towards the VSET it was found at, not the setup's nominal.
        await k.Feed(548, 0, Tripped, imon: 1.2);
        k.VerifyVoltage(528, Times.Once());
    }

    [Fact]
    public async Task Ramp_up_is_confirmed_only_by_readbacks()
    {
        var k = new HvTestKit();
        await k.StartOff();
        var progress = new List<HvRampProgress>();

        var ramp = k.Controller.RampAsync(565, new SyncProgress<HvRampProgress>(progress.Add));

        // The switch-on writes this channel's settings (the setup's here), then VSET, then ON.
        Assert.Equal(["SetCurrentLimitAsync", "SetRampUpAsync", "SetRampDownAsync", "SetVoltageAsync", "SwitchOnAsync"], k.Writes);
        k.Hw.Verify(h => h.SetCurrentLimitAsync(1.2, It.IsAny<CancellationToken>()), Times.Once);
        k.Hw.Verify(h => h.SetRampUpAsync(5, It.IsAny<CancellationToken>()), Times.Once);
        k.Hw.Verify(h => h.SetRampDownAsync(10, It.IsAny<CancellationToken>()), Times.Once);
        k.VerifyVoltage(565, Times.Once());
        k.VerifyOn(Times.Once());
        Assert.Equal(HvChannelState.Off, k.Controller.State); // sent, not yet seen
        Assert.False(ramp.IsCompleted);

        await k.Feed(565, 120, On | RampingUp);
        Assert.Equal(HvChannelState.RampingUp, k.Controller.State);
        await k.Feed(565, 563.9, On | RampingUp);
        Assert.Equal(HvChannelState.RampingUp, k.Controller.State); // within tolerance but RUP still set
        Assert.False(ramp.IsCompleted);
        await k.Feed(565, 560, On);
        Assert.Equal(HvChannelState.OutOfTolerance, k.Controller.State); // no RUP, 5 V short
        Assert.False(ramp.IsCompleted);

        await k.Feed(565, 564.8, On);

        Assert.Equal(HvChannelState.On, k.Controller.State);
        await ramp;
        Assert.Equal([120, 563.9, 560, 564.8], progress.Select(p => p.VMon));
        Assert.Empty(k.Alarms);
    }

    [Fact]
    public async Task Switch_off_follows_the_ramp_down()
    {
        var k = new HvTestKit();
        await k.StartOn();

        await k.Controller.SwitchOffAsync();
        k.Hw.Verify(h => h.SwitchOffAsync(It.IsAny<CancellationToken>()), Times.Once);
        Assert.Equal(HvChannelState.On, k.Controller.State);

        await k.Feed(565, 300, RampingDown);
        Assert.Equal(HvChannelState.RampingDown, k.Controller.State);
        await k.Feed(565, 0.4, None);
        Assert.Equal(HvChannelState.Off, k.Controller.State);
    }

    [Fact]
    public async Task Trip_is_recovered_in_two_steps()
    {
        var k = new HvTestKit();
        await k.StartOn();

        await k.Feed(565, 0, Tripped, imon: 1.2);

        Assert.Equal(HvChannelState.RecoveryStepDown, k.Controller.State);
        var trip = Assert.Single(k.Alarms);
        Assert.Equal(HvAlarmKind.Tripped, trip.Kind);
        Assert.Equal(AlarmSeverity.Minor, trip.Severity);
        Assert.Contains("1.2 uA", trip.Message, StringComparison.Ordinal);
        k.VerifyVoltage(545, Times.Once());
        k.VerifyOn(Times.Once());
        k.VerifyVoltage(565, Times.Never());

        await k.Feed(545, 200, On | RampingUp);
        Assert.Equal(HvChannelState.RecoveryStepDown, k.Controller.State);
        await k.Feed(545, 544.5, On);
        Assert.Equal(HvChannelState.RecoveryHold, k.Controller.State);

        k.Time.Advance(TimeSpan.FromSeconds(20));
        await k.Feed(545, 544.6, On);
        Assert.Equal(HvChannelState.RecoveryHold, k.Controller.State); // not stable long enough
        k.VerifyVoltage(565, Times.Never());

        k.Time.Advance(TimeSpan.FromSeconds(10));
        await k.Feed(545, 544.6, On);
        Assert.Equal(HvChannelState.RecoveryToNominal, k.Controller.State);
        k.VerifyVoltage(565, Times.Once());

        await k.Feed(565, 552, On | RampingUp);
        Assert.Equal(HvChannelState.RecoveryToNominal, k.Controller.State);
        await k.Feed(565, 565.1, On);

        Assert.Equal(HvChannelState.On, k.Controller.State);
        Assert.Equal(565, k.Controller.TargetVolts);
        Assert.Equal(1, k.Controller.Snapshot().RecoveriesLastHour);
    }

    [Fact]
    public async Task Recovery_hold_restarts_its_clock_when_the_channel_is_not_stable()
    {
        var k = new HvTestKit();
        await k.StartOn();
        await k.Feed(565, 0, Tripped, imon: 1.2);
        await k.Feed(545, 544.9, On);
        Assert.Equal(HvChannelState.RecoveryHold, k.Controller.State);

        k.Time.Advance(TimeSpan.FromSeconds(25));
        await k.Feed(545, 530, On | OverCurrent, imon: 1.2); // current limiting pulls VMON down
        k.Time.Advance(TimeSpan.FromSeconds(25));
        await k.Feed(545, 545, On);
        Assert.Equal(HvChannelState.RecoveryHold, k.Controller.State); // 50 s since step, only 25 s stable

        k.Time.Advance(TimeSpan.FromSeconds(5));
        await k.Feed(545, 545, On);
        Assert.Equal(HvChannelState.RecoveryToNominal, k.Controller.State);
    }

    [Fact]
    public async Task Budget_exhausted_leaves_the_channel_tripped_with_a_major_alarm()
    {
        var k = new HvTestKit(maxRecoveriesPerHour: 2);
        await k.StartOn();

        for (int i = 0; i < 2; i++)
        {
            await k.Feed(565, 0, Tripped, imon: 1.2);
            Assert.Equal(HvChannelState.RecoveryStepDown, k.Controller.State);
            await k.Feed(545, 545, On);
            k.Time.Advance(TimeSpan.FromSeconds(31));
            await k.Feed(545, 545, On);
            await k.Feed(565, 565, On);
            Assert.Equal(HvChannelState.On, k.Controller.State);
            k.Time.Advance(TimeSpan.FromMinutes(5));
        }
        k.Hw.Invocations.Clear();

        await k.Feed(565, 0, Tripped, imon: 1.25);

        Assert.Equal(HvChannelState.Tripped, k.Controller.State);
        k.VerifyOn(Times.Never());
        var last = k.Alarms[^1];
        Assert.Equal(HvAlarmKind.RecoveryBudgetExhausted, last.Kind);
        Assert.Equal(AlarmSeverity.Major, last.Severity);
        Assert.Contains("max 2", last.Message, StringComparison.Ordinal);

        // TRIP stays latched: later readbacks change nothing.
        k.Time.Advance(TimeSpan.FromMinutes(10));
        await k.Feed(565, 0, Tripped);
        Assert.Equal(HvChannelState.Tripped, k.Controller.State);
        k.VerifyOn(Times.Never());

        // The operator may still switch it on; ON clears the latch and the state follows.
        await k.Controller.SwitchOnAsync();
        k.VerifyOn(Times.Once());
        await k.Feed(565, 100, On | RampingUp);
        Assert.Equal(HvChannelState.RampingUp, k.Controller.State);
    }

    [Fact]
    public async Task Recovery_budget_is_a_sliding_hour()
    {
        var k = new HvTestKit(maxRecoveriesPerHour: 1);
        await k.StartOn();
        await k.Feed(565, 0, Tripped, imon: 1.2);
        Assert.Equal(HvChannelState.RecoveryStepDown, k.Controller.State);
        await k.Feed(545, 545, On);
        k.Time.Advance(TimeSpan.FromSeconds(30));
        await k.Feed(545, 545, On);
        await k.Feed(565, 565, On);

        k.Time.Advance(TimeSpan.FromMinutes(30));
        await k.Feed(565, 0, Tripped, imon: 1.2);
        Assert.Equal(HvChannelState.Tripped, k.Controller.State);

        await k.Controller.SwitchOnAsync();
        await k.Feed(565, 565, On);
        k.Time.Advance(TimeSpan.FromMinutes(31)); // first recovery now more than an hour ago
        await k.Feed(565, 0, Tripped, imon: 1.2);
        Assert.Equal(HvChannelState.RecoveryStepDown, k.Controller.State);
    }

    [Fact]
    public async Task A_trip_during_a_ramp_fails_the_ramp_with_the_reason()
    {
        var k = new HvTestKit();
        await k.StartOff();
        var ramp = k.Controller.RampAsync(565);
        await k.Feed(565, 400, On | RampingUp);

        await k.Feed(565, 0, Tripped, imon: 1.21);

        var e = await Assert.ThrowsAsync<HvRampFailedException>(() => ramp);
        Assert.Contains("tripped at 1.21 uA", e.Message, StringComparison.Ordinal);
        Assert.Equal("MM1.strips", e.Channel);
    }

    [Fact]
    public async Task Interlock_holds_the_channel_until_an_operator_switches_it_on()
    {
        var k = new HvTestKit();
        await k.StartOn();

        await k.Feed(565, 0, Interlock, interlock: true);
        Assert.Equal(HvChannelState.Interlocked, k.Controller.State);
        var alarm = Assert.Single(k.Alarms);
        Assert.Equal((HvAlarmKind.Interlocked, AlarmSeverity.Major), (alarm.Kind, alarm.Severity));

        var refused = await Assert.ThrowsAsync<HvCommandRefusedException>(() => k.Controller.SwitchOnAsync());
        Assert.Contains("interlock still active", refused.Message, StringComparison.Ordinal);
        k.VerifyOn(Times.Never());

        // Interlock input released: the channel is off, but stays Interlocked until an operator acts.
        await k.Feed(565, 0, None);
        await k.Feed(565, 0, None);
        Assert.Equal(HvChannelState.Interlocked, k.Controller.State);

        await k.Controller.SwitchOnAsync();
        k.VerifyOn(Times.Once());
        Assert.Equal(HvChannelState.Interlocked, k.Controller.State); // until the readback shows it
        await k.Feed(565, 50, On | RampingUp);
        Assert.Equal(HvChannelState.RampingUp, k.Controller.State);
    }

    [Fact]
    public async Task Interlock_bit_alone_is_enough()
    {
        var k = new HvTestKit();
        await k.StartOn();
        await k.Feed(565, 0, Interlock);
        Assert.Equal(HvChannelState.Interlocked, k.Controller.State);
    }

    [Fact]
    public async Task Disconnect_then_reconnect_pushes_back_what_the_switch_on_wrote_and_follows_readbacks()
    {
        var k = new HvTestKit();
        await k.StartOff();
        await k.Controller.SwitchOnAsync(560);
        await k.Feed(560, 559.5, On);
        Assert.Equal(HvChannelState.On, k.Controller.State);
        k.Hw.Invocations.Clear();

        await k.Controller.OnPollFailedAsync(new DeviceTimeoutException("sim", "$BD:00,CMD:MON,CH:4,PAR:VMON", TimeSpan.FromMilliseconds(500)));

        Assert.Equal(HvChannelState.Disconnected, k.Controller.State);
        var alarm = Assert.Single(k.Alarms);
        Assert.Equal((HvAlarmKind.Disconnected, AlarmSeverity.Invalid), (alarm.Kind, alarm.Severity));
        await Assert.ThrowsAsync<HvCommandRefusedException>(() => k.Controller.SetVoltageAsync(550));

        // The board came back (e.g. power-cycled, so it lost VSET and is off).
        await k.Feed(0, 0, None);

        k.VerifyVoltage(560, Times.Once());
        k.Hw.Verify(h => h.SetCurrentLimitAsync(1.2, It.IsAny<CancellationToken>()), Times.Once);
        k.Hw.Verify(h => h.SetRampUpAsync(5, It.IsAny<CancellationToken>()), Times.Once);
        k.Hw.Verify(h => h.SetRampDownAsync(10, It.IsAny<CancellationToken>()), Times.Once);
        k.VerifyOn(Times.Never()); // settings only: switching on stays an operator decision
        Assert.Equal(HvChannelState.Off, k.Controller.State);
    }

    [Fact]
    public async Task Reconnect_with_nothing_set_by_an_operator_writes_nothing_and_returns_to_On()
    {
        var k = new HvTestKit();
        await k.StartOn();
        await k.Controller.OnPollFailedAsync(new TransportDisconnectedException("tcp:ndt1470:1470"));
        await k.Controller.OnPollFailedAsync(new TransportDisconnectedException("tcp:ndt1470:1470"));
        Assert.Single(k.Alarms);

        await k.Feed(565, 565, On);

        Assert.Equal(HvChannelState.On, k.Controller.State);
        Assert.Empty(k.Writes);
    }

    [Fact]
    public async Task Reconnect_pushes_back_only_the_parameters_an_operator_set()
    {
        var k = new HvTestKit();
        await k.StartOn();
        await k.Controller.SetRampUpAsync(7);
        await k.Controller.SetCurrentLimitAsync(1.1);
        k.Hw.Invocations.Clear();
        await k.Controller.OnPollFailedAsync(new TransportDisconnectedException("sim"));
        Assert.Empty(k.Writes);

        await k.Feed(565, 565, On, iset: 0.5); // the board lost its ISET (and RUP) while away

        Assert.Equal(["SetCurrentLimitAsync", "SetRampUpAsync"], k.Writes);
        k.Hw.Verify(h => h.SetCurrentLimitAsync(1.1, It.IsAny<CancellationToken>()), Times.Once);
        k.Hw.Verify(h => h.SetRampUpAsync(7, It.IsAny<CancellationToken>()), Times.Once);
        Assert.Equal(HvChannelState.On, k.Controller.State);

        // Pushed once per reconnect, not on every readback.
        await k.Feed(565, 565, On);
        Assert.Equal(2, k.Writes.Count);
    }

    [Fact]
    public async Task Reconnect_in_LOCAL_mode_waits_for_REMOTE_before_pushing_back()
    {
        var k = new HvTestKit();
        await k.StartOff();
        await k.Controller.SetRampDownAsync(8);
        k.Hw.Invocations.Clear();
        await k.Controller.OnPollFailedAsync(new TransportDisconnectedException("sim"));

        await k.Feed(565, 0, None, local: true);
        Assert.Empty(k.Writes);

        await k.Feed(565, 0, None);
        Assert.Equal(["SetRampDownAsync"], k.Writes);
    }

    [Fact]
    public async Task Reconnect_that_times_out_while_pushing_stays_disconnected()
    {
        var k = new HvTestKit();
        await k.StartOn();
        await k.Controller.SetCurrentLimitAsync(1.1);
        await k.Controller.OnPollFailedAsync(new TransportDisconnectedException("sim"));
        k.Hw.Setup(h => h.SetCurrentLimitAsync(It.IsAny<double>(), It.IsAny<CancellationToken>()))
            .ThrowsAsync(new DeviceTimeoutException("sim", "$BD:00,CMD:SET,CH:1,PAR:ISET,VAL:1.20", TimeSpan.FromMilliseconds(500)));

        await k.Feed(565, 565, On);

        Assert.Equal(HvChannelState.Disconnected, k.Controller.State);
    }

    [Fact]
    public async Task Setup_limits_are_checked_before_any_byte_is_sent()
    {
        var k = new HvTestKit();
        await k.StartOff();

        var vset = await Assert.ThrowsAsync<SetpointOutOfRangeException>(() => k.Controller.RampAsync(650));
        var rup = await Assert.ThrowsAsync<SetpointOutOfRangeException>(() => k.Controller.SetRampUpAsync(11));
        var rdw = await Assert.ThrowsAsync<SetpointOutOfRangeException>(() => k.Controller.SetRampDownAsync(-1));
        var iset = await Assert.ThrowsAsync<SetpointOutOfRangeException>(() => k.Controller.SetCurrentLimitAsync(1.5));

        Assert.Equal("MM1.strips: VSET = 650 refused, setup maxVolts is 600", vset.Message);
        Assert.Equal("MM1.strips: RUP = 11 refused, setup maxRampVoltsPerSecond is 10", rup.Message);
        Assert.Equal("MM1.strips: RDW = -1 refused, minimum is 0", rdw.Message);
        Assert.Equal("MM1.strips: ISET = 1.5 refused, setup maxMicroamps is 1.3", iset.Message);
        Assert.Empty(k.Writes);
        Assert.Equal(565, k.Controller.TargetVolts);
        Assert.Equal(new HvChannelSettings(565, 1.2, 5, 10), k.Controller.Snapshot().Settings);
        Assert.Equal(HvChannelState.Off, k.Controller.State);
    }

    [Fact]
    public async Task Limit_refusal_by_the_driver_surfaces_and_changes_nothing()
    {
        var k = new HvTestKit();
        await k.StartOff();
        k.Hw.Setup(h => h.SetVoltageAsync(590, It.IsAny<CancellationToken>()))
            .ThrowsAsync(new SetpointOutOfRangeException("MM1.strips", "VSET", 590, 580, "board VMAX"));

        var e = await Assert.ThrowsAsync<SetpointOutOfRangeException>(() => k.Controller.RampAsync(590));

        Assert.Contains("board VMAX is 580", e.Message, StringComparison.Ordinal);
        k.VerifyOn(Times.Never());
        Assert.Equal(565, k.Controller.TargetVolts);
        Assert.Equal(HvChannelState.Off, k.Controller.State);

        // The controller is still usable afterwards.
        await k.Controller.SwitchOnAsync(565);
        k.VerifyOn(Times.Once());
    }

    [Fact]
    public async Task An_operator_ramp_rate_is_written_at_once_and_kept_for_later_switch_ons()
    {
        var k = new HvTestKit();
        await k.StartOff();

        await k.Controller.SetRampUpAsync(7);
        Assert.Equal(["SetRampUpAsync"], k.Writes);
        k.Hw.Verify(h => h.SetRampUpAsync(7, It.IsAny<CancellationToken>()), Times.Once);

        await k.Controller.SwitchOnAsync();
        await k.Feed(565, 565, On);
        await k.Controller.SwitchOffAsync();
        await k.Feed(565, 0, None);
        await k.Controller.SwitchOnAsync();

        k.Hw.Verify(h => h.SetRampUpAsync(7, It.IsAny<CancellationToken>()), Times.Exactly(3));
        k.Hw.Verify(h => h.SetRampUpAsync(5, It.IsAny<CancellationToken>()), Times.Never);
        var snapshot = k.Controller.Snapshot();
        Assert.Equal(new HvChannelSettings(565, 1.2, 7, 10), snapshot.Settings);
        Assert.True(snapshot.OperatorSet.HasFlag(HvParameter.RampUp));
    }

    [Fact]
    public async Task A_setting_does_not_supersede_a_waiting_ramp()
    {
        var k = new HvTestKit();
        await k.StartOff();
        var ramp = k.Controller.RampAsync(565);

        await k.Controller.SetRampDownAsync(9);
        await k.Feed(565, 565, On);

        await ramp;
    }

    [Fact]
    public async Task Settings_are_refused_in_LOCAL_mode_and_before_the_first_readback()
    {
        var k = new HvTestKit();
        var unknown = await Assert.ThrowsAsync<HvCommandRefusedException>(() => k.Controller.SetRampUpAsync(7));
        Assert.Equal(HvCommand.SetRampUp, unknown.Command);
        Assert.Contains("no readback", unknown.Message, StringComparison.Ordinal);

        await k.Feed(565, 0, None, local: true);
        var local = await Assert.ThrowsAsync<HvCommandRefusedException>(() => k.Controller.SetCurrentLimitAsync(1));
        Assert.Equal("MM1.strips: SetCurrentLimit refused: board HV-MM12 is in LOCAL mode (front panel); it refuses every SET", local.Message);
        await Assert.ThrowsAsync<HvCommandRefusedException>(() => k.Controller.ApplyAsync());
        Assert.Empty(k.Writes);
    }

    [Fact]
    public async Task Apply_dry_run_lists_the_differences_and_apply_writes_exactly_them()
    {
        var k = new HvTestKit();
        await k.Feed(500, 0, None, iset: 1.0);
        await k.Controller.SetRampUpAsync(7);
        k.Hw.Invocations.Clear();

        var plan = k.Controller.PlanApply();

        Assert.Equal(
            [
                new HvSettingDifference(HvParameter.VSet, 500, 565),
                new HvSettingDifference(HvParameter.ISet, 1.0, 1.2),
                new HvSettingDifference(HvParameter.RampUp, null, 5), // a poll does not read RUP/RDW: "not read back"
                new HvSettingDifference(HvParameter.RampDown, null, 10),
            ],
            plan);
        Assert.False(plan[2].ReadBack);
        Assert.Empty(k.Writes); // a dry run writes nothing

        await k.Controller.ApplyAsync();

        Assert.Equal(["SetVoltageAsync", "SetCurrentLimitAsync", "SetRampUpAsync", "SetRampDownAsync"], k.Writes);
        k.VerifyVoltage(565, Times.Once());
        k.Hw.Verify(h => h.SetRampUpAsync(5, It.IsAny<CancellationToken>()), Times.Once); // the operator's 7 is replaced
        Assert.Equal(new HvChannelSettings(565, 1.2, 5, 10), k.Controller.Snapshot().Settings);
        k.VerifyOn(Times.Never());
    }

    [Fact]
    public async Task Apply_during_a_ramp_not_yet_seen_leaves_its_VSET_and_the_ramp_completes()
    {
        var k = new HvTestKit();
        await k.Feed(500, 0, None);
        var ramp = k.Controller.RampAsync(550);
        k.Hw.Invocations.Clear();

        await k.Controller.ApplyAsync();
        await k.Feed(550, 550, On);

        k.Hw.Verify(h => h.SetVoltageAsync(It.IsAny<double>(), It.IsAny<CancellationToken>()), Times.Never);
        await ramp;
    }

    [Fact]
    public async Task Apply_leaves_the_VSET_of_a_channel_that_is_on()
    {
        var k = new HvTestKit();
        await k.Feed(548, 548, On); // adopted at 548 V; the setup says 565 V

        var plan = k.Controller.PlanApply();
        await k.Controller.ApplyAsync();

        Assert.DoesNotContain(plan, d => d.Parameter == HvParameter.VSet);
        Assert.Equal(["SetRampUpAsync", "SetRampDownAsync"], k.Writes); // ISET already equal, VSET left alone
        Assert.Equal(548, k.Controller.TargetVolts);
    }

    [Fact]
    public async Task Local_mode_refuses_commands_before_anything_is_sent()
    {
        var k = new HvTestKit();
        await k.StartOff();
        await k.Feed(565, 0, None, local: true);

        var e = await Assert.ThrowsAsync<HvCommandRefusedException>(() => k.Controller.SwitchOnAsync());

        Assert.Contains("LOCAL", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(k.Hw.Invocations, i => i.Method.Name.StartsWith("S", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Commands_before_the_first_readback_are_refused()
    {
        var k = new HvTestKit();
        var e = await Assert.ThrowsAsync<HvCommandRefusedException>(() => k.Controller.SwitchOnAsync());
        Assert.Contains("no readback", e.Message, StringComparison.Ordinal);
        Assert.Equal(HvCommand.SwitchOn, e.Command);
        Assert.Empty(k.Writes);
    }

    [Fact]
    public async Task Killed_channel_refuses_switch_on_and_follows_the_release()
    {
        var k = new HvTestKit();
        await k.StartOn();
        await k.Feed(565, 0, Killed);
        Assert.Equal(HvChannelState.Killed, k.Controller.State);
        Assert.Equal(HvAlarmKind.Killed, Assert.Single(k.Alarms).Kind);

        await Assert.ThrowsAsync<HvCommandRefusedException>(() => k.Controller.SwitchOnAsync());

        await k.Feed(565, 0, None);
        Assert.Equal(HvChannelState.Off, k.Controller.State);
    }

    [Fact]
    public async Task Disabled_channel_refuses_switch_on_and_follows_the_switch_back_on()
    {
        var k = new HvTestKit();
        await k.StartOn();
        await k.Feed(565, 0, Disabled);
        Assert.Equal(HvChannelState.Disabled, k.Controller.State);
        var alarm = Assert.Single(k.Alarms);
        Assert.Equal((HvAlarmKind.Disabled, AlarmSeverity.Major), (alarm.Kind, alarm.Severity));

        var refused = await Assert.ThrowsAsync<HvCommandRefusedException>(() => k.Controller.SwitchOnAsync());
        Assert.Contains("front-panel switch", refused.Message, StringComparison.Ordinal);
        Assert.Empty(k.Writes);

        await k.Feed(565, 0, None);
        Assert.Equal(HvChannelState.Off, k.Controller.State);
    }

    [Fact]
    public async Task A_push_back_the_board_refuses_raises_SettingsRejected_and_the_channel_follows_its_readbacks()
    {
        var k = new HvTestKit();
        await k.StartOff();
        await k.Controller.SetCurrentLimitAsync(1.1);
        await k.Controller.OnPollFailedAsync(new TransportDisconnectedException("sim"));
        k.Hw.Setup(h => h.SetCurrentLimitAsync(1.1, It.IsAny<CancellationToken>()))
            .ThrowsAsync(new SetpointOutOfRangeException("MM1.strips", "ISET", 1.1, 1.0, "board IMAX"));

        await k.Feed(565, 0, None);

        Assert.Equal(HvChannelState.Off, k.Controller.State);
        var rejected = k.Alarms[^1];
        Assert.Equal((HvAlarmKind.SettingsRejected, AlarmSeverity.Major), (rejected.Kind, rejected.Severity));
        Assert.Contains("board IMAX is 1", rejected.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_command_the_readbacks_never_show_raises_an_alarm_and_fails_the_ramp()
    {
        var k = new HvTestKit();
        await k.StartOff();
        var ramp = k.Controller.RampAsync(565);

        await k.Feed(565, 0, None);
        k.Time.Advance(TimeSpan.FromSeconds(4));
        await k.Feed(565, 0, None);
        Assert.False(ramp.IsCompleted);
        k.Time.Advance(TimeSpan.FromSeconds(2));
        await k.Feed(565, 0, None);

        var e = await Assert.ThrowsAsync<HvRampFailedException>(() => ramp);
        Assert.Contains("ON acknowledged but not seen", e.Reason, StringComparison.Ordinal);
        Assert.Equal(HvAlarmKind.CommandNotConfirmed, Assert.Single(k.Alarms).Kind);
    }

    [Fact]
    public async Task A_later_command_supersedes_a_waiting_ramp()
    {
        var k = new HvTestKit();
        await k.StartOff();
        var ramp = k.Controller.RampAsync(565);

        await k.Controller.SwitchOffAsync();

        var e = await Assert.ThrowsAsync<HvRampFailedException>(() => ramp);
        Assert.Contains("superseded by SwitchOff", e.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Cancelling_a_ramp_stops_the_wait_not_the_channel()
    {
        var k = new HvTestKit();
        await k.StartOff();
        using var cts = new CancellationTokenSource();
        var ramp = k.Controller.RampAsync(565, null, cts.Token);

        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => ramp);
        k.Hw.Verify(h => h.SwitchOffAsync(It.IsAny<CancellationToken>()), Times.Never);
        await k.Feed(565, 565, On);
        Assert.Equal(HvChannelState.On, k.Controller.State);
    }

    [Fact]
    public async Task Operator_command_during_recovery_takes_over()
    {
        var k = new HvTestKit();
        await k.StartOn();
        await k.Feed(565, 0, Tripped, imon: 1.2);
        Assert.Equal(HvChannelState.RecoveryStepDown, k.Controller.State);

        await k.Controller.SwitchOffAsync();
        await k.Feed(545, 0, None);

        Assert.Equal(HvChannelState.Off, k.Controller.State);
    }

    [Fact]
    public async Task Ramp_held_by_MAXV_fails_with_the_reason()
    {
        var k = new HvTestKit();
        await k.StartOff();
        var ramp = k.Controller.RampAsync(565);

        await k.Feed(565, 500, On | MaxVoltage | UnderVoltage);

        var e = await Assert.ThrowsAsync<HvRampFailedException>(() => ramp);
        Assert.Contains("MAXV", e.Reason, StringComparison.Ordinal);
        Assert.Equal(HvChannelState.OutOfTolerance, e.State);
    }

    [Fact]
    public async Task Snapshot_shows_readbacks_and_flags()
    {
        var k = new HvTestKit();
        await k.StartOff();
        await k.Controller.SwitchOnAsync();
        await k.Feed(565, 321.5, On | RampingUp | OverCurrent, imon: 1.2);

        var s = k.Controller.Snapshot();

        Assert.Equal(("MM1.strips", "HV-MM12", 1, HvChannelState.RampingUp), (s.Channel, s.Board, s.Index, s.State));
        Assert.Equal(321.5, s.Readback!.Value.VMon);
        Assert.Equal("ON RUP OVC", s.Flags);
        Assert.Equal(k.Time.GetUtcNow(), s.ReadbackTime);
    }

    [Fact]
    public async Task Events_are_raised_in_order_after_the_gate_with_the_readback_that_caused_them()
    {
        var k = new HvTestKit();
        await k.StartOn();
        var seen = new List<string>();
        k.Controller.StateChanged += (from, to) =>
            seen.Add($"{from}->{to} {k.Controller.Snapshot().Readback!.Value.IMon}");
        k.Controller.AlarmRaised += a => seen.Add($"alarm {a.Kind}");

        await k.Feed(565, 0, Tripped, imon: 5.67);

        // The Tripped alarm is raised by the entry action, before the transition completes: the order they happened in.
        Assert.Equal(["alarm Tripped", "On->Tripped 5.67", "Tripped->RecoveryStepDown 5.67"], seen);
    }

    [Fact]
    public async Task A_handler_awaiting_a_command_on_the_same_channel_does_not_deadlock()
    {
        var k = new HvTestKit();
        await k.StartOn();
        var handled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        k.Controller.StateChanged += async (_, to) =>
        {
            if (to != HvChannelState.Tripped) return;
            try
            {
                await k.Controller.SwitchOffAsync();
                handled.SetResult();
            }
            catch (Exception e) when (e is HvCommandRefusedException or InvalidOperationException)
            {
                handled.SetException(e);
            }
        };
        var alarmHandled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        k.Controller.AlarmRaised += async a =>
        {
            if (a.Kind != HvAlarmKind.Tripped) return;
            try
            {
                await k.Controller.SetRampDownAsync(9);
                alarmHandled.SetResult();
            }
            catch (Exception e) when (e is HvCommandRefusedException or InvalidOperationException)
            {
                alarmHandled.SetException(e);
            }
        };

        await k.Feed(565, 0, Tripped, imon: 1.2);

        // The gate was free when the handlers ran: their commands went out before the readback call returned.
        Assert.True(handled.Task.IsCompleted, "StateChanged handler's SwitchOff completed within the readback call");
        Assert.True(alarmHandled.Task.IsCompleted, "AlarmRaised handler's SetRampDown completed within the readback call");
        await handled.Task.WaitAsync(TimeSpan.FromSeconds(30)); // deadlock guard only, not a timing assertion
        await alarmHandled.Task.WaitAsync(TimeSpan.FromSeconds(30));
        k.Hw.Verify(h => h.SwitchOffAsync(It.IsAny<CancellationToken>()), Times.Once);
        k.Hw.Verify(h => h.SetRampDownAsync(9, It.IsAny<CancellationToken>()), Times.Once);
        await k.Feed(545, 0, None);
        Assert.Equal(HvChannelState.Off, k.Controller.State); // the operator's OFF took over the recovery
    }

    [Fact]
    public async Task A_failing_handler_is_logged_and_the_next_handlers_still_run()
    {
        var k = new HvTestKit();
        await k.StartOn();
        k.Controller.StateChanged += (_, _) => throw new InvalidOperationException("subscriber bug");
        var after = new List<HvChannelState>();
        k.Controller.StateChanged += (_, to) => after.Add(to);

        await k.Feed(565, 300, RampingDown);
        await k.Feed(565, 0, None);

        Assert.Equal([HvChannelState.RampingDown, HvChannelState.Off], after);
    }

    /// <summary>Reports synchronously, so the test sees every report before it asserts.</summary>
    private sealed class SyncProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
