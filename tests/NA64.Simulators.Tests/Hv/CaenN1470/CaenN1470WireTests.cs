using NA64.Hardware.Hv.CaenN1470;
using FsCheck;
using FsCheck.Fluent;
using NA64.Simulators.Hv.CaenN1470;

namespace NA64.Simulators.Tests.Hv.CaenN1470;

public class CaenN1470WireTests
{
    [Fact]
    public void ManualExampleExchangeIsByteExact()
    {
        var t = new CaenTestBoard();

        Assert.Equal("#BD:00,CMD:OK,VAL:N1470", t.Ask("$BD:00,CMD:MON,PAR:BDNAME"));
        Assert.Equal("#BD:00,CMD:OK,VAL:4", t.Ask("$BD:00,CMD:MON,PAR:BDNCH"));
        Assert.Equal("#BD:00,CMD:OK", t.Ask("$BD:00,CMD:SET,CH:1,PAR:VSET,VAL:1500.0"));
        Assert.Equal("#BD:00,CMD:OK", t.Ask("$BD:00,CMD:SET,CH:1,PAR:ON"));
        t.Advance(1500 / 50.0);
        Assert.Equal("#BD:00,CMD:OK,VAL:1500.0", t.Ask("$BD:00,CMD:MON,CH:1,PAR:VMON"));
        Assert.Equal("#BD:00,CMD:OK,VAL:0000.0;1500.0;0000.0;0000.0", t.Ask("$BD:00,CMD:MON,CH:4,PAR:VMON"));
        Assert.Equal("#BD:00,VAL:ERR", t.Ask("$BD:00,CMD:SET,CH:0,PAR:VSET,VAL:9999"));
        t.Board.SetLocal(true);
        Assert.Equal("#BD:00,LOC:ERR", t.Ask("$BD:00,CMD:SET,CH:0,PAR:OFF"));
    }

    [Fact]
    public void OtherExactRequestsOfTheManualAreAccepted()
    {
        var t = new CaenTestBoard();
        Assert.Equal("#BD:00,CMD:OK", t.Ask("$BD:00,CMD:SET,CH:1,PAR:IMRANGE,VAL:LOW"));
        Assert.Equal("#BD:00,CMD:OK", t.Ask("$BD:00,CMD:SET,CH:1,PAR:PDWN,VAL:KILL"));
        Assert.Equal("#BD:00,CMD:OK,VAL:00000", t.Ask("$BD:00,CMD:MON,CH:1,PAR:STAT"));
        Assert.Equal("#BD:00,CMD:OK", t.Ask("$BD:00,CMD:SET,PAR:BDCLR"));
        Assert.Equal("#BD:00,CMD:OK", t.Ask("$BD:00,CMD:SET,PAR:BDILKM,VAL:OPEN"));
        Assert.Equal(CaenCurrentMonitorRange.Low, t[1].CurrentRange);
        Assert.Equal(CaenPowerDownMode.Kill, t[1].PowerDown);
    }

    [Fact]
    public void StatIsZeroPaddedSoAnOctalReaderWouldMisreadIt()
    {
        // 00011 = ON + RUP + OVC: ramping with a load current above ISET.
        var t = new CaenTestBoard();
        t[2].TrySetISet(0.5);
        t[2].InjectCurrent(1);
        t.On(2, 1000);
        t.Advance(1);
        Assert.Equal("#BD:00,CMD:OK,VAL:00011", t.Ask("$BD:00,CMD:MON,CH:2,PAR:STAT"));

        // 02048 = KILL.
        t.Board.SetKillInput(true);
        Assert.Equal("#BD:00,CMD:OK,VAL:02048", t.Ask("$BD:00,CMD:MON,CH:3,PAR:STAT"));
    }

