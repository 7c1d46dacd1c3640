using NA64.Hardware.Magnets;
using NA64.Hardware.Magnets.Danfysik8500;
using C = NA64.Hardware.Magnets.Danfysik8500.Danfysik8500Conditions;

namespace NA64.Simulators.Tests.Magnets.Danfysik8500;

/// <summary>The driver against the simulator in memory (device-protocols.md §6 scenarios for the 8500).</summary>
public sealed class Danfysik8500DriverScenarioTests
{
    [Fact]
    public async Task Ramp_to_800_A_slews_and_the_readback_settles()
    {
        await using var rig = new Danfysik8500Rig();
        await rig.Supply.InitializeAsync();
        Assert.Equal(MagnetOutput.Off, (await rig.Supply.ReadAsync()).Output);
        await rig.Supply.SwitchOnAsync();
        await rig.Supply.SetCurrentAsync(800);

        rig.Time.Advance(TimeSpan.FromSeconds(10));
        var midway = await rig.Supply.ReadAsync();
        Assert.InRange(midway.Amps, 199, 201); // 20 A/s slew
        Assert.InRange(midway.Volts!.Value, 11.8, 12.2); // I·R + L·dI/dt = 200 A x 10 mOhm + 0.5 H x 20 A/s

        var settled = await rig.ReadUntilAsync(r => Math.Abs(r.Amps - 800) < 0.2, "800 A");
        Assert.Equal(MagnetOutput.On, settled.Output);
        Assert.Equal(800, settled.SetpointAmps, 9);
        Assert.Equal(MagnetConditions.None, settled.Conditions);
        rig.Time.Advance(TimeSpan.FromSeconds(5));
        var held = await rig.Supply.ReadAsync();
        Assert.InRange(held.Amps, 799.9, 800.1);
        Assert.InRange(held.Volts!.Value, 7.9, 8.1); // 800 A through 10 mOhm
        Assert.Equal(800, rig.Model.Amps, 9);
    }

    [Fact]
    public async Task A_silent_WA_that_did_not_take_effect_is_caught_by_the_read_back()
    {
        await using var rig = new Danfysik8500Rig();
        await rig.Supply.InitializeAsync();
        await rig.Supply.SwitchOnAsync();
        await rig.Supply.SetCurrentAsync(100);
        rig.Wire.IgnoreNextDirective();

        var e = await Assert.ThrowsAsync<Danfysik8500DirectiveNotTakenException>(() => rig.Supply.SetCurrentAsync(500));
        Assert.Equal("WA 500000", e.Sent);
        Assert.Equal("100000", e.ReadBack);
        Assert.Equal(100000, rig.Model.SetpointPpm);

        await rig.Supply.SetCurrentAsync(500); // the next one takes
        Assert.Equal(500000, rig.Model.SetpointPpm);
    }

    [Fact]
    public async Task A_silent_N_that_did_not_take_effect_is_caught_by_S1()
    {
        await using var rig = new Danfysik8500Rig();
        await rig.Supply.InitializeAsync();
        rig.Wire.IgnoreNextDirective();
        var e = await Assert.ThrowsAsync<Danfysik8500DirectiveNotTakenException>(() => rig.Supply.SwitchOnAsync());
        Assert.Equal("N", e.Sent);
        Assert.False(rig.Model.PowerOn);
    }

    [Fact]
    public async Task An_interlock_mid_ramp_switches_off_and_latches_until_RS()
    {
        await using var rig = new Danfysik8500Rig();
        await rig.Supply.InitializeAsync();
        await rig.Supply.SwitchOnAsync();
        await rig.Supply.SetCurrentAsync(800);
        rig.Time.Advance(TimeSpan.FromSeconds(15));

        rig.Model.RaiseInterlock(C.MagnetWaterFlowFailure);
        var tripped = await rig.Supply.ReadAsync();
        Assert.Equal(MagnetOutput.Fault, tripped.Output);
        Assert.Equal(MagnetConditions.Interlock | MagnetConditions.WaterFlow | MagnetConditions.NotReady, tripped.Conditions);
        Assert.Contains("magnet water-flow failure", tripped.Detail, StringComparison.Ordinal);

        // Switching on is refused by the unit while the cause persists, and the driver sees it in S1.
        var on = await Assert.ThrowsAsync<Danfysik8500DirectiveNotTakenException>(() => rig.Supply.SwitchOnAsync());
        Assert.Equal("N", on.Sent);
        // The water comes back: still latched, still refused until RS.
        rig.Model.ClearInterlock(C.MagnetWaterFlowFailure);
        await Assert.ThrowsAsync<Danfysik8500DirectiveNotTakenException>(() => rig.Supply.SwitchOnAsync());
        var latched = await rig.Supply.ReadAsync();
        Assert.Equal(MagnetOutput.Fault, latched.Output);
        Assert.True(latched.Conditions.HasFlag(MagnetConditions.WaterFlow));

        var decayed = await rig.ReadUntilAsync(r => r.Amps < 0.5, "current decays", maxSeconds: 2000);
        Assert.Equal(MagnetOutput.Fault, decayed.Output);

        await rig.Supply.ResetAsync();
        var reset = await rig.Supply.ReadAsync();
        Assert.Equal(MagnetOutput.Off, reset.Output);
        await rig.Supply.SwitchOnAsync();
        Assert.True(rig.Model.PowerOn);
    }

