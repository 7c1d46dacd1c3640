namespace NA64.Simulators.Physics;

/// <summary>
/// The SPS spill cycle (na64-setup.md §2): <see cref="BeamOn"/> of beam every <see cref="Period"/>, the
/// first spill starting <see cref="FirstSpillStart"/> after the board was created. Supercycles vary, so
/// all three are configuration.
/// </summary>
public sealed record SpillCycle(TimeSpan BeamOn, TimeSpan Period, TimeSpan FirstSpillStart)
{
    /// <summary>4.8 s of beam, then 20 s without.</summary>
    public static SpillCycle Sps { get; } = new(TimeSpan.FromSeconds(4.8), TimeSpan.FromSeconds(24.8), TimeSpan.Zero);

    public void Validate()
    {
        if (Period <= TimeSpan.Zero || BeamOn < TimeSpan.Zero || BeamOn > Period)
        {
            throw new ArgumentOutOfRangeException(nameof(BeamOn), BeamOn,
                $"Spill BeamOn is {BeamOn} and Period is {Period}; need Period > 0 and 0 <= BeamOn <= Period.");
        }
    }

    /// <summary>True when <paramref name="seconds"/> after the board's origin lies inside a spill.</summary>
    public bool InSpill(double seconds)
    {
        var phase = PhaseTicks(seconds);
        return phase >= 0 && phase < BeamOn.Ticks;
    }

    /// <summary>Seconds from <paramref name="seconds"/> to the next spill start or end (always &gt; 0).</summary>
    public double TimeToNextEdge(double seconds)
    {
        var now = ToTicks(seconds);
        if (now < FirstSpillStart.Ticks)
        {
            return (FirstSpillStart.Ticks - now) / (double)TimeSpan.TicksPerSecond;
        }

        var phase = PhaseTicks(seconds);
        var next = phase < BeamOn.Ticks ? BeamOn.Ticks - phase : Period.Ticks - phase;
        return (next > 0 ? next : Period.Ticks) / (double)TimeSpan.TicksPerSecond;
    }

    // Whole ticks, so that a spill edge lands exactly where the clock says and not 1e-15 s before it.
    private static long ToTicks(double seconds) => (long)Math.Round(seconds * TimeSpan.TicksPerSecond);

    private long PhaseTicks(double seconds)
    {
        var since = ToTicks(seconds) - FirstSpillStart.Ticks;
        return since < 0 ? -1 : since % Period.Ticks;
    }
}
