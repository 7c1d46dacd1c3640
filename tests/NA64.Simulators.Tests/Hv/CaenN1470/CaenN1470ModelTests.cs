using NA64.Simulators.Physics;
using NA64.Hardware.Hv.CaenN1470;
using NA64.Hardware.Hv;
using NA64.Simulators.Hv.CaenN1470;

namespace NA64.Simulators.Tests.Hv.CaenN1470;

public class CaenN1470ModelTests
{
    private const CaenChannelStatus OnRampingUp = CaenChannelStatus.On | CaenChannelStatus.RampingUp;

    [Fact]
    public void RampsUpAtRupWithTheRupBitAndStopsAtVset()
    {
        var t = new CaenTestBoard();
        Assert.True(t[1].TrySetRampUp(50));
        t.On(1, 500);

        t.Advance(5);
        Assert.Equal(250, t[1].VMon, 6);
        Assert.Equal(OnRampingUp, t[1].Status);

        t.Advance(4.9);
        Assert.Equal(495, t[1].VMon, 6);

        t.Advance(0.1);
        Assert.Equal(500, t[1].VMon, 6);
        Assert.Equal(CaenChannelStatus.On, t[1].Status);

        t.Advance(100);
        Assert.Equal(500, t[1].VMon, 6);
    }

    [Fact]
    public void NewVsetWhileOnStartsANewRampDownAtRdw()
    {
        var t = new CaenTestBoard();
        t[0].TrySetRampDown(20);
        t.On(0, 600);
        t.Advance(100);

        Assert.True(t[0].TrySetVSet(560));
        t.Advance(1);
        Assert.Equal(580, t[0].VMon, 6);
        Assert.Equal(CaenChannelStatus.On | CaenChannelStatus.RampingDown, t[0].Status);
        t.Advance(1);
        Assert.Equal(CaenChannelStatus.On, t[0].Status);
    }

    [Fact]
    public void OffWithPdwnRampClearsOnAtOnceAndRampsDownAtRdw()
    {
        var t = new CaenTestBoard();
        t[2].TrySetRampDown(100);
        t.On(2, 1000);
        t.Advance(60);

        t[2].SwitchOff();
        Assert.Equal(CaenChannelStatus.RampingDown, t[2].Status);
        t.Advance(4);
        Assert.Equal(600, t[2].VMon, 6);
        Assert.Equal(CaenChannelStatus.RampingDown, t[2].Status);
        t.Advance(6);
        Assert.Equal(0, t[2].VMon, 6);
        Assert.Equal(CaenChannelStatus.None, t[2].Status);
    }

    [Fact]
    public void OffWithPdwnKillDropsAtOnce()
    {
        var t = new CaenTestBoard();
        t.On(2, 1000);
        t.Advance(60);
        t[2].SetPowerDown(CaenPowerDownMode.Kill);

        t[2].SwitchOff();

        Assert.Equal(0, t[2].VMon);
        Assert.Equal(CaenChannelStatus.None, t[2].Status);
    }

    [Fact]
    public void OverCurrentTripsAfterExactlyTripSecondsAndLatchesUntilOn()
    {
        var t = new CaenTestBoard();
        t[0].TrySetISet(1.0);
        t[0].TrySetTripTime(2.5);
        t[0].SetPowerDown(CaenPowerDownMode.Kill);
        t.On(0, 100);
        t.Advance(10);

        t[0].InjectCurrent(1.5);
        Assert.Equal(CaenChannelStatus.On | CaenChannelStatus.OverCurrent, t[0].Status);
        Assert.Equal(1.0, t[0].IMon, 9);

        t.Time.Advance(TimeSpan.FromSeconds(2.5) - TimeSpan.FromMilliseconds(1));
        Assert.True(t[0].IsOn);
        Assert.Equal(CaenBoardAlarm.None, t.Board.Alarm);

        t.Time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.False(t[0].IsOn);
        Assert.Equal(CaenChannelStatus.Tripped, t[0].Status & ~CaenChannelStatus.OverCurrent);
        Assert.Equal(0, t[0].VMon);
        Assert.Equal(CaenBoardAlarm.Channel0, t.Board.Alarm);

        t.Advance(1000);
        Assert.True(t[0].Status.HasFlag(CaenChannelStatus.Tripped));

        t[0].InjectCurrent(0);
        t[0].SwitchOn();
        Assert.Equal(OnRampingUp, t[0].Status);
        Assert.Equal(CaenBoardAlarm.None, t.Board.Alarm);
    }

    [Fact]
    public void TripFollowsPdwnRamp()
    {
        var t = new CaenTestBoard();
        t[0].TrySetRampDown(100);
        t[0].TrySetTripTime(0);
        t.On(0, 500);
        t.Advance(20);

        t[0].InjectCurrent(5000);
        t.Advance(1);

        Assert.Equal(400, t[0].VMon, 6);
        Assert.Equal(CaenChannelStatus.RampingDown | CaenChannelStatus.Tripped, t[0].Status);
    }