    [Fact]
    public async Task Reset_while_the_cause_persists_is_reported_not_taken()
    {
        await using var rig = new Danfysik8500Rig();
        await rig.Supply.InitializeAsync();
        rig.Model.RaiseInterlock(C.DoorSwitch);
        var e = await Assert.ThrowsAsync<Danfysik8500DirectiveNotTakenException>(() => rig.Supply.ResetAsync());
        Assert.Equal("RS", e.Sent);
        Assert.Equal('!', e.ReadBack[19]);
    }

    [Fact]
    public async Task Polarity_reverses_through_zero_only()
    {
        await using var rig = new Danfysik8500Rig();
        await rig.Supply.InitializeAsync();
        await rig.Supply.SwitchOnAsync();
        await rig.Supply.SetCurrentAsync(300);
        await rig.ReadUntilAsync(r => Math.Abs(r.Amps - 300) < 0.2, "300 A");

        var refused = await Assert.ThrowsAsync<Danfysik8500RefusedException>(() => rig.Supply.SetPolarityAsync(MagnetPolarity.Reversed));
        Assert.Equal("PO -", refused.Request);
        Assert.Equal(MagnetPolarity.Normal, rig.Model.Polarity);

        await rig.Supply.SetCurrentAsync(0);
        var zero = await rig.ReadUntilAsync(r => r.Amps < 0.1, "zero current");
        Assert.Equal(MagnetOutput.On, zero.Output);
        await rig.Supply.SetPolarityAsync(MagnetPolarity.Reversed);
        Assert.Equal(MagnetPolarity.Reversed, rig.Model.Polarity);

        await rig.Supply.SetCurrentAsync(300);
        var reversed = await rig.ReadUntilAsync(r => Math.Abs(r.Amps - 300) < 0.2, "300 A reversed");
        Assert.Equal(MagnetPolarity.Reversed, reversed.Polarity);
    }

    [Fact]
    public async Task The_unit_refuses_PO_while_current_flows_even_when_the_driver_was_not_asked()
    {
        // A readback taken at zero, then current: the driver's last readback lets PO through, the unit refuses it and S1 shows it.
        await using var rig = new Danfysik8500Rig();
        await rig.Supply.InitializeAsync();
        await rig.Supply.ReadAsync();
        rig.Model.StartOn(300_000);
        var e = await Assert.ThrowsAsync<Danfysik8500DirectiveNotTakenException>(() => rig.Supply.SetPolarityAsync(MagnetPolarity.Reversed));
        Assert.Equal("PO -", e.Sent);
        Assert.Equal(MagnetPolarity.Normal, rig.Model.Polarity);
    }

    [Fact]
    public async Task A_unit_in_local_takes_no_directive_and_the_driver_says_so()
    {
        await using var rig = new Danfysik8500Rig();
        await rig.Supply.InitializeAsync();
        rig.Model.SetLocal(true);
        var e = await Assert.ThrowsAsync<Danfysik8500DirectiveNotTakenException>(() => rig.Supply.SwitchOnAsync());
        Assert.Equal("N", e.Sent);
        // The read-back is the unit's error message (in front of S1's reply) or S1 showing power off: never success.
        Assert.True(e.ReadBack is "ERROR: LOCAL MODE" or "!!....................!.", e.ReadBack);
        Assert.False(rig.Model.PowerOn);
        rig.Model.SetLocal(false);
        await rig.Supply.SwitchOnAsync();
        Assert.True((await rig.Supply.ReadAsync()).Output == MagnetOutput.On);
    }
}