    [Fact]
    public void ChannelValuesAreZeroPaddedFixedWidth()
    {
        var t = new CaenTestBoard();
        t.Ask("$BD:00,CMD:SET,CH:0,PAR:ISET,VAL:1.1");
        t.Ask("$BD:00,CMD:SET,CH:0,PAR:MAXV,VAL:3000");
        t.Ask("$BD:00,CMD:SET,CH:0,PAR:RUP,VAL:5");
        t.Ask("$BD:00,CMD:SET,CH:0,PAR:TRIP,VAL:2.5");
        t.Ask("$BD:00,CMD:SET,CH:0,PAR:VSET,VAL:10");

        Assert.Equal("#BD:00,CMD:OK,VAL:0010.0", t.Ask("$BD:00,CMD:MON,CH:0,PAR:VSET"));
        Assert.Equal("#BD:00,CMD:OK,VAL:0001.10", t.Ask("$BD:00,CMD:MON,CH:0,PAR:ISET"));
        Assert.Equal("#BD:00,CMD:OK,VAL:3000", t.Ask("$BD:00,CMD:MON,CH:0,PAR:MAXV"));
        Assert.Equal("#BD:00,CMD:OK,VAL:005", t.Ask("$BD:00,CMD:MON,CH:0,PAR:RUP"));
        Assert.Equal("#BD:00,CMD:OK,VAL:050", t.Ask("$BD:00,CMD:MON,CH:0,PAR:RDW"));
        Assert.Equal("#BD:00,CMD:OK,VAL:0002.5", t.Ask("$BD:00,CMD:MON,CH:0,PAR:TRIP"));
        Assert.Equal("#BD:00,CMD:OK,VAL:0000.0", t.Ask("$BD:00,CMD:MON,CH:0,PAR:VMON"));
        Assert.Equal("#BD:00,CMD:OK,VAL:0000.00", t.Ask("$BD:00,CMD:MON,CH:0,PAR:IMON"));
        Assert.Equal("#BD:00,CMD:OK,VAL:00000", t.Ask("$BD:00,CMD:MON,PAR:BDALARM"));
    }

    [Fact]
    public void ImonHasThreeDecimalsInTheLowRange()
    {
        var t = new CaenTestBoard(loads: [new CaenN1470Load { LeakageMicroamps = 0.0125, ResistanceMegaohms = double.PositiveInfinity, CapacitanceNanofarads = 0 }]);
        t.On(0, 10);
        t.Advance(10);
        Assert.Equal("#BD:00,CMD:OK,VAL:0000.01", t.Ask("$BD:00,CMD:MON,CH:0,PAR:IMON"));
        Assert.Equal("#BD:00,CMD:OK,VAL:2", t.Ask("$BD:00,CMD:MON,CH:0,PAR:IMDEC"));
        t.Ask("$BD:00,CMD:SET,CH:0,PAR:IMRANGE,VAL:LOW");
        Assert.Equal("#BD:00,CMD:OK,VAL:0000.013", t.Ask("$BD:00,CMD:MON,CH:0,PAR:IMON"));
        Assert.Equal("#BD:00,CMD:OK,VAL:3", t.Ask("$BD:00,CMD:MON,CH:0,PAR:IMDEC"));
        Assert.Equal("#BD:00,CMD:OK,VAL:LOW", t.Ask("$BD:00,CMD:MON,CH:0,PAR:IMRANGE"));
    }

    [Theory]
    [InlineData("VMIN", "0000.0")]
    [InlineData("VMAX", "8000.0")]
    [InlineData("VDEC", "1")]
    [InlineData("IMIN", "0000.00")]
    [InlineData("IMAX", "3000.00")]
    [InlineData("ISDEC", "2")]
    [InlineData("MVMIN", "0000")]
    [InlineData("MVMAX", "8100")]
    [InlineData("MVDEC", "0")]
    [InlineData("RUPMIN", "001")]
    [InlineData("RUPMAX", "500")]
    [InlineData("RUPDEC", "0")]
    [InlineData("RDWMIN", "001")]
    [InlineData("RDWMAX", "500")]
    [InlineData("RDWDEC", "0")]
    [InlineData("TRIPMIN", "0000.0")]
    [InlineData("TRIPMAX", "1000.0")]
    [InlineData("TRIPDEC", "1")]
    [InlineData("POL", "+")]
    [InlineData("PDWN", "RAMP")]
    [InlineData("IMRANGE", "HIGH")]
    [InlineData("STAT", "00000")]
    public void EveryChannelParameterIsAnswered(string par, string value)
    {
        var t = new CaenTestBoard();
        Assert.Equal($"#BD:00,CMD:OK,VAL:{value}", t.Ask($"$BD:00,CMD:MON,CH:0,PAR:{par}"));
        Assert.Equal($"#BD:00,CMD:OK,VAL:{value};{value};{value};{value}", t.Ask($"$BD:00,CMD:MON,CH:4,PAR:{par}"));
    }

