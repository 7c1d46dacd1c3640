using Microsoft.Extensions.Time.Testing;
using Moq;
using NA64.Hardware.Errors;
using NA64.Hardware.Magnets;
using NA64.SlowControl.Magnets;

namespace NA64.SlowControl.Tests.Magnets;

public class MagnetPollerTests
{
    private static Mock<IMagnetSupply> Supply()
    {
        var supply = new Mock<IMagnetSupply>(MockBehavior.Strict);
        supply.SetupGet(s => s.Name).Returns("MBPL");
        supply.SetupGet(s => s.Limits).Returns(new MagnetLimits("MBPL", 900));
        supply.SetupGet(s => s.Capabilities).Returns(MagnetTestKit.Stepped);
        supply.Setup(s => s.InitializeAsync(It.IsAny<CancellationToken>())).Returns(Task.CompletedTask);
        return supply;
    }

    private static MagnetReadback Off() =>
        new(DateTimeOffset.UnixEpoch, MagnetOutput.Off, 0, 0, 0, MagnetPolarity.Normal, MagnetConditions.None);

    [Fact]
    public async Task RunAsync_reads_once_per_poll_period_of_the_time_provider()
    {
        var time = new FakeTimeProvider();
        var supply = Supply();
        using var reads = new SemaphoreSlim(0);
        supply.Setup(s => s.ReadAsync(It.IsAny<CancellationToken>())).ReturnsAsync(Off).Callback(() => reads.Release());
        var controller = new MagnetController(supply.Object, MagnetTestKit.TestSettings with { PollPeriod = TimeSpan.FromSeconds(2) }, time: time);
        var poller = new MagnetPoller(controller, time);
        using var cts = new CancellationTokenSource();

        var run = poller.RunAsync(cts.Token);
        await NextRead(reads);                      // first read at once
        time.Advance(TimeSpan.FromSeconds(1.9));
        Assert.False(reads.Wait(0));                // not yet one period
        time.Advance(TimeSpan.FromSeconds(0.1));
        await NextRead(reads);

        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run);
        Assert.Equal(2, poller.Cycles);
        Assert.Equal(MagnetState.Off, controller.State);
    }

    [Fact]
    public async Task A_failed_read_is_counted_told_to_the_controller_and_the_supply_is_initialised_again_read_only()
    {
        var time = new FakeTimeProvider();
        var supply = Supply();
        supply.SetupSequence(s => s.ReadAsync(It.IsAny<CancellationToken>()))
            .ReturnsAsync(Off())
            .ThrowsAsync(new TransportDisconnectedException("sim"))
            .ThrowsAsync(new DeviceReplyException("MBPL: garbled status", "READ", "#?"))
            .ReturnsAsync(Off());
        var controller = new MagnetController(supply.Object, MagnetTestKit.TestSettings, time: time);
        var poller = new MagnetPoller(controller, time);

        for (int i = 0; i < 4; i++) await poller.PollOnceAsync();

        Assert.Equal(2, poller.FailedCycles);
        Assert.IsType<DeviceReplyException>(poller.LastError);
        Assert.Equal(MagnetState.Off, controller.State); // two failures are fewer than three
        supply.Verify(s => s.InitializeAsync(It.IsAny<CancellationToken>()), Times.Exactly(3));
        // Strict mock: any request (set, switch, reset) would have thrown.
    }

    private static async Task NextRead(SemaphoreSlim reads) =>
        Assert.True(await reads.WaitAsync(TimeSpan.FromSeconds(30)), "read did not happen");
}
