using NA64.Hardware.Errors;
using NA64.Hardware.Magnets;
using NA64.Hardware.Magnets.Danfysik8500;
using NA64.SlowControl.Magnets;

namespace NA64.Integration.Tests.Magnets;

/// <summary>
/// Acceptance tests of the magnet controller as the service runs it: <see cref="MagnetController"/> and
/// <see cref="MagnetPoller"/> over the real Genesys and Danfysik 8500 drivers, through a real pseudo-terminal opened by
/// System.IO.Ports, against the simulators. Deterministic: one fake clock drives the controller, the driver timeouts
/// and the physics; the test advances it one poll period at a time and polls itself (see <see cref="MagnetPtyRig"/>).
/// </summary>
public sealed class MagnetControllerOverPtyTests
{
    private static readonly double Rate = MagnetPtyRig.Settings.RampAmpsPerSecond;
    private static readonly double Tolerance = MagnetPtyRig.Settings.ToleranceAmps;

    // ---------------------------------------------------------------------------------------------
    // 1. Ramp 0 -> 800 A at the configured dI/dt
    // ---------------------------------------------------------------------------------------------

    [Fact]
    public async Task Genesys_ramps_0_to_800_A_in_steps_never_above_dI_dt_and_ends_AtSetpoint()
    {
        await using var rig = MagnetPtyRig.ForGenesys();
        await rig.PollNow();
        Assert.Equal(MagnetState.Off, rig.State);
        var start = rig.Time.GetUtcNow();

        await MagnetPtyRig.Run(() => rig.Controller.RampToAsync(800));
        await rig.PollUntil(MagnetState.AtSetpoint, 200);
        var elapsed = (rig.Time.GetUtcNow() - start).TotalSeconds;

        // The controller steps PC itself: from 0 (sent before OUT 1, so switching on moves nothing) to 800, each step
        // at most dI/dt x the time since the one before.
        var steps = rig.SentSetpoints();
        Assert.Equal(0, steps[0].Amps);
        Assert.Equal(800, steps[^1].Amps);
        for (var i = 1; i < steps.Count; i++)
        {
            var dt = (steps[i].Time - steps[i - 1].Time).TotalSeconds;
            Assert.True(Math.Abs(steps[i].Amps - steps[i - 1].Amps) <= Rate * dt + 1e-9,
                $"step {i}: {steps[i - 1].Amps} A -> {steps[i].Amps} A in {dt} s exceeds {Rate} A/s");
        }

        Assert.Equal(81, steps.Count); // 0, then 80 steps of 10 A, one per poll

        // 800 A / 10 A/s = 80 s of steps (the last sent at the 80th poll); the small dipole follows within a poll
        // (40 A/s of headroom at 800 A), then the current must stay in tolerance for the stable time (5 s). A poll
        // every second adds at most one period: AtSetpoint between 85 s and 87 s after the command.
        Assert.InRange(elapsed, 85, 87);
        AssertSettled(rig, 800);
        Assert.Equal(800, rig.Genesys!.Pc);
        Assert.Equal(0, rig.Counters.Timeouts);
    }

