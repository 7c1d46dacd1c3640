using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using NA64.Hardware.Hv;
using NA64.SlowControl.Hv;
using static NA64.Hardware.Hv.HvChannelStatus;

namespace NA64.SlowControl.Tests.Hv;

public class HvStatusTests
{
    [Theory]
    [InlineData(None, 0, 0, HvChannelState.Off)]
    [InlineData(None, 500, 300, HvChannelState.RampingDown)] // off, still charged, no RDW bit
    [InlineData(On | RampingUp, 500, 100, HvChannelState.RampingUp)]
    [InlineData(RampingDown, 500, 100, HvChannelState.RampingDown)]
    [InlineData(On, 500, 497.6, HvChannelState.On)]
    [InlineData(On | OverCurrent, 500, 480, HvChannelState.OutOfTolerance)]
    [InlineData(Tripped, 500, 0, HvChannelState.Tripped)]
    [InlineData(Tripped | Interlock, 500, 0, HvChannelState.Interlocked)]
    [InlineData(Killed | Tripped, 500, 0, HvChannelState.Killed)]
    [InlineData(Disabled, 500, 0, HvChannelState.Disabled)]
    public void Classify_follows_the_CAEN_status_bits(HvChannelStatus status, double vset, double vmon, HvChannelState expected) =>
        Assert.Equal(expected, HvStatus.Classify(new HvChannelReadback(0, vset, vmon, 1, 0, status), false, 2.5));

    [Property]
    public bool Board_interlock_wins_over_every_channel_status(ushort bits, NormalFloat vset, NormalFloat vmon) =>
        HvStatus.Classify(new HvChannelReadback(0, vset.Get, vmon.Get, 1, 0, (HvChannelStatus)(bits & 0x3FFF)), true, 2.5)
            == HvChannelState.Interlocked;

    [Property]
    public bool On_needs_the_ON_bit_no_ramp_bits_and_VMON_within_tolerance(ushort bits, NormalFloat vset, NormalFloat vmon)
    {
        var status = (HvChannelStatus)(bits & 0x3FFF);
        var state = HvStatus.Classify(new HvChannelReadback(0, vset.Get, vmon.Get, 1, 0, status), false, 2.5);
        bool expectOn = status.HasFlag(On) && (status & (RampingUp | RampingDown | Tripped | Interlock | Killed | Disabled)) == 0
            && Math.Abs(vmon.Get - vset.Get) <= 2.5;
        return (state == HvChannelState.On) == expectOn;
    }

    [Fact]
    public void Format_uses_the_CAEN_names() =>
        Assert.Equal("ON RUP OVC TRIP ILK", HvStatus.Format(On | RampingUp | OverCurrent | Tripped | Interlock));
}
