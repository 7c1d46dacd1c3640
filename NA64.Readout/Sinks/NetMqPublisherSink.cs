using System.Runtime.InteropServices;
using NA64.Readout.Pipeline;
using NetMQ;
using NetMQ.Sockets;
using Serilog;

namespace NA64.Readout.Sinks;

/// <summary>How many events go into one NetMQ message.</summary>
public enum PublishGranularity
{
    /// <summary>One message per pipeline batch (fewer, larger messages: ~1 GB/s at 64 KiB over TCP, na64-setup.md 11).</summary>
    PerBatch,

    /// <summary>One message per event (simple consumers; small frames cost about half the throughput).</summary>
    PerEvent,
}

/// <summary>The ZeroMQ pattern a <see cref="NetMqPublisherSink"/> sends with.</summary>
public enum NetMqPattern
{
    /// <summary>XPUB: any number of monitors subscribe; never blocks the run, a subscriber too slow loses messages on its side.</summary>
    Publish,

    /// <summary>PUSH: event builders on other machines pull; messages go round-robin to connected pullers and the run
    /// waits (back-pressure) while their queues are full, up to <see cref="NetMqPublisherOptions.SendTimeout"/>.</summary>
    Push,
}

/// <summary>Settings of a <see cref="NetMqPublisherSink"/>.</summary>
public sealed record NetMqPublisherOptions
{
    public NetMqPattern Pattern { get; init; } = NetMqPattern.Publish;

    /// <summary>Address to bind, e.g. <c>tcp://127.0.0.1:5556</c>, <c>tcp://127.0.0.1:*</c> (any free port) or <c>inproc://na64-events</c>.</summary>
    public required string Address { get; init; }

    public PublishGranularity Granularity { get; init; } = PublishGranularity.PerBatch;

    /// <summary>Messages queued per subscriber (publish: then NetMQ discards for that subscriber) or per puller
    /// (push: then the sink waits).</summary>
    public int SendHighWatermark { get; init; } = 1000;

    /// <summary>Push only: how long a message may wait for room (no puller connected, or every puller's queue full)
    /// before it is counted as <see cref="DropReason.PublisherQueueFull"/>. Publish never waits.</summary>
    public TimeSpan SendTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>How long queued messages may still go out when the sink is disposed.</summary>
    public TimeSpan Linger { get; init; } = TimeSpan.FromSeconds(1);
}

/// <summary>
/// Sends built events as two-frame messages: a <see cref="NetMqEventHeader"/> frame and the DATE event bytes,
/// on an XPUB socket (monitoring) or a PUSH socket (event builders, <see cref="NetMqPattern"/>).
/// Drop accounting, publish: PUB never blocks, it discards. What the publisher can see, it counts: events sent while
/// no subscriber is subscribed are <see cref="DropReason.NoSubscriber"/> (the XPUB socket reports subscriptions), a
/// refused send is <see cref="DropReason.PublisherQueueFull"/>. What it cannot see (NetMQ has no XPUB_NODROP): a slow
/// subscriber whose queue passed the high-water mark loses messages on its side; the header's sequence number lets
/// that subscriber count the gap. Push: nothing is lost while a puller keeps up; the sink waits for room (the
/// pipeline's back-pressure) and only a message that found none within <see cref="NetMqPublisherOptions.SendTimeout"/>
/// is counted as <see cref="DropReason.PublisherQueueFull"/>.
/// </summary>
public sealed class NetMqPublisherSink : IEventSink, IDisposable
{
    private readonly NetMQSocket _socket;
    private readonly NetMqPublisherOptions _options;
    private readonly ILogger _log;
    private readonly TimeProvider _time;
    private readonly Dictionary<string, int> _topics = new(StringComparer.Ordinal);
    private byte[] _header = new byte[NetMqEventHeader.SizeFor(1)];
    private byte[] _single = new byte[4096];
    private ulong _sequence;
    private int _matchingTopics;
    private bool _disposed;

    /// <param name="time">Clock for <see cref="WaitForSubscriber"/>'s remaining time (the socket's own wait is real time).</param>
    public NetMqPublisherSink(NetMqPublisherOptions options, string name = "netmq", ILogger? log = null, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrWhiteSpace(options.Address);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        if (options.SendHighWatermark < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.SendHighWatermark,
                "NetMqPublisherOptions.SendHighWatermark must be at least 1 (0 would mean unbounded memory).");
        }

