using Microsoft.Extensions.Time.Testing;
using Moq;
using NA64.Hardware.Errors;
using NA64.Hardware.Hv;
using NA64.SlowControl.Hv;
using NA64.SlowControl.Setup;

namespace NA64.SlowControl.Tests.Hv;

public class HvBoardPollerTests
{
    private static readonly HvControllerSettings Settings = HvControllerSettings.Default;

    private static ChannelSetup Channel(string name, int index, double nominal) =>
        new(name, index, nominal, nominal + 50, 1.3, 10, 1.2, 5, 10, 1);

    private static IHvChannel Hw(Mock<IHvBoard> board, int index) => HwMock(board, index).Object;

    private static Mock<IHvChannel> HwMock(Mock<IHvBoard> board, int index)
    {
        var channel = new Mock<IHvChannel>();
        channel.SetupGet(c => c.Index).Returns(index);
        channel.SetupGet(c => c.BoardName).Returns(() => board.Object.Name);
        channel.SetupGet(c => c.VoltageResolution).Returns(0.1);
        board.Setup(b => b.Channel(index)).Returns(channel.Object);
        return channel;
    }

    private static HvBoardReadback Readback(params (double VSet, double VMon, HvChannelStatus Status)[] channels) =>
        new(DateTimeOffset.UnixEpoch,
            channels.Select((c, i) => new HvChannelReadback(i, c.VSet, c.VMon, 1.2, 0.01, c.Status)).ToList(), false, false, 0);

    [Fact]
    public async Task One_poll_per_cycle_goes_to_every_channel_of_the_board()
    {
        var time = new FakeTimeProvider();
        var board = new Mock<IHvBoard>();
        board.SetupGet(b => b.Name).Returns("HV-MM12");
        board.Setup(b => b.PollAsync(It.IsAny<CancellationToken>())).ReturnsAsync(
            Readback((330, 0, HvChannelStatus.None), (565, 565, HvChannelStatus.On), (0, 0, HvChannelStatus.None), (0, 0, HvChannelStatus.None)));
        var drift = new HvChannelController(Hw(board, 0), Channel("MM1.drift", 0, 330), Settings, time);
        var strips = new HvChannelController(Hw(board, 1), Channel("MM1.strips", 1, 565), Settings, time);
        var poller = new HvBoardPoller(board.Object, [drift, strips], TimeSpan.FromSeconds(1), time);

        await poller.PollOnceAsync();

        board.Verify(b => b.InitializeAsync(It.IsAny<CancellationToken>()), Times.Once);
        board.Verify(b => b.PollAsync(It.IsAny<CancellationToken>()), Times.Once);
        Assert.Equal(HvChannelState.Off, drift.State);
        Assert.Equal(HvChannelState.On, strips.State);
    }

