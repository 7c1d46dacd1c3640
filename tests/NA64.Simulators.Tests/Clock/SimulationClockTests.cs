using Microsoft.Extensions.Time.Testing;
using NA64.Simulators.Clock;

namespace NA64.Simulators.Tests.Clock;

public class SimulationClockTests
{
    [Fact]
    public void UtcNowAndTimestampRunSpeedFactorTimesFaster()
    {
        var start = new DateTimeOffset(2026, 9, 1, 8, 0, 0, TimeSpan.Zero);
        var fake = new FakeTimeProvider(start);
        var clock = new SimulationClock(fake, 20);
        var t0 = clock.GetTimestamp();

        fake.Advance(TimeSpan.FromSeconds(1.5));

        Assert.Equal(start + TimeSpan.FromSeconds(30), clock.GetUtcNow());
        Assert.Equal(TimeSpan.FromSeconds(30), clock.GetElapsedTime(t0));
    }

    [Fact]
    public void StartTimeCanBeChosen()
    {
        var fake = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var start = new DateTimeOffset(2018, 7, 1, 12, 0, 0, TimeSpan.Zero);
        var clock = new SimulationClock(fake, 2, start);

        fake.Advance(TimeSpan.FromSeconds(10));

        Assert.Equal(start + TimeSpan.FromSeconds(20), clock.GetUtcNow());
    }

    [Fact]
    public void TimerDueInSimulatedTimeFiresAfterBaseTimeDividedBySpeed()
    {
        var fake = new FakeTimeProvider();
        var clock = new SimulationClock(fake, 20);
        var fired = 0;
        using var timer = clock.CreateTimer(_ => fired++, null, TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(20));

        fake.Advance(TimeSpan.FromMilliseconds(499));
        Assert.Equal(0, fired);
        fake.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal(1, fired);
        fake.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(2, fired);

        timer.Change(TimeSpan.FromSeconds(40), Timeout.InfiniteTimeSpan);
        fake.Advance(TimeSpan.FromSeconds(1.9));
        Assert.Equal(2, fired);
        fake.Advance(TimeSpan.FromSeconds(0.1));
        Assert.Equal(3, fired);
        fake.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal(3, fired);
    }

    [Fact]
    public async Task TaskDelayOnTheClockIsScaled()
    {
        var fake = new FakeTimeProvider();
        var clock = new SimulationClock(fake, 10);
        var delay = Task.Delay(TimeSpan.FromSeconds(5), clock);

        fake.Advance(TimeSpan.FromMilliseconds(499));
        Assert.False(delay.IsCompleted);
        fake.Advance(TimeSpan.FromMilliseconds(1));
        await delay.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(-1.0)]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    public void RejectsSpeedFactorThatIsNotPositiveAndFinite(double speed)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new SimulationClock(new FakeTimeProvider(), speed));
        Assert.Equal("speedFactor", e.ParamName);
    }
}