        _options = options;
        _log = log ?? Serilog.Core.Logger.None;
        _time = time ?? TimeProvider.System;
        if (options.Pattern == NetMqPattern.Push && options.SendTimeout < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.SendTimeout,
                "NetMqPublisherOptions.SendTimeout must not be negative.");
        }

        Name = name;
        _socket = options.Pattern == NetMqPattern.Push ? new PushSocket() : new XPublisherSocket();
        try
        {
            _socket.Options.SendHighWatermark = options.SendHighWatermark;
            _socket.Options.Linger = options.Linger;
            _socket.Bind(options.Address);
            Endpoint = _socket.Options.LastEndpoint ?? options.Address;
        }
        catch
        {
            _socket.Dispose();
            throw;
        }

        _log.Information("{Sink}: {Pattern} events on {Endpoint}", Name, options.Pattern, Endpoint);
    }

    public string Name { get; }

    /// <summary>The bound endpoint (with the real port when the address asked for <c>*</c>).</summary>
    public string Endpoint { get; }

    /// <summary>Messages sent so far (the next message's sequence number).</summary>
    public ulong MessagesSent => Interlocked.Read(ref _sequence);

    /// <summary>True when some subscriber receives our topic (as far as the subscriptions seen so far tell).</summary>
    public bool HasSubscriber => _matchingTopics > 0;

    public NetMqPattern Pattern => _options.Pattern;

    /// <summary>
    /// Publish only: waits until a subscriber has subscribed or <paramref name="timeout"/> passed; true if one has.
    /// Call it before the run starts (it uses the socket, which the pipeline later uses from its sink task).
    /// </summary>
    public bool WaitForSubscriber(TimeSpan timeout)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_options.Pattern != NetMqPattern.Publish)
        {
            throw new InvalidOperationException($"{Name}: a {_options.Pattern} socket has no subscribers to wait for");
        }

        if (HasSubscriber)
        {
            return true;
        }

        // Bounded by the one timeout: each received subscription message shortens what is left.
        var start = _time.GetTimestamp();
        var left = timeout;
        while (left > TimeSpan.Zero && _socket.TryReceiveFrameBytes(left, out var frame))
        {
            NoteSubscription(frame);
            if (HasSubscriber)
            {
                return true;
            }

            left = timeout - _time.GetElapsedTime(start);
        }

        return HasSubscriber;
    }

    public ValueTask<SinkWriteResult> WriteAsync(EventBatch events, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(events);
        ObjectDisposedException.ThrowIf(_disposed, this);
        cancellationToken.ThrowIfCancellationRequested();
        if (events.Count == 0)
        {
            return ValueTask.FromResult(SinkWriteResult.All(events));
        }

        if (_options.Pattern == NetMqPattern.Publish)
        {
            DrainSubscriptions();
            if (!HasSubscriber)
            {
                return ValueTask.FromResult(SinkWriteResult.None(events, DropReason.NoSubscriber));
            }
        }

        var result = _options.Granularity == PublishGranularity.PerBatch ? PublishBatch(events) : PublishEach(events);
        return ValueTask.FromResult(result);
    }

    /// <summary>NetMQ sends from its own I/O thread; nothing is buffered in the sink itself.</summary>
    public ValueTask FlushAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _socket.Dispose();
    }

    private SinkWriteResult PublishBatch(EventBatch events)
    {
        var headerLength = WriteHeader(events, 0, events.Count);
        if (!MemoryMarshal.TryGetArray(events.AllMemory, out ArraySegment<byte> body) || body.Offset != 0)
        {
            throw new InvalidOperationException("Batch bytes are not a pooled array from offset 0.");
        }

        if (!Send(headerLength, body.Array!, body.Count))
        {
            return SinkWriteResult.None(events, DropReason.PublisherQueueFull);
        }

        return SinkWriteResult.All(events);
    }

    private SinkWriteResult PublishEach(EventBatch events)
    {
        var written = 0;
        var bytes = 0L;
        for (var i = 0; i < events.Count; i++)
        {
            var headerLength = WriteHeader(events, i, 1);
            var eventBytes = events.GetBytes(i);
            if (_single.Length < eventBytes.Length)
            {
                _single = new byte[Math.Max(eventBytes.Length, _single.Length * 2)];
            }

            eventBytes.CopyTo(_single);
            if (Send(headerLength, _single, eventBytes.Length))
            {
                written++;
                bytes += eventBytes.Length;
            }
        }

        var dropped = events.Count - written;
        return new SinkWriteResult(written, bytes, dropped, dropped == 0 ? DropReason.None : DropReason.PublisherQueueFull);
    }

    private int WriteHeader(EventBatch events, int first, int count)
    {
        var size = NetMqEventHeader.SizeFor(count);
        if (_header.Length < size)
        {
            _header = new byte[size];
        }

        return NetMqEventHeader.Write(_header, Interlocked.Read(ref _sequence), events, first, count);
    }

    private bool Send(int headerLength, byte[] body, int bodyLength)
    {
        // The header frame is copied by NetMQ, so _header can be reused at once. Push waits for room (back-pressure).
        var wait = _options.Pattern == NetMqPattern.Push ? _options.SendTimeout : TimeSpan.Zero;
        if (!_socket.TrySendFrame(wait, _header, headerLength, more: true))
        {
            return false;
        }

        if (!_socket.TrySendFrame(wait, body, bodyLength, more: false))
        {
            // A multipart message is atomic in ZeroMQ: the first frame alone is never delivered.
            return false;
        }

        Interlocked.Increment(ref _sequence);
        return true;
    }

    private void DrainSubscriptions()
    {
        while (_socket.TryReceiveFrameBytes(TimeSpan.Zero, out var frame))
        {
            NoteSubscription(frame);
        }
    }

    internal void NoteSubscription(byte[] frame)
    {
        // XPUB hands up subscription messages: byte 0 = 1 subscribe / 0 unsubscribe, then the topic.
        if (frame.Length == 0 || frame[0] > 1)
        {
            return;
        }

        var key = Convert.ToHexString(frame.AsSpan(1));
        _topics.TryGetValue(key, out var n);
        n += frame[0] == 1 ? 1 : -1;
        if (n <= 0)
        {
            _topics.Remove(key);
        }
        else
        {
            _topics[key] = n;
        }

        _matchingTopics = CountMatchingTopics();
        _log.Debug("{Sink}: subscription {Action} topic {Topic}", Name, frame[0] == 1 ? "added" : "removed", key);
    }

    private int CountMatchingTopics()
    {
        var count = 0;
        foreach (var key in _topics.Keys)
        {
            var topic = Convert.FromHexString(key);
            if (topic.Length <= NetMqEventHeader.Topic.Length && NetMqEventHeader.Topic.StartsWith(topic))
            {
                count++;
            }
        }

        return count;
    }
}