    [Theory]
    [InlineData("BDNAME", "N1470")]
    [InlineData("BDNCH", "4")]
    [InlineData("BDFREL", "1.08")]
    [InlineData("BDSNUM", "0147")]
    [InlineData("BDILK", "NO")]
    [InlineData("BDILKM", "OPEN")]
    [InlineData("BDCTR", "REMOTE")]
    [InlineData("BDTERM", "ON")]
    [InlineData("BDALARM", "00000")]
    public void EveryBoardParameterIsAnswered(string par, string value)
    {
        var t = new CaenTestBoard();
        Assert.Equal($"#BD:00,CMD:OK,VAL:{value}", t.Ask($"$BD:00,CMD:MON,PAR:{par}"));
    }

    [Fact]
    public void PolarityAndChannelCountComeFromThePersonality()
    {
        var t = new CaenTestBoard(personality: CaenN1470Personality.Ndt1470 with { ChannelCount = 2, Polarities = ['-', '+'] });
        Assert.Equal("#BD:00,CMD:OK,VAL:NDT1470", t.Ask("$BD:00,CMD:MON,PAR:BDNAME"));
        Assert.Equal("#BD:00,CMD:OK,VAL:2", t.Ask("$BD:00,CMD:MON,PAR:BDNCH"));
        Assert.Equal("#BD:00,CMD:OK,VAL:-;+", t.Ask("$BD:00,CMD:MON,CH:2,PAR:POL"));
        Assert.Equal("#BD:00,CH:ERR", t.Ask("$BD:00,CMD:MON,CH:3,PAR:POL"));
    }

    [Theory]
    // (1) CMD: start character, command, malformed or extra fields.
    [InlineData("BD:00,CMD:MON,PAR:BDNAME", "CMD")]
    [InlineData("#BD:00,CMD:MON,PAR:BDNAME", "CMD")]
    [InlineData("$BD:00,CMD:GET,PAR:BDNAME", "CMD")]
    [InlineData("$BD:00,CMD:mon,PAR:BDNAME", "CMD")]
    [InlineData("$BD:00,PAR:BDNAME", "CMD")]
    [InlineData("$BD:00,CMD:MON,PAR:BDNAME,FOO:1", "CMD")]
    [InlineData("$BD:00,CMD:SET,PAR:VSET,CH:1,VAL:10", "CMD")]
    [InlineData("$BD:00,CMD:SET,CH:9,PAR:NOPE,VAL:x,EXTRA", "CMD")]
    [InlineData("$BD:00,", "CMD")]
    [InlineData("$BD:00,CMD:SET,CH:1,PAR:VSET,VAL:1500,0", "CMD")]
    // (2) CH beats PAR, LOC and VAL.
    [InlineData("$BD:00,CMD:SET,CH:9,PAR:NOPE,VAL:x", "CH")]
    [InlineData("$BD:00,CMD:MON,CH:5,PAR:VMON", "CH")]
    [InlineData("$BD:00,CMD:MON,CH:,PAR:VMON", "CH")]
    [InlineData("$BD:00,CMD:MON,CH:001,PAR:VMON", "CH")]
    [InlineData("$BD:00,CMD:MON,CH:-1,PAR:VMON", "CH")]
    [InlineData("$BD:00,CMD:SET,PAR:VSET,VAL:abc", "CH")]
    [InlineData("$BD:00,CMD:MON,CH:1,PAR:BDNAME", "CH")]
    // (3) PAR beats LOC and VAL.
    [InlineData("$BD:00,CMD:SET,CH:1,PAR:NOPE,VAL:x", "PAR")]
    [InlineData("$BD:00,CMD:MON,CH:1", "PAR")]
    [InlineData("$BD:00,CMD:MON,CH:1,PAR:ON", "PAR")]
    [InlineData("$BD:00,CMD:MON,PAR:BDCLR", "PAR")]
    [InlineData("$BD:00,CMD:SET,CH:1,PAR:VMON,VAL:1", "PAR")]
    [InlineData("$BD:00,CMD:SET,PAR:BDNAME,VAL:X", "PAR")]
    [InlineData("$BD:00,CMD:MON,CH:1,PAR:vset", "PAR")]
    // (4) LOC beats VAL.
    [InlineData("$BD:00,CMD:SET,CH:1,PAR:VSET,VAL:abc", "LOC")]
    [InlineData("$BD:00,CMD:SET,CH:4,PAR:ON", "LOC")]
    [InlineData("$BD:00,CMD:SET,PAR:BDCLR", "LOC")]
    public void ErrorPrecedenceIsCmdChParLocVal(string request, string field)
    {
        var t = new CaenTestBoard();
        t.Board.SetLocal(true);
        Assert.Equal($"#BD:00,{field}:ERR", t.Ask(request));
    }

