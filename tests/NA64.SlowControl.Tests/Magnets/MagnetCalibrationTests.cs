using NA64.Hardware.Errors;
using NA64.SlowControl.Magnets;

namespace NA64.SlowControl.Tests.Magnets;

public class MagnetCalibrationTests
{
    // A saturating curve: the field per ampere falls above 600 A.
    private static readonly MagnetCalibration Curve = new("MBPL", [(0, 0), (200, 1.8), (600, 5.4), (800, 6.9)]);

    [Theory]
    [InlineData(0, 0)]
    [InlineData(100, 0.9)]
    [InlineData(200, 1.8)]
    [InlineData(400, 3.6)]
    [InlineData(700, 6.15)]
    [InlineData(800, 6.9)]
    [InlineData(-700, -6.15)]
    public void Field_is_interpolated_linearly_between_the_points_and_odd_for_reversed_current(double amps, double teslaMetres)
    {
        Assert.Equal(teslaMetres, Curve.FieldAt(amps), 12);
        Assert.Equal(amps, Curve.AmpsFor(teslaMetres), 9);
    }

    [Fact]
    public void Current_for_a_field_inverts_the_field_for_a_current_across_the_whole_table()
    {
        for (double amps = -800; amps <= 800; amps += 12.5)
            Assert.Equal(amps, Curve.AmpsFor(Curve.FieldAt(amps)), 9);
    }

    [Fact]
    public void Outside_the_table_is_refused_in_one_line_naming_the_value_and_the_end_of_the_table()
    {
        var current = Assert.Throws<SetpointOutOfRangeException>(() => Curve.FieldAt(850));
        Assert.Equal("MBPL: current (A) = 850 refused, calibration table maximum is 800", current.Message);
        var field = Assert.Throws<SetpointOutOfRangeException>(() => Curve.AmpsFor(-7.2));
        Assert.Equal("MBPL: field (T·m) = -7.2 refused, calibration table maximum is 6.9", field.Message);
        Assert.Throws<SetpointOutOfRangeException>(() => Curve.FieldAt(double.NaN));
        Assert.False(Curve.TryFieldAt(900, out _));

        var offset = new MagnetCalibration("Q1", [(50, 0.5), (100, 1.0)]);
        var below = Assert.Throws<SetpointOutOfRangeException>(() => offset.FieldAt(10));
        Assert.Equal("Q1: current (A) = 10 refused, calibration table minimum is 50", below.Message);
    }

    [Fact]
    public void A_table_that_is_not_increasing_in_both_current_and_field_is_refused_in_one_line()
    {
        var e = Assert.Throws<ArgumentException>(() => new MagnetCalibration("MBPL", [(0, 0), (400, 3.6), (600, 3.5)]));
        Assert.StartsWith("MBPL: calibration point 2 (600 A, 3.5 T·m) must be above point 1 (400 A, 3.6 T·m) in both current and field", e.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => new MagnetCalibration("MBPL", [(0, 0)]));
        Assert.Throws<ArgumentException>(() => new MagnetCalibration("MBPL", [(0, 0), (double.NaN, 1)]));
    }

    [Fact]
    public void Momentum_and_field_follow_p_equals_0_2998_Bdl_over_angle()
    {
        // NA64: about 7 T·m bends 100 GeV electrons by about 21 mrad (na64-setup.md §10.2).
        Assert.Equal(0.299792458 * 7 / 0.021, MagnetCalibration.MomentumFor(7, 0.021), 12);
        Assert.InRange(MagnetCalibration.MomentumFor(7, 0.021), 99.9, 100.0);
        Assert.Equal(7, MagnetCalibration.FieldForMomentum(MagnetCalibration.MomentumFor(7, 0.021), 0.021), 12);
        Assert.Equal(100, Curve.MomentumAt(Curve.AmpsForMomentum(100, 0.02), 0.02), 9);
        var angle = Assert.Throws<ArgumentOutOfRangeException>(() => MagnetCalibration.FieldForMomentum(100, 0));
        Assert.StartsWith("bending angle = 0 rad must be > 0 and < pi", angle.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_assumed_MBPL_pair_gives_7_Tm_at_800_A()
    {
        var mbpl = MagnetCalibration.MbplPairAssumed;
        Assert.Equal(7.0, mbpl.FieldAt(800), 12);
        Assert.Equal(700 * 7.0 / 800, mbpl.FieldAt(700), 12);
        Assert.Equal(800, mbpl.MaxAmps);
    }
}
