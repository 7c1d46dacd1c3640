using NA64.Hardware.Magnets;
using NA64.SlowControl.Magnets;
using NA64.SlowControl.Magnets.Danfysik8500;
using NA64.SlowControl.Setup;

namespace NA64.SlowControl.Tests.Magnets;

/// <summary>
/// Ramps never exceed the configured dI/dt (issue 8): a supply that ramps itself at a known rate above the one asked
/// for is stepped by the controller; one at that rate or faster than asked, or at a rate unknown (a beam-line
/// converter), gets one setpoint per leg. The Danfysik cases run the built-in setup's BENCH-DFK (slewAmpsPerSecond: 20)
/// through its kind: the simulated unit slews at 20 A/s, the driver reports it.
/// </summary>
public sealed class MagnetOwnRampTests
{
    // Numerical slack on the simulator's true current (no ADC noise in it): steps are exact multiples of rate x 1 s.
    private const double Slack = 0.05;

    [Fact]
    public async Task The_setup_slew_rate_reaches_the_driver_and_the_simulated_unit_and_is_required()
    {
        await using (var rig = new DanfysikSlewRig())
        {
            Assert.Equal(20, Danfysik8500Kind.Options(rig.Setup).SlewAmpsPerSecond);
            Assert.Equal(20, rig.Supply.Capabilities.OwnRampAmpsPerSecond);
            Assert.Equal(20, rig.Unit.Settings.SlewAmpsPerSecond);
        }

        // Without the unit's slew the controller could not know whether the unit would outrun the dI/dt: refused.
        var missing = Assert.Throws<SetupException>(() => SetupLoader.LoadFromText(WithSlew(null), "test"));
        Assert.Contains("slewAmpsPerSecond: is required for a danfysik8500", missing.Message, StringComparison.Ordinal);

        var e = Assert.Throws<SetupException>(() => SetupLoader.LoadFromText(WithSlew("0"), "test"));
        Assert.Contains("slewAmpsPerSecond", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_Danfysik_slewing_at_20_A_per_s_asked_for_5_A_per_s_is_stepped_and_the_current_never_runs_ahead_of_5_A_per_s()
    {
        await using var rig = new DanfysikSlewRig();
        rig.Unit.StartOn(0);
        await rig.Poller.PollOnceAsync();
        Assert.Equal(MagnetState.AtSetpoint, rig.Controller.State);
        var start = rig.Time.GetUtcNow();

        Assert.Equal(MagnetRequestOutcome.Done, (await rig.Controller.RampToAsync(100, 5)).Outcome);
        await rig.RunUntil(MagnetState.AtSetpoint, TimeSpan.FromMinutes(2));

        // Never ahead of the ideal 5 A/s ramp from the command, and never more than 5 A in any second.
        foreach (var (time, amps) in rig.Samples)
            Assert.True(amps <= (5 * (time - start).TotalSeconds) + Slack, $"{amps} A at {(time - start).TotalSeconds} s is ahead of 5 A/s");
        AssertNoSecondRisesMoreThan(rig.Samples, 5);
        // One step per readback, each within 5 A/s of the previous: 20 steps of 5 A.
        AssertStepsWithin(rig.Supply.Setpoints, start, 0, 5);
        Assert.Equal(20, rig.Supply.Setpoints.Count);
        Assert.Equal(100, rig.Supply.Setpoints[^1].Amps);
        Assert.InRange(rig.Controller.Snapshot().Amps!.Value, 99, 101);
        // At 20 A/s it would have been there after 5 s; stepped it takes the 20 s that 5 A/s allows.
        var reached = rig.Samples.First(s => s.Amps >= 99).Time - start;
        Assert.InRange(reached.TotalSeconds, 19.8, 21);
    }

    [Fact]
    public async Task A_Danfysik_asked_for_its_own_slew_rate_gets_one_setpoint_and_slews_there_itself()
    {
        await using var rig = new DanfysikSlewRig();
        rig.Unit.StartOn(0);
        await rig.Poller.PollOnceAsync();
        var start = rig.Time.GetUtcNow();

        await rig.Controller.RampToAsync(100, 20);
        await rig.RunUntil(MagnetState.AtSetpoint, TimeSpan.FromMinutes(1));

        Assert.Equal([100.0], rig.Supply.Setpoints.Select(s => s.Amps));
        var reached = rig.Samples.First(s => s.Amps >= 99).Time - start;
        Assert.InRange(reached.TotalSeconds, 4.9, 5.1); // the unit's own 20 A/s
        foreach (var (time, amps) in rig.Samples)
            Assert.True(amps <= (20 * (time - start).TotalSeconds) + Slack);
    }

    [Fact]
    public async Task A_Danfysik_stepped_through_zero_waits_there_switches_polarity_and_steps_out_within_dIdt()
    {
        await using var rig = new DanfysikSlewRig();
        rig.Unit.StartOn(50_000); // 50 A
        await rig.Poller.PollOnceAsync();
        Assert.Equal(MagnetState.AtSetpoint, rig.Controller.State);
        var start = rig.Time.GetUtcNow();

        await rig.Controller.RampToAsync(-50, 5);
        var phases = new List<MagnetRampPhase>();
        await rig.RunAsync(() =>
        {
            phases.Add(rig.Controller.Snapshot().RampPhase);
            return rig.Controller.State == MagnetState.AtSetpoint;
        }, TimeSpan.FromMinutes(2));

        var polarity = Assert.Single(rig.Supply.Polarities);
        Assert.Equal(MagnetPolarity.Reversed, polarity.Polarity);
        // Signed steps: down to 0 in 10 steps, the wait at zero, then out to -50 in 10 steps, none above 5 A/s.
        var signed = rig.Supply.Setpoints.Select(s => (s.Time, Amps: s.Time > polarity.Time ? -s.Amps : s.Amps)).ToList();
        var reachedZero = signed.First(s => s.Amps == 0).Time;
        Assert.Equal(10, signed.Count(s => s.Time < polarity.Time));
        Assert.Equal(10, signed.Count(s => s.Time > polarity.Time));
        AssertStepsWithin(signed, start, 50, 5);
        Assert.True(polarity.Time - reachedZero >= DanfysikSlewRig.Settings.ZeroCrossingWait,
            $"polarity switched {polarity.Time - reachedZero} after the zero setpoint");
        Assert.Contains(MagnetRampPhase.WaitAtZero, phases);
        // The true current never moves faster than 5 A/s in any second, either way.
        AssertNoSecondRisesMoreThan([.. rig.Samples.Select(s => (s.Time, -s.Amps))], 5);
        Assert.Equal(MagnetPolarity.Reversed, rig.Unit.Polarity);
        Assert.InRange(rig.Controller.Snapshot().Amps!.Value, -51, -49);
    }

    [Fact]
    public async Task A_Danfysik_left_slewing_at_its_own_rate_then_asked_for_5_A_per_s_is_held_where_it_is_and_stepped_from_there()
    {
        await using var rig = new DanfysikSlewRig();
        rig.Unit.StartOn(0);
        await rig.Poller.PollOnceAsync();
        await rig.Controller.RampToAsync(200, 20); // one setpoint: the unit slews at 20 A/s
        int polls = 0;
        await rig.RunAsync(() => ++polls == 5, TimeSpan.FromSeconds(10));
        rig.Time.Advance(TimeSpan.FromSeconds(0.5)); // half a poll period after the last readback (100 A)
        double atRequest = rig.TrueSignedAmps;
        Assert.InRange(atRequest, 109, 111);
        var request = rig.Time.GetUtcNow();
        rig.Samples.Clear();

        await rig.Controller.RampToAsync(200, 5);
        await rig.RunUntil(MagnetState.AtSetpoint, TimeSpan.FromMinutes(1));

        // Held at once where the unit had slewed to (last readback + 20 A/s x 0.5 s), then stepped at 5 A/s.
        var hold = rig.Supply.Setpoints[1];
        Assert.Equal(request, hold.Time);
        Assert.InRange(hold.Amps, atRequest - 0.2, atRequest + 0.2);
        foreach (var (time, amps) in rig.Samples)
            Assert.True(amps <= atRequest + (5 * (time - request).TotalSeconds) + 0.2, $"{amps} A {(time - request).TotalSeconds} s after the request");
        Assert.Equal(200, rig.Supply.Setpoints[^1].Amps);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(5)]
    [InlineData(10)]
    public async Task A_beam_line_magnet_whose_own_ramp_is_unknown_gets_one_setpoint_whatever_the_rate(double rate)
    {
        Assert.Null(MagnetTestKit.BeamLine.OwnRampAmpsPerSecond);
        var k = new MagnetTestKit(MagnetTestKit.BeamLine);
        k.Supply.StartAt(0);
        await k.PollNow();

        await k.Controller.RampToAsync(100, rate);
        await k.PollUntil(MagnetState.AtSetpoint);

        Assert.Equal([100.0], k.Supply.SetpointRequests.Select(r => r.Amps));
    }

    [Theory]
    [InlineData(10, 1)] // the scripted supply's own 4 A/s, 10 A/s asked: its own ramp
    [InlineData(4, 1)] // its own rate asked for: its own ramp
    [InlineData(2, 25)] // 2 A/s asked of a supply at 4 A/s: stepped, 25 steps of 2 A
    public async Task A_supply_ramping_itself_at_a_known_rate_is_stepped_only_when_asked_for_less(double rate, int setpoints)
    {
        var k = new MagnetTestKit(MagnetTestKit.SelfRamping with { OwnRampAmpsPerSecond = 4 });
        k.Supply.StartAt(0);
        await k.PollNow();
        var start = k.Time.GetUtcNow();

        await k.Controller.RampToAsync(50, rate);
        await k.PollUntil(MagnetState.AtSetpoint);

        var steps = k.Supply.SetpointRequests.ToList();
        Assert.Equal(setpoints, steps.Count);
        Assert.Equal(50, steps[^1].Amps);
        if (setpoints > 1) AssertStepsWithin(steps, start, 0, rate);
    }

    [Theory]
    [InlineData(2, "SetCurrent 0, SwitchOn", 0)] // default 2 A/s: it would slew back to 50 A at 4 A/s, so from 0
    [InlineData(10, "SwitchOn", 50)] // default 10 A/s: its own 4 A/s is within it, it keeps its setpoint
    public async Task Switching_on_a_supply_that_would_slew_to_an_old_setpoint_faster_than_the_default_dIdt_starts_it_from_0(
        double defaultRate, string requests, double target)
    {
        var k = new MagnetTestKit(MagnetTestKit.SelfRamping with { OwnRampAmpsPerSecond = 4 }, MagnetTestKit.TestSettings with { RampAmpsPerSecond = defaultRate });
        k.Supply.Setpoint = 50;
        await k.PollNow();
        Assert.Equal(MagnetState.Off, k.State);

        await k.Controller.SwitchOnAsync();

        Assert.Equal(requests, string.Join(", ", k.Supply.Requests.Select(r => r.What == "SetCurrent" ? $"SetCurrent {r.Value}" : r.What)));
        Assert.Equal(target, k.Controller.TargetAmps);
    }

    [Fact]
    public async Task A_safe_ramp_down_of_a_supply_ramping_itself_faster_than_dIdt_is_stepped()
    {
        var settings = MagnetTestKit.TestSettings with { SafeAction = MagnetSafeAction.RampDown, RampAmpsPerSecond = 2 };
        var k = new MagnetTestKit(MagnetTestKit.SelfRamping with { OwnRampAmpsPerSecond = 4 }, settings);
        k.Supply.StartAt(20);
        await k.PollNow();
        k.Supply.InjectInterlock(MagnetConditions.OverTemperature, dropsOutput: false);
        await k.Poll();
        Assert.Equal(MagnetState.Interlocked, k.State);
        var faultTime = k.Time.GetUtcNow();
        Assert.Empty(k.Supply.SetpointRequests); // stepped: nothing at once, the first step on the next readback

        await k.Poll(15);

        var steps = k.Supply.SetpointRequests.ToList();
        Assert.Equal(10, steps.Count); // 20 A at 2 A/s
        AssertStepsWithin(steps, faultTime, 20, 2);
        Assert.Equal(0, steps[^1].Amps);
        Assert.Equal("SwitchOff", k.Supply.Requests[^1].What);
    }

    /// <summary>Each setpoint within <paramref name="rate"/> x the time since the previous one (the first since <paramref name="start"/>).</summary>
    private static void AssertStepsWithin(IEnumerable<(DateTimeOffset Time, double Amps)> steps, DateTimeOffset start, double from, double rate)
    {
        var (previousTime, previousAmps) = (start, from);
        foreach (var (time, amps) in steps)
        {
            double seconds = (time - previousTime).TotalSeconds;
            Assert.True(Math.Abs(amps - previousAmps) <= (rate * seconds) + 1e-9,
                $"step {previousAmps} -> {amps} A in {seconds} s exceeds {rate} A/s");
            (previousTime, previousAmps) = (time, amps);
        }
    }

    /// <summary>The current rises by at most <paramref name="amps"/> over any one second of the samples.</summary>
    private static void AssertNoSecondRisesMoreThan(IReadOnlyList<(DateTimeOffset Time, double Amps)> samples, double amps)
    {
        int j = 0;
        for (int i = 0; i < samples.Count; i++)
        {
            while (j < samples.Count && samples[j].Time - samples[i].Time < TimeSpan.FromSeconds(1)) j++;
            if (j == samples.Count) break;
            Assert.True(samples[j].Amps - samples[i].Amps <= amps + Slack,
                $"{samples[i].Amps} -> {samples[j].Amps} A in the second from {samples[i].Time:O}");
        }
    }

    /// <summary>The built-in setup with BENCH-DFK's slew rate set to <paramref name="value"/>, or left out when null.</summary>
    private static string WithSlew(string? value)
    {
        string text = SetupLoader.DefaultText();
        const string line = "    slewAmpsPerSecond: 20\n";
        Assert.Contains(line, text, StringComparison.Ordinal);
        return text.Replace(line, value is null ? "" : $"    slewAmpsPerSecond: {value}\n", StringComparison.Ordinal);
    }
}
