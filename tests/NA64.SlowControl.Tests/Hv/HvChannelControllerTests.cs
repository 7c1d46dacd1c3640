using Moq;
using NA64.Hardware.Errors;
using NA64.Hardware.Hv;
using NA64.SlowControl.Hv;
using static NA64.Hardware.Hv.HvChannelStatus;

namespace NA64.SlowControl.Tests.Hv;

public class HvChannelControllerTests
{
    [Fact]
    public async Task First_contact_pushes_the_setup_settings_and_follows_the_readback()
    {
        var k = new HvTestKit();
        Assert.Equal(HvChannelState.Unknown, k.Controller.State);

        await k.Feed(0, 0, None);

        Assert.Equal(HvChannelState.Off, k.Controller.State);
        k.Board.Verify(b => b.SetCurrentLimitAsync(1, 1.2, It.IsAny<CancellationToken>()), Times.Once);
        k.Board.Verify(b => b.SetRampUpAsync(1, 5, It.IsAny<CancellationToken>()), Times.Once);
        k.Board.Verify(b => b.SetRampDownAsync(1, 10, It.IsAny<CancellationToken>()), Times.Once);
        k.VerifyVoltage(565, Times.Once());
        k.VerifyOn(Times.Never());
    }

    [Fact]
    public async Task First_contact_with_a_live_channel_keeps_its_voltage()
    {
        var k = new HvTestKit();

        await k.Feed(548, 548.2, On);

        Assert.Equal(HvChannelState.On, k.Controller.State);
        Assert.Equal(548, k.Controller.TargetVolts);
        k.VerifyVoltage(565, Times.Never());
    }