    [Fact]
    public async Task RunAsync_polls_once_per_period_of_the_time_provider()
    {
        var time = new FakeTimeProvider();
        var board = new Mock<IHvBoard>();
        board.SetupGet(b => b.Name).Returns("B");
        using var polls = new SemaphoreSlim(0);
        board.Setup(b => b.PollAsync(It.IsAny<CancellationToken>()))
            .ReturnsAsync(() => Readback((100, 0, HvChannelStatus.None)))
            .Callback(() => polls.Release());
        var controller = new HvChannelController(Hw(board, 0), Channel("X", 0, 100), Settings, time);
        var poller = new HvBoardPoller(board.Object, [controller], TimeSpan.FromSeconds(2), time);
        using var cts = new CancellationTokenSource();

        var run = poller.RunAsync(cts.Token);
        await NextPoll(polls);                       // first cycle at once
        time.Advance(TimeSpan.FromSeconds(1.9));
        Assert.False(polls.Wait(0));                 // not yet one period
        time.Advance(TimeSpan.FromSeconds(0.1));
        await NextPoll(polls);
        time.Advance(TimeSpan.FromSeconds(2));
        await NextPoll(polls);

        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run);
        Assert.Equal(3, poller.Cycles);
        Assert.Equal(HvChannelState.Off, controller.State);
    }

    [Fact]
    public async Task Failed_poll_disconnects_the_channels_and_the_board_is_initialised_again()
    {
        var time = new FakeTimeProvider();
        var board = new Mock<IHvBoard>();
        board.SetupGet(b => b.Name).Returns("B");
        board.SetupSequence(b => b.PollAsync(It.IsAny<CancellationToken>()))
            .ReturnsAsync(Readback((100, 100, HvChannelStatus.On)))
            .ThrowsAsync(new TransportDisconnectedException("sim"))
            .ReturnsAsync(Readback((100, 100, HvChannelStatus.On)));
        var hw = HwMock(board, 0);
        var controller = new HvChannelController(hw.Object, Channel("X", 0, 100), Settings, time);
        var poller = new HvBoardPoller(board.Object, [controller], TimeSpan.FromSeconds(1), time);

        await poller.PollOnceAsync();
        Assert.Equal(HvChannelState.On, controller.State);
        await poller.PollOnceAsync();
        Assert.Equal(HvChannelState.Disconnected, controller.State);
        Assert.Equal(1, poller.FailedCycles);
        Assert.IsType<TransportDisconnectedException>(poller.LastError);
        board.Invocations.Clear();

        await poller.PollOnceAsync();

        Assert.Equal(HvChannelState.On, controller.State);
        board.Verify(b => b.InitializeAsync(It.IsAny<CancellationToken>()), Times.Once);
        // Nothing was set by an operator: the reconnect is read-only, like the first contact.
        Assert.DoesNotContain(hw.Invocations, i => i.Method.Name.EndsWith("Async", StringComparison.Ordinal));
        board.Verify(b => b.ClearAlarmsAsync(It.IsAny<CancellationToken>()), Times.Never);
    }

    [Fact]
    public async Task A_garbled_reply_loses_the_cycle_but_not_the_link()
    {
        var board = new Mock<IHvBoard>();
        board.SetupGet(b => b.Name).Returns("B");
        board.SetupSequence(b => b.PollAsync(It.IsAny<CancellationToken>()))
            .ReturnsAsync(Readback((100, 100, HvChannelStatus.On)))
            .ThrowsAsync(new DeviceReplyException("bad STAT", "$BD:00,CMD:MON,CH:4,PAR:STAT", "#BD:00,CMD:OK,VAL:0x1"));
        var controller = new HvChannelController(Hw(board, 0), Channel("X", 0, 100), Settings, new FakeTimeProvider());
        var poller = new HvBoardPoller(board.Object, [controller], TimeSpan.FromSeconds(1));

        await poller.PollOnceAsync();
        await poller.PollOnceAsync();

        Assert.Equal(HvChannelState.On, controller.State);
        Assert.Equal((2, 1), (poller.Cycles, poller.FailedCycles));
        Assert.IsType<DeviceReplyException>(poller.LastError);
    }

    [Fact]
    public async Task A_readback_missing_a_channel_disconnects_only_that_channel()
    {
        var board = new Mock<IHvBoard>();
        board.SetupGet(b => b.Name).Returns("B");
        board.Setup(b => b.PollAsync(It.IsAny<CancellationToken>())).ReturnsAsync(Readback((100, 0, HvChannelStatus.None)));
        var present = new HvChannelController(Hw(board, 0), Channel("X", 0, 100), Settings);
        var missing = new HvChannelController(Hw(board, 3), Channel("Y", 3, 100), Settings);
        var poller = new HvBoardPoller(board.Object, [present, missing], TimeSpan.FromSeconds(1));

        await poller.PollOnceAsync();

        Assert.Equal(HvChannelState.Off, present.State);
        Assert.Equal(HvChannelState.Disconnected, missing.State);
        Assert.Contains("no channel 3", poller.LastError!.Message, StringComparison.Ordinal);
    }

    /// <summary>
    /// The poll loop runs on real tasks and only its clock is fake, so the test waits for its continuation;
    /// the bound only turns a hang into a failure, it is not a timing assertion.
    /// </summary>
    private static async Task NextPoll(SemaphoreSlim polls) =>
        Assert.True(await polls.WaitAsync(TimeSpan.FromSeconds(30)), "poll did not happen");
}
