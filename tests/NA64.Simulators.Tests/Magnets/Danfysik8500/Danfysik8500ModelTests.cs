using Microsoft.Extensions.Time.Testing;
using NA64.Hardware.Magnets;
using NA64.Simulators.Magnets.Danfysik8500;
using C = NA64.Hardware.Magnets.Danfysik8500.Danfysik8500Conditions;

namespace NA64.Simulators.Tests.Magnets.Danfysik8500;

/// <summary>The load physics and latches of the model on fake time.</summary>
public sealed class Danfysik8500ModelTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 9, 1, 8, 0, 0, TimeSpan.Zero));

    private (Danfysik8500Model Model, Danfysik8500Wire Wire) NewUnit(Danfysik8500SimSettings? settings = null)
    {
        var model = new Danfysik8500Model(0, _time, settings);
        var wire = new Danfysik8500Wire(model);
        wire.Respond("REM");
        return (model, wire);
    }

    [Fact]
    public void Current_slews_at_the_slew_rate_to_the_setpoint()
    {
        var (m, w) = NewUnit();
        w.Respond("N");
        w.Respond("WA 800000");
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(20, m.Amps, 6);
        Assert.Equal(20 * 0.01 + 0.5 * 20, m.Volts, 2); // I·R + L·dI/dt, I·R taken at the start of the last 10 ms step
        _time.Advance(TimeSpan.FromSeconds(19));
        Assert.Equal(400, m.Amps, 6);
        _time.Advance(TimeSpan.FromSeconds(100));
        Assert.Equal(800, m.Amps, 9);
        Assert.Equal(8, m.Volts, 9);
        w.Respond("WA 700000");
        _time.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal(760, m.Amps, 6);
    }

    [Fact]
    public void Voltage_compliance_limits_the_rate_on_a_large_inductance()
    {
        // 30 V on 5 H: at most (30 - I·R)/L = 6 A/s at zero current, less as the current rises.
        var (m, w) = NewUnit(Danfysik8500SimSettings.Default with { InductanceHenries = 5 });
        w.Respond("N");
        w.Respond("WA 500000");
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.InRange(m.Amps, 5.9, 6.0);
        Assert.InRange(m.Volts, 29.9, 30.0001);
        _time.Advance(TimeSpan.FromSeconds(200));
        Assert.Equal(500, m.Amps, 6);
    }

    [Fact]
    public void Power_off_lets_the_current_decay_with_L_over_R()
    {
        var (m, w) = NewUnit();
        m.StartOn(500_000);
        w.Respond("F");
        _time.Advance(TimeSpan.FromSeconds(50)); // one time constant of 0.5 H / 10 mOhm
        Assert.Equal(500 / Math.E, m.Amps, 6);
        Assert.Equal(0, m.Volts);
    }

    [Fact]
    public void An_interlock_drops_the_power_and_latches_until_RS_after_its_cause_is_gone()
    {
        var (m, w) = NewUnit();
        m.StartOn(500_000);
        m.RaiseInterlock(C.MagnetOverTemperature);
        Assert.False(m.PowerOn);
        Assert.Equal(C.MagnetOverTemperature, m.LatchedInterlocks);
        Assert.True(m.Conditions.HasFlag(C.SumInterlock));
        m.ClearInterlock(C.MagnetOverTemperature);
        Assert.Equal(C.None, m.PersistingInterlocks);
        Assert.True(m.Conditions.HasFlag(C.SumInterlock));
        w.Respond("RS");
        Assert.False(m.Conditions.HasFlag(C.SumInterlock));
        Assert.Equal(500_000, m.SetpointPpm); // RS clears latches, it does not touch the setpoint
    }

    [Fact]
    public void Backdoor_refuses_what_is_not_an_interlock_input()
    {
        var (m, _) = NewUnit();
        Assert.Throws<ArgumentOutOfRangeException>(() => m.RaiseInterlock(C.SumInterlock));
        Assert.Throws<ArgumentOutOfRangeException>(() => m.RaiseInterlock(C.MainPowerOff));
        Assert.Throws<ArgumentOutOfRangeException>(() => m.RaiseInterlock(C.None));
    }

    [Fact]
    public void A_day_at_setpoint_is_one_step()
    {
        var (m, w) = NewUnit();
        w.Respond("N");
        w.Respond("WA 100000");
        _time.Advance(TimeSpan.FromDays(1));
        Assert.Equal(100, m.Amps, 9);
        Assert.Equal(MagnetPolarity.Normal, m.Polarity);
    }

    [Fact]
    public void Settings_that_cannot_reach_full_scale_are_refused_in_one_line()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new Danfysik8500Model(0, _time, Danfysik8500SimSettings.Default with { ComplianceVolts = 5 }));
        Assert.Contains("ComplianceVolts is 5", e.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => new Danfysik8500Model(1000, _time));
    }
}