    [Theory]
    [InlineData("$BD:00,CMD:SET,CH:1,PAR:VSET")]
    [InlineData("$BD:00,CMD:SET,CH:1,PAR:VSET,VAL:")]
    [InlineData("$BD:00,CMD:SET,CH:1,PAR:VSET,VAL:abc")]
    [InlineData("$BD:00,CMD:SET,CH:1,PAR:VSET,VAL:1500.00")]
    [InlineData("$BD:00,CMD:SET,CH:1,PAR:VSET,VAL:8000.1")]
    [InlineData("$BD:00,CMD:SET,CH:1,PAR:VSET,VAL:-5")]
    [InlineData("$BD:00,CMD:SET,CH:1,PAR:VSET,VAL:1e3")]
    [InlineData("$BD:00,CMD:SET,CH:1,PAR:ISET,VAL:1.125")]
    [InlineData("$BD:00,CMD:SET,CH:1,PAR:RUP,VAL:50.0")]
    [InlineData("$BD:00,CMD:SET,CH:1,PAR:RUP,VAL:0")]
    [InlineData("$BD:00,CMD:SET,CH:1,PAR:TRIP,VAL:1.25")]
    [InlineData("$BD:00,CMD:SET,CH:1,PAR:MAXV,VAL:3000.5")]
    [InlineData("$BD:00,CMD:SET,CH:1,PAR:PDWN,VAL:SLOW")]
    [InlineData("$BD:00,CMD:SET,CH:1,PAR:PDWN,VAL:ramp")]
    [InlineData("$BD:00,CMD:SET,CH:1,PAR:PDWN")]
    [InlineData("$BD:00,CMD:SET,CH:1,PAR:ON,VAL:1")]
    [InlineData("$BD:00,CMD:SET,PAR:BDILKM,VAL:SHUT")]
    [InlineData("$BD:00,CMD:MON,CH:1,PAR:VMON,VAL:1")]
    public void BadValuesGetValErrAndChangeNothing(string request)
    {
        var t = new CaenTestBoard();
        Assert.Equal("#BD:00,VAL:ERR", t.Ask(request));
        Assert.Equal(0, t[1].VSet);
        Assert.Equal(50, t[1].RampUp);
        Assert.False(t[1].IsOn);
    }

    [Theory]
    [InlineData("1500", 1500)]
    [InlineData("1500.0", 1500)]
    [InlineData("0555.5", 555.5)]
    [InlineData("8000", 8000)]
    public void IntegerAndDecimalValuesAreBothAccepted(string value, double volts)
    {
        var t = new CaenTestBoard();
        Assert.Equal("#BD:00,CMD:OK", t.Ask($"$BD:00,CMD:SET,CH:1,PAR:VSET,VAL:{value}"));
        Assert.Equal(volts, t[1].VSet);
    }

    [Fact]
    public void OneAndTwoDigitChannelsAreAccepted()
    {
        var t = new CaenTestBoard();
        Assert.Equal("#BD:00,CMD:OK", t.Ask("$BD:00,CMD:SET,CH:03,PAR:VSET,VAL:100"));
        Assert.Equal("#BD:00,CMD:OK,VAL:0100.0", t.Ask("$BD:00,CMD:MON,CH:3,PAR:VSET"));
        Assert.Equal("#BD:00,CMD:OK,VAL:0000.0;0000.0;0000.0;0100.0", t.Ask("$BD:00,CMD:MON,CH:04,PAR:VSET"));
    }

