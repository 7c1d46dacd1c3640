using System.Threading.Channels;

namespace NA64.SlowControl.Service;

/// <summary>One item of the live stream: <see cref="Kind"/> is the SSE event name, <see cref="Data"/> its JSON payload.</summary>
public sealed record LiveEvent(string Kind, object Data);

/// <summary>
/// The service's live stream (readbacks at poll rate, state changes, alarms, run counters) fanned out to every
/// subscriber. Publishing never waits for a client: each subscriber has a bounded queue, and a client too slow to keep
/// it drained loses its oldest items, counted in <see cref="Dropped"/> (and told to the client with a <c>lost</c>
/// event), so a stuck browser tab can never slow the poll loops down.
/// </summary>
public sealed class LiveFeed
{
    /// <summary>Items a subscriber may be behind before its oldest are dropped (a few poll cycles of every board).</summary>
    public const int SubscriberQueue = 256;

    private readonly Lock _gate = new();
    private Subscriber[] _subscribers = [];
    private long _published;
    private long _dropped;

    public long Published => Interlocked.Read(ref _published);

    /// <summary>Items dropped for subscribers that fell behind, over all subscribers.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    public int Subscribers => Volatile.Read(ref _subscribers).Length;

    public void Publish(string kind, object data)
    {
        var item = new LiveEvent(kind, data);
        Interlocked.Increment(ref _published);
        foreach (var s in Volatile.Read(ref _subscribers))
            s.Offer(item);
    }

    /// <summary>Follows the stream until <paramref name="ct"/> is cancelled (the client went away).</summary>
    public async IAsyncEnumerable<LiveEvent> SubscribeAsync([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
    {
        var subscriber = new Subscriber(this);
        lock (_gate)
            _subscribers = [.. _subscribers, subscriber];
        try
        {
            while (true)
            {
                LiveEvent item;
                try
                {
                    if (!await subscriber.Queue.Reader.WaitToReadAsync(ct).ConfigureAwait(false))
                        yield break;
                    if (!subscriber.Queue.Reader.TryRead(out var next))
                        continue;
                    item = next;
                }
                catch (OperationCanceledException)
                {
                    // The client closed the stream: the normal end of a subscription.
                    yield break;
                }

                long lost = Interlocked.Exchange(ref subscriber.Lost, 0);
                if (lost > 0)
                    yield return new LiveEvent("lost", new { items = lost, reason = "client too slow; oldest items dropped" });
                yield return item;
            }
        }
        finally
        {
            lock (_gate)
                _subscribers = _subscribers.Where(s => s != subscriber).ToArray();
        }
    }

    private sealed class Subscriber
    {
        public long Lost;

        public Subscriber(LiveFeed feed) =>
            Queue = Channel.CreateBounded<LiveEvent>(new BoundedChannelOptions(SubscriberQueue)
            {
                FullMode = BoundedChannelFullMode.DropOldest,
                SingleReader = true,
            }, _ =>
            {
                Interlocked.Increment(ref Lost);
                Interlocked.Increment(ref feed._dropped);
            });

        public Channel<LiveEvent> Queue { get; }

        /// <summary>DropOldest never refuses an item; the callback counts what it pushed out.</summary>
        public void Offer(LiveEvent item) => Queue.Writer.TryWrite(item);
    }
}
