namespace NA64.Hardware.Transport;

/// <summary>
/// An async mutual-exclusion gate that admits waiters strictly in arrival order (SemaphoreSlim makes no such
/// promise), so the CLI, controllers and sequences sharing one port are served fairly.
/// </summary>
internal sealed class FifoGate
{
    private readonly Lock _lock = new();
    private readonly LinkedList<TaskCompletionSource> _waiters = new();
    private bool _held;

    /// <summary>Waits for the gate; dispose the result to pass the gate to the next waiter.</summary>
    public async ValueTask<Releaser> EnterAsync(CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        TaskCompletionSource waiter;
        LinkedListNode<TaskCompletionSource> node;
        lock (_lock)
        {
            if (!_held)
            {
                _held = true;
                return new Releaser(this);
            }

            waiter = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            node = _waiters.AddLast(waiter);
        }

        // A waiter cancelled while queued leaves the queue; one already admitted keeps the gate (and releases it).
        await using (cancellationToken.Register(() =>
        {
            lock (_lock)
            {
                if (node.List is not null)
                {
                    _waiters.Remove(node);
                    waiter.TrySetCanceled(cancellationToken);
                }
            }
        }).ConfigureAwait(false))
        {
            await waiter.Task.ConfigureAwait(false);
        }

        return new Releaser(this);
    }

    /// <summary>Number of callers queued behind the current holder.</summary>
    public int QueueLength
    {
        get
        {
            lock (_lock)
            {
                return _waiters.Count;
            }
        }
    }

    private void Release()
    {
        lock (_lock)
        {
            while (_waiters.First is { } first)
            {
                _waiters.RemoveFirst();
                if (first.Value.TrySetResult())
                {
                    return;
                }
            }

            _held = false;
        }
    }

    internal readonly struct Releaser(FifoGate gate) : IDisposable
    {
        public void Dispose() => gate.Release();
    }
}