    [Fact]
    public async Task Danfysik_ramps_0_to_800_A_at_its_slew_rate_with_one_setpoint_and_ends_AtSetpoint()
    {
        await using var rig = MagnetPtyRig.ForDanfysik();
        await rig.PollNow();
        Assert.Equal(MagnetState.Off, rig.State);
        Assert.Equal(["REM", "S1", "RA", "PO", "S1", "RA", "AD 8", "AD 2", "PO"], rig.Device.Requests);
        var start = rig.Time.GetUtcNow();

        await MagnetPtyRig.Run(() => rig.Controller.RampToAsync(800));
        var previous = rig.ModelAmps;
        var fastest = 0.0;
        await rig.PollUntil(MagnetState.AtSetpoint, 200, () =>
        {
            var now = rig.ModelAmps;
            fastest = Math.Max(fastest, Math.Abs(now - previous) / MagnetPtyRig.Settings.PollPeriod.TotalSeconds);
            previous = now;
        });
        var elapsed = (rig.Time.GetUtcNow() - start).TotalSeconds;

        // A supply that slews by itself gets the leg's setpoint once (after N is confirmed and the first readback
        // shows the output on); the current then never moves faster than the unit's slew rate, set to the 10 A/s.
        var steps = rig.SentSetpoints();
        Assert.Single(steps);
        Assert.Equal(800, steps[0].Amps, 9);
        Assert.Equal(start + MagnetPtyRig.Settings.PollPeriod, steps[0].Time);
        Assert.InRange(fastest, Rate - 1e-6, Rate + 1e-6);

        // Setpoint sent at 1 s, 80 s of slewing (in tolerance from 80.9 s), 5 s stable, polls every second:
        // AtSetpoint between 85 s and 87 s after the command.
        Assert.InRange(elapsed, 85, 87);
        AssertSettled(rig, 800);
        Assert.Equal(0, rig.Counters.Timeouts);
    }

    // ---------------------------------------------------------------------------------------------
    // 2. Interlock mid-ramp, reset refused while the cause persists, recovery
    // ---------------------------------------------------------------------------------------------

    [Theory]
    [InlineData("ENA")] // rear-panel enable input opened (door, interlock chain)
    [InlineData("OTP")] // over-temperature
    public async Task Genesys_interlock_mid_ramp_latches_Interlocked_a_reset_is_denied_while_it_persists_then_it_recovers(string input)
    {
        await using var rig = MagnetPtyRig.ForGenesys();
        var unit = rig.Genesys!;
        Action<bool> set = input == "ENA" ? unit.SetEnableOpen : unit.SetOverTemperature;
        var (condition, register) = input == "ENA" ? (MagnetConditions.Interlock, "FLT 80") : (MagnetConditions.OverTemperature, "FLT 04");
        await InterlockMidRamp(rig, () => set(true), condition, safeOff: "OUT 0", stepped: true);

        // CLS then FLT? still shows the fault: the driver denies the reset, naming the fault register; the controller
        // shows the denial as an alarm and stays latched.
        var refused = await MagnetPtyRig.Run(() => rig.Controller.ResetAsync());
        Assert.Equal(MagnetRequestOutcome.Denied, refused.Outcome);
        Assert.Contains(register, refused.Reason, StringComparison.Ordinal);
        Assert.Single(rig.AlarmsOf(MagnetAlarmKind.RequestDenied));
        await rig.Poll();
        Assert.Equal(MagnetState.Interlocked, rig.State);
        Assert.False(unit.OutputOn);

        set(false);
        await Recover(rig);
        Assert.Empty(rig.AlarmsOf(MagnetAlarmKind.ResetIneffective));
    }

    [Theory]
    [InlineData(Danfysik8500Conditions.MagnetWaterFlowFailure, MagnetConditions.WaterFlow)]
    [InlineData(Danfysik8500Conditions.MagnetOverTemperature, MagnetConditions.OverTemperature)]
    [InlineData(Danfysik8500Conditions.DoorSwitch, MagnetConditions.Door)]
    public async Task Danfysik_interlock_mid_ramp_latches_Interlocked_RS_does_not_take_while_it_persists_then_it_recovers(
        Danfysik8500Conditions input, MagnetConditions shown)
    {
        await using var rig = MagnetPtyRig.ForDanfysik();
        var unit = rig.Danfysik!;
        await InterlockMidRamp(rig, () => unit.RaiseInterlock(input), MagnetConditions.Interlock | shown, safeOff: "F", stepped: false);

        // RS is silent; its read-back (S1 position 10) still shows the sum interlock: the driver reports the directive
        // as not taken, the controller stays latched and says so in a ResetIneffective alarm as well.
        var refused = await Assert.ThrowsAsync<Danfysik8500DirectiveNotTakenException>(() => MagnetPtyRig.Run(() => rig.Controller.ResetAsync()));
        Assert.Equal("RS", refused.Sent);
        Assert.Equal("S1", refused.ReadBackRequest);
        Assert.Equal('!', refused.ReadBack[9]);
        Assert.Single(rig.AlarmsOf(MagnetAlarmKind.ResetIneffective));
        await rig.Poll();
        Assert.Equal(MagnetState.Interlocked, rig.State);
        Assert.False(unit.PowerOn);

        unit.ClearInterlock(input);
        await Recover(rig);
        Assert.Single(rig.AlarmsOf(MagnetAlarmKind.ResetIneffective)); // none from the reset that took
    }

