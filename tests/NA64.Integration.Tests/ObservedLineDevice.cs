using NA64.Simulators.Serving;

namespace NA64.Integration.Tests;

/// <summary>
/// Wraps the simulated device served on the line and tells a test when a request has been handled by it. This is
/// the deterministic point at which the request is known to be on the wire, so fake time can be advanced then
/// (e.g. past the reply timeout of a request whose reply is dropped).
/// </summary>
internal sealed class ObservedLineDevice(ILineDevice inner) : ILineDevice
{
    private readonly Lock _gate = new();
    private readonly List<(Func<string, bool> Match, TaskCompletionSource<string> Seen)> _waiters = [];
    private readonly List<string> _requests = [];

    public string RequestTerminator => inner.RequestTerminator;

    public string ReplyTerminator => inner.ReplyTerminator;

    /// <summary>Every request handled so far, in order.</summary>
    public IReadOnlyList<string> Requests
    {
        get
        {
            lock (_gate)
            {
                return [.. _requests];
            }
        }
    }

    public string? Respond(string request)
    {
        var reply = inner.Respond(request);
        List<TaskCompletionSource<string>> done = [];
        lock (_gate)
        {
            _requests.Add(request);
            for (var i = _waiters.Count - 1; i >= 0; i--)
            {
                if (_waiters[i].Match(request))
                {
                    done.Add(_waiters[i].Seen);
                    _waiters.RemoveAt(i);
                }
            }
        }

        foreach (var seen in done)
        {
            seen.TrySetResult(request);
        }

        return reply;
    }

    /// <summary>Completes when the next request matching <paramref name="match"/> has been handled (arm before sending it).</summary>
    public Task<string> NextRequest(Func<string, bool> match)
    {
        var seen = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_gate)
        {
            _waiters.Add((match, seen));
        }

        return seen.Task;
    }
}
