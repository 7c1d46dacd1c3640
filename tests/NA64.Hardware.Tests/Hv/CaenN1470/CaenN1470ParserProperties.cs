using System.Text;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using NA64.Hardware.Errors;
using NA64.Hardware.Hv.CaenN1470;
using P = NA64.Hardware.Hv.CaenN1470.CaenN1470Protocol;

namespace NA64.Hardware.Tests.Hv.CaenN1470;

/// <summary>Lines built from reply fragments, so that random input reaches every branch of the parser.</summary>
public sealed record ReplyLike(string Line);

/// <summary>A numeric setpoint within what a board could report, with its decimals.</summary>
public sealed record WireNumber(double Value, int Decimals);

public static class CaenArbitraries
{
    private static readonly string[] Fragments =
    [
        "#", "$", "BD:", "00", "0", "01", "31", "99", ",", "CMD:", "OK", "ERR", "VAL:", "CH:", "PAR:", "LOC:", ":",
        ";", "1500.0", "0000.0", "00011", "02048", "N1470", "+", "-", ".", "\r", "\n", "\0", "\u00e9", "\u00ff", " ",
        "CMD:OK", "CMD:OK,VAL:", "#BD:00,", "#BD:01,", "#CMD:OK", "VAL:ERR", "LOC:ERR", "CH:ERR",
    ];

    public static Arbitrary<ReplyLike> ReplyLike() =>
        Arb.From(Gen.ListOf(Gen.Elements(Fragments)).Select(parts => new ReplyLike(string.Concat(parts))));

    public static Arbitrary<WireNumber> WireNumber() =>
        Arb.From(
            from decimals in Gen.Choose(0, 3)
            from units in Gen.Choose(0, 9_999_999)
            select new WireNumber(units / Math.Pow(10, decimals), decimals));
}

public class CaenN1470ParserProperties
{
    private static readonly CaenN1470Codec[] Codecs =
    [
        new(CaenDialect.N1470), new(CaenDialect.N1470LenientReply), new(CaenDialect.Desktop),
    ];

    /// <summary>Parses under every dialect; true when each outcome is a reply or a DeviceReplyException.</summary>
    private static bool ParsesOrRefusesCleanly(Func<CaenN1470Codec, CaenReply> parse)
    {
        foreach (var codec in Codecs)
        {
            try
            {
                var reply = parse(codec);
                if (reply.Values.Any(v => v.Length == 0 || v.Contains(';', StringComparison.Ordinal)))
                {
                    return false;
                }
            }
            catch (DeviceReplyException e) when (e.Request == "req" && e.RawReply is not null)
            {
                // the only allowed failure: a typed reply error carrying request and raw line
            }
        }

        return true;
    }

    [Property(MaxTest = 500)]
    public bool AnyBytes_ParseOrGiveAReplyError(byte[] bytes, byte board) =>
        ParsesOrRefusesCleanly(codec => codec.ParseReply("req", board % 32, bytes));

    [Property(MaxTest = 500)]
    public bool AnyString_ParsesOrGivesAReplyError(NonNull<string> line, byte board) =>
        ParsesOrRefusesCleanly(codec => codec.ParseReply("req", board % 32, line.Get));

    [Property(MaxTest = 2000, Arbitrary = [typeof(CaenArbitraries)])]
    public bool ReplyLikeLines_ParseOrGiveAReplyError(ReplyLike line) =>
        ParsesOrRefusesCleanly(codec => codec.ParseReply("req", 0, line.Line));

    [Property(MaxTest = 500)]
    public bool AnyValueText_DecodesOrGivesAReplyError(NonNull<string> text)
    {
        foreach (var parameter in P.All)
        {
            try
            {
                var reading = CaenN1470Codec.DecodeValue("req", parameter, text.Get, "raw");
                if (parameter.Kind == CaenValueKind.Number && reading.Number is not double n)
                {
                    return false;
                }
            }
            catch (DeviceReplyException e) when (e.Request == "req")
            {
            }
        }

        return true;
    }

    [Property(MaxTest = 500, Arbitrary = [typeof(CaenArbitraries)])]
    public bool FormattedSetpoint_ParsesBackToTheSameValue(WireNumber number)
    {
        string text = CaenN1470Codec.FormatNumber(number.Value, number.Decimals);
        var codec = new CaenN1470Codec(CaenDialect.N1470);
        string request = codec.FormatChannelRequest(0, CaenCommand.Set, P.VSet, 1, 4, text);
        var reply = codec.ParseReply(request, 0, "#BD:00,CMD:OK,VAL:" + text);
        double back = CaenN1470Codec.ParseNumber(request, P.VSet, reply.Values[0], reply.RawLine);
        return CaenN1470Codec.FitsResolution(number.Value, number.Decimals)
            && Math.Abs(back - number.Value) <= 1e-9 * Math.Max(1, number.Value)
            && request.EndsWith(",VAL:" + text, StringComparison.Ordinal);
    }

    [Property(MaxTest = 500, Arbitrary = [typeof(CaenArbitraries)])]
    public bool ZeroPaddedWireValues_ParseInBase10(WireNumber number)
    {
        // What the firmware sends: %06.1f-like zero padding, never read as octal.
        string format = "0000" + (number.Decimals > 0 ? "." + new string('0', number.Decimals) : "");
        string wire = number.Value.ToString(format, System.Globalization.CultureInfo.InvariantCulture);
        double back = CaenN1470Codec.ParseNumber("req", P.VMon, wire, "raw");
        return Math.Abs(back - number.Value) <= 1e-9 * Math.Max(1, number.Value);
    }

    [Property(MaxTest = 500)]
    public bool AllChannelLists_RoundTrip(NonEmptyArray<NonNegativeInt> stats, bool trailingSemicolon)
    {
        int[] values = stats.Get.Select(s => s.Get).ToArray();
        string list = string.Join(";", values.Select(v => P.Stat.FormatWireValue(v))) + (trailingSemicolon ? ";" : "");
        var codec = new CaenN1470Codec(CaenDialect.N1470);
        var reply = codec.ParseReply("req", 5, Encoding.ASCII.GetBytes("#BD:05,CMD:OK,VAL:" + list + "\r\n"));
        var back = reply.Values.Select(v => CaenN1470Codec.ParseInteger("req", P.Stat, v, reply.RawLine)).ToArray();
        return back.SequenceEqual(values) && reply.Board == 5;
    }
}