    /// <summary>
    /// Ramps to 800 A, injects the interlock at about 300 A and checks the latch and the safe state. A stepped supply
    /// (Genesys) is mid-way through the controller's ramp; a self-slewing one (Danfysik) had its one setpoint already,
    /// so the alarm names the current but not a ramp of the controller.
    /// </summary>
    private static async Task InterlockMidRamp(MagnetPtyRig rig, Action interlock, MagnetConditions shown, string safeOff, bool stepped)
    {
        await rig.PollNow();
        await MagnetPtyRig.Run(() => rig.Controller.RampToAsync(800));
        await rig.PollUntil(() => rig.ModelAmps >= 300, 60);
        Assert.Equal(MagnetState.Ramping, rig.State);

        interlock();
        var sentBefore = rig.Device.Requests.Count;
        await rig.Poll();

        Assert.Equal(MagnetState.Interlocked, rig.State);
        var alarm = Assert.Single(rig.AlarmsOf(MagnetAlarmKind.Interlocked));
        Assert.Equal(stepped, alarm.Message.Contains("during a ramp", StringComparison.Ordinal));
        // The alarm names the current the readback showed when the trip was seen (already falling, output off).
        Assert.Contains(FormattableString.Invariant($" at {rig.Controller.Snapshot().Amps:0.###} A"), alarm.Message, StringComparison.Ordinal);
        Assert.True(rig.Controller.Snapshot().Conditions.HasFlag(shown), $"conditions {rig.Controller.Snapshot().Conditions}, expected {shown}");
        // The supply dropped its output itself; the controller's safe action (switch off) is sent anyway, and no
        // setpoint step follows the interlock.
        var after = rig.Device.Requests.Skip(sentBefore).ToList();
        Assert.Contains(safeOff, after);
        Assert.DoesNotContain(after, r => r.StartsWith("PC ", StringComparison.Ordinal) || r.StartsWith("WA ", StringComparison.Ordinal));
        Assert.False(rig.ModelOutputOn);

        // Output off: the stored energy freewheels away (tau = 5 s); the current only falls.
        var amps = rig.ModelAmps;
        for (var i = 0; i < 3; i++)
        {
            await rig.Poll();
            Assert.True(rig.ModelAmps < amps, $"current {rig.ModelAmps} A did not fall below {amps} A with the output off");
            amps = rig.ModelAmps;
            Assert.Equal(MagnetState.Interlocked, rig.State);
        }

        // Latched: a ramp is refused with nothing sent.
        var sent = rig.Device.Requests.Count;
        await Assert.ThrowsAsync<MagnetCommandRefusedException>(() => MagnetPtyRig.Run(() => rig.Controller.RampToAsync(100)));
        Assert.Equal(sent, rig.Device.Requests.Count);
    }

    /// <summary>Cause gone: the reset takes, the readbacks release the latch, the magnet comes down to Off and ramps again.</summary>
    private static async Task Recover(MagnetPtyRig rig)
    {
        var reset = await MagnetPtyRig.Run(() => rig.Controller.ResetAsync());
        Assert.Equal(MagnetRequestOutcome.Done, reset.Outcome);
        await rig.Poll();
        Assert.NotEqual(MagnetState.Interlocked, rig.State);
        await rig.PollUntil(MagnetState.Off, 120);
        Assert.Equal(0, rig.Controller.TargetAmps);

        await MagnetPtyRig.Run(() => rig.Controller.RampToAsync(200));
        await rig.PollUntil(MagnetState.AtSetpoint, 120);
        AssertSettled(rig, 200);
        Assert.True(rig.ModelOutputOn);
        Assert.Equal(0, rig.Counters.Timeouts);
    }

