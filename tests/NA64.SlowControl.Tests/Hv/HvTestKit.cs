using Microsoft.Extensions.Time.Testing;
using Moq;
using NA64.Hardware.Hv;
using NA64.SlowControl.Hv;
using NA64.SlowControl.Setup;

namespace NA64.SlowControl.Tests.Hv;

/// <summary>One MM strip channel (index 1, nominal 565 V) on a Moq board, in fake time, with its alarms collected.</summary>
internal sealed class HvTestKit
{
    public const int Ch = 1;
    public const double Nominal = 565;

    public HvTestKit(int maxRecoveriesPerHour = 3)
    {
        Board.SetupGet(b => b.Name).Returns("HV-MM12");
        Board.SetupGet(b => b.ChannelCount).Returns(4);
        Settings = new HvControllerSettings(TimeSpan.FromSeconds(1), 2.5, TimeSpan.FromSeconds(5),
            new TripRecoverySettings(20, TimeSpan.FromSeconds(30), maxRecoveriesPerHour));
        Channel = new ChannelSetup("MM1.strips", Ch, Nominal, 600, 1.3, 10, 1.2, 5, 10, 1);
        Controller = new HvChannelController(Board.Object, Channel, Settings, Time);
        Controller.AlarmRaised += Alarms.Add;
    }

    public Mock<IHvBoard> Board { get; } = new(MockBehavior.Loose);
    public FakeTimeProvider Time { get; } = new(new DateTimeOffset(2018, 7, 1, 12, 0, 0, TimeSpan.Zero));
    public HvControllerSettings Settings { get; }
    public ChannelSetup Channel { get; }
    public HvChannelController Controller { get; }
    public List<Alarm> Alarms { get; } = [];

    public static HvChannelReadback Rb(double vset, double vmon, HvChannelStatus status, double imon = 0.01, double iset = 1.2) =>
        new(Ch, vset, vmon, iset, imon, status);

    public static HvBoardReadback BoardOf(HvChannelReadback r, bool interlock = false, bool local = false) =>
        new(DateTimeOffset.UnixEpoch, [new HvChannelReadback(0, 0, 0, 1, 0, HvChannelStatus.None), r], interlock, local, 0);

    public Task Feed(double vset, double vmon, HvChannelStatus status, double imon = 0.01, bool interlock = false, bool local = false) =>
        Controller.OnReadbackAsync(Rb(vset, vmon, status, imon), BoardOf(Rb(vset, vmon, status, imon), interlock, local));

    /// <summary>First contact with the channel off at nominal VSET; clears the recorded board calls.</summary>
    public async Task StartOff()
    {
        await Feed(Nominal, 0, HvChannelStatus.None);
        Assert.Equal(HvChannelState.Off, Controller.State);
        Board.Invocations.Clear();
    }

    /// <summary>First contact with the channel on at nominal.</summary>
    public async Task StartOn()
    {
        await Feed(Nominal, Nominal - 0.3, HvChannelStatus.On);
        Assert.Equal(HvChannelState.On, Controller.State);
        Board.Invocations.Clear();
    }

    public void VerifyVoltage(double volts, Times times) =>
        Board.Verify(b => b.SetVoltageAsync(Ch, volts, It.IsAny<CancellationToken>()), times);

    public void VerifyOn(Times times) => Board.Verify(b => b.SwitchOnAsync(Ch, It.IsAny<CancellationToken>()), times);
}