    [Fact]
    public void LenientColonAfterTheAddressIsAccepted()
    {
        var t = new CaenTestBoard();
        Assert.Equal("#BD:00,CMD:OK,VAL:N1470", t.Ask("$BD:00:CMD:MON,PAR:BDNAME"));
    }

    [Fact]
    public void SetOnAllChannelsAppliesToEachAndIsAllOrNothing()
    {
        var t = new CaenTestBoard();
        Assert.Equal("#BD:00,CMD:OK", t.Ask("$BD:00,CMD:SET,CH:4,PAR:VSET,VAL:200"));
        Assert.All(t.Board.Channels, c => Assert.Equal(200, c.VSet));

        t[2].TrySetMaxV(100);
        t[2].TrySetVSet(50);
        Assert.Equal("#BD:00,VAL:ERR", t.Ask("$BD:00,CMD:SET,CH:4,PAR:VSET,VAL:300"));
        Assert.Equal(200, t[0].VSet);
        Assert.Equal(50, t[2].VSet);

        Assert.Equal("#BD:00,CMD:OK", t.Ask("$BD:00,CMD:SET,CH:4,PAR:ON"));
        Assert.All(t.Board.Channels, c => Assert.True(c.IsOn));
    }

    [Fact]
    public void MaxvClipVariantAcceptsVsetAboveMaxvOnTheWire()
    {
        var t = new CaenTestBoard(personality: CaenN1470Personality.N1470 with { MaxVoltageBehaviour = CaenMaxVoltageBehaviour.ClipOutput });
        t.Ask("$BD:00,CMD:SET,CH:0,PAR:MAXV,VAL:1000");
        Assert.Equal("#BD:00,CMD:OK", t.Ask("$BD:00,CMD:SET,CH:0,PAR:VSET,VAL:1200"));
        t.Ask("$BD:00,CMD:SET,CH:0,PAR:ON");
        t.Advance(60);
        Assert.Equal("#BD:00,CMD:OK,VAL:1000.0", t.Ask("$BD:00,CMD:MON,CH:0,PAR:VMON"));
        Assert.Equal("#BD:00,CMD:OK,VAL:00065", t.Ask("$BD:00,CMD:MON,CH:0,PAR:STAT"));
    }

    [Fact]
    public void MaxvRejectVariantAnswersValErrOnTheWire()
    {
        var t = new CaenTestBoard();
        t.Ask("$BD:00,CMD:SET,CH:0,PAR:MAXV,VAL:1000");
        Assert.Equal("#BD:00,VAL:ERR", t.Ask("$BD:00,CMD:SET,CH:0,PAR:VSET,VAL:1200"));
        Assert.Equal("#BD:00,CMD:OK", t.Ask("$BD:00,CMD:SET,CH:0,PAR:VSET,VAL:1000"));
    }

    [Fact]
    public void LocalModeRefusesEverySetButMonKeepsWorking()
    {
        var t = new CaenTestBoard();
        t.Board.SetLocal(true);
        Assert.Equal("#BD:00,CMD:OK,VAL:LOCAL", t.Ask("$BD:00,CMD:MON,PAR:BDCTR"));
        Assert.Equal("#BD:00,LOC:ERR", t.Ask("$BD:00,CMD:SET,CH:0,PAR:VSET,VAL:100"));
        Assert.Equal("#BD:00,LOC:ERR", t.Ask("$BD:00,CMD:SET,CH:0,PAR:ON"));
        Assert.Equal("#BD:00,LOC:ERR", t.Ask("$BD:00,CMD:SET,PAR:BDILKM,VAL:CLOSED"));
        Assert.Equal("#BD:00,CMD:OK,VAL:0000.0", t.Ask("$BD:00,CMD:MON,CH:0,PAR:VSET"));
        Assert.False(t[0].IsOn);
        t.Board.SetLocal(false);
        Assert.Equal("#BD:00,CMD:OK", t.Ask("$BD:00,CMD:SET,CH:0,PAR:ON"));
    }

