namespace NA64.SlowControl.Hv;

/// <summary>EPICS-style severities: Minor needs a look, Major needs an operator, Invalid means the value is not known.</summary>
public enum AlarmSeverity
{
    Minor,
    Major,
    Invalid,
}

public enum HvAlarmKind
{
    /// <summary>TRIP bit: IMON stayed at ISET longer than the board's TRIP time.</summary>
    Tripped,
    /// <summary>Tripped again with no automatic recovery left in the sliding hour: the channel stays off.</summary>
    RecoveryBudgetExhausted,
    /// <summary>An automatic recovery could not be carried out (command refused or not confirmed).</summary>
    RecoveryFailed,
    Interlocked,
    Killed,
    Disabled,
    /// <summary>Polls fail (timeout, port gone): readbacks are stale.</summary>
    Disconnected,
    /// <summary>A SET the device acknowledged is not visible in the readbacks within the confirm time.</summary>
    CommandNotConfirmed,
    /// <summary>The board refused the operator's settings (ISET, ramps, VSET) pushed back after a reconnect.</summary>
    SettingsRejected,
}

/// <summary>Something an operator must know about, with where it came from.</summary>
public sealed record Alarm(DateTimeOffset Time, string Channel, AlarmSeverity Severity, HvAlarmKind Kind, string Message);