    [Fact]
    public void BdclrClearsALatchedTripAndTheAlarm()
    {
        var t = new CaenTestBoard();
        t.On(3, 300);
        t.Advance(10);
        t[3].ForceTrip();
        Assert.Equal(CaenBoardAlarm.Channel3, t.Board.Alarm);
        Assert.True(t[3].Status.HasFlag(CaenChannelStatus.Tripped));

        t.Board.ClearAlarms();

        Assert.False(t[3].Status.HasFlag(CaenChannelStatus.Tripped));
        Assert.Equal(CaenBoardAlarm.None, t.Board.Alarm);
        Assert.False(t[3].IsOn);
    }

    [Fact]
    public void OverCurrentDuringTheRampIsCapacitiveAndEndsWithTheRamp()
    {
        // C·dV/dt: 100 nF at 100 V/s = 10 µA while ramping; ISET 5 µA, TRIP 10 s: OVC but no trip.
        var t = new CaenTestBoard(loads: [new CaenN1470Load { CapacitanceNanofarads = 100, LeakageMicroamps = 0 }]);
        t[0].TrySetRampUp(100);
        t[0].TrySetISet(5);
        t.On(0, 500);

        t.Advance(1);
        Assert.Equal(OnRampingUp | CaenChannelStatus.OverCurrent, t[0].Status);
        Assert.Equal(5, t[0].IMon, 9);

        t.Advance(4);
        Assert.Equal(CaenChannelStatus.On, t[0].Status);
        Assert.Equal(500 / 500_000.0, t[0].IMon, 9);
    }

    [Fact]
    public void ImonFollowsTheSpill()
    {
        var load = new CaenN1470Load { LeakageMicroamps = 0.002, ResistanceMegaohms = 500_000, CapacitanceNanofarads = 0, BeamMicroamps = 0.7 };
        var spill = new SpillCycle(TimeSpan.FromSeconds(4.8), TimeSpan.FromSeconds(24.8), TimeSpan.FromSeconds(30));
        var t = new CaenTestBoard(loads: [load], spill: spill);
        t[0].TrySetRampUp(500);
        t.On(0, 560);
        var offSpill = 0.002 + (560 / 500_000.0);

        t.Advance(29.9);
        Assert.False(t.Board.InSpill);
        Assert.Equal(offSpill, t[0].IMon, 9);

        t.Advance(0.1);
        Assert.True(t.Board.InSpill);
        Assert.Equal(offSpill + 0.7, t[0].IMon, 9);

        t.Advance(4.7);
        Assert.Equal(offSpill + 0.7, t[0].IMon, 9);
        t.Advance(0.1);
        Assert.False(t.Board.InSpill);
        Assert.Equal(offSpill, t[0].IMon, 9);

        t.Advance(24.8 - 4.8);
        Assert.Equal(offSpill + 0.7, t[0].IMon, 9);
    }

    [Fact]
    public void HighIntensitySpillTripsTheChannelTripSecondsAfterTheSpillStarts()
    {
        var load = new CaenN1470Load { CapacitanceNanofarads = 0, BeamMicroamps = 1.5 };
        var spill = new SpillCycle(TimeSpan.FromSeconds(4.8), TimeSpan.FromSeconds(24.8), TimeSpan.FromSeconds(30));
        var t = new CaenTestBoard(loads: [load], spill: spill);
        t[0].TrySetRampUp(500);
        t[0].TrySetISet(1.3);
        t[0].TrySetTripTime(1.5);
        t.On(0, 565);

        t.Time.Advance(TimeSpan.FromSeconds(31.5) - TimeSpan.FromMilliseconds(1));
        Assert.True(t[0].IsOn);
        Assert.True(t[0].Status.HasFlag(CaenChannelStatus.OverCurrent));
        t.Time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.False(t[0].IsOn);
        Assert.True(t[0].Status.HasFlag(CaenChannelStatus.Tripped));
    }

    [Fact]
    public void ShortOverCurrentBelowTripTimeResetsTheTripTimer()
    {
        var t = new CaenTestBoard();
        t[0].TrySetISet(1);
        t[0].TrySetTripTime(2);
        t.On(0, 100);
        t.Advance(5);

        t[0].InjectCurrent(2);
        t.Advance(1.5);
        t[0].InjectCurrent(0);
        t.Advance(1);
        t[0].InjectCurrent(2);
        t.Advance(1.5);

        Assert.True(t[0].IsOn);
        t.Advance(0.5);
        Assert.False(t[0].IsOn);
    }

    [Fact]
    public void ActiveInterlockSwitchesAllChannelsOffAndOnIsIgnoredUntilReleased()
    {
        var t = new CaenTestBoard();
        t.On(0, 500);
        t.On(1, 600);
        t.Advance(20);

        t.Board.SetInterlockInput(CaenInterlockState.Open);
        Assert.True(t.Board.InterlockActive);
        Assert.Equal(CaenChannelStatus.Interlock, t[0].Status);
        Assert.Equal(0, t[1].VMon);

        t[0].SwitchOn();
        Assert.Equal(CaenChannelStatus.Interlock, t[0].Status);

        t.Board.SetInterlockInput(CaenInterlockState.Closed);
        Assert.False(t.Board.InterlockActive);
        Assert.Equal(CaenChannelStatus.Interlock, t[0].Status);
        t[0].SwitchOn();
        Assert.Equal(OnRampingUp, t[0].Status);
    }