    [Fact]
    public void InterlockOnTheWire()
    {
        var t = new CaenTestBoard();
        t.On(1, 500);
        t.Advance(20);

        t.Board.SetInterlockInput(CaenInterlockState.Open);

        Assert.Equal("#BD:00,CMD:OK,VAL:YES", t.Ask("$BD:00,CMD:MON,PAR:BDILK"));
        Assert.Equal("#BD:00,CMD:OK,VAL:04096", t.Ask("$BD:00,CMD:MON,CH:1,PAR:STAT"));
        Assert.Equal("#BD:00,CMD:OK", t.Ask("$BD:00,CMD:SET,CH:1,PAR:ON"));
        Assert.Equal("#BD:00,CMD:OK,VAL:04096", t.Ask("$BD:00,CMD:MON,CH:1,PAR:STAT"));

        Assert.Equal("#BD:00,CMD:OK", t.Ask("$BD:00,CMD:SET,PAR:BDILKM,VAL:CLOSED"));
        Assert.Equal("#BD:00,CMD:OK,VAL:NO", t.Ask("$BD:00,CMD:MON,PAR:BDILK"));
        Assert.Equal("#BD:00,CMD:OK,VAL:CLOSED", t.Ask("$BD:00,CMD:MON,PAR:BDILKM"));
        Assert.Equal("#BD:00,CMD:OK", t.Ask("$BD:00,CMD:SET,CH:1,PAR:ON"));
        Assert.Equal("#BD:00,CMD:OK,VAL:00003", t.Ask("$BD:00,CMD:MON,CH:1,PAR:STAT"));
    }

    [Fact]
    public void TripAndBdclrOnTheWire()
    {
        var t = new CaenTestBoard();
        t.Ask("$BD:00,CMD:SET,CH:1,PAR:ISET,VAL:1.00");
        t.Ask("$BD:00,CMD:SET,CH:1,PAR:TRIP,VAL:0.5");
        t.Ask("$BD:00,CMD:SET,CH:1,PAR:PDWN,VAL:KILL");
        t.Ask("$BD:00,CMD:SET,CH:1,PAR:VSET,VAL:100");
        t.Ask("$BD:00,CMD:SET,CH:1,PAR:ON");
        t.Advance(5);
        t[1].InjectCurrent(3);
        Assert.Equal("#BD:00,CMD:OK,VAL:00009", t.Ask("$BD:00,CMD:MON,CH:1,PAR:STAT"));
        Assert.Equal("#BD:00,CMD:OK,VAL:0001.00", t.Ask("$BD:00,CMD:MON,CH:1,PAR:IMON"));

        t.Advance(0.5);
        t[1].InjectCurrent(0);
        Assert.Equal("#BD:00,CMD:OK,VAL:00128", t.Ask("$BD:00,CMD:MON,CH:1,PAR:STAT"));
        Assert.Equal("#BD:00,CMD:OK,VAL:00002", t.Ask("$BD:00,CMD:MON,PAR:BDALARM"));
        Assert.Equal("#BD:00,CMD:OK", t.Ask("$BD:00,CMD:SET,PAR:BDCLR"));
        Assert.Equal("#BD:00,CMD:OK,VAL:00000", t.Ask("$BD:00,CMD:MON,CH:1,PAR:STAT"));
        Assert.Equal("#BD:00,CMD:OK,VAL:00000", t.Ask("$BD:00,CMD:MON,PAR:BDALARM"));
    }

    [Fact]
    public void OnlyTheAddressedBoardAnswersAndRepliesCarryTwoDigitAddresses()
    {
        var a = new CaenTestBoard(address: 0);
        var b = new CaenN1470Wire(new CaenN1470BoardModel(7, a.Time, spill: CaenTestBoard.NoBeam));
        var c = new CaenN1470Wire(new CaenN1470BoardModel(31, a.Time, CaenN1470Personality.N1470 with { ChannelCount = 2 }, spill: CaenTestBoard.NoBeam));
        var bus = new CaenN1470Bus([a.Wire, b, c]);

        Assert.Equal("#BD:07,CMD:OK", bus.Respond("$BD:07,CMD:SET,CH:0,PAR:VSET,VAL:100"));
        Assert.Equal(100, b.Board.Channels[0].VSet);
        Assert.Equal(0, a[0].VSet);
        Assert.Equal("#BD:31,CMD:OK,VAL:2", bus.Respond("$BD:31,CMD:MON,PAR:BDNCH"));
        Assert.Equal("#BD:00,CMD:OK,VAL:4", bus.Respond("$BD:00,CMD:MON,PAR:BDNCH"));
        Assert.Equal("#BD:07,CMD:ERR", bus.Respond("$BD:7,CMD:FOO"));
        Assert.Null(bus.Respond("$BD:05,CMD:MON,PAR:BDNCH"));
        Assert.Null(bus.Respond("$BD:32,CMD:MON,PAR:BDNCH"));
        Assert.Null(bus.Respond("garbage"));
        Assert.Null(bus.Respond(string.Empty));
        Assert.Same(b, bus[7]);
        Assert.Null(a.Ask("$BD:07,CMD:MON,PAR:BDNCH"));
    }

