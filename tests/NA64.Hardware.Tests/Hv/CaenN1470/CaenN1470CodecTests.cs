using System.Globalization;
using System.Text;
using NA64.Hardware.Errors;
using NA64.Hardware.Hv;
using NA64.Hardware.Hv.CaenN1470;
using P = NA64.Hardware.Hv.CaenN1470.CaenN1470Protocol;

namespace NA64.Hardware.Tests.Hv.CaenN1470;

public class CaenN1470CodecTests
{
    private static readonly CaenN1470Codec Codec = new(CaenDialect.N1470);

    // ---- requests: golden strings and bytes from device-protocols.md §1.2 and §1.10 ----

    [Fact]
    public void BdnchRequest_MatchesTheManualHexDump()
    {
        string request = Codec.FormatBoardRequest(0, CaenCommand.Mon, P.BdNch);
        byte[] onWire = Encoding.ASCII.GetBytes(request + "\r\n");
        byte[] manual = Convert.FromHexString("2442443A30302C434D443A4D4F4E2C5041523A42444E43480D0A");
        Assert.Equal(manual, onWire);
    }

    public static TheoryData<string, Func<string>> ManualRequests => new()
    {
        { "$BD:00,CMD:MON,PAR:BDNAME", () => Codec.FormatBoardRequest(0, CaenCommand.Mon, P.BdName) },
        { "$BD:00,CMD:MON,PAR:BDNCH", () => Codec.FormatBoardRequest(0, CaenCommand.Mon, P.BdNch) },
        { "$BD:00,CMD:SET,CH:1,PAR:VSET,VAL:1500.0", () => Codec.FormatChannelRequest(0, CaenCommand.Set, P.VSet, 1, 4, CaenN1470Codec.FormatNumber(1500, 1)) },
        { "$BD:00,CMD:SET,CH:1,PAR:ON", () => Codec.FormatChannelRequest(0, CaenCommand.Set, P.On, 1, 4) },
        { "$BD:00,CMD:MON,CH:1,PAR:VMON", () => Codec.FormatChannelRequest(0, CaenCommand.Mon, P.VMon, 1, 4) },
        { "$BD:00,CMD:MON,CH:4,PAR:VMON", () => Codec.FormatChannelRequest(0, CaenCommand.Mon, P.VMon, 4, 4) },
        { "$BD:00,CMD:SET,CH:0,PAR:VSET,VAL:9999", () => Codec.FormatChannelRequest(0, CaenCommand.Set, P.VSet, 0, 4, "9999") },
        { "$BD:00,CMD:SET,CH:0,PAR:OFF", () => Codec.FormatChannelRequest(0, CaenCommand.Set, P.Off, 0, 4) },
        { "$BD:00,CMD:SET,PAR:BDILKM,VAL:OPEN", () => Codec.FormatBoardRequest(0, CaenCommand.Set, P.BdIlkm, "OPEN") },
        { "$BD:00,CMD:SET,CH:1,PAR:IMRANGE,VAL:LOW", () => Codec.FormatChannelRequest(0, CaenCommand.Set, P.IMRange, 1, 4, "LOW") },
        { "$BD:00,CMD:SET,CH:1,PAR:PDWN,VAL:KILL", () => Codec.FormatChannelRequest(0, CaenCommand.Set, P.PDwn, 1, 4, "KILL") },
        { "$BD:00,CMD:MON,CH:1,PAR:STAT", () => Codec.FormatChannelRequest(0, CaenCommand.Mon, P.Stat, 1, 4) },
        { "$BD:00,CMD:SET,PAR:BDCLR", () => Codec.FormatBoardRequest(0, CaenCommand.Set, P.BdClr) },
        { "$BD:31,CMD:MON,CH:3,PAR:IMON", () => Codec.FormatChannelRequest(31, CaenCommand.Mon, P.IMon, 3, 4) },
        { "$BD:07,CMD:SET,CH:2,PAR:ISET,VAL:1.10", () => Codec.FormatChannelRequest(7, CaenCommand.Set, P.ISet, 2, 4, CaenN1470Codec.FormatNumber(1.1, 2)) },
    };

