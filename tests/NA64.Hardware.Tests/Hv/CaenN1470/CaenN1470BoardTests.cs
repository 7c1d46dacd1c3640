using System.Text;
using Microsoft.Extensions.Time.Testing;
using NA64.Hardware.Errors;
using NA64.Hardware.Hv;
using NA64.Hardware.Hv.CaenN1470;
using NA64.Hardware.Transport;
using P = NA64.Hardware.Hv.CaenN1470.CaenN1470Protocol;

namespace NA64.Hardware.Tests.Hv.CaenN1470;

public sealed class CaenN1470BoardTests : IAsyncLifetime
{
    private static readonly TimeSpan Timeout = P.DefaultReplyTimeout;

    private static readonly HvChannelLimits[] Limits =
    [
        new("ECAL0", 1800, 100, 100),
        new("ECAL1", 1800, 100, 100),
        new("HCAL0", 2000, 200, 50),
        new("VETO", 9000, 5000, 1000),
    ];

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 24, 12, 0, 0, TimeSpan.Zero));
    private readonly CannedN1470 _canned = new();
    private readonly List<ScriptedCaenDevice> _devices = [];
    private readonly LineTransport _transport;
    private readonly CaenN1470Board _board;

    public CaenN1470BoardTests()
    {
        var endpoint = new InMemoryEndpoint(() =>
        {
            var (host, device) = InMemoryDuplex.CreatePair();
            lock (_devices)
            {
                _devices.Add(new ScriptedCaenDevice(device, _canned.Respond));
            }

            return host;
        });
        _transport = new LineTransport(endpoint, LineFraming.CrLf, _time);
        _board = new CaenN1470Board(_transport, 0, Limits, new CaenN1470Options(), _time);
    }

    private ScriptedCaenDevice Device
    {
        get
        {
            lock (_devices)
            {
                return _devices[^1];
            }
        }
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        _board.Dispose();
        await _transport.DisposeAsync();
        foreach (var d in _devices)
        {
            await d.DisposeAsync();
        }
    }

    // ---- construction ----

    [Theory]
    [InlineData(-1)]
    [InlineData(32)]
    public void AddressOutsideTheChain_IsRefusedNamingFieldValueAndLimit(int address)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new CaenN1470Board(_transport, address, Limits));
        Assert.Equal("address", e.ParamName);
        Assert.Equal(address, e.ActualValue);
        Assert.Contains("0..31", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void EmptySetup_IsRefused() =>
        Assert.Throws<ArgumentException>(() => new CaenN1470Board(_transport, 0, []));

    // ---- initialization ----

    [Fact]
    public async Task Initialize_ReadsIdentityThenEveryRangeWithOneAllChannelQuery()
    {
        await _board.InitializeAsync();

        Assert.Equal(
        [
            "$BD:00,CMD:MON,PAR:BDNAME", "$BD:00,CMD:MON,PAR:BDNCH", "$BD:00,CMD:MON,PAR:BDFREL", "$BD:00,CMD:MON,PAR:BDSNUM",
            "$BD:00,CMD:MON,CH:4,PAR:VMIN", "$BD:00,CMD:MON,CH:4,PAR:VMAX", "$BD:00,CMD:MON,CH:4,PAR:VDEC",
            "$BD:00,CMD:MON,CH:4,PAR:IMIN", "$BD:00,CMD:MON,CH:4,PAR:IMAX", "$BD:00,CMD:MON,CH:4,PAR:ISDEC",
            "$BD:00,CMD:MON,CH:4,PAR:RUPMIN", "$BD:00,CMD:MON,CH:4,PAR:RUPMAX",
            "$BD:00,CMD:MON,CH:4,PAR:RDWMIN", "$BD:00,CMD:MON,CH:4,PAR:RDWMAX",
            "$BD:00,CMD:MON,CH:4,PAR:TRIPMIN", "$BD:00,CMD:MON,CH:4,PAR:TRIPMAX",
            "$BD:00,CMD:MON,CH:4,PAR:MVMIN", "$BD:00,CMD:MON,CH:4,PAR:MVMAX",
        ], Device.Requests);

        var info = Assert.IsType<BoardInfo>(_board.Info);
        Assert.Equal("N1470", info.Name);
        Assert.Equal(4, info.ChannelCount);
        Assert.Equal("1.08", info.Firmware);
        Assert.Equal("0123", info.SerialNumber);
        Assert.Equal(new CaenRange(0, 5500, 1), info.Channels[3].Voltage);
        Assert.Equal(new CaenRange(0, 3000, 2), info.Channels[0].Current);
        Assert.Equal(new CaenRange(1, 500, 0), info.Channels[1].RampUp);
        Assert.Equal(new CaenRange(1, 500, 0), info.Channels[1].RampDown);
        Assert.Equal(new CaenRange(0, 1000, 1), info.Channels[2].TripTime);
        Assert.Equal(new CaenRange(0, 8100, 0), info.Channels[2].MaxVoltage);
        Assert.False(_board.NeedsReinitialize);
    }

    [Fact]
    public async Task Initialize_OnlyReads()
    {
        await _board.InitializeAsync();
        await _board.PollAsync();

        Assert.NotEmpty(Device.Requests);
        Assert.All(Device.Requests, r => Assert.Contains(",CMD:MON,", r, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Initialize_PutsTheManualBytesOnTheWire()
    {
        await _board.InitializeAsync();
        byte[] wire = Device.ReceivedBytes;
        byte[] bdname = Encoding.ASCII.GetBytes("$BD:00,CMD:MON,PAR:BDNAME\r\n");
        byte[] bdnch = Convert.FromHexString("2442443A30302C434D443A4D4F4E2C5041523A42444E43480D0A"); // §1.2
        Assert.Equal(bdname, wire[..bdname.Length]);
        Assert.Equal(bdnch, wire[bdname.Length..(bdname.Length + bdnch.Length)]);
    }

    [Fact]
    public async Task BoardWithAnotherChannelCountThanTheSetup_FailsInitializationNamingBoth()
    {
        _canned.Board("BDNCH", "8");
        var e = await Assert.ThrowsAsync<DeviceException>(() => _board.InitializeAsync());
        Assert.Contains("BDNCH = 8", e.Message, StringComparison.Ordinal);
        Assert.Contains("setup lists 4", e.Message, StringComparison.Ordinal);
        Assert.True(_board.NeedsReinitialize);
    }

    [Fact]
    public async Task DecimalCountBeyondWhatCanBeFormatted_IsAReplyError()
    {
        _canned.All("VDEC", "1;1;9;1");
        var e = await Assert.ThrowsAsync<DeviceReplyException>(() => _board.InitializeAsync());
        Assert.Contains("VDEC = 9", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task FirstCommand_InitializesOnItsOwn()
    {
        var reading = await _board.ReadBoardAsync(P.BdName);
        Assert.Equal("N1470", reading.Text);
        Assert.NotNull(_board.Info);
        Assert.Equal("$BD:00,CMD:MON,PAR:BDNAME", Device.Requests[^1]);
        Assert.Equal(19, Device.Requests.Count); // 18 of the initialization, then the read
    }

    // ---- polling ----

    [Fact]
    public async Task Poll_SendsExactlyOneAllChannelQueryPerParameterPlusBoardFlags()
    {
        await _board.InitializeAsync();
        int before = Device.Requests.Count;

        await _board.PollAsync();

        Assert.Equal(
        [
            "$BD:00,CMD:MON,CH:4,PAR:VSET", "$BD:00,CMD:MON,CH:4,PAR:VMON", "$BD:00,CMD:MON,CH:4,PAR:ISET",
            "$BD:00,CMD:MON,CH:4,PAR:IMON", "$BD:00,CMD:MON,CH:4,PAR:STAT",
            "$BD:00,CMD:MON,PAR:BDILK", "$BD:00,CMD:MON,PAR:BDCTR", "$BD:00,CMD:MON,PAR:BDALARM",
        ], Device.Requests.Skip(before));
    }

    [Fact]
    public async Task Poll_ReadsZeroPaddedValuesInBase10()
    {
        await _board.InitializeAsync();
        var readback = await _board.PollAsync();

        Assert.Equal(_time.GetUtcNow(), readback.Time);
        Assert.Equal(4, readback.Channels.Count);
        Assert.Equal(new HvChannelReadback(1, 1500.0, 1499.8, 1.10, 0.52, HvChannelStatus.On | HvChannelStatus.RampingUp | HvChannelStatus.OverCurrent), readback.Channels[1]);
        // 0010.0 is ten volts and 02048 is KILL: the octal pitfall of §1.8 through the whole stack.
        Assert.Equal(10.0, readback.Channels[2].VSet);
        Assert.Equal(10.0, readback.Channels[2].VMon);
        Assert.Equal(HvChannelStatus.Killed, readback.Channels[2].Status);
        Assert.Equal(HvChannelStatus.Tripped, readback.Channels[3].Status);
        Assert.False(readback.InterlockActive);
        Assert.False(readback.LocalMode);
        Assert.Equal((int)CaenBoardAlarm.Channel3, readback.AlarmBits);
    }

    [Fact]
    public async Task Poll_ReportsInterlockLocalModeAndAlarms()
    {
        _canned.Board("BDILK", "YES");
        _canned.Board("BDCTR", "LOCAL");
        _canned.Board("BDALARM", "112;");
        var readback = await _board.PollAsync();
        Assert.True(readback.InterlockActive);
        Assert.True(readback.LocalMode);
        Assert.Equal(CaenBoardAlarm.PowerFail | CaenBoardAlarm.OverPower | CaenBoardAlarm.HvClockFail, (CaenBoardAlarm)readback.AlarmBits);
    }

    [Fact]
    public async Task Poll_WithAShortList_IsAReplyErrorNamingTheCounts()
    {
        await _board.InitializeAsync();
        _canned.All("IMON", "0000.00;0000.52;0000.01");
        var e = await Assert.ThrowsAsync<DeviceReplyException>(() => _board.PollAsync());
        Assert.Contains("3 value(s) of IMON, expected 4", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Poll_WithoutReply_TimesOutOnTheInjectedClock()
    {
        await _board.InitializeAsync();
        _canned.Silent.Add("$BD:00,CMD:MON,CH:4,PAR:VMON");
        var poll = _board.PollAsync();
        await Device.WaitForRequestAsync("$BD:00,CMD:MON,CH:4,PAR:VMON");
        Assert.False(poll.IsCompleted);
        _time.Advance(Timeout);
        var e = await Assert.ThrowsAsync<DeviceTimeoutException>(() => poll);
        Assert.Equal("$BD:00,CMD:MON,CH:4,PAR:VMON", e.Request);
    }

    [Fact]
    public async Task ReplyForAnotherBoard_IsAReplyError()
    {
        await _board.InitializeAsync();
        _canned.Replies["$BD:00,CMD:MON,CH:4,PAR:VSET"] = "#BD:01,CMD:OK,VAL:0000.0;0000.0;0000.0;0000.0";
        var e = await Assert.ThrowsAsync<DeviceReplyException>(() => _board.PollAsync());
        Assert.Contains("board 01", e.Message, StringComparison.Ordinal);
    }

    // ---- generic reads ----

    [Fact]
    public async Task ReadChannel_ReturnsTheWireTextAndTheNumber()
    {
        _canned.Channel(1, "VMON", "1499.8");
        var reading = await _board.ReadChannelAsync(1, P.VMon);
        Assert.Equal("1499.8", reading.Text);
        Assert.Equal(1499.8, reading.Number);
        Assert.Equal("$BD:00,CMD:MON,CH:1,PAR:VMON", Device.Requests[^1]);
    }

    [Fact]
    public async Task ReadAllChannels_ChecksKeywords()
    {
        _canned.All("POL", "+;+;-;+");
        var readings = await _board.ReadAllChannelsAsync(P.Pol);
        Assert.Equal(["+", "+", "-", "+"], readings.Select(r => r.Text));
        Assert.All(readings, r => Assert.Null(r.Number));

        _canned.All("PDWN", "RAMP;KILL;ramp;RAMP");
        var e = await Assert.ThrowsAsync<DeviceReplyException>(() => _board.ReadAllChannelsAsync(P.PDwn));
        Assert.Contains("'ramp' is not one of RAMP/KILL", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReadBoard_ReturnsText()
    {
        _canned.Board("BDTERM", "ON");
        Assert.Equal("ON", (await _board.ReadBoardAsync(P.BdTerm)).Text);
    }

    [Fact]
    public async Task Reads_RefuseParametersOfTheWrongKindBeforeTheWire()
    {
        await Assert.ThrowsAsync<ArgumentException>(() => _board.ReadChannelAsync(0, P.On));
        await Assert.ThrowsAsync<ArgumentException>(() => _board.ReadChannelAsync(0, P.BdName));
        await Assert.ThrowsAsync<ArgumentException>(() => _board.ReadAllChannelsAsync(P.BdIlk));
        await Assert.ThrowsAsync<ArgumentException>(() => _board.ReadBoardAsync(P.VMon));
        await Assert.ThrowsAsync<ArgumentException>(() => _board.ReadBoardAsync(P.BdClr));
        var e = await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => _board.ReadChannelAsync(4, P.VMon));
        Assert.Equal("channel", e.ParamName);
        Assert.Empty(_devices);
    }

    // ---- channels (IHvChannel) ----

    [Fact]
    public void Channel_IsTheSameObjectNamedAndLimitedByTheSetup()
    {
        var ch = _board.Channel(2);
        Assert.Same(ch, _board.Channel(2));
        Assert.Equal(("HCAL0", 2, _board.Name), (ch.Name, ch.Index, ch.BoardName));
        Assert.Equal(Limits[2], ch.Limits);
        Assert.Equal(0.1, ch.VoltageResolution); // VSET's one decimal, known before the board was read
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => _board.Channel(4));
        Assert.Contains("0..3", e.Message, StringComparison.Ordinal);
    }

    public static TheoryData<string, Func<IHvChannel, Task>> ChannelRequests => new()
    {
        { "$BD:00,CMD:SET,CH:2,PAR:VSET,VAL:1500.0", c => c.SetVoltageAsync(1500) },
        { "$BD:00,CMD:SET,CH:2,PAR:ISET,VAL:1.10", c => c.SetCurrentLimitAsync(1.1) },
        { "$BD:00,CMD:SET,CH:2,PAR:RUP,VAL:7", c => c.SetRampUpAsync(7) },
        { "$BD:00,CMD:SET,CH:2,PAR:RDW,VAL:25", c => c.SetRampDownAsync(25) },
        { "$BD:00,CMD:SET,CH:2,PAR:ON", c => c.SwitchOnAsync() },
        { "$BD:00,CMD:SET,CH:2,PAR:OFF", c => c.SwitchOffAsync() },
    };

    [Theory]
    [MemberData(nameof(ChannelRequests))]
    public async Task Channel_SendsTheRequestOfItsOwnIndex(string expected, Func<IHvChannel, Task> set)
    {
        await set(_board.Channel(2));
        Assert.Equal(expected, Device.Requests[^1]);
        Assert.Single(Device.Requests, r => r.Contains(",CMD:SET,", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Channel_RefusesASetupLimitBeforeAnyByteIsSent()
    {
        var e = await Assert.ThrowsAsync<SetpointOutOfRangeException>(() => _board.Channel(2).SetRampUpAsync(51));
        Assert.Contains("RUP = 51 refused, setup MaxRampVoltsPerSecond is 50", e.Message, StringComparison.Ordinal);
        Assert.Empty(_devices);
    }

    // ---- setpoints ----

    [Fact]
    public async Task SetVoltage_SendsTheManualRequest()
    {
        await _board.SetVoltageAsync(1, 1500);
        Assert.Equal("$BD:00,CMD:SET,CH:1,PAR:VSET,VAL:1500.0", Device.Requests[^1]);
    }

    public static TheoryData<string, Func<CaenN1470Board, Task>> SetRequests => new()
    {
        { "$BD:00,CMD:SET,CH:0,PAR:ISET,VAL:1.10", b => b.SetCurrentLimitAsync(0, 1.1) },
        { "$BD:00,CMD:SET,CH:2,PAR:RUP,VAL:50", b => b.SetRampUpAsync(2, 50) },
        { "$BD:00,CMD:SET,CH:2,PAR:RDW,VAL:25", b => b.SetRampDownAsync(2, 25) },
        { "$BD:00,CMD:SET,CH:3,PAR:TRIP,VAL:10.0", b => b.SetTripTimeAsync(3, 10) },
        { "$BD:00,CMD:SET,CH:3,PAR:MAXV,VAL:3000", b => b.SetMaxVoltageAsync(3, 3000) },
        { "$BD:00,CMD:SET,CH:1,PAR:PDWN,VAL:KILL", b => b.SetPowerDownModeAsync(1, CaenPowerDownMode.Kill) },
        { "$BD:00,CMD:SET,CH:1,PAR:IMRANGE,VAL:LOW", b => b.SetCurrentMonitorRangeAsync(1, CaenCurrentMonitorRange.Low) },
        { "$BD:00,CMD:SET,PAR:BDILKM,VAL:OPEN", b => b.SetInterlockModeAsync(CaenInterlockMode.Open) },
        { "$BD:00,CMD:SET,CH:1,PAR:ON", b => b.SwitchOnAsync(1) },
        { "$BD:00,CMD:SET,CH:0,PAR:OFF", b => b.SwitchOffAsync(0) },
        { "$BD:00,CMD:SET,PAR:BDCLR", b => b.ClearAlarmsAsync() },
    };

    [Theory]
    [MemberData(nameof(SetRequests))]
    public async Task Setters_SendTheDocumentedRequest(string expected, Func<CaenN1470Board, Task> set)
    {
        await set(_board);
        Assert.Equal(expected, Device.Requests[^1]);
    }

    public static TheoryData<string, string, double, double, string, Func<CaenN1470Board, Task>> Refusals => new()
    {
        // setup limits
        { "ECAL0", "VSET", 1800.1, 1800, "setup MaxVolts", b => b.SetVoltageAsync(0, 1800.1) },
        { "HCAL0", "ISET", 250, 200, "setup MaxMicroamps", b => b.SetCurrentLimitAsync(2, 250) },
        { "HCAL0", "RUP", 51, 50, "setup MaxRampVoltsPerSecond", b => b.SetRampUpAsync(2, 51) },
        { "HCAL0", "RDW", 60, 50, "setup MaxRampVoltsPerSecond", b => b.SetRampDownAsync(2, 60) },
        { "ECAL1", "MAXV", 2000, 1800, "setup MaxVolts", b => b.SetMaxVoltageAsync(1, 2000) },
        // board ranges (VETO's setup limits are above the board's)
        { "VETO", "VSET", 6000, 5500, "board VMAX", b => b.SetVoltageAsync(3, 6000) },
        { "VETO", "VSET", -5, 0, "board VMIN", b => b.SetVoltageAsync(3, -5) },
        { "VETO", "ISET", 3500, 3000, "board IMAX", b => b.SetCurrentLimitAsync(3, 3500) },
        { "VETO", "RUP", 0.5, 1, "board RUPMIN", b => b.SetRampUpAsync(3, 0.5) },
        { "VETO", "RDW", 600, 500, "board RDWMAX", b => b.SetRampDownAsync(3, 600) },
        { "VETO", "TRIP", 1000.5, 1000, "board TRIPMAX", b => b.SetTripTimeAsync(3, 1000.5) },
        { "VETO", "MAXV", 8200, 8100, "board MVMAX", b => b.SetMaxVoltageAsync(3, 8200) },
        // resolution
        { "ECAL0", "VSET", 1500.05, 0.1, "board resolution (VDEC: 1 decimals)", b => b.SetVoltageAsync(0, 1500.05) },
        { "ECAL0", "ISET", 1.005, 0.01, "board resolution (ISDEC: 2 decimals)", b => b.SetCurrentLimitAsync(0, 1.005) },
        { "ECAL0", "RUP", 10.5, 1, "board resolution (wire format 000: 0 decimals)", b => b.SetRampUpAsync(0, 10.5) },
    };

    [Theory]
    [MemberData(nameof(Refusals))]
    public async Task OutOfRangeSetpoints_AreRefusedBeforeAnyByteIsSent(
        string channel, string parameter, double value, double limit, string limitName, Func<CaenN1470Board, Task> set)
    {
        await _board.InitializeAsync();
        int bytesBefore = Device.ReceivedBytes.Length;

        var e = await Assert.ThrowsAsync<SetpointOutOfRangeException>(() => set(_board));

        Assert.Equal(channel, e.Channel);
        Assert.Equal(parameter, e.Parameter);
        Assert.Equal(value, e.Value);
        Assert.Equal(limit, e.Limit, 9);
        Assert.Equal(limitName, e.LimitName);
        Assert.Contains(channel, e.Message, StringComparison.Ordinal);
        Assert.Equal(bytesBefore, Device.ReceivedBytes.Length);
    }

    [Fact]
    public async Task SetupLimit_IsEnforcedEvenBeforeTheBoardWasEverRead()
    {
        await Assert.ThrowsAsync<SetpointOutOfRangeException>(() => _board.SetVoltageAsync(0, 5000));
        Assert.Empty(_devices); // the port was not even opened
    }

    [Fact]
    public async Task BadArguments_AreRefusedBeforeAnyByteIsSent()
    {
        await _board.InitializeAsync();
        int bytesBefore = Device.ReceivedBytes.Length;

        var channel = await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => _board.SetVoltageAsync(4, 100));
        Assert.Equal("channel", channel.ParamName);
        Assert.Contains("0..3", channel.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => _board.SetVoltageAsync(0, double.NaN));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => _board.SetCurrentLimitAsync(0, double.NegativeInfinity));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => _board.SetPowerDownModeAsync(0, (CaenPowerDownMode)7));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => _board.SetInterlockModeAsync((CaenInterlockMode)(-1)));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => _board.SwitchOnAsync(-1));

        Assert.Equal(bytesBefore, Device.ReceivedBytes.Length);
    }

    // ---- a SET without reply is settled by reading back (§1.3) ----

    [Fact]
    public async Task MissingSetReply_WithMatchingReadBack_CountsAsDone()
    {
        await _board.InitializeAsync();
        const string set = "$BD:00,CMD:SET,CH:1,PAR:VSET,VAL:1500.0";
        _canned.Silent.Add(set);
        _canned.Channel(1, "VSET", "1500.0");

        var task = _board.SetVoltageAsync(1, 1500);
        await Device.WaitForRequestAsync(set);
        Assert.False(task.IsCompleted);
        _time.Advance(Timeout);
        await task;

        Assert.Equal(["$BD:00,CMD:SET,CH:1,PAR:VSET,VAL:1500.0", "$BD:00,CMD:MON,CH:1,PAR:VSET"], Device.Requests.TakeLast(2));
    }

    [Fact]
    public async Task MissingSetReply_WithOtherReadBack_Throws()
    {
        await _board.InitializeAsync();
        const string set = "$BD:00,CMD:SET,CH:2,PAR:TRIP,VAL:2.5";
        _canned.Silent.Add(set);
        _canned.Channel(2, "TRIP", "0010.0");

        var task = _board.SetTripTimeAsync(2, 2.5);
        await Device.WaitForRequestAsync(set);
        _time.Advance(Timeout);

        var e = await Assert.ThrowsAsync<CaenSetUnconfirmedException>(() => task);
        Assert.Equal("0010.0", e.ReadBack);
        Assert.Equal("2.5", e.SentValue);
        Assert.Equal(set, e.Request);
        Assert.IsType<DeviceTimeoutException>(e.InnerException);
    }

    [Fact]
    public async Task MissingSetReply_WithSilentReadBack_ThrowsWithTheReadBackFailure()
    {
        await _board.InitializeAsync();
        const string set = "$BD:00,CMD:SET,CH:0,PAR:PDWN,VAL:RAMP";
        const string readBack = "$BD:00,CMD:MON,CH:0,PAR:PDWN";
        _canned.Silent.Add(set);
        _canned.Silent.Add(readBack);

        var task = _board.SetPowerDownModeAsync(0, CaenPowerDownMode.Ramp);
        await Device.WaitForRequestAsync(set);
        _time.Advance(Timeout);
        await Device.WaitForRequestAsync(readBack);
        _time.Advance(Timeout);

        var e = await Assert.ThrowsAsync<CaenSetUnconfirmedException>(() => task);
        Assert.Null(e.ReadBack);
        var inner = Assert.IsType<DeviceTimeoutException>(e.InnerException);
        Assert.Equal(readBack, inner.Request);
    }

    [Fact]
    public async Task MissingOnReply_IsSettledByTheStatusWord()
    {
        await _board.InitializeAsync();
        const string set = "$BD:00,CMD:SET,CH:0,PAR:ON";
        _canned.Silent.Add(set);
        _canned.Channel(0, "STAT", "00003");

        var task = _board.SwitchOnAsync(0);
        await Device.WaitForRequestAsync(set);
        _time.Advance(Timeout);
        await task;
        Assert.Equal("$BD:00,CMD:MON,CH:0,PAR:STAT", Device.Requests[^1]);
    }

    [Fact]
    public async Task MissingOffReply_WithTheChannelStillOn_Throws()
    {
        await _board.InitializeAsync();
        const string set = "$BD:00,CMD:SET,CH:0,PAR:OFF";
        _canned.Silent.Add(set);
        _canned.Channel(0, "STAT", "00001");

        var task = _board.SwitchOffAsync(0);
        await Device.WaitForRequestAsync(set);
        _time.Advance(Timeout);
        var e = await Assert.ThrowsAsync<CaenSetUnconfirmedException>(() => task);
        Assert.Contains("00001", e.ReadBack, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MissingClearReply_IsSettledByTheAlarmWord()
    {
        await _board.InitializeAsync();
        const string set = "$BD:00,CMD:SET,PAR:BDCLR";
        _canned.Silent.Add(set);
        _canned.Board("BDALARM", "00000");

        var task = _board.ClearAlarmsAsync();
        await Device.WaitForRequestAsync(set);
        _time.Advance(Timeout);
        await task;
        Assert.Equal("$BD:00,CMD:MON,PAR:BDALARM", Device.Requests[^1]);
    }

    // ---- error replies ----

    [Fact]
    public async Task ValueError_IsTyped()
    {
        await _board.InitializeAsync();
        _canned.Replies["$BD:00,CMD:SET,CH:0,PAR:VSET,VAL:1000.0"] = "#BD:00,VAL:ERR";
        var e = await Assert.ThrowsAsync<CaenValueErrorException>(() => _board.SetVoltageAsync(0, 1000));
        Assert.Equal("#BD:00,VAL:ERR", e.RawReply);
        Assert.Equal("$BD:00,CMD:SET,CH:0,PAR:VSET,VAL:1000.0", e.Request);
    }

    [Fact]
    public async Task LocalModeRefusal_IsTyped()
    {
        await _board.InitializeAsync();
        _canned.Replies["$BD:00,CMD:SET,CH:0,PAR:OFF"] = "#BD:00,LOC:ERR";
        await Assert.ThrowsAsync<CaenLocalModeException>(() => _board.SwitchOffAsync(0));
    }

    [Fact]
    public async Task ParameterAndChannelErrors_AreTyped()
    {
        await _board.InitializeAsync();
        _canned.Replies["$BD:00,CMD:MON,CH:2,PAR:IMRANGE"] = "#BD:00,PAR:ERR";
        _canned.Replies["$BD:00,CMD:MON,CH:3,PAR:VMON"] = "#BD:00,CH:ERR";
        await Assert.ThrowsAsync<CaenParameterErrorException>(() => _board.ReadChannelAsync(2, P.IMRange));
        await Assert.ThrowsAsync<CaenChannelErrorException>(() => _board.ReadChannelAsync(3, P.VMon));
        await Assert.ThrowsAsync<CaenCommandErrorException>(() => _board.ReadChannelAsync(3, P.IMDec)); // not scripted: CMD:ERR
    }

    [Fact]
    public async Task GarbageReply_IsAReplyErrorWithTheRawBytes()
    {
        await _board.InitializeAsync();
        _canned.Replies["$BD:00,CMD:MON,PAR:BDTERM"] = "#BD:00,CMD:OK,VAL:\u00ffN";
        var e = await Assert.ThrowsAsync<DeviceReplyException>(() => _board.ReadBoardAsync(P.BdTerm));
        Assert.Contains("FF", e.Message, StringComparison.Ordinal);
        Assert.Equal("#BD:00,CMD:OK,VAL:\u00ffN", e.RawReply);
    }

    // ---- reconnect ----

    [Fact]
    public async Task AfterReconnect_TheBoardReinitializesBeforeTheNextCommand()
    {
        await _board.InitializeAsync();
        int reinitialized = 0;
        _board.Reinitialized += (_, _) => reinitialized++;
        var first = Device;

        await first.DisposeAsync(); // the cable goes

        // The next command re-opens the port and runs on the new connection. If its write meets the dead port before
        // the transport's reader has seen the end of stream, that command fails as disconnected and the one after
        // it re-opens; either way exactly one re-open happens.
        _canned.Board("BDTERM", "OFF");
        CaenReading term;
        try
        {
            term = await _board.ReadBoardAsync(P.BdTerm);
        }
        catch (TransportDisconnectedException)
        {
            term = await _board.ReadBoardAsync(P.BdTerm);
        }

        Assert.Equal("OFF", term.Text);
        Assert.Equal(1, _transport.Counters.Reconnects);
        Assert.True(_board.NeedsReinitialize);
        Assert.Equal(0, reinitialized);
        var second = Device;
        Assert.NotSame(first, second);

        var readback = await _board.PollAsync();

        Assert.False(_board.NeedsReinitialize);
        Assert.Equal(1, reinitialized);
        Assert.Equal("$BD:00,CMD:MON,PAR:BDNAME", second.Requests.SkipWhile(r => r.Contains("BDTERM", StringComparison.Ordinal)).First());
        Assert.Equal(4, readback.Channels.Count);
    }

    // ---- other dialects ----

    [Fact]
    public async Task LenientDialect_AcceptsRepliesWithoutTheBoardField()
    {
        var (host, device) = InMemoryDuplex.CreatePair();
        await using var transport = new LineTransport(new InMemoryEndpoint(() => host), LineFraming.CrLf, _time);
        await using var fake = new ScriptedCaenDevice(device, r => _canned.Respond(r)?.Replace("#BD:00,", "#", StringComparison.Ordinal));
        using var board = new CaenN1470Board(transport, 0, Limits, new CaenN1470Options { Dialect = CaenDialect.N1470LenientReply }, _time);

        var readback = await board.PollAsync();
        Assert.Equal(1500.0, readback.Channels[1].VSet);
    }

    [Fact]
    public async Task StrictDialect_RefusesRepliesWithoutTheBoardField()
    {
        var (host, device) = InMemoryDuplex.CreatePair();
        await using var transport = new LineTransport(new InMemoryEndpoint(() => host), LineFraming.CrLf, _time);
        await using var fake = new ScriptedCaenDevice(device, r => _canned.Respond(r)?.Replace("#BD:00,", "#", StringComparison.Ordinal));
        using var board = new CaenN1470Board(transport, 0, Limits, null, _time);

        var e = await Assert.ThrowsAsync<DeviceReplyException>(() => board.InitializeAsync());
        Assert.Contains("lacks the BD:nn field", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task BoardAtAnotherAddress_UsesItsTwoDigitAddress()
    {
        var canned = new CannedN1470(7);
        var (host, device) = InMemoryDuplex.CreatePair();
        await using var transport = new LineTransport(new InMemoryEndpoint(() => host), LineFraming.CrLf, _time);
        await using var fake = new ScriptedCaenDevice(device, canned.Respond);
        using var board = new CaenN1470Board(transport, 7, Limits, null, _time);

        await board.SetVoltageAsync(0, 100);
        Assert.Equal("$BD:07,CMD:SET,CH:0,PAR:VSET,VAL:100.0", fake.Requests[^1]);
        Assert.Equal("sim BD:07", board.Name);
    }
}
