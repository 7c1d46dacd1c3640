using NA64.Simulators.Physics;
using NA64.Hardware.Hv.CaenN1470;
using System.Text;
using Microsoft.Extensions.Time.Testing;
using NA64.Hardware.Hv;
using NA64.Hardware.Transport;
using NA64.Simulators.Clock;
using NA64.Simulators.Hv.CaenN1470;
using NA64.Simulators.Serving;
using NA64.Simulators.Tests.Hv.CaenN1470.LineServing;

namespace NA64.Simulators.Tests.Hv.CaenN1470;

public class CaenN1470ScenarioTests
{
    [Fact]
    public void BoardAlarmsFromTheBackdoorShowInBdalarmUntilBdclr()
    {
        var t = new CaenTestBoard();
        t.Board.RaiseAlarm(CaenBoardAlarm.PowerFail | CaenBoardAlarm.HvClockFail);
        Assert.Equal("#BD:00,CMD:OK,VAL:00080", t.Ask("$BD:00,CMD:MON,PAR:BDALARM"));
        Assert.Equal("#BD:00,CMD:OK", t.Ask("$BD:00,CMD:SET,PAR:BDCLR"));
        Assert.Equal("#BD:00,CMD:OK,VAL:00000", t.Ask("$BD:00,CMD:MON,PAR:BDALARM"));
    }

    [Fact]
    public void InjectedCurrentFlowsOnlyWithOutputVoltage()
    {
        var t = new CaenTestBoard(loads: [new CaenN1470Load { LeakageMicroamps = 0, CapacitanceNanofarads = 0, ResistanceMegaohms = double.PositiveInfinity }]);
        t[0].InjectCurrent(0.5);
        Assert.Equal(0, t[0].IMon);
        t.On(0, 100);
        t.Advance(10);
        Assert.Equal(0.5, t[0].IMon, 9);
    }

    [Fact]
    public void BoardOnASimulationClockRampsTwentyTimesFasterThanTheBaseClock()
    {
        var real = new FakeTimeProvider();
        var clock = new SimulationClock(real, 20);
        var board = new CaenN1470BoardModel(0, clock, spill: CaenTestBoard.NoBeam);
        board.Channels[0].TrySetRampUp(50);
        board.Channels[0].TrySetVSet(1500);
        board.Channels[0].SwitchOn();

        real.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(1000, board.Channels[0].VMon, 6);
        real.Advance(TimeSpan.FromSeconds(0.5));
        Assert.Equal(1500, board.Channels[0].VMon, 6);
        Assert.Equal(CaenChannelStatus.On, board.Channels[0].Status);
    }

    [Fact]
    public void ADayOfSimulatedTimeLandsOnTheRightSpillPhase()
    {
        var load = new CaenN1470Load { BeamMicroamps = 0.7, CapacitanceNanofarads = 0, LeakageMicroamps = 0, ResistanceMegaohms = double.PositiveInfinity };
        var t = new CaenTestBoard(loads: [load], spill: SpillCycle.Sps);
        t[0].TrySetRampUp(500);
        t.On(0, 560);

        // 86400 s = 3483 cycles of 24.8 s + 21.6 s: between spills; 3.2 s later the next spill is on.
        t.Advance(86400);
        Assert.False(t.Board.InSpill);
        Assert.Equal(0, t[0].IMon, 9);
        t.Advance(3.2);
        Assert.True(t.Board.InSpill);
        Assert.Equal(0.7, t[0].IMon, 9);
    }

    [Fact]
    public async Task ABusOnOneServedLineAnswersOnlyForPresentAddresses()
    {
        var time = new FakeTimeProvider();
        var bus = new CaenN1470Bus([
            new CaenN1470Wire(new CaenN1470BoardModel(0, time)),
            new CaenN1470Wire(new CaenN1470BoardModel(12, time, CaenN1470Personality.N1470 with { ChannelCount = 1 })),
        ]);
        var server = new LineDeviceServer(bus, time);
        var (host, device) = InMemoryDuplex.CreatePair();
        using var stop = new CancellationTokenSource();
        var serving = server.ServeAsync(device, stop.Token);

        await host.WriteAsync(Encoding.ASCII.GetBytes("$BD:03,CMD:MON,PAR:BDNCH\r\n$BD:12,CMD:MON,PAR:BDNCH\r\n$BD:00,CMD:MON,PAR:BDNCH\r\n"));
        var expected = "#BD:12,CMD:OK,VAL:1\r\n#BD:00,CMD:OK,VAL:4\r\n";
        var buffer = new byte[256];
        var received = new StringBuilder();
        while (received.Length < expected.Length)
        {
            var n = await host.ReadAsync(buffer).AsTask().WaitAsync(ServingHarness.Guard);
            received.Append(Encoding.ASCII.GetString(buffer, 0, n));
        }

        Assert.Equal(expected, received.ToString());
        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => serving.WaitAsync(ServingHarness.Guard));
    }

    [Fact]
    public void LineFaultsRefuseMeaninglessArguments()
    {
        var faults = new LineFaults();
        Assert.Equal("byteCount", Assert.Throws<ArgumentOutOfRangeException>(() => faults.GarbleNextReply(0)).ParamName);
        Assert.Equal("keepBytes", Assert.Throws<ArgumentOutOfRangeException>(() => faults.TruncateNextReply(-1)).ParamName);
        Assert.Throws<ArgumentOutOfRangeException>(() => faults.ReplyDelay = TimeSpan.FromSeconds(-1));
    }

    [Fact]
    public void SpillCycleLongerBeamThanPeriodIsRefused()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() =>
            new CaenN1470BoardModel(0, new FakeTimeProvider(), spill: new SpillCycle(TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(24.8), TimeSpan.Zero)));
        Assert.Contains("BeamOn", e.Message, StringComparison.Ordinal);
    }
}
