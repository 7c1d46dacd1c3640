namespace NA64.Simulators.Clock;

/// <summary>
/// A clock that runs <see cref="SpeedFactor"/> times faster (or slower) than a base clock, so that a demo can
/// show a 500 V ramp or a 24.8 s spill cycle in a fraction of the real time. Simulated devices, drivers and
/// controllers all take this as their <see cref="TimeProvider"/> and so agree on one time line.
/// Time is measured from the moment of construction: simulated elapsed = base elapsed × speed factor.
/// </summary>
public sealed class SimulationClock : TimeProvider
{
    private readonly TimeProvider _base;
    private readonly long _baseOriginTimestamp;
    private readonly DateTimeOffset _origin;

    /// <param name="baseProvider">the clock being sped up, usually <see cref="TimeProvider.System"/>.</param>
    /// <param name="speedFactor">simulated seconds per base second, finite and &gt; 0 (20 = twenty times real time).</param>
    /// <param name="start">simulated wall-clock time at construction; the base clock's time when null.</param>
    public SimulationClock(TimeProvider baseProvider, double speedFactor, DateTimeOffset? start = null)
    {
        ArgumentNullException.ThrowIfNull(baseProvider);
        if (!(speedFactor > 0) || double.IsInfinity(speedFactor))
        {
            throw new ArgumentOutOfRangeException(nameof(speedFactor), speedFactor,
                $"speedFactor is {speedFactor}; it must be finite and greater than 0.");
        }

        _base = baseProvider;
        SpeedFactor = speedFactor;
        _baseOriginTimestamp = baseProvider.GetTimestamp();
        _origin = start ?? baseProvider.GetUtcNow();
    }

    /// <summary>Simulated seconds per base second.</summary>
    public double SpeedFactor { get; }

    public override TimeZoneInfo LocalTimeZone => _base.LocalTimeZone;

    public override long TimestampFrequency => _base.TimestampFrequency;

    public override long GetTimestamp() =>
        _baseOriginTimestamp + (long)Math.Round((_base.GetTimestamp() - _baseOriginTimestamp) * SpeedFactor);

    public override DateTimeOffset GetUtcNow() =>
        _origin + TimeSpan.FromTicks((long)Math.Round(_base.GetElapsedTime(_baseOriginTimestamp).Ticks * SpeedFactor));

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period) =>
        new ScaledTimer(_base.CreateTimer(callback, state, ToBase(dueTime), ToBase(period)), this);

    /// <summary>Converts a simulated duration into the base clock's duration (infinite stays infinite).</summary>
    internal TimeSpan ToBase(TimeSpan simulated) =>
        simulated == Timeout.InfiniteTimeSpan ? simulated : TimeSpan.FromTicks((long)Math.Round(simulated.Ticks / SpeedFactor));

    /// <summary>A base-clock timer whose due time and period are given in simulated time.</summary>
    private sealed class ScaledTimer(ITimer inner, SimulationClock clock) : ITimer
    {
        public bool Change(TimeSpan dueTime, TimeSpan period) => inner.Change(clock.ToBase(dueTime), clock.ToBase(period));

        public void Dispose() => inner.Dispose();

        public ValueTask DisposeAsync() => inner.DisposeAsync();
    }
}