    [Fact]
    public void InterlockModeClosedMakesAClosedInputActive()
    {
        var t = new CaenTestBoard();
        t.On(0, 500);
        t.Board.SetInterlockMode(CaenInterlockState.Closed);
        Assert.True(t.Board.InterlockActive);
        Assert.False(t[0].IsOn);
    }

    [Fact]
    public void KillInputDropsEveryChannelAtOnceWithKill()
    {
        var t = new CaenTestBoard();
        t.On(0, 500);
        t.On(3, 500);
        t.Advance(20);

        t.Board.SetKillInput(true);

        Assert.Equal(CaenChannelStatus.Killed, t[0].Status);
        Assert.Equal(CaenChannelStatus.Killed, t[1].Status);
        Assert.Equal(0, t[3].VMon);
        t[3].SwitchOn();
        Assert.False(t[3].IsOn);

        t.Board.SetKillInput(false);
        t.Board.ClearAlarms();
        Assert.Equal(CaenChannelStatus.None, t[0].Status);
    }

    [Fact]
    public void DisableSwitchHoldsTheChannelOffWithDis()
    {
        var t = new CaenTestBoard();
        t[1].SetPowerDown(CaenPowerDownMode.Kill);
        t.On(1, 500);
        t.Advance(20);

        t[1].SetDisableSwitch(true);
        Assert.Equal(CaenChannelStatus.Disabled, t[1].Status);
        t[1].SwitchOn();
        Assert.Equal(CaenChannelStatus.Disabled, t[1].Status);

        t[1].SetDisableSwitch(false);
        t[1].SwitchOn();
        Assert.Equal(OnRampingUp, t[1].Status);
    }

    [Fact]
    public void MaxvRejectVariantRefusesVsetAboveMaxv()
    {
        var t = new CaenTestBoard();
        Assert.True(t[0].TrySetMaxV(1000));
        Assert.False(t[0].TrySetVSet(1000.1));
        Assert.True(t[0].TrySetVSet(1000));
    }

    [Fact]
    public void MaxvClipVariantHoldsTheOutputAtMaxvWithTheMaxvBit()
    {
        var t = new CaenTestBoard(personality: CaenN1470Personality.N1470 with { MaxVoltageBehaviour = CaenMaxVoltageBehaviour.ClipOutput });
        t[0].TrySetMaxV(1000);
        t[0].TrySetRampUp(500);
        t.On(0, 1200);
        t.Advance(10);

        Assert.Equal(1000, t[0].VMon, 6);
        Assert.Equal(CaenChannelStatus.On | CaenChannelStatus.MaxVoltage, t[0].Status);
        Assert.Equal(1200, t[0].VSet);
    }

    [Fact]
    public void OvvAndUnvOnlyWhenOnAndNotRamping()
    {
        var t = new CaenTestBoard();
        t[0].InjectVoltageOffset(3);
        t[0].TrySetRampUp(10);
        t.On(0, 100);
        t.Advance(1);
        Assert.Equal(OnRampingUp, t[0].Status);

        t.Advance(20);
        Assert.Equal(CaenChannelStatus.On | CaenChannelStatus.OverVoltage, t[0].Status);
        t[0].InjectVoltageOffset(2.5);
        Assert.Equal(CaenChannelStatus.On, t[0].Status);
        t[0].InjectVoltageOffset(-2.6);
        Assert.Equal(CaenChannelStatus.On | CaenChannelStatus.UnderVoltage, t[0].Status);
    }

    [Fact]
    public void SettersRefuseValuesOutsideThePersonalityRanges()
    {
        var t = new CaenTestBoard();
        Assert.False(t[0].TrySetVSet(8000.1));
        Assert.False(t[0].TrySetISet(-1));
        Assert.False(t[0].TrySetRampUp(0));
        Assert.False(t[0].TrySetRampDown(501));
        Assert.False(t[0].TrySetTripTime(1000.1));
        Assert.False(t[0].TrySetMaxV(8101));
        Assert.Equal(0, t[0].VSet);
    }

    [Fact]
    public void BadConfigurationIsRefusedWithTheFieldAndTheLimit()
    {
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider();
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new CaenN1470BoardModel(32, time));
        Assert.Contains("0 to 31", e.Message, StringComparison.Ordinal);
        var c = Assert.Throws<ArgumentOutOfRangeException>(() => new CaenN1470BoardModel(0, time, CaenN1470Personality.N1470 with { ChannelCount = 5 }));
        Assert.Equal("ChannelCount", c.ParamName);
    }
}