    // ---------------------------------------------------------------------------------------------
    // 3. Polarity reversal through zero
    // ---------------------------------------------------------------------------------------------

    [Fact]
    public async Task Danfysik_reverses_from_plus_to_minus_200_A_through_zero_switching_polarity_only_there_after_the_wait()
    {
        await using var rig = MagnetPtyRig.ForDanfysik();
        var unit = rig.Danfysik!;
        await rig.PollNow();
        await MagnetPtyRig.Run(() => rig.Controller.RampToAsync(200));
        await rig.PollUntil(MagnetState.AtSetpoint, 60);
        Assert.Equal(MagnetPolarity.Normal, unit.Polarity);

        var sentBefore = rig.Device.Stamped.Count;
        await MagnetPtyRig.Run(() => rig.Controller.RampToAsync(-200));
        Assert.Equal("WA 0", rig.Device.Requests[sentBefore]); // first leg at once: a self-slewing supply goes to zero by itself

        // Sampled after every poll: time is frozen during a poll, so the current seen with a new polarity is the
        // current at the instant the unit took PO -.
        var polarity = unit.Polarity;
        DateTimeOffset? firstAtZero = null;
        var phases = new HashSet<MagnetRampPhase>();
        await rig.PollUntil(MagnetState.AtSetpoint, 120, () =>
        {
            var amps = unit.Amps;
            phases.Add(rig.Controller.Snapshot().RampPhase);
            if (amps <= Tolerance)
            {
                firstAtZero ??= rig.Time.GetUtcNow();
            }

            if (unit.Polarity != polarity)
            {
                Assert.True(amps <= Tolerance, $"polarity changed to {unit.Polarity} at {amps} A");
                polarity = unit.Polarity;
            }
        });

        var sent = rig.Device.Stamped.Skip(sentBefore).ToList();
        var po = Assert.Single(sent, r => r.Request.StartsWith("PO ", StringComparison.Ordinal));
        Assert.Equal("PO -", po.Request);
        Assert.NotNull(firstAtZero);
        Assert.True(po.Time - firstAtZero.Value >= MagnetPtyRig.Settings.ZeroCrossingWait,
            $"polarity sent {po.Time - firstAtZero.Value} after the current reached zero; the wait is {MagnetPtyRig.Settings.ZeroCrossingWait}");
        // Setpoints: 0 first, 200 only after the polarity switch.
        var setpoints = sent.Where(r => r.Request.StartsWith("WA ", StringComparison.Ordinal)).ToList();
        Assert.Equal(["WA 0", "WA 200000"], setpoints.Select(r => r.Request));
        Assert.True(setpoints[1].Time >= po.Time);
        Assert.Contains(MagnetRampPhase.WaitAtZero, phases);

        Assert.Equal(MagnetPolarity.Reversed, unit.Polarity);
        Assert.Equal(-200, rig.Controller.TargetAmps);
        AssertSettled(rig, -200);
        Assert.Equal(MagnetPolarity.Reversed, rig.Controller.Snapshot().Polarity);
        Assert.Equal(0, rig.Counters.Timeouts);
    }

    [Fact]
    public async Task Genesys_has_no_polarity_switch_so_minus_200_A_is_refused_before_any_byte_is_sent()
    {
        await using var rig = MagnetPtyRig.ForGenesys();
        Assert.False(rig.Supply.Capabilities.HasPolaritySwitch);
        await rig.PollNow();
        await MagnetPtyRig.Run(() => rig.Controller.RampToAsync(200));
        await rig.PollUntil(MagnetState.AtSetpoint, 60);

        var sent = rig.Device.Requests.Count;
        var refused = await Assert.ThrowsAsync<SetpointOutOfRangeException>(() => MagnetPtyRig.Run(() => rig.Controller.RampToAsync(-200)));
        Assert.Contains("-200", refused.Message, StringComparison.Ordinal);
        Assert.Equal(sent, rig.Device.Requests.Count);

        await rig.Poll();
        Assert.Equal(MagnetState.AtSetpoint, rig.State);
        Assert.Equal(200, rig.Controller.TargetAmps);
        AssertSettled(rig, 200);
    }