    [Fact]
    public async Task Ramp_up_is_confirmed_only_by_readbacks()
    {
        var k = new HvTestKit();
        await k.StartOff();
        var progress = new List<HvRampProgress>();

        var ramp = k.Controller.RampAsync(565, new SyncProgress<HvRampProgress>(progress.Add));

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
        k.Board.Verify(b => b.SwitchOffAsync(1, It.IsAny<CancellationToken>()), Times.Once);
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
        k.Board.Invocations.Clear();

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
    public async Task Disconnect_then_reconnect_pushes_settings_back_and_follows_readbacks()
    {
        var k = new HvTestKit();
        await k.StartOff();
        await k.Controller.SwitchOnAsync(560);
        await k.Feed(560, 559.5, On);
        Assert.Equal(HvChannelState.On, k.Controller.State);
        k.Board.Invocations.Clear();

        await k.Controller.OnPollFailedAsync(new DeviceTimeoutException("sim", "$BD:00,CMD:MON,CH:4,PAR:VMON", TimeSpan.FromMilliseconds(500)));

        Assert.Equal(HvChannelState.Disconnected, k.Controller.State);
        var alarm = Assert.Single(k.Alarms);
        Assert.Equal((HvAlarmKind.Disconnected, AlarmSeverity.Invalid), (alarm.Kind, alarm.Severity));
        await Assert.ThrowsAsync<HvCommandRefusedException>(() => k.Controller.SetVoltageAsync(550));

        // The board came back (e.g. power-cycled, so it lost VSET and is off).
        await k.Feed(0, 0, None);

        k.VerifyVoltage(560, Times.Once());
        k.Board.Verify(b => b.SetCurrentLimitAsync(1, 1.2, It.IsAny<CancellationToken>()), Times.Once);
        k.Board.Verify(b => b.SetRampUpAsync(1, 5, It.IsAny<CancellationToken>()), Times.Once);
        k.Board.Verify(b => b.SetRampDownAsync(1, 10, It.IsAny<CancellationToken>()), Times.Once);
        k.VerifyOn(Times.Never()); // settings only: switching on stays an operator decision
        Assert.Equal(HvChannelState.Off, k.Controller.State);
    }

    [Fact]
    public async Task Reconnect_while_the_channel_stayed_on_returns_to_On()
    {
        var k = new HvTestKit();
        await k.StartOn();
        await k.Controller.OnPollFailedAsync(new TransportDisconnectedException("tcp:ndt1470:1470"));
        await k.Controller.OnPollFailedAsync(new TransportDisconnectedException("tcp:ndt1470:1470"));
        Assert.Single(k.Alarms);

        await k.Feed(565, 565, On);

        Assert.Equal(HvChannelState.On, k.Controller.State);
        k.VerifyVoltage(565, Times.Once());
    }

    [Fact]
    public async Task Reconnect_that_times_out_while_pushing_stays_disconnected()
    {
        var k = new HvTestKit();
        await k.StartOn();
        await k.Controller.OnPollFailedAsync(new TransportDisconnectedException("sim"));
        k.Board.Setup(b => b.SetCurrentLimitAsync(1, It.IsAny<double>(), It.IsAny<CancellationToken>()))
            .ThrowsAsync(new DeviceTimeoutException("sim", "$BD:00,CMD:SET,CH:1,PAR:ISET,VAL:1.20", TimeSpan.FromMilliseconds(500)));

        await k.Feed(565, 565, On);

        Assert.Equal(HvChannelState.Disconnected, k.Controller.State);
    }

    [Fact]
    public async Task Limit_refusal_by_the_driver_surfaces_and_changes_nothing()
    {
        var k = new HvTestKit();
        await k.StartOff();
        k.Board.Setup(b => b.SetVoltageAsync(1, 650, It.IsAny<CancellationToken>()))
            .ThrowsAsync(new SetpointOutOfRangeException("MM1.strips", "VSET", 650, 600, "maxVolts"));

        var e = await Assert.ThrowsAsync<SetpointOutOfRangeException>(() => k.Controller.RampAsync(650));

        Assert.Contains("650", e.Message, StringComparison.Ordinal);
        Assert.Contains("maxVolts is 600", e.Message, StringComparison.Ordinal);
        k.VerifyOn(Times.Never());
        Assert.Equal(565, k.Controller.TargetVolts);
        Assert.Equal(HvChannelState.Off, k.Controller.State);

        // The controller is still usable afterwards.
        await k.Controller.SwitchOnAsync(565);
        k.VerifyOn(Times.Once());
    }

    [Fact]
    public async Task Local_mode_refuses_commands_before_anything_is_sent()
    {
        var k = new HvTestKit();
        await k.StartOff();
        await k.Feed(565, 0, None, local: true);

        var e = await Assert.ThrowsAsync<HvCommandRefusedException>(() => k.Controller.SwitchOnAsync());

        Assert.Contains("LOCAL", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(k.Board.Invocations, i => i.Method.Name.StartsWith("S", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Commands_before_the_first_readback_are_refused()
    {
        var k = new HvTestKit();
        var e = await Assert.ThrowsAsync<HvCommandRefusedException>(() => k.Controller.SwitchOnAsync());
        Assert.Contains("no readback", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(k.Board.Invocations, i => i.Method.Name != "get_Name");
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
        k.Board.Verify(b => b.SwitchOffAsync(It.IsAny<int>(), It.IsAny<CancellationToken>()), Times.Never);
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
    public async Task StateChanged_handlers_see_the_new_state_and_the_readback_that_caused_it()
    {
        var k = new HvTestKit();
        await k.StartOn();
        var seen = new List<(HvChannelState From, HvChannelState To, HvChannelState Snap, double IMon)>();
        k.Controller.StateChanged += (from, to) =>
            seen.Add((from, to, k.Controller.Snapshot().State, k.Controller.Snapshot().Readback!.Value.IMon));

        await k.Feed(565, 0, Tripped, imon: 5.67);

        Assert.Equal((HvChannelState.On, HvChannelState.Tripped, HvChannelState.Tripped, 5.67), seen[0]);
        Assert.Equal((HvChannelState.Tripped, HvChannelState.RecoveryStepDown, HvChannelState.RecoveryStepDown, 5.67), seen[1]);
    }

    /// <summary>Reports synchronously, so the test sees every report before it asserts.</summary>
    private sealed class SyncProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
