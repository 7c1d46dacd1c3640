using System.Globalization;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using NA64.Hardware.Errors;
using NA64.Hardware.Magnets.Genesys;

namespace NA64.Hardware.Tests.Magnets.Genesys;

/// <summary>Lines built from Genesys reply fragments, so that random input reaches every branch of the parsers.</summary>
public sealed record GenesysReplyLike(string Line);

public static class GenesysArbitraries
{
    private static readonly string[] Fragments =
    [
        "OK", "C0", "E0", "1", "5", "7", "0", "9", ".", "-", "+", ",", "LAMBDA", "GEN", "8", "400", "CC", "CV", "OFF", "ON",
        "!", "06", "FF", "8C", " ", "\r", "\0", "\u00e9", "\u00ff", "E", "e", "$", "NaN", "Infinity",
    ];

    public static Arbitrary<GenesysReplyLike> ReplyLike() =>
        Arb.From(Gen.ListOf(Gen.Elements(Fragments)).Select(parts => new GenesysReplyLike(string.Concat(parts))));
}

public class GenesysParserProperties
{
    /// <summary>Runs every parser; true when each outcome is a value or a DeviceReplyException carrying request and raw line.</summary>
    private static bool ParsesOrRefusesCleanly(string line)
    {
        var parsers = new Func<string, object?>[]
        {
            l => { GenesysCodec.ParseOk("req", l); return null; },
            l => GenesysCodec.ParseNumber("req", l),
            l => GenesysCodec.ParseHex("req", l),
            l => GenesysCodec.ParseMode("req", l),
            l => GenesysCodec.ParseOutput("req", l),
            l => GenesysCodec.ParseIdentity("req", l),
        };
        foreach (var parse in parsers)
        {
            try
            {
                switch (parse(line))
                {
                    case double d when !double.IsFinite(d):
                        return false;
                    case int register when register is < 0 or > 0xFF:
                        return false;
                    case GenesysModel model when model.RatedAmps <= 0 || model.RatedVolts <= 0:
                        return false;
                }
            }
            catch (DeviceReplyException e) when (e.Request == "req" && e.RawReply == line)
            {
                // the only allowed failure: a typed reply error carrying the request and the raw line
            }
        }

        _ = GenesysCodec.ParseSrq(line);
        return true;
    }

    [Property(MaxTest = 500)]
    public bool AnyString_ParsesOrGivesAReplyError(NonNull<string> line) => ParsesOrRefusesCleanly(line.Get);

    [Property(MaxTest = 2000, Arbitrary = [typeof(GenesysArbitraries)])]
    public bool ReplyLikeLines_ParseOrGiveAReplyError(GenesysReplyLike line) => ParsesOrRefusesCleanly(line.Line);

    [Property(MaxTest = 500)]
    public bool FormattedSettings_ParseBackWithinRounding(NormalFloat value, byte decimals)
    {
        var d = decimals % 4;
        var v = Math.Abs(value.Get) % 10_000;
        var text = GenesysCodec.FormatNumber(v, d);
        var back = GenesysCodec.ParseNumber("req", text);
        return text.Length <= GenesysFacts.MaxNumericArgumentLength
            && !text.Contains('E', StringComparison.OrdinalIgnoreCase)
            && Math.Abs(back - v) <= (0.5 * Math.Pow(10, -d)) + 1e-9;
    }

    [Property(MaxTest = 256)]
    public bool EveryRegisterValue_RoundTripsThroughTwoHexDigits(byte register) =>
        GenesysCodec.ParseHex("req", register.ToString("X2", CultureInfo.InvariantCulture)) == register;

    [Property(MaxTest = 300)]
    public bool EveryErrorCode_IsTypedAndKeepsTheRawReply(bool command, byte number)
    {
        var code = (command ? "C" : "E") + (number % 100).ToString("00", CultureInfo.InvariantCulture);
        try
        {
            GenesysCodec.ParseOk("req", code);
            return false;
        }
        catch (GenesysErrorReplyException e)
        {
            return e.Code == code && e.RawReply == code && (command ? e is GenesysCommandErrorException : e is GenesysExecutionErrorException);
        }
    }

    [Property(MaxTest = 300)]
    public bool ModelNames_RoundTripTheirRatings(PositiveInt volts, PositiveInt amps)
    {
        var v = volts.Get % 1000 + 1;
        var a = amps.Get % 1000 + 1;
        var model = GenesysCodec.ParseIdentity("IDN?", string.Create(CultureInfo.InvariantCulture, $"LAMBDA,GEN{v}-{a}"));
        return model.RatedVolts == v && model.RatedAmps == a;
    }
}
