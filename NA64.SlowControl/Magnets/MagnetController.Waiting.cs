namespace NA64.SlowControl.Magnets;

public sealed partial class MagnetController
{
    private int _waiting;

    /// <summary>Callers in <see cref="WaitForAsync"/> now (a command's own requests are all sent by then).</summary>
    public int Waiting => Volatile.Read(ref _waiting);

    /// <summary>
    /// Completes when the readbacks put the magnet in <paramref name="goal"/>; throws <see cref="MagnetWaitFailedException"/>
    /// when it goes Fault, Interlocked or Disconnected first. Other states on the way (Off before a slow gateway shows
    /// the output on, Ramping) are passed through: only the readbacks decide. AtSetpoint counts only at the present
    /// target: a magnet AtSetpoint at its old current when a new ramp was just asked for has not arrived.
    /// </summary>
    public async Task WaitForAsync(MagnetState goal, CancellationToken ct = default)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        void OnState(MagnetState from, MagnetState to)
        {
            if (to == goal && Reached(goal))
                done.TrySetResult();
            else if (to is MagnetState.Fault or MagnetState.Interlocked or MagnetState.Disconnected)
                done.TrySetException(new MagnetWaitFailedException(Name, to, goal.ToString()));
        }

        StateChanged += OnState;
        Interlocked.Increment(ref _waiting);
        try
        {
            if (State == goal && Reached(goal))
                return;
            await done.Task.WaitAsync(ct).ConfigureAwait(false);
        }
        finally
        {
            Interlocked.Decrement(ref _waiting);
            StateChanged -= OnState;
        }
    }

    private bool Reached(MagnetState goal)
    {
        var s = Snapshot();
        return goal != MagnetState.AtSetpoint
            || (s.RampPhase == MagnetRampPhase.None && s.Amps is { } amps && Math.Abs(amps - s.TargetAmps) <= _settings.ToleranceAmps);
    }
}
