using Microsoft.Extensions.Time.Testing;
using Moq;
using NA64.Hardware.Hv;
using NA64.SlowControl.Hv;
using NA64.SlowControl.Setup;

namespace NA64.SlowControl.Tests.Hv;

/// <summary>
/// One MM strip channel (index 1, nominal 565 V) on a Moq <see cref="IHvChannel"/>, in fake time, with its alarms and
/// state changes collected.
/// </summary>
internal sealed class HvTestKit
{
    public const int Ch = 1;
    public const double Nominal = 565;

    public HvTestKit(int maxRecoveriesPerHour = 3)
    {
        Hw.SetupGet(h => h.Name).Returns("MM1.strips");
        Hw.SetupGet(h => h.BoardName).Returns("HV-MM12");
        Hw.SetupGet(h => h.Index).Returns(Ch);
        Hw.SetupGet(h => h.VoltageResolution).Returns(0.1);
        Hw.SetupGet(h => h.Limits).Returns(new HvChannelLimits("MM1.strips", 600, 1.3, 10));
        Settings = new HvControllerSettings(TimeSpan.FromSeconds(1), 2.5, TimeSpan.FromSeconds(5),
            new TripRecoverySettings(20, TimeSpan.FromSeconds(30), maxRecoveriesPerHour));
        Channel = new ChannelSetup("MM1.strips", Ch, Nominal, 600, 1.3, 10, 1.2, 5, 10, 1);
        Controller = new HvChannelController(Hw.Object, Channel, Settings, Time);
        Controller.AlarmRaised += Alarms.Add;
        Controller.StateChanged += (from, to) => Changes.Add((from, to));
    }

    public Mock<IHvChannel> Hw { get; } = new(MockBehavior.Loose);
    public FakeTimeProvider Time { get; } = new(new DateTimeOffset(2018, 7, 1, 12, 0, 0, TimeSpan.Zero));
    public HvControllerSettings Settings { get; }
    public ChannelSetup Channel { get; }
    public HvChannelController Controller { get; }
    public List<Alarm> Alarms { get; } = [];
    public List<(HvChannelState From, HvChannelState To)> Changes { get; } = [];

    /// <summary>Every SET/ON/OFF sent to the channel (everything but property reads).</summary>
    public IReadOnlyList<string> Writes => Hw.Invocations
        .Where(i => i.Method.Name.EndsWith("Async", StringComparison.Ordinal)).Select(i => i.Method.Name).ToList();

    public static HvChannelReadback Rb(double vset, double vmon, HvChannelStatus status, double imon = 0.01, double iset = 1.2) =>
        new(Ch, vset, vmon, iset, imon, status);

    public static HvBoardReadback BoardOf(HvChannelReadback r, bool interlock = false, bool local = false) =>
        new(DateTimeOffset.UnixEpoch, [new HvChannelReadback(0, 0, 0, 1, 0, HvChannelStatus.None), r], interlock, local, 0);

    public Task Feed(double vset, double vmon, HvChannelStatus status, double imon = 0.01, bool interlock = false, bool local = false, double iset = 1.2) =>
        Controller.OnReadbackAsync(Rb(vset, vmon, status, imon, iset), BoardOf(Rb(vset, vmon, status, imon, iset), interlock, local));

    /// <summary>First contact with the channel off at nominal VSET; clears the recorded channel calls.</summary>
    public async Task StartOff()
    {
        await Feed(Nominal, 0, HvChannelStatus.None);
        Assert.Equal(HvChannelState.Off, Controller.State);
        Hw.Invocations.Clear();
    }

    /// <summary>First contact with the channel on at nominal.</summary>
    public async Task StartOn()
    {
        await Feed(Nominal, Nominal - 0.3, HvChannelStatus.On);
        Assert.Equal(HvChannelState.On, Controller.State);
        Hw.Invocations.Clear();
    }

    public void VerifyVoltage(double volts, Times times) =>
        Hw.Verify(h => h.SetVoltageAsync(volts, It.IsAny<CancellationToken>()), times);

    public void VerifyOn(Times times) => Hw.Verify(h => h.SwitchOnAsync(It.IsAny<CancellationToken>()), times);
}
