using System.Globalization;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using NA64.Hardware.Magnets.BeamLine;

namespace NA64.Hardware.Tests.Magnets.BeamLine;

/// <summary>Lines built from gateway reply fragments, so that random input reaches every branch of the parser.</summary>
public sealed record GatewayLike(string Line);

/// <summary>A read-back as a gateway would publish it (amperes with three decimals, times in whole milliseconds).</summary>
public sealed record WireStatus(BeamLineState State, double RefAmps, double MeasuredAmps, bool InReference, long Cycle, DateTimeOffset Time, string? File);

public static class BeamLineArbitraries
{
    private static readonly string[] Fragments =
    [
        "OK", " ", "H4-MBPL", "OTHER", "STATE=", "ON", "OFF", "FAULT", "STANDBY", "IREF=", "IMEAS=", "INREF=", "CYCLE=",
        "TIME=", "FILE=", "CAUSE=", "ELEMENTS=", "MBPL1,MBPL2", ",", "=", "-", "735.000", "735,000", "1e3", "+5", "0", "1", "2",
        "99999999999", "2026-09-01T08:00:14.400Z", "2026-13-01T08:00:14.400Z", "ACCEPTED", "PENDING", "DENIED", "ERR",
        "T1", "no token", "\r", "\0", "\u00e9", ".", "..",
    ];

    public static Arbitrary<GatewayLike> GatewayLike() =>
        Arb.From(Gen.ListOf(Gen.Elements(Fragments)).Select(parts => new GatewayLike(string.Concat(parts))));

    public static Arbitrary<WireStatus> WireStatus() =>
        Arb.From(
            from state in Gen.Elements(Enum.GetValues<BeamLineState>())
            from iref in Gen.Choose(0, 1_000_000)
            from imeas in Gen.Choose(0, 1_000_000)
            from inRef in Gen.Elements(true, false)
            from cycle in Gen.Choose(0, int.MaxValue)
            from ms in Gen.Choose(0, int.MaxValue)
            from file in Gen.Elements<string?>(null, "H4-100GeV-e", "x")
            select new WireStatus(state, iref / 1000.0, imeas / 1000.0, inRef, cycle,
                new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero).AddMilliseconds(ms), file));
}

public class BeamLineCodecProperties
{
    private const string Request = "READ H4-MBPL";

    /// <summary>A gateway line written by hand in the documented form, independent of the simulator's formatter.</summary>
    private static string Line(WireStatus s) => string.Create(CultureInfo.InvariantCulture,
        $"OK H4-MBPL STATE={BeamLineProtocol.State(s.State)} IREF={s.RefAmps:0.000} IMEAS={s.MeasuredAmps:0.000} INREF={(s.InReference ? 1 : 0)} " +
        $"CYCLE={s.Cycle} TIME={s.Time.UtcDateTime:yyyy-MM-dd'T'HH:mm:ss.fff'Z'} FILE={s.File ?? "-"} CAUSE=- ELEMENTS=MBPL1,MBPL2");

    [Property(MaxTest = 2000, Arbitrary = [typeof(BeamLineArbitraries)])]
    public bool Any_line_parses_as_a_status_or_is_refused_with_a_typed_error_carrying_the_raw_line(GatewayLike line)
    {
        try
        {
            var status = BeamLineCodec.ParseStatus(Request, line.Line, "H4-MBPL");
            return status.Circuit == "H4-MBPL" && double.IsFinite(status.RefAmps) && status.Cycle >= 0;
        }
        catch (BeamLineReplyException e)
        {
            return e.RawReply == line.Line && e.Request == Request && !e.Message.Contains('\r', StringComparison.Ordinal);
        }
    }

    [Property(MaxTest = 2000, Arbitrary = [typeof(BeamLineArbitraries)])]
    public bool Any_line_parses_as_an_outcome_or_is_refused_with_a_typed_error(GatewayLike line)
    {
        try
        {
            var outcome = BeamLineCodec.ParseOutcome("ON H4-MBPL u r", line.Line);
            return outcome.Kind switch
            {
                BeamLineOutcomeKind.Accepted => line.Line == "ACCEPTED",
                BeamLineOutcomeKind.PendingOperator => BeamLineProtocol.IsName(outcome.Ticket),
                _ => BeamLineProtocol.IsReason(outcome.Reason),
            };
        }
        catch (BeamLineReplyException e)
        {
            return e.RawReply == line.Line;
        }
    }

    [Property(MaxTest = 1000, Arbitrary = [typeof(BeamLineArbitraries)])]
    public bool A_documented_status_line_parses_back_to_its_values(WireStatus s) =>
        Matches(BeamLineCodec.ParseStatus(Request, Line(s), "H4-MBPL"), s);