    // ---------------------------------------------------------------------------------------------
    // 4. A silent directive that did not take is caught by its read-back (Danfysik)
    // ---------------------------------------------------------------------------------------------

    [Fact]
    public async Task Danfysik_setpoint_ignored_by_the_unit_is_caught_by_RA_and_never_believed()
    {
        await using var rig = MagnetPtyRig.ForDanfysik();
        var unit = rig.Danfysik!;
        var wire = rig.DanfysikWire!;
        await rig.PollNow();
        await MagnetPtyRig.Run(() => rig.Controller.RampToAsync(200));
        await rig.PollUntil(MagnetState.AtSetpoint, 60);

        // With the output on, a self-slewing supply gets WA at once: the caller sees the read-back mismatch.
        wire.IgnoreNextDirective();
        var e = await Assert.ThrowsAsync<Danfysik8500DirectiveNotTakenException>(() => MagnetPtyRig.Run(() => rig.Controller.RampToAsync(300)));
        Assert.Equal("WA 300000", e.Sent);
        Assert.Equal("RA", e.ReadBackRequest);
        Assert.Equal("200000", e.ReadBack);
        Assert.Equal(200, rig.Controller.TargetAmps);
        Assert.Equal(200, unit.SetpointAmps, 9);
        for (var i = 0; i < 3; i++)
        {
            await rig.Poll();
            Assert.Equal(MagnetState.AtSetpoint, rig.State);
        }

        // F ignored: the output is still on and the switch-off is reported, not assumed.
        wire.IgnoreNextDirective();
        var off = await Assert.ThrowsAsync<Danfysik8500DirectiveNotTakenException>(() => MagnetPtyRig.Run(() => rig.Controller.SwitchOffAsync()));
        Assert.Equal("F", off.Sent);
        Assert.Equal('.', off.ReadBack[0]); // S1 position 1: main power still on
        Assert.True(unit.PowerOn);
        await rig.Poll();
        Assert.Equal(MagnetState.AtSetpoint, rig.State);
        Assert.Equal(MagnetOutput.On, rig.Controller.Snapshot().Output);
    }

    [Fact]
    public async Task Danfysik_ramp_step_ignored_by_the_unit_during_a_poll_abandons_the_ramp_with_an_alarm()
    {
        await using var rig = MagnetPtyRig.ForDanfysik();
        var unit = rig.Danfysik!;
        await rig.PollNow();

        // From off: N now (confirmed by S1), the setpoint on the first readback that shows the output on.
        await MagnetPtyRig.Run(() => rig.Controller.RampToAsync(200));
        Assert.True(unit.PowerOn);
        rig.DanfysikWire!.IgnoreNextDirective();
        await rig.Poll();

        var alarm = Assert.Single(rig.AlarmsOf(MagnetAlarmKind.RampAbandoned));
        Assert.Contains("WA 200000", alarm.Message, StringComparison.Ordinal);
        Assert.Equal(0, unit.SetpointAmps);
        Assert.Equal(0, rig.Controller.TargetAmps); // the setpoint the unit holds, as read back
        await rig.PollUntil(MagnetState.AtSetpoint, 20);
        AssertSettled(rig, 0);
        Assert.Equal(0, rig.Poller.FailedCycles);
    }

    private static void AssertSettled(MagnetPtyRig rig, double amps)
    {
        var s = rig.Controller.Snapshot();
        Assert.Equal(MagnetState.AtSetpoint, s.State);
        Assert.NotNull(s.Amps);
        Assert.InRange(s.Amps.Value, amps - Tolerance, amps + Tolerance);
        Assert.InRange(rig.ModelAmps, Math.Abs(amps) - Tolerance, Math.Abs(amps) + Tolerance);
    }
}
