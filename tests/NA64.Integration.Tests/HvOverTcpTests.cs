using NA64.Hardware.Errors;
using NA64.SlowControl.Hv;

namespace NA64.Integration.Tests;

/// <summary>The same chain over TCP (NDT1470 style, port 0 on the loopback): ramp, dropped connection, reconnect.</summary>
public sealed class HvOverTcpTests
{
    [Fact]
    public async Task Ramp_over_TCP_then_a_dropped_connection_is_reopened_and_the_settings_pushed_back()
    {
        await using var rig = HvRig.OverTcp();
        await rig.RampStripsOnAsync();
        Assert.Equal(HvRig.StripsNominal, rig.StripsModel.VSet);

        rig.Faults.Disconnect();
        rig.Time.Advance(TimeSpan.FromSeconds(1));
        await rig.PollAsync();
        Assert.Equal(HvChannelState.Disconnected, rig.StripsChannel.State);
        Assert.IsType<TransportDisconnectedException>(rig.System.Pollers[0].LastError);

        Assert.True(rig.StripsModel.TrySetISet(100));
        rig.Time.Advance(TimeSpan.FromSeconds(1));
        await rig.PollAsync();
        Assert.Equal(1, rig.Transport.Counters.Reconnects);
        Assert.Equal(5, rig.StripsModel.ISet);
        await rig.RunUntilAsync(() => rig.StripsChannel.State == HvChannelState.On, "On after reconnect", maxCycles: 3);
    }
}