    [Property(MaxTest = 500, Arbitrary = [typeof(BeamLineArbitraries)])]
    public bool Keys_in_any_order_parse_the_same(WireStatus s, int seed)
    {
        var fields = Line(s).Split(' ');
        var random = new Random(seed);
        var shuffled = fields.Take(2).Concat(fields.Skip(2).OrderBy(_ => random.Next()));
        return Matches(BeamLineCodec.ParseStatus(Request, string.Join(' ', shuffled), "H4-MBPL"), s);
    }

    private static bool Matches(BeamLineStatus parsed, WireStatus s) =>
        parsed.State == s.State && parsed.RefAmps == s.RefAmps && parsed.MeasuredAmps == s.MeasuredAmps
        && parsed.InReference == s.InReference && parsed.Cycle == s.Cycle && parsed.Timestamp == s.Time
        && parsed.BeamFile == s.File && parsed.FaultCause is null && parsed.Elements.SequenceEqual(["MBPL1", "MBPL2"]);

    [Property(MaxTest = 500)]
    public bool A_set_request_carries_the_amperes_in_the_invariant_culture_under_any_culture(NonNegativeInt milliAmps)
    {
        var amps = milliAmps.Get % 1_000_000 / 1000.0;
        var previous = CultureInfo.CurrentCulture;
        try
        {
            // Globalization-invariant runtime: a clone with the decimal comma stands for de-CH / fr-CH.
            var comma = (CultureInfo)CultureInfo.InvariantCulture.Clone();
            comma.NumberFormat.NumberDecimalSeparator = ",";
            CultureInfo.CurrentCulture = comma;
            var line = BeamLineCodec.FormatSet("H4-MBPL", amps, "shift", "run 2026");
            return line == $"SET H4-MBPL {amps.ToString("0.000", CultureInfo.InvariantCulture)} shift run 2026";
        }
        finally
        {
            CultureInfo.CurrentCulture = previous;
        }
    }

    [Theory]
    [InlineData("IREF=735,000")]
    [InlineData("IREF=7.35e2")]
    [InlineData("IREF=+735.0")]
    [InlineData("CYCLE=012x")]
    [InlineData("INREF=yes")]
    [InlineData("STATE=RUNNING")]
    [InlineData("TIME=2026-09-01 08:00:14")]
    public void A_field_out_of_the_grammar_is_refused_naming_the_key(string field)
    {
        var good = "OK H4-MBPL STATE=ON IREF=735.000 IMEAS=734.990 INREF=1 CYCLE=12 TIME=2026-09-01T08:00:14.400Z FILE=- CAUSE=-";
        var key = field[..field.IndexOf('=', StringComparison.Ordinal)];
        var bad = string.Join(' ', good.Split(' ').Select(f => f.StartsWith(key + "=", StringComparison.Ordinal) ? field : f));
        var e = Assert.Throws<BeamLineReplyException>(() => BeamLineCodec.ParseStatus(Request, bad, "H4-MBPL"));
        Assert.Contains(key, e.Message, StringComparison.Ordinal);
        Assert.NotNull(BeamLineCodec.ParseStatus(Request, good, "H4-MBPL"));
    }

    [Fact]
    public void A_read_back_of_another_circuit_or_an_error_is_refused()
    {
        Assert.Contains("asked for 'H4-MBPL'", Assert.Throws<BeamLineReplyException>(() =>
            BeamLineCodec.ParseStatus(Request, "OK H4-B4 STATE=ON IREF=1.000 IMEAS=1.000 INREF=1 CYCLE=1 TIME=2026-09-01T08:00:14.400Z", "H4-MBPL")).Message,
            StringComparison.Ordinal);
        Assert.Contains("unknown circuit", Assert.Throws<BeamLineReplyException>(() =>
            BeamLineCodec.ParseStatus(Request, "ERR unknown circuit H4-MBPL", "H4-MBPL")).Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("ACCEPTED", BeamLineOutcomeKind.Accepted, null, null)]
    [InlineData("PENDING T7", BeamLineOutcomeKind.PendingOperator, "T7", null)]
    [InlineData("DENIED no beam-line control token", BeamLineOutcomeKind.Denied, null, "no beam-line control token")]
    public void Outcomes_parse(string line, BeamLineOutcomeKind kind, string? ticket, string? reason) =>
        Assert.Equal(new BeamLineOutcome(kind, ticket, reason), BeamLineCodec.ParseOutcome("ON H4-MBPL u r", line));

    [Theory]
    [InlineData("H4 MBPL", "shift", "r")]
    [InlineData("H4-MBPL", "", "r")]
    [InlineData("H4-MBPL", "shift", "")]
    [InlineData("H4-MBPL", "shift", "line\r\nbreak")]
    public void A_bad_field_is_refused_before_a_request_is_formed(string circuit, string user, string reason)
    {
        var e = Assert.Throws<ArgumentException>(() => BeamLineCodec.FormatCommand(BeamLineProtocol.On, circuit, user, reason));
        Assert.Matches("^(circuit|user|reason) is '", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => BeamLineCodec.FormatSet("H4-MBPL", double.NaN, "shift", "r"));
    }
}