    [Theory]
    [MemberData(nameof(ManualRequests))]
    public void Requests_AreTheManualStrings(string expected, Func<string> build) => Assert.Equal(expected, build());

    [Fact]
    public void DesktopDialect_LeavesTheBoardFieldOut()
    {
        var desktop = new CaenN1470Codec(CaenDialect.Desktop);
        Assert.Equal("$CMD:MON,PAR:BDILK", desktop.FormatBoardRequest(0, CaenCommand.Mon, P.BdIlk));
        Assert.Equal("$CMD:MON,CH:2,PAR:VSET", desktop.FormatChannelRequest(0, CaenCommand.Mon, P.VSet, 2, 4));
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(32)]
    public void BoardAddressOutsideTheChain_IsRefused(int board)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => Codec.FormatBoardRequest(board, CaenCommand.Mon, P.BdName));
        Assert.Equal("board", e.ParamName);
        Assert.Contains("0..31", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(5)]
    public void ChannelBeyondAllChannels_IsRefused(int channel)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => Codec.FormatChannelRequest(0, CaenCommand.Mon, P.VMon, channel, 4));
        Assert.Equal("channel", e.ParamName);
        Assert.Contains("0..3", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void CommandsNotInTheTable_AreRefusedBeforeTheWire()
    {
        Assert.Throws<ArgumentException>(() => Codec.FormatChannelRequest(0, CaenCommand.Set, P.VMon, 0, 4, "1.0"));   // MON only
        Assert.Throws<ArgumentException>(() => Codec.FormatChannelRequest(0, CaenCommand.Mon, P.On, 0, 4));            // SET only
        Assert.Throws<ArgumentException>(() => Codec.FormatChannelRequest(0, CaenCommand.Set, P.On, 0, 4, "1"));      // no VAL
        Assert.Throws<ArgumentException>(() => Codec.FormatChannelRequest(0, CaenCommand.Set, P.VSet, 0, 4));          // VAL needed
        Assert.Throws<ArgumentException>(() => Codec.FormatChannelRequest(0, CaenCommand.Set, P.VSet, 0, 4, "1,5"));   // not a number
        Assert.Throws<ArgumentException>(() => Codec.FormatChannelRequest(0, CaenCommand.Set, P.VSet, 0, 4, "1500\r\n$BD:00"));
        Assert.Throws<ArgumentException>(() => Codec.FormatChannelRequest(0, CaenCommand.Set, P.PDwn, 0, 4, "ramp"));  // keyword case
        Assert.Throws<ArgumentException>(() => Codec.FormatBoardRequest(0, CaenCommand.Mon, P.VSet));                  // needs CH
        Assert.Throws<ArgumentException>(() => Codec.FormatChannelRequest(0, CaenCommand.Mon, P.BdName, 0, 4));        // no CH
    }

    [Theory]
    [InlineData(1500.0, 1, "1500.0")]
    [InlineData(1500.0, 0, "1500")]
    [InlineData(1.1, 2, "1.10")]
    [InlineData(0.05, 1, "0.1")]
    [InlineData(-0.0, 1, "0.0")]
    [InlineData(-0.01, 1, "0.0")]
    [InlineData(12345.6, 1, "12345.6")]
    public void FormatNumber_UsesInvariantCultureAndTheGivenDecimals(double value, int decimals, string expected)
    {
        var saved = CultureInfo.CurrentCulture;
        try
        {
            // A PC set to a comma-decimal culture must still send a point (§0 rule 1).
            CultureInfo.CurrentCulture = CultureInfo.InvariantCulture.Clone() is CultureInfo c
                ? SetCommaDecimal(c)
                : CultureInfo.InvariantCulture;
            Assert.Equal(expected, CaenN1470Codec.FormatNumber(value, decimals));
        }
        finally
        {
            CultureInfo.CurrentCulture = saved;
        }
    }

    [Theory]
    [InlineData(1500.1, 1, true)]
    [InlineData(1500.15, 1, false)]
    [InlineData(0.1 + 0.2, 1, true)]
    [InlineData(50, 0, true)]
    [InlineData(50.5, 0, false)]
    [InlineData(double.NaN, 1, false)]
    public void FitsResolution_IgnoresBinaryNoiseButNotRealDecimals(double value, int decimals, bool fits) =>
        Assert.Equal(fits, CaenN1470Codec.FitsResolution(value, decimals));

    // ---- replies ----

    [Fact]
    public void AcknowledgedSet_HasNoValues()
    {
        var reply = Codec.ParseReply("r", 0, "#BD:00,CMD:OK");
        Assert.Equal(0, reply.Board);
        Assert.Empty(reply.Values);
    }

    [Fact]
    public void SingleValue_IsReturnedAsOnTheWire()
    {
        var reply = Codec.ParseReply("r", 0, "#BD:00,CMD:OK,VAL:N1470");
        Assert.Equal(["N1470"], reply.Values);
    }

    [Fact]
    public void AllChannelList_IsSplitOnSemicolons()
    {
        var reply = Codec.ParseReply("r", 0, "#BD:00,CMD:OK,VAL:0000.0;1500.0;0000.0;0000.0");
        Assert.Equal(["0000.0", "1500.0", "0000.0", "0000.0"], reply.Values);
        var numbers = CaenN1470Codec.DecodeValues("r", P.VMon, reply, 4).Select(r => r.Number).ToArray();
        Assert.Equal([0.0, 1500.0, 0.0, 0.0], numbers);
    }

    [Theory]
    [InlineData("#BD:00,CMD:OK,VAL:0001.10;")]
    [InlineData("#BD:00,CMD:OK,VAL:0001.10")]
    [InlineData("#BD:00,CMD:OK,VAL:0001.10\r")]
    [InlineData("#BD:00,CMD:OK,VAL:0001.10\r\n")]
    public void TrailingSemicolonAndTerminator_AreTolerated(string line) =>
        Assert.Equal(["0001.10"], Codec.ParseReply("r", 0, line).Values);

    [Fact]
    public void ReplyWithoutBoardField_IsAcceptedOnlyWhenTheDialectSaysSo()
    {
        Assert.Throws<DeviceReplyException>(() => Codec.ParseReply("r", 0, "#CMD:OK,VAL:4"));

        var lenient = new CaenN1470Codec(CaenDialect.N1470LenientReply);
        var reply = lenient.ParseReply("r", 0, "#CMD:OK,VAL:4");
        Assert.Null(reply.Board);
        Assert.Equal(["4"], reply.Values);
        Assert.Equal(0, lenient.ParseReply("r", 0, "#BD:00,CMD:OK,VAL:4").Board);

        var desktop = new CaenN1470Codec(CaenDialect.Desktop);
        Assert.Equal(["4"], desktop.ParseReply("r", 0, "#CMD:OK,VAL:4").Values);
        Assert.Throws<DeviceReplyException>(() => desktop.ParseReply("r", 0, "#BD:00,CMD:OK,VAL:4"));
    }

    [Fact]
    public void ReplyForAnotherBoard_IsAReplyError()
    {
        var e = Assert.Throws<DeviceReplyException>(() => Codec.ParseReply("$BD:03,CMD:MON,PAR:BDNCH", 3, "#BD:04,CMD:OK,VAL:4"));
        Assert.Contains("board 04", e.Message, StringComparison.Ordinal);
        Assert.Contains("board 03", e.Message, StringComparison.Ordinal);
        Assert.Equal("#BD:04,CMD:OK,VAL:4", e.RawReply);
        Assert.Equal("$BD:03,CMD:MON,PAR:BDNCH", e.Request);
    }

    public static TheoryData<string, Type, string> ErrorReplies => new()
    {
        { "#BD:00,CMD:ERR", typeof(CaenCommandErrorException), "CMD" },
        { "#BD:00,CH:ERR", typeof(CaenChannelErrorException), "CH" },
        { "#BD:00,PAR:ERR", typeof(CaenParameterErrorException), "PAR" },
        { "#BD:00,VAL:ERR", typeof(CaenValueErrorException), "VAL" },
        { "#BD:00,LOC:ERR", typeof(CaenLocalModeException), "LOC" },
    };

    [Theory]
    [MemberData(nameof(ErrorReplies))]
    public void ErrorReplies_BecomeTypedExceptionsWithRequestAndRawReply(string line, Type type, string field)
    {
        const string request = "$BD:00,CMD:SET,CH:0,PAR:VSET,VAL:9999";
        var e = Assert.Throws(type, () => Codec.ParseReply(request, 0, line));
        var error = Assert.IsAssignableFrom<CaenErrorReplyException>(e);
        Assert.IsAssignableFrom<DeviceReplyException>(e);
        Assert.Equal(field, error.Field);
        Assert.Equal(request, error.Request);
        Assert.Equal(line, error.RawReply);
        Assert.Contains(request, e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData("BD:00,CMD:OK", "starts with '#'")]
    [InlineData("#BD:0,CMD:OK", "two digits")]
    [InlineData("#BD:00CMD:OK", "two digits")]
    [InlineData("#BD:00,CMD:OK,VAL:", "VAL is empty")]
    [InlineData("#BD:00,CMD:OK,VAL:;", "VAL is empty")]
    [InlineData("#BD:00,CMD:OK,VAL:1;;2", "value 1")]
    [InlineData("#BD:00,CMD:OK,VAL:1,2", "contains ','")]
    [InlineData("#BD:00,CMD:O", "CMD:OK")]
    [InlineData("#BD:00,FOO:ERR", "not an error field")]
    [InlineData("#BD:00,CMD:OK,VAL:15\u00e90.0", "0xE9")]
    [InlineData("#BD:00,CMD:OK,VAL:1500.0\u0000", "0x00")]
    [InlineData("#BD:00,CMD:OK,VAL:1\r500.0", "0x0D")]
    public void MalformedReplies_NameWhatWasExpectedAndShowTheBytes(string line, string reason)
    {
        var e = Assert.Throws<DeviceReplyException>(() => Codec.ParseReply("$BD:00,CMD:MON,CH:0,PAR:VMON", 0, line));
        Assert.Contains(reason, e.Message, StringComparison.Ordinal);
        Assert.Contains("Expected '#BD:00,CMD:OK", e.Message, StringComparison.Ordinal);
        Assert.Contains("bytes", e.Message, StringComparison.Ordinal);
        Assert.Equal(line, e.RawReply);
    }

    [Fact]
    public void PartialLineBytes_AreAReplyErrorWithTheHexDump()
    {
        byte[] partial = Encoding.ASCII.GetBytes("#BD:00,CMD:O");
        var e = Assert.Throws<DeviceReplyException>(() => Codec.ParseReply("r", 0, partial));
        Assert.Contains("23 42 44 3A 30 30 2C 43 4D 44 3A 4F", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void NonAsciiBytes_AreShownAsTheyCame()
    {
        byte[] line = [0x23, 0xFF, 0x80];
        var e = Assert.Throws<DeviceReplyException>(() => Codec.ParseReply("r", 0, line));
        Assert.Contains("23 FF 80", e.Message, StringComparison.Ordinal);
        Assert.Contains("0xFF at position 1", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void WrongValueCount_IsAReplyError()
    {
        var reply = Codec.ParseReply("r", 0, "#BD:00,CMD:OK,VAL:0000.0;1500.0;0000.0");
        var e = Assert.Throws<DeviceReplyException>(() => CaenN1470Codec.DecodeValues("r", P.VMon, reply, 4));
        Assert.Contains("3 value(s) of VMON, expected 4", e.Message, StringComparison.Ordinal);
    }

    // ---- numbers: base 10 always, the octal pitfall of §1.8 ----

    [Theory]
    [InlineData("00011", 11)]     // %i would read 9: RUP lost
    [InlineData("02048", 2048)]   // %i would stop at the 8: octal 0204 = 132
    [InlineData("00000", 0)]
    [InlineData("08191", 8191)]
    [InlineData("4", 4)]
    public void IntegersWithLeadingZeros_AreBase10(string text, int expected) =>
        Assert.Equal(expected, CaenN1470Codec.ParseInteger("r", P.Stat, text, "raw"));

    [Theory]
    [InlineData("0010.0", 10.0)]   // %i-style parsing would give 8
    [InlineData("0008.0", 8.0)]
    [InlineData("0009.5", 9.5)]
    [InlineData("1500.0", 1500.0)]
    [InlineData("0001.10", 1.1)]
    [InlineData("0000.005", 0.005)]
    [InlineData("050", 50.0)]
    [InlineData("-0012.5", -12.5)]
    public void DecimalsWithLeadingZeros_AreBase10(string text, double expected) =>
        Assert.Equal(expected, CaenN1470Codec.ParseNumber("r", P.VMon, text, "raw"));

    [Theory]
    [InlineData("")]
    [InlineData("0x10")]
    [InlineData("1,5")]
    [InlineData("1e3")]
    [InlineData("Infinity")]
    [InlineData("NaN")]
    [InlineData(".5")]
    [InlineData("1.2.3")]
    [InlineData(" 15")]
    public void NonDecimalNumbers_AreReplyErrors(string text)
    {
        var e = Assert.Throws<DeviceReplyException>(() => CaenN1470Codec.ParseNumber("req", P.VMon, text, "raw"));
        Assert.Contains("VMON", e.Message, StringComparison.Ordinal);
        Assert.Equal("raw", e.RawReply);
    }

    [Theory]
    [InlineData("-1")]
    [InlineData("+1")]
    [InlineData("1.0")]
    [InlineData("99999999999")]
    public void StatusWordsThatAreNotNonNegativeIntegers_AreReplyErrors(string text) =>
        Assert.Throws<DeviceReplyException>(() => CaenN1470Codec.ParseInteger("req", P.Stat, text, "raw"));

    [Fact]
    public void NumberTooLargeForADouble_IsAReplyError() =>
        Assert.Throws<DeviceReplyException>(() => CaenN1470Codec.ParseNumber("req", P.VMon, new string('9', 400), "raw"));

    // ---- STAT and BDALARM ----

    [Fact]
    public void Stat00011_IsOnRampingUpOverCurrent()
    {
        int stat = CaenN1470Codec.ParseInteger("r", P.Stat, "00011", "raw");
        Assert.Equal(HvChannelStatus.On | HvChannelStatus.RampingUp | HvChannelStatus.OverCurrent, CaenN1470Codec.DecodeStatus(stat));
    }

    [Fact]
    public void Stat02048_IsKilled()
    {
        int stat = CaenN1470Codec.ParseInteger("r", P.Stat, "02048", "raw");
        Assert.Equal(HvChannelStatus.Killed, CaenN1470Codec.DecodeStatus(stat));
    }

    [Theory]
    [InlineData(0, HvChannelStatus.On)]
    [InlineData(1, HvChannelStatus.RampingUp)]
    [InlineData(2, HvChannelStatus.RampingDown)]
    [InlineData(3, HvChannelStatus.OverCurrent)]
    [InlineData(4, HvChannelStatus.OverVoltage)]
    [InlineData(5, HvChannelStatus.UnderVoltage)]
    [InlineData(6, HvChannelStatus.MaxVoltage)]
    [InlineData(7, HvChannelStatus.Tripped)]
    [InlineData(8, HvChannelStatus.OverPower)]
    [InlineData(9, HvChannelStatus.OverTemperature)]
    [InlineData(10, HvChannelStatus.Disabled)]
    [InlineData(11, HvChannelStatus.Killed)]
    [InlineData(12, HvChannelStatus.Interlock)]
    [InlineData(13, HvChannelStatus.CalibrationError)]
    public void StatBits_FollowTheManualTable(int bit, HvChannelStatus expected)
    {
        Assert.Equal(expected, CaenN1470Codec.DecodeStatus(1 << bit));
        Assert.Equal(1 << bit, (int)Enum.Parse<CaenChannelStatus>(expected.ToString())); // the device-fact enum has the manual's bit
    }

    [Fact]
    public void StatBitsTheManualDoesNotDefine_MapToNothing() =>
        Assert.Equal(HvChannelStatus.On, CaenN1470Codec.DecodeStatus(0x4000 | 0x8000 | 0x0001));

    [Fact]
    public void EveryKindNeutralStatusFlag_HasExactlyOneStatBit()
    {
        var mapped = Enumerable.Range(0, 14).Select(bit => CaenN1470Codec.DecodeStatus(1 << bit)).ToList();
        var neutral = Enum.GetValues<HvChannelStatus>().Where(f => f != HvChannelStatus.None).ToList();
        Assert.Equal(neutral.OrderBy(f => f), mapped.OrderBy(f => f));
    }

    [Theory]
    [InlineData(0, CaenBoardAlarm.Channel0)]
    [InlineData(1, CaenBoardAlarm.Channel1)]
    [InlineData(2, CaenBoardAlarm.Channel2)]
    [InlineData(3, CaenBoardAlarm.Channel3)]
    [InlineData(4, CaenBoardAlarm.PowerFail)]
    [InlineData(5, CaenBoardAlarm.OverPower)]
    [InlineData(6, CaenBoardAlarm.HvClockFail)]
    public void AlarmBits_FollowTheManualTable(int bit, CaenBoardAlarm expected) =>
        Assert.Equal(expected, CaenN1470Codec.DecodeAlarm(1 << bit));

    [Fact]
    public void AlarmWord_IsParsedLenientlyInBase10()
    {
        Assert.Equal(CaenBoardAlarm.Channel1 | CaenBoardAlarm.PowerFail, CaenN1470Codec.DecodeAlarm(CaenN1470Codec.ParseInteger("r", P.BdAlarm, "00018", "raw")));
        Assert.Equal(CaenBoardAlarm.Channel1 | CaenBoardAlarm.PowerFail, CaenN1470Codec.DecodeAlarm(CaenN1470Codec.ParseInteger("r", P.BdAlarm, "18", "raw")));
    }

    // ---- keywords ----

    [Fact]
    public void KeywordOrder_MatchesTheEnums()
    {
        Assert.Equal(CaenPowerDownMode.Kill, (CaenPowerDownMode)CaenN1470Codec.KeywordIndex("r", P.PDwn, "KILL", "raw"));
        Assert.Equal(CaenPowerDownMode.Ramp, (CaenPowerDownMode)CaenN1470Codec.KeywordIndex("r", P.PDwn, "RAMP", "raw"));
        Assert.Equal(CaenCurrentMonitorRange.Low, (CaenCurrentMonitorRange)CaenN1470Codec.KeywordIndex("r", P.IMRange, "LOW", "raw"));
        Assert.Equal(CaenInterlockMode.Closed, (CaenInterlockMode)CaenN1470Codec.KeywordIndex("r", P.BdIlkm, "CLOSED", "raw"));
        Assert.Equal(CaenPolarity.Negative, (CaenPolarity)CaenN1470Codec.KeywordIndex("r", P.Pol, "-", "raw"));
        Assert.Equal(CaenControlMode.Remote, (CaenControlMode)CaenN1470Codec.KeywordIndex("r", P.BdCtr, "REMOTE", "raw"));
        Assert.Equal(0, CaenN1470Codec.KeywordIndex("r", P.BdIlk, "YES", "raw"));
        Assert.Equal(0, CaenN1470Codec.KeywordIndex("r", P.BdTerm, "ON", "raw"));
    }

    [Fact]
    public void UnknownKeyword_IsAReplyErrorListingTheKnownOnes()
    {
        var e = Assert.Throws<DeviceReplyException>(() => CaenN1470Codec.KeywordIndex("r", P.PDwn, "kill", "raw"));
        Assert.Contains("RAMP/KILL", e.Message, StringComparison.Ordinal);
    }

    // ---- the table itself ----

    [Fact]
    public void Table_HoldsEveryParameterOfTheManualOnce()
    {
        string[] expected =
        [
            "VSET", "VMIN", "VMAX", "VDEC", "VMON", "ISET", "IMIN", "IMAX", "ISDEC", "IMON", "IMRANGE", "IMDEC",
            "MAXV", "MVMIN", "MVMAX", "MVDEC", "RUP", "RUPMIN", "RUPMAX", "RUPDEC", "RDW", "RDWMIN", "RDWMAX", "RDWDEC",
            "TRIP", "TRIPMIN", "TRIPMAX", "TRIPDEC", "PDWN", "POL", "STAT", "ON", "OFF",
            "BDNAME", "BDNCH", "BDFREL", "BDSNUM", "BDILK", "BDILKM", "BDCTR", "BDTERM", "BDALARM", "BDCLR",
        ];
        Assert.Equal(expected, P.All.Select(p => p.Mnemonic));
    }

    [Fact]
    public void Table_RangeParametersExistAndAreMonitorOnly()
    {
        foreach (var p in P.All.Where(p => p.CanSet && p.Kind == CaenValueKind.Number))
        {
            foreach (string? name in new[] { p.MinParameter, p.MaxParameter, p.DecimalsParameter })
            {
                Assert.NotNull(name);
                var range = P.Find(name);
                Assert.True(range.CanMonitor && !range.CanSet, $"{name} must be MON only");
                Assert.Equal(p.Scope, range.Scope);
            }
        }
    }

    [Fact]
    public void Table_WireFormatsReproduceTheManualExamples()
    {
        Assert.Equal("1500.0", P.VSet.FormatWireValue(1500));
        Assert.Equal("0000.0", P.VMon.FormatWireValue(0));
        Assert.Equal("0001.10", P.ISet.FormatWireValue(1.1));
        Assert.Equal("3000", P.MaxV.FormatWireValue(3000));
        Assert.Equal("050", P.RUp.FormatWireValue(50));
        Assert.Equal("0010.0", P.Trip.FormatWireValue(10));
        Assert.Equal("00011", P.Stat.FormatWireValue(11));
        Assert.Equal("02048", P.Stat.FormatWireValue(2048));
        Assert.Equal("12345.6", P.VSet.FormatWireValue(12345.6));
        Assert.Equal(1, P.VSet.WireDecimals);
        Assert.Equal(2, P.ISet.WireDecimals);
        Assert.Equal(0, P.RUp.WireDecimals);
    }

    [Fact]
    public void Find_NamesTheKnownParametersWhenTheNameIsUnknown()
    {
        var e = Assert.Throws<ArgumentException>(() => P.Find("vset"));
        Assert.Contains("VSET", e.Message, StringComparison.Ordinal);
        Assert.Same(P.VSet, P.Find("VSET"));
    }

    private static CultureInfo SetCommaDecimal(CultureInfo culture)
    {
        culture.NumberFormat.NumberDecimalSeparator = ",";
        culture.NumberFormat.NumberGroupSeparator = ".";
        return culture;
    }
}
