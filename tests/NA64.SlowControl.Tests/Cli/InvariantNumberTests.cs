using System.CommandLine;
using System.Globalization;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using NA64.SlowControl.Cli;

namespace NA64.SlowControl.Tests.Cli;

public class InvariantNumberTests
{
    [Property]
    public bool Every_finite_double_round_trips_through_its_invariant_text(NormalFloat x)
    {
        double v = x.Get;
        return InvariantNumber.TryParse(v.ToString("R", CultureInfo.InvariantCulture), out double back, out _) && back.Equals(v);
    }

    [Property]
    public bool A_group_separator_is_never_read_as_part_of_the_number(PositiveInt whole, byte fraction)
    {
        // "1,5" and "1,500": a German decimal comma or an English thousands separator; either reading could be wrong.
        string text = string.Create(CultureInfo.InvariantCulture, $"{whole.Get},{fraction}");
        return !InvariantNumber.TryParse(text, out _, out string? why) && why == InvariantNumber.NotANumber;
    }

    [Property]
    public bool Any_text_either_is_refused_or_gives_a_finite_number(string? text) =>
        InvariantNumber.TryParse(text, out double v, out string? why) ? double.IsFinite(v) && why is null : why is not null && v == 0;

    [Theory]
    [InlineData("1.5", 1.5)]
    [InlineData("-20", -20)]
    [InlineData("+3", 3)]
    [InlineData("1e3", 1000)]
    [InlineData(".5", 0.5)]
    public void Plain_numbers_are_read(string text, double value)
    {
        Assert.Equal(value, InvariantNumber.Parse("--volts", text));
    }

    [Theory]
    [InlineData("1,5", "--volts = '1,5': not a number (decimal point, no group separator)")]
    [InlineData("1 500", "--volts = '1 500': not a number (decimal point, no group separator)")]
    [InlineData(" 15", "--volts = ' 15': not a number (decimal point, no group separator)")]
    [InlineData("0x10", "--volts = '0x10': not a number (decimal point, no group separator)")]
    [InlineData("", "--volts = '': not a number (decimal point, no group separator)")]
    [InlineData("NaN", "--volts = 'NaN': not a finite number")]
    [InlineData("-Infinity", "--volts = '-Infinity': not a finite number")]
    [InlineData("1e999", "--volts = '1e999': not a finite number")]
    public void Refusals_name_the_option_the_value_and_the_rule(string text, string message)
    {
        var e = Assert.Throws<FormatException>(() => InvariantNumber.Parse("--volts", text));
        Assert.Equal(message, e.Message);
    }

    [Fact]
    public void Option_reports_a_bad_value_as_a_parse_error_and_reads_a_good_one()
    {
        var volts = InvariantNumber.Option("--volts", "Target voltage");
        var ramp = InvariantNumber.NullableOption("--ramp", "Ramp rate");
        var root = new RootCommand { volts, ramp };

        var bad = root.Parse(["--volts", "1,5"]);
        Assert.Equal("--volts = '1,5': not a number (decimal point, no group separator)", Assert.Single(bad.Errors).Message);

        var nan = root.Parse(["--ramp", "NaN", "--volts", "2"]);
        Assert.Equal("--ramp = 'NaN': not a finite number", Assert.Single(nan.Errors).Message);

        var good = root.Parse(["--volts", "-565.5"]);
        Assert.Empty(good.Errors);
        Assert.Equal(-565.5, good.GetValue(volts));
        Assert.Null(good.GetValue(ramp));
        Assert.Equal(12.5, root.Parse(["--ramp=12.5"]).GetValue(ramp));
    }
}