    [Fact]
    public void BusRefusesTwoBoardsWithOneAddress()
    {
        var t = new CaenTestBoard(address: 3);
        var twin = new CaenN1470Wire(new CaenN1470BoardModel(3, t.Time));
        var e = Assert.Throws<ArgumentException>(() => new CaenN1470Bus([t.Wire, twin]));
        Assert.Contains("address 3", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void DroppedSetReplyStillAppliesTheChange()
    {
        var t = new CaenTestBoard();
        t.Wire.DropNextSetReply();

        Assert.Equal("#BD:00,CMD:OK,VAL:0000.0", t.Ask("$BD:00,CMD:MON,CH:0,PAR:VSET"));
        Assert.Null(t.Ask("$BD:00,CMD:SET,CH:0,PAR:VSET,VAL:560"));
        Assert.Equal(560, t[0].VSet);
        Assert.Equal("#BD:00,CMD:OK", t.Ask("$BD:00,CMD:SET,CH:0,PAR:VSET,VAL:565"));
    }

    [Fact]
    public void TrailingSemicolonIsAddedToMonRepliesOnly()
    {
        var t = new CaenTestBoard();
        t.Wire.TrailingSemicolonOnMon = true;
        Assert.Equal("#BD:00,CMD:OK,VAL:0010.0;", t.Ask("$BD:00,CMD:MON,CH:0,PAR:TRIP"));
        Assert.Equal("#BD:00,CMD:OK,VAL:050;050;050;050;", t.Ask("$BD:00,CMD:MON,CH:4,PAR:RUP"));
        Assert.Equal("#BD:00,CMD:OK", t.Ask("$BD:00,CMD:SET,CH:0,PAR:ON"));
        Assert.Equal("#BD:00,PAR:ERR", t.Ask("$BD:00,CMD:MON,CH:0,PAR:XX"));
    }

    [Fact]
    public void AnyLineGetsSilenceOrOneWellFormedReplyForItsOwnAddress()
    {
        var t = new CaenTestBoard();
        var tokens = Gen.Elements("$", "BD:", "00", "01", ",", ":", "CMD", "MON", "SET", "CH", "PAR", "VAL", "VSET", "ON", "4", "1500.0", "x", ";", "BDCLR", "STAT");
        var lines = Gen.ListOf(tokens).Select(parts => string.Concat(parts));
        Prop.ForAll(lines.ToArbitrary(), line =>
        {
            var reply = t.Ask(line);
            return reply is null
                || (reply.StartsWith("#BD:00,", StringComparison.Ordinal) && !reply.Contains('\r', StringComparison.Ordinal) && !reply.Contains('\n', StringComparison.Ordinal));
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void EverySetpointWithinResolutionReadsBackZeroPadded()
    {
        var t = new CaenTestBoard();
        var tenths = Gen.Choose(0, 80000);
        Prop.ForAll(tenths.ToArbitrary(), v =>
        {
            var volts = v / 10.0;
            var text = volts.ToString("0.0", System.Globalization.CultureInfo.InvariantCulture);
            var set = t.Ask($"$BD:00,CMD:SET,CH:2,PAR:VSET,VAL:{text}");
            var mon = t.Ask("$BD:00,CMD:MON,CH:2,PAR:VSET");
            return set == "#BD:00,CMD:OK"
                && mon == "#BD:00,CMD:OK,VAL:" + volts.ToString("0000.0", System.Globalization.CultureInfo.InvariantCulture)
                && mon.Length >= "#BD:00,CMD:OK,VAL:0000.0".Length;
        }).QuickCheckThrowOnFailure();
    }
}
