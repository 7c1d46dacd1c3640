using Microsoft.Extensions.Time.Testing;
using NA64.SlowControl.Hosting;
using NA64.SlowControl.Hv;
using NA64.SlowControl.Setup;

namespace NA64.SlowControl.Tests.Hv;

/// <summary>
/// The controllers over the real CAEN N1470 driver and the simulated board (in-memory line), in fake time:
/// the same bytes as on the bench, the clock advanced by the test one poll period at a time.
/// </summary>
public class HvEndToEndTests
{
    [Fact]
    public async Task Ramp_trip_and_two_step_recovery_over_the_real_driver_and_simulator()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2018, 7, 1, 12, 0, 0, TimeSpan.Zero));
        await using var hw = HvHardware.Build(SetupLoader.LoadDefault(), time, Serilog.Core.Logger.None, transportTime: time);
        var channel = hw.System.Channel("MM1.strips");
        var poller = hw.System.Pollers.Single(p => p.Channels.Contains(channel));
        var model = hw.SimulatedBoard("HV-MM12").Channels[channel.Index];
        var states = new List<HvChannelState>();
        var alarms = new List<Alarm>();
        channel.StateChanged += (_, to) => states.Add(to);
        channel.AlarmRaised += alarms.Add;

        async Task Cycle()
        {
            time.Advance(TimeSpan.FromSeconds(1));
            await poller.PollOnceAsync().WaitAsync(TimeSpan.FromSeconds(30)); // bound turns a hang into a failure
        }

        var (isetBefore, rampUpBefore) = (model.ISet, model.RampUp);
        await poller.PollOnceAsync().WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(HvChannelState.Off, channel.State);
        Assert.Equal(isetBefore, model.ISet);   // first contact writes nothing
        Assert.Equal(rampUpBefore, model.RampUp);
        Assert.NotEqual(1.2, model.ISet);

        var ramp = channel.RampAsync(565);
        // The clock must not move while VSET/ON are on the line (that would be a reply timeout): a poll without
        // advancing time waits for the channel's gate, which the command holds until both are acknowledged.
        await poller.PollOnceAsync().WaitAsync(TimeSpan.FromSeconds(30));
        for (int i = 0; i < 200 && !ramp.IsCompleted; i++)
            await Cycle();
        await ramp;
        Assert.Equal(HvChannelState.On, channel.State);
        Assert.Equal(1.2, model.ISet, 3);      // the switch-on wrote the setup's settings of this channel
        Assert.Equal(5, model.RampUp, 3);
        Assert.Contains(HvChannelState.RampingUp, states);
        Assert.InRange(model.VMon, 562.5, 567.5);

        // A discharge: the board limits the current, trips after its TRIP time, and the controller recovers.
        model.InjectCurrent(5.0);
        for (int i = 0; i < 60 && !states.Contains(HvChannelState.Tripped); i++)
            await Cycle();
        Assert.Contains(HvChannelState.Tripped, states);
        model.InjectCurrent(0);

        for (int i = 0; i < 300 && channel.State != HvChannelState.On; i++)
            await Cycle();

        Assert.Equal(HvChannelState.On, channel.State);
        Assert.Equal(
            [HvChannelState.Tripped, HvChannelState.RecoveryStepDown, HvChannelState.RecoveryHold, HvChannelState.RecoveryToNominal, HvChannelState.On],
            states.SkipWhile(s => s != HvChannelState.Tripped));
        Assert.Equal(565, model.VSet, 3);
        Assert.Contains(alarms, a => a.Kind == HvAlarmKind.Tripped);
        Assert.Equal(1, channel.Snapshot().RecoveriesLastHour);
    }
}
