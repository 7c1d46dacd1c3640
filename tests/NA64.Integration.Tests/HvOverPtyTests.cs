using NA64.Hardware.Errors;
using NA64.Hardware.Hv;
using NA64.Hardware.Hv.CaenN1470;
using NA64.Simulators.Hv.CaenN1470;
using NA64.SlowControl.Hv;

namespace NA64.Integration.Tests;

/// <summary>
/// Driver, controllers and simulator together over a real pseudo-terminal opened by System.IO.Ports, built from a
/// setup file whose transport is the serial port. Deterministic: time is fake and advanced by the test; only the bytes
/// really travel through the kernel.
/// </summary>
public sealed class HvOverPtyTests
{
    [Fact]
    public async Task Ramp_up_reaches_nominal_as_confirmed_by_the_readbacks()
    {
        await using var rig = HvRig.OverPty();
        await rig.PollAsync();
        var strips = rig.StripsChannel;
        Assert.Equal(HvChannelState.Off, strips.State);
        Assert.Empty(SetRequests(rig)); // first contact writes nothing

        var ramp = strips.RampAsync(HvRig.StripsNominal);
        // ISET, RUP, RDW, VSET and ON must be answered before fake time moves, or their reply timeouts would expire.
        rig.WaitForExchanges(5);
        await rig.RunUntilAsync(() => ramp.IsCompleted, "ramp to nominal");
        await Safety.Within(ramp);

        Assert.Equal(HvChannelState.On, strips.State);
        Assert.True(rig.SawState(HvRig.Strips, HvChannelState.RampingUp));
        var readback = strips.Snapshot().Readback!.Value;
        Assert.Equal(HvRig.StripsNominal, readback.VSet);
        Assert.InRange(readback.VMon, HvRig.StripsNominal - 2.5, HvRig.StripsNominal + 2.5);
        Assert.True(readback.Status.HasFlag(HvChannelStatus.On));
        Assert.True(rig.StripsModel.IsOn);
        Assert.Equal(HvRig.StripsNominal, rig.StripsModel.VSet);
        // The drift channel was never switched on.
        Assert.Equal(HvChannelState.Off, rig.System.Channel(HvRig.Drift).State);
        Assert.False(rig.Model.Channels[1].IsOn);
        Assert.Empty(rig.Alarms);
        Assert.Equal(0, rig.Transport.Counters.Timeouts);
        // The switch-on wrote the setup's settings of this channel, and nothing to the other one.
        Assert.Equal(5, rig.StripsModel.ISet);
        Assert.Equal(50, rig.StripsModel.RampUp);
        Assert.Equal(100, rig.StripsModel.RampDown);
        Assert.Equal(
            ["PAR:ISET,VAL:5.00", "PAR:RUP,VAL:50", "PAR:RDW,VAL:100", "PAR:VSET,VAL:500.0", "PAR:ON"],
            SetRequests(rig).Select(r => r[(r.IndexOf("PAR:", StringComparison.Ordinal))..]));
        Assert.All(SetRequests(rig), r => Assert.Contains(",CH:0,", r, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Polls_of_a_fresh_controller_write_no_SET()
    {
        await using var rig = HvRig.OverPty();
        var (iset, rampUp, vset) = (rig.StripsModel.ISet, rig.StripsModel.RampUp, rig.StripsModel.VSet);

        await rig.PollAsync();
        for (var i = 0; i < 9; i++)
        {
            rig.Time.Advance(TimeSpan.FromSeconds(1));
            await rig.PollAsync();
        }

        Assert.Empty(SetRequests(rig));
        Assert.True(rig.Device.Requests.Count >= 10 * 8, "ten poll cycles went over the wire");
        Assert.Equal((iset, rampUp, vset), (rig.StripsModel.ISet, rig.StripsModel.RampUp, rig.StripsModel.VSet));
        Assert.Equal(HvChannelState.Off, rig.StripsChannel.State);
    }

    [Fact]
    public async Task A_channel_found_on_at_start_stays_on_at_its_VSET_with_no_write()
    {
        await using var rig = HvRig.OverPty();
        Assert.True(rig.StripsModel.TrySetVSet(450));
        rig.StripsModel.SwitchOn();
        for (var i = 0; i < 100 && rig.StripsModel.Status != CaenChannelStatus.On; i++)
        {
            rig.Time.Advance(TimeSpan.FromSeconds(1));
        }

        Assert.Equal(CaenChannelStatus.On, rig.StripsModel.Status);

        await rig.PollAsync();
        for (var i = 0; i < 5; i++)
        {
            rig.Time.Advance(TimeSpan.FromSeconds(1));
            await rig.PollAsync();
        }

        Assert.Equal(HvChannelState.On, rig.StripsChannel.State);
        Assert.Equal(450, rig.StripsChannel.TargetVolts);
        Assert.Equal(450, rig.StripsModel.VSet);
        Assert.True(rig.StripsModel.IsOn);
        Assert.Empty(SetRequests(rig));
        Assert.Equal([HvChannelState.On], rig.States.Where(s => s.Channel == HvRig.Strips).Select(s => s.State));
    }

    [Fact]
    public async Task An_operator_ramp_rate_is_kept_for_the_switch_on_and_no_other_channel_is_written()
    {
        await using var rig = HvRig.OverPty();
        await rig.PollAsync();

        await Safety.Within(rig.StripsChannel.SetRampUpAsync(7));
        Assert.Equal(7, rig.StripsModel.RampUp);
        var ramp = rig.StripsChannel.RampAsync(HvRig.StripsNominal);
        rig.WaitForExchanges(6);
        await rig.RunUntilAsync(() => ramp.IsCompleted, "ramp at 7 V/s", maxCycles: 200);
        await Safety.Within(ramp);

        Assert.Equal(7, rig.StripsModel.RampUp);
        var sets = SetRequests(rig);
        Assert.Equal(2, sets.Count(r => r.EndsWith("PAR:RUP,VAL:7", StringComparison.Ordinal)));
        Assert.DoesNotContain(sets, r => r.Contains("PAR:RUP,VAL:50", StringComparison.Ordinal));
        Assert.All(sets, r => Assert.Contains(",CH:0,", r, StringComparison.Ordinal));
        Assert.Equal(7, rig.StripsChannel.Snapshot().Settings.RampUpVoltsPerSecond);
    }

    [Fact]
    public async Task Apply_dry_run_lists_the_differences_and_apply_writes_the_setup()
    {
        await using var rig = HvRig.OverPty();
        Assert.True(rig.StripsModel.TrySetISet(8));
        await rig.PollAsync();

        var plan = rig.StripsChannel.PlanApply();

        Assert.Contains(new HvSettingDifference(HvParameter.ISet, 8, 5), plan);
        Assert.Contains(new HvSettingDifference(HvParameter.RampUp, null, 50), plan);
        Assert.Contains(new HvSettingDifference(HvParameter.RampDown, null, 100), plan);
        Assert.Empty(SetRequests(rig));

        await Safety.Within(rig.StripsChannel.ApplyAsync());

        Assert.Equal(5, rig.StripsModel.ISet);
        Assert.Equal(50, rig.StripsModel.RampUp);
        Assert.Equal(100, rig.StripsModel.RampDown);
        Assert.Equal(HvRig.StripsNominal, rig.StripsModel.VSet);
        Assert.False(rig.StripsModel.IsOn);
        Assert.Equal(plan.Count, SetRequests(rig).Count);
        rig.Time.Advance(TimeSpan.FromSeconds(1));
        await rig.PollAsync();
        Assert.DoesNotContain(rig.StripsChannel.PlanApply(), d => d.Parameter is HvParameter.ISet or HvParameter.VSet);
    }

    [Fact]
    public async Task A_trip_by_overcurrent_is_recovered_in_two_steps()
    {
        await using var rig = HvRig.OverPty();
        await rig.RampStripsOnAsync();

        await TripByOvercurrentAsync(rig);
        await rig.RunUntilAsync(() => rig.SawState(HvRig.Strips, HvChannelState.RecoveryStepDown), "recovery starts");
        // Step 1 is nominal - 20 V, on the board itself.
        Assert.Equal(HvRig.StripsNominal - 20, rig.StripsModel.VSet);
        Assert.True(rig.StripsModel.IsOn);

        await rig.RunUntilAsync(
            () => rig.SawState(HvRig.Strips, HvChannelState.RecoveryToNominal) && rig.StripsChannel.State == HvChannelState.On,
            "recovered to nominal");

        var order = rig.States.Where(s => s.Channel == HvRig.Strips).Select(s => s.State).ToList();
        var tripped = order.LastIndexOf(HvChannelState.Tripped);
        Assert.True(tripped >= 0, "Tripped seen");
        Assert.Equal(
            [HvChannelState.Tripped, HvChannelState.RecoveryStepDown, HvChannelState.RecoveryHold, HvChannelState.RecoveryToNominal, HvChannelState.On],
            order.Skip(tripped).ToList());
        Assert.Equal(HvRig.StripsNominal, rig.StripsModel.VSet);
        Assert.InRange(rig.StripsModel.VMon, HvRig.StripsNominal - 2.5, HvRig.StripsNominal + 2.5);
        Assert.Single(rig.AlarmsOf(HvAlarmKind.Tripped));
        Assert.Empty(rig.AlarmsOf(HvAlarmKind.RecoveryBudgetExhausted));
        Assert.Equal(1, rig.StripsChannel.Snapshot().RecoveriesLastHour);
    }

    [Fact]
    public async Task With_the_recovery_budget_spent_a_trip_stays_tripped_and_raises_an_alarm()
    {
        await using var rig = HvRig.OverPty(maxRecoveriesPerHour: 1);
        await rig.RampStripsOnAsync();
        await TripByOvercurrentAsync(rig);
        await rig.RunUntilAsync(
            () => rig.SawState(HvRig.Strips, HvChannelState.RecoveryToNominal) && rig.StripsChannel.State == HvChannelState.On,
            "first trip recovered");

        await TripByOvercurrentAsync(rig);
        await rig.PollAsync();
        Assert.Equal(HvChannelState.Tripped, rig.StripsChannel.State);
        var exhausted = Assert.Single(rig.AlarmsOf(HvAlarmKind.RecoveryBudgetExhausted));
        Assert.Equal(AlarmSeverity.Major, exhausted.Severity);
        Assert.Equal(HvRig.Strips, exhausted.Channel);

        // Nothing switches it back on: it stays off and Tripped, poll after poll.
        for (var i = 0; i < 20; i++)
        {
            rig.Time.Advance(TimeSpan.FromSeconds(1));
            await rig.PollAsync();
        }

        Assert.Equal(HvChannelState.Tripped, rig.StripsChannel.State);
        Assert.False(rig.StripsModel.IsOn);
        Assert.True(rig.StripsModel.Status.HasFlag(CaenChannelStatus.Tripped));
        Assert.Equal(0, rig.StripsModel.VMon);
    }

    [Fact]
    public async Task An_interlock_switches_off_and_only_an_operator_switch_on_brings_the_channel_back()
    {
        await using var rig = HvRig.OverPty();
        await rig.RampStripsOnAsync();

        rig.Model.SetInterlockInput(CaenInterlockState.Open); // BDILKM OPEN: an open input is the active state
        await rig.PollAsync();
        Assert.Equal(HvChannelState.Interlocked, rig.StripsChannel.State);
        Assert.False(rig.StripsModel.IsOn);
        Assert.Equal(AlarmSeverity.Major, Assert.Single(rig.AlarmsOf(HvAlarmKind.Interlocked), a => a.Channel == HvRig.Strips).Severity);

        var refused = await Assert.ThrowsAsync<HvCommandRefusedException>(() => rig.StripsChannel.SwitchOnAsync());
        Assert.Contains("interlock", refused.Message, StringComparison.Ordinal);

        rig.Model.SetInterlockInput(CaenInterlockState.Closed);
        for (var i = 0; i < 10; i++)
        {
            rig.Time.Advance(TimeSpan.FromSeconds(1));
            await rig.PollAsync();
        }

        // The interlock is gone, but the channel waits for the operator.
        Assert.Equal(HvChannelState.Interlocked, rig.StripsChannel.State);
        Assert.False(rig.StripsModel.IsOn);

        await Safety.Within(rig.StripsChannel.SwitchOnAsync());
        await rig.RunUntilAsync(() => rig.StripsChannel.State == HvChannelState.On, "On after operator SwitchOn");
        Assert.True(rig.StripsModel.IsOn);
        Assert.Equal(HvRig.StripsNominal, rig.StripsModel.VSet);
    }

    [Fact]
    public async Task In_LOCAL_mode_a_SET_is_refused_by_the_board_and_then_by_the_controller()
    {
        await using var rig = HvRig.OverPty();
        await rig.PollAsync();
        var strips = rig.StripsChannel;
        Assert.Equal(HvChannelState.Off, strips.State);
        var vsetBefore = rig.StripsModel.VSet;

        rig.Model.SetLocal(true);
        // The controller has not seen LOCAL yet: the command goes out (its first SET, ISET) and the board answers LOC:ERR.
        var local = await Assert.ThrowsAsync<CaenLocalModeException>(() => strips.SwitchOnAsync(450));
        Assert.Equal("LOC", local.Field);
        Assert.Equal("#BD:00,LOC:ERR", local.RawReply);
        Assert.Contains("LOCAL", local.Message, StringComparison.Ordinal);
        Assert.Equal(vsetBefore, rig.StripsModel.VSet);
        Assert.False(rig.StripsModel.IsOn);
        Assert.Single(SetRequests(rig)); // the refused SET ended the command: VSET and ON never went out

        // Once a poll has read BDCTR = LOCAL the controller refuses before anything goes on the wire.
        await rig.PollAsync();
        var requests = rig.Transport.Counters.Requests;
        var refused = await Assert.ThrowsAsync<HvCommandRefusedException>(() => strips.SwitchOnAsync());
        Assert.Contains("LOCAL", refused.Message, StringComparison.Ordinal);
        Assert.Equal(requests, rig.Transport.Counters.Requests);
        Assert.False(rig.StripsModel.IsOn);

        // Back in REMOTE the same command works.
        rig.Model.SetLocal(false);
        await rig.PollAsync();
        await Safety.Within(strips.SwitchOnAsync());
        await rig.RunUntilAsync(() => strips.State == HvChannelState.On, "On after REMOTE");
    }

    [Fact]
    public async Task A_SET_whose_reply_is_lost_is_settled_by_reading_it_back()
    {
        await using var rig = HvRig.OverPty();
        await rig.RampStripsOnAsync();

        rig.Wire.DropNextSetReply();
        var handled = rig.Device.NextRequest(r => r.Contains("PAR:VSET,VAL:450", StringComparison.Ordinal));
        var set = rig.StripsChannel.SetVoltageAsync(450);
        await Safety.Within(handled);
        // The SET is on the wire and the board applied it without answering: let the reply timeout expire.
        rig.Time.Advance(CaenN1470Protocol.DefaultReplyTimeout);
        await Safety.Within(set);

        Assert.Equal(1, rig.Transport.Counters.Timeouts);
        Assert.Equal(450, rig.StripsModel.VSet);
        await rig.RunUntilAsync(() => rig.StripsChannel.State == HvChannelState.On && rig.StripsChannel.Snapshot().Readback!.Value.VSet == 450, "On at 450 V");
        Assert.Empty(rig.AlarmsOf(HvAlarmKind.CommandNotConfirmed));
        Assert.Empty(rig.AlarmsOf(HvAlarmKind.Disconnected));
    }

    [Fact]
    public async Task A_poll_reply_lost_on_the_line_costs_one_cycle_and_the_next_poll_restores_the_state()
    {
        await using var rig = HvRig.OverPty();
        await rig.RampStripsOnAsync();

        rig.Faults.DropNextReply();
        var handled = rig.Device.NextRequest(r => r.Contains("CMD:MON", StringComparison.Ordinal));
        rig.Time.Advance(TimeSpan.FromSeconds(1));
        var poll = rig.PollAsync();
        await Safety.Within(handled);
        rig.Time.Advance(CaenN1470Protocol.DefaultReplyTimeout);
        await poll;

        Assert.Equal(1, rig.Transport.Counters.Timeouts);
        Assert.IsType<DeviceTimeoutException>(rig.System.Pollers[0].LastError);
        Assert.Equal(HvChannelState.Disconnected, rig.StripsChannel.State);
        Assert.NotEmpty(rig.AlarmsOf(HvAlarmKind.Disconnected));

        await rig.RunUntilAsync(() => rig.StripsChannel.State == HvChannelState.On, "On again", maxCycles: 3);
        Assert.True(rig.StripsModel.IsOn);
    }

    [Fact]
    public async Task A_garbled_reply_is_a_DeviceReplyException_and_the_next_exchange_works()
    {
        await using var rig = HvRig.OverPty();
        await rig.RampStripsOnAsync();

        // Driver level: the garbled line is refused with the raw bytes kept.
        rig.Faults.GarbleNextReply(6);
        var garbled = await Assert.ThrowsAnyAsync<DeviceReplyException>(() => rig.Board.ReadBoardAsync(CaenN1470Protocol.BdName));
        Assert.NotEqual("#BD:00,CMD:OK,VAL:N1470", garbled.RawReply);
        var name = await Safety.Within(rig.Board.ReadBoardAsync(CaenN1470Protocol.BdName));
        Assert.Equal("N1470", name.Text);

        // Controller level: the poll cycle is lost, the link and the state are not.
        var failed = rig.System.Pollers[0].FailedCycles;
        rig.Faults.GarbleNextReply(6);
        rig.Time.Advance(TimeSpan.FromSeconds(1));
        await rig.PollAsync();
        Assert.Equal(failed + 1, rig.System.Pollers[0].FailedCycles);
        Assert.IsAssignableFrom<DeviceReplyException>(rig.System.Pollers[0].LastError);
        Assert.Equal(HvChannelState.On, rig.StripsChannel.State);

        rig.Time.Advance(TimeSpan.FromSeconds(1));
        await rig.PollAsync();
        Assert.Equal(failed + 1, rig.System.Pollers[0].FailedCycles);
        Assert.Equal(HvChannelState.On, rig.StripsChannel.State);
        Assert.Equal(0, rig.Transport.Counters.Timeouts);
        Assert.Empty(rig.AlarmsOf(HvAlarmKind.Disconnected));
    }

    [Fact]
    public async Task Garbage_lines_between_exchanges_are_discarded_before_the_next_request()
    {
        await using var rig = HvRig.OverPty();
        await rig.RampStripsOnAsync();

        byte[] noise = [0x00, 0xFF, .. "#BD:00,CM\r\nxx\r\n"u8];
        await rig.InjectNoiseAsync(noise);

        var name = await Safety.Within(rig.Board.ReadBoardAsync(CaenN1470Protocol.BdName));
        Assert.Equal("N1470", name.Text);
        Assert.Equal(noise.Length, rig.Transport.Counters.DiscardedBytes);
        Assert.Equal(0, rig.Transport.Counters.Timeouts);
    }

    [Fact]
    public async Task Half_a_line_of_noise_costs_the_next_reply_and_the_exchange_after_it_works()
    {
        await using var rig = HvRig.OverPty();
        await rig.RampStripsOnAsync();

        // A partial line may be the head of a late reply whose tail is still coming, so the transport skips to the
        // next terminator: that swallows the reply to the next request, which then times out (never misread).
        byte[] noise = "xx#BD:0"u8.ToArray();
        await rig.InjectNoiseAsync(noise);

        var handled = rig.Device.NextRequest(r => r.Contains("PAR:BDNAME", StringComparison.Ordinal));
        var lost = rig.Board.ReadBoardAsync(CaenN1470Protocol.BdName);
        await Safety.Within(handled);
        rig.WaitForReceived(noise.Length + "#BD:00,CMD:OK,VAL:N1470\r\n".Length);
        rig.Time.Advance(CaenN1470Protocol.DefaultReplyTimeout);
        await Assert.ThrowsAsync<DeviceTimeoutException>(() => Safety.Within(lost));

        var name = await Safety.Within(rig.Board.ReadBoardAsync(CaenN1470Protocol.BdName));
        Assert.Equal("N1470", name.Text);
        Assert.Equal(1, rig.Transport.Counters.Timeouts);
    }

    // A hung-up pty does not always make System.IO.Ports report an error: the poll may only time out. Both ways
    // the channels go Disconnected, and the transport re-opens the port (after an error at once, after repeated
    // timeouts at the next exchange).
    [Fact]
    public async Task After_a_disconnect_and_reconnect_the_settings_are_pushed_back_and_the_state_follows_the_readbacks()
    {
        await using var rig = HvRig.OverPty();
        await rig.RampStripsOnAsync();

        await rig.UnplugAsync();
        rig.Time.Advance(TimeSpan.FromSeconds(1));
        await rig.PollThroughTimeoutsAsync();
        Assert.Equal(HvChannelState.Disconnected, rig.StripsChannel.State);
        Assert.Equal(HvChannelState.Disconnected, rig.System.Channel(HvRig.Drift).State);
        Assert.True(rig.System.Pollers[0].LastError is TransportDisconnectedException or DeviceTimeoutException,
            $"poll failed with {rig.System.Pollers[0].LastError}");
        Assert.Contains(rig.AlarmsOf(HvAlarmKind.Disconnected), a => a.Channel == HvRig.Strips && a.Severity == AlarmSeverity.Invalid);

        // While the host could not see it, the board was changed at the front panel (both channels).
        Assert.True(rig.Model.Channels[1].TrySetISet(7));
        Assert.True(rig.StripsModel.TrySetISet(100));
        Assert.True(rig.StripsModel.TrySetRampUp(10));
        Assert.True(rig.StripsModel.TrySetRampDown(20));
        Assert.True(rig.StripsModel.TrySetVSet(400));

        rig.PlugIn();
        for (var cycle = 0; cycle < 8 && rig.StripsChannel.State == HvChannelState.Disconnected; cycle++)
        {
            rig.Time.Advance(TimeSpan.FromSeconds(1));
            await rig.PollThroughTimeoutsAsync();
        }

        Assert.Equal(1, rig.Transport.Counters.Reconnects);
        // Pushed back: what the operator's switch-on of the strips wrote. Not touched: the drift channel.
        Assert.Equal(7, rig.Model.Channels[1].ISet);
        Assert.DoesNotContain(SetRequests(rig), r => r.Contains(",CH:1,", StringComparison.Ordinal));
        Assert.Equal(5, rig.StripsModel.ISet);
        Assert.Equal(50, rig.StripsModel.RampUp);
        Assert.Equal(100, rig.StripsModel.RampDown);
        Assert.Equal(HvRig.StripsNominal, rig.StripsModel.VSet);
        Assert.NotEqual(HvChannelState.Disconnected, rig.StripsChannel.State);

        await rig.RunUntilAsync(() => rig.StripsChannel.State == HvChannelState.On, "On at nominal after reconnect");
        Assert.Equal(HvRig.StripsNominal, rig.StripsChannel.Snapshot().Readback!.Value.VSet);
        Assert.Equal(HvChannelState.Off, rig.System.Channel(HvRig.Drift).State);
    }

    /// <summary>Every SET (and ON/OFF) the simulated board received, in order.</summary>
    private static List<string> SetRequests(HvRig rig) =>
        rig.Device.Requests.Where(r => r.Contains(",CMD:SET,", StringComparison.Ordinal)).ToList();

    /// <summary>Overcurrent above ISET until the board's TRIP timer (10 s) expires; the spark then stops.</summary>
    private static async Task TripByOvercurrentAsync(HvRig rig)
    {
        rig.StripsModel.InjectCurrent(50);
        for (var i = 0; i < 30 && !rig.StripsModel.Status.HasFlag(CaenChannelStatus.Tripped); i++)
        {
            rig.Time.Advance(TimeSpan.FromSeconds(1));
            if (!rig.StripsModel.Status.HasFlag(CaenChannelStatus.Tripped))
            {
                await rig.PollAsync();
            }
        }

        Assert.True(rig.StripsModel.Status.HasFlag(CaenChannelStatus.Tripped), "the board tripped");
        rig.StripsModel.InjectCurrent(0);
    }
}
