using NA64.Simulators.Magnets;

namespace NA64.Simulators.Tests.Magnets.Genesys;

public class MagnetLoadTests
{
    [Fact]
    public void Current_rises_at_the_compliance_along_the_L_over_R_exponential_then_regulates_at_the_setpoint()
    {
        var load = new MagnetLoad(0.5, 0.01);
        load.Advance(10, outputOn: true, setpointAmps: 400, complianceVolts: 8);
        // I(t) = V/R (1 - e^(-t R/L)) = 800 (1 - e^(-0.2))
        Assert.Equal(800 * (1 - Math.Exp(-0.2)), load.Amps, 6);
        Assert.False(load.Regulating);
        Assert.Equal(8, load.Volts);

        load.Advance(100, true, 400, 8);
        Assert.Equal(400, load.Amps);
        Assert.True(load.Regulating);
        Assert.Equal(4, load.Volts, 9);
    }

    [Fact]
    public void One_big_step_lands_where_many_small_steps_do()
    {
        var big = new MagnetLoad(0.5, 0.01);
        var small = new MagnetLoad(0.5, 0.01);
        big.Advance(20, true, 600, 8);
        for (var i = 0; i < 2000; i++)
        {
            small.Advance(0.01, true, 600, 8);
        }

        Assert.Equal(big.Amps, small.Amps, 6);
    }

    [Fact]
    public void A_setpoint_beyond_the_compliance_is_never_reached_and_the_supply_stays_voltage_limited()
    {
        var load = new MagnetLoad(0.5, 0.01);
        load.Advance(10_000, true, 400, 3);
        Assert.Equal(300, load.Amps, 6);
        Assert.False(load.Regulating);
    }

    [Fact]
    public void Switched_off_the_current_decays_with_tau_and_a_lower_setpoint_is_reached_from_above()
    {
        var load = new MagnetLoad(0.5, 0.01);
        load.Advance(1000, true, 400, 8);
        load.Advance(50, outputOn: false, 400, 8);
        Assert.Equal(400 * Math.Exp(-1), load.Amps, 6);
        Assert.Equal(0, load.Volts);

        load.Advance(1000, true, 400, 8);
        load.Advance(1000, true, 100, 8);
        Assert.Equal(100, load.Amps);
        Assert.True(load.Regulating);
    }

    [Fact]
    public void A_slew_limit_caps_the_rate()
    {
        var load = new MagnetLoad(0.5, 0.01, slewAmpsPerSecond: 2);
        load.Advance(10, true, 400, 8);
        Assert.Equal(20, load.Amps, 9);
    }

    [Fact]
    public void Noise_is_seeded_bounded_and_never_negative()
    {
        var a = new MagnetLoad(0.5, 0.01, noiseAmps: 0.05, seed: 3);
        var b = new MagnetLoad(0.5, 0.01, noiseAmps: 0.05, seed: 3);
        a.Advance(1000, true, 10, 8);
        b.Advance(1000, true, 10, 8);
        var readsA = Enumerable.Range(0, 100).Select(_ => a.MeasureAmps()).ToArray();
        var readsB = Enumerable.Range(0, 100).Select(_ => b.MeasureAmps()).ToArray();
        Assert.Equal(readsA, readsB);
        Assert.All(readsA, r => Assert.InRange(r, 9.95, 10.05));
        Assert.True(readsA.Distinct().Count() > 50);
        var off = new MagnetLoad(0.5, 0.01, noiseAmps: 0.05);
        Assert.All(Enumerable.Range(0, 100), _ => Assert.True(off.MeasureAmps() >= 0));
    }

    [Theory]
    [InlineData(-1, 0.01, 0, "henries")]
    [InlineData(0.5, 0, 0, "ohms")]
    [InlineData(0.5, 0.01, -1, "noiseAmps")]
    public void Meaningless_parameters_are_refused(double l, double r, double noise, string parameter) =>
        Assert.Equal(parameter, Assert.Throws<ArgumentOutOfRangeException>(() => new MagnetLoad(l, r, noise)).ParamName);
}
