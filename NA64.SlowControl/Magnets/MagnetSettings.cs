using System.Globalization;

namespace NA64.SlowControl.Magnets;

/// <summary>What the controller does to a supply that reports a fault or an interlock while its output is on.</summary>
public enum MagnetSafeAction
{
    /// <summary>Output off at once (the supply's own dump/freewheel path takes the stored energy).</summary>
    SwitchOff,

    /// <summary>Current ramped to zero at the configured dI/dt, then the output off (for supplies still regulating).</summary>
    RampDown,
}

/// <summary>
/// How one magnet is controlled. Every default is an assumption (no NA64 figure was found: device-protocols.md §5.1,
/// na64-setup.md §10.2 say the ramp rates are unknown); an installation sets its own.
/// </summary>
/// <param name="PollPeriod">Time between reads; also the longest time one setpoint step covers (assumed 1 s).</param>
/// <param name="ToleranceAmps">|I - I_target| at or below this counts as at the target; also "at zero" for a polarity change (assumed 1 A, about 0.1 % of 800 A).</param>
/// <param name="StableTime">How long the current must stay within tolerance before AtSetpoint (assumed 5 s).</param>
/// <param name="RampAmpsPerSecond">dI/dt used when a command names none (assumed 5 A/s: 0 to 800 A in under 3 minutes).</param>
/// <param name="MaxRampAmpsPerSecond">Largest dI/dt an operator may ask for (assumed 10 A/s).</param>
/// <param name="ZeroCrossingWait">Time at zero current before the polarity is switched (assumed 10 s, for the field to decay in the iron).</param>
/// <param name="SafeAction">What a fault or interlock with the output still on leads to (assumed: switch off).</param>
/// <param name="FailuresBeforeDisconnected">Consecutive failed reads before the magnet is shown Disconnected (assumed 3).</param>
public sealed record MagnetSettings(
    TimeSpan PollPeriod,
    double ToleranceAmps,
    TimeSpan StableTime,
    double RampAmpsPerSecond,
    double MaxRampAmpsPerSecond,
    TimeSpan ZeroCrossingWait,
    MagnetSafeAction SafeAction,
    int FailuresBeforeDisconnected)
{
    public static MagnetSettings Default { get; } = new(
        TimeSpan.FromSeconds(1), 1.0, TimeSpan.FromSeconds(5), 5, 10, TimeSpan.FromSeconds(10), MagnetSafeAction.SwitchOff, 3);

    /// <summary>Throws one line naming the first field out of range, its value and the rule.</summary>
    public void Validate()
    {
        static string F(double v) => v.ToString(CultureInfo.InvariantCulture);
        if (PollPeriod <= TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(PollPeriod), PollPeriod, $"magnet pollPeriod = {F(PollPeriod.TotalSeconds)} s, must be > 0");
        if (!double.IsFinite(ToleranceAmps) || ToleranceAmps <= 0)
            throw new ArgumentOutOfRangeException(nameof(ToleranceAmps), ToleranceAmps, $"magnet toleranceAmps = {F(ToleranceAmps)}, must be > 0");
        if (StableTime < TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(StableTime), StableTime, $"magnet stableTime = {F(StableTime.TotalSeconds)} s, must be >= 0");
        if (!double.IsFinite(MaxRampAmpsPerSecond) || MaxRampAmpsPerSecond <= 0)
            throw new ArgumentOutOfRangeException(nameof(MaxRampAmpsPerSecond), MaxRampAmpsPerSecond, $"magnet maxRampAmpsPerSecond = {F(MaxRampAmpsPerSecond)}, must be > 0");
        if (!double.IsFinite(RampAmpsPerSecond) || RampAmpsPerSecond <= 0 || RampAmpsPerSecond > MaxRampAmpsPerSecond)
            throw new ArgumentOutOfRangeException(nameof(RampAmpsPerSecond), RampAmpsPerSecond,
                $"magnet rampAmpsPerSecond = {F(RampAmpsPerSecond)}, must be > 0 and <= maxRampAmpsPerSecond {F(MaxRampAmpsPerSecond)}");
        if (ZeroCrossingWait < TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(ZeroCrossingWait), ZeroCrossingWait, $"magnet zeroCrossingWait = {F(ZeroCrossingWait.TotalSeconds)} s, must be >= 0");
        if (FailuresBeforeDisconnected < 1)
            throw new ArgumentOutOfRangeException(nameof(FailuresBeforeDisconnected), FailuresBeforeDisconnected,
                $"magnet failuresBeforeDisconnected = {FailuresBeforeDisconnected}, must be >= 1");
    }
}
