using Microsoft.Extensions.Time.Testing;
using Moq;
using NA64.Hardware.Hv;
using NA64.SlowControl.Hv;
using NA64.SlowControl.Setup;

namespace NA64.SlowControl.Tests.Hv;

public class HvSystemTests
{
    /// <summary>Moq boards whose poll shows every channel off at its nominal VSET, unless the test changes the status.</summary>
    private sealed class Boards
    {
        public Dictionary<string, Mock<IHvBoard>> ByName { get; } = [];
        public Dictionary<(string Board, int Channel), HvChannelReadback> State { get; } = [];
        public Dictionary<(string Board, int Channel), Mock<IHvChannel>> Hw { get; } = [];

        public IHvBoard Create(DeviceSetup device)
        {
            var m = new Mock<IHvBoard>();
            m.SetupGet(b => b.Name).Returns(device.Name);
            m.SetupGet(b => b.ChannelCount).Returns(device.Kind.ChannelCount);
            m.SetupGet(b => b.Limits).Returns(device.ChannelLimits());
            for (int i = 0; i < device.Kind.ChannelCount; i++)
            {
                State[(device.Name, i)] = new HvChannelReadback(i, 0, 0, 0, 0, HvChannelStatus.None);
                var channel = new Mock<IHvChannel>();
                channel.SetupGet(c => c.BoardName).Returns(device.Name);
                channel.SetupGet(c => c.Index).Returns(i);
                channel.SetupGet(c => c.VoltageResolution).Returns(0.1);
                Hw[(device.Name, i)] = channel;
                m.Setup(b => b.Channel(i)).Returns(channel.Object);
            }
            m.Setup(b => b.PollAsync(It.IsAny<CancellationToken>())).ReturnsAsync(() => new HvBoardReadback(
                DateTimeOffset.UnixEpoch,
                Enumerable.Range(0, device.Kind.ChannelCount).Select(i => State[(device.Name, i)]).ToList(), false, false, 0));
            ByName[device.Name] = m;
            return m.Object;
        }
    }

    [Fact]
    public async Task Builds_a_controller_per_named_channel_of_the_default_setup()
    {
        var setup = SetupLoader.LoadDefault();
        var boards = new Boards();
        var hv = new HvSystem(setup, boards.Create, new FakeTimeProvider());

        Assert.Equal(setup.AllChannels.Count(), hv.Channels.Count);
        Assert.Equal(setup.Devices.Count, hv.Pollers.Count);
        Assert.Equal("HV-MM12", hv.Channel("MM1.strips").BoardName);
        Assert.Equal(1, hv.Channel("MM1.strips").Index);
        Assert.True(hv.TryGetChannel("SRD.2", out var srd));
        Assert.Equal(1010, srd.Setup.NominalVolts);
        var unknown = Assert.Throws<KeyNotFoundException>(() => hv.Channel("MM9.strips"));
        Assert.Contains("MM1.drift", unknown.Message, StringComparison.Ordinal);

        await hv.PollOnceAsync();

        var rows = hv.Snapshot();
        Assert.Equal(hv.Channels.Count, rows.Count);
        Assert.All(rows, r => Assert.Equal(HvChannelState.Off, r.State));
        Assert.Equal(["MM1.drift", "MM1.strips"], rows.Take(2).Select(r => r.Channel));
    }

    [Fact]
    public async Task RampAsync_by_name_completes_when_the_channel_is_on()
    {
        var boards = new Boards();
        var alarms = new List<Alarm>();
        var changes = new List<(string Channel, HvChannelState From, HvChannelState To)>();
        var hv = new HvSystem(SetupLoader.LoadDefault(), boards.Create, new FakeTimeProvider());
        hv.AlarmRaised += alarms.Add;
        hv.ChannelStateChanged += (channel, from, to) => changes.Add((channel, from, to));
        await hv.PollOnceAsync();
        Assert.Contains(("MM2.strips", HvChannelState.Unknown, HvChannelState.Off), changes);

        var ramp = hv.RampAsync("MM2.strips", 570);
        boards.Hw[("HV-MM12", 3)].Verify(c => c.SwitchOnAsync(It.IsAny<CancellationToken>()), Times.Once);

        boards.State[("HV-MM12", 3)] = new HvChannelReadback(3, 570, 300, 1.2, 0.1, HvChannelStatus.On | HvChannelStatus.RampingUp);
        await hv.PollOnceAsync();
        Assert.False(ramp.IsCompleted);
        boards.State[("HV-MM12", 3)] = new HvChannelReadback(3, 570, 569.5, 1.2, 0.003, HvChannelStatus.On);
        await hv.PollOnceAsync();

        await ramp;
        Assert.Equal(HvChannelState.On, hv.Channel("MM2.strips").State);

        boards.State[("HV-MM12", 3)] = new HvChannelReadback(3, 570, 0, 1.2, 1.2, HvChannelStatus.Tripped);
        await hv.PollOnceAsync();
        Assert.Equal(HvAlarmKind.Tripped, Assert.Single(alarms).Kind);
        Assert.Equal("MM2.strips", alarms[0].Channel);
        Assert.Equal(("MM2.strips", HvChannelState.On, HvChannelState.Tripped), changes[^2]);
    }

    [Fact]
    public async Task Polls_of_a_fresh_system_write_nothing_to_any_channel()
    {
        var boards = new Boards();
        var hv = new HvSystem(SetupLoader.LoadDefault(), boards.Create, new FakeTimeProvider());

        for (int i = 0; i < 5; i++)
            await hv.PollOnceAsync();

        Assert.All(boards.Hw.Values, c => Assert.DoesNotContain(c.Invocations, i => i.Method.Name.EndsWith("Async", StringComparison.Ordinal)));
        Assert.All(boards.ByName.Values, b => b.Verify(x => x.ClearAlarmsAsync(It.IsAny<CancellationToken>()), Times.Never));
    }
}
