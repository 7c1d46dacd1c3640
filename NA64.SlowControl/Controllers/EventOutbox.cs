using Serilog;

namespace NA64.SlowControl.Controllers;

/// <summary>
/// The events of one controller (an HV channel, a magnet), queued while its gate is held and raised in order after
/// the gate is released, so that a handler may await a command on the same device without a deadlock.
/// </summary>
/// <param name="owner">The device's name, for the log line of a failing handler.</param>
internal sealed class EventOutbox(string owner, ILogger log)
{
    private readonly Queue<Action> _events = new();
    private bool _dispatching;

    /// <summary>Queues the raising of <paramref name="handlers"/> (every subscriber called, one that throws is logged).</summary>
    public void Post<T>(T? handlers, Action<T> call, string eventName) where T : Delegate
    {
        lock (_events)
            _events.Enqueue(() => InvokeEach(handlers, call, eventName));
    }

    /// <summary>
    /// Raises queued events in order, one dispatcher at a time: a caller that finds another dispatching (e.g. a
    /// handler's own command on this device) leaves its events to it, so the order holds and nothing waits.
    /// </summary>
    public void Dispatch()
    {
        lock (_events)
        {
            if (_dispatching)
                return;
            _dispatching = true;
        }

        while (true)
        {
            Action? next;
            lock (_events)
            {
                if (!_events.TryDequeue(out next))
                {
                    _dispatching = false;
                    return;
                }
            }

            next();
        }
    }

    private void InvokeEach<T>(T? handlers, Action<T> call, string eventName) where T : Delegate
    {
        if (handlers is null)
            return;
        foreach (var handler in handlers.GetInvocationList())
        {
            try
            {
                call((T)handler);
            }
            catch (Exception e)
            {
                // A subscriber's bug must not stop the poller, the other subscribers or the events after it.
                log.Error(e, "{Device}: a {Event} handler failed", owner, eventName);
            }
        }
    }
}
