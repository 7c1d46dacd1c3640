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

/// <summary>What a push sink does when no puller has room for the next message (a stalled or absent event builder).</summary>
public enum NetMqStallPolicy
{
    /// <summary>Wait up to <see cref="NetMqPublisherOptions.SendTimeout"/>, then count the message's events as
    /// <see cref="DropReason.PublisherQueueFull"/> and go on: the run never stops for a receiver.</summary>
    DropAfterTimeout,

    /// <summary>Wait until a puller takes it or the run is cancelled: nothing is lost, and the whole run waits
    /// (the pipeline's back-pressure reaches the receivers). <see cref="NetMqPublisherSink.Counters"/> shows the wait live.</summary>
    WaitForever,
}

/// <summary>Live counters of a <see cref="NetMqPublisherSink"/>, safe to read from any thread while it runs.</summary>
/// <param name="Waiting">A message is waiting for room right now.</param>
/// <param name="WaitingFor">How long the current wait has lasted (zero when not waiting).</param>
/// <param name="Waits">Messages that found no room at once and had to wait (push).</param>
/// <param name="TotalWait">Time spent waiting, all waits together (finished ones).</param>
/// <param name="DroppedMessages">Messages not sent (push: timed out; publish: refused or nobody subscribed).</param>
/// <param name="DroppedEvents">Events in those messages.</param>
public readonly record struct NetMqSinkCounters(
    bool Waiting, TimeSpan WaitingFor, long Waits, TimeSpan TotalWait, long DroppedMessages, long DroppedEvents);

/// <summary>
/// The sink could not bind its address. The message is one line naming the address and the cause, e.g.
/// <c>tcp://127.0.0.1:5556: address already in use</c>.
/// </summary>
public sealed class NetMqEndpointException : IOException
{
    public NetMqEndpointException(string address, string cause, Exception inner)
        : base($"{address}: {cause}", inner)
    {
        Address = address;
        Cause = cause;
    }

    public string Address { get; }

    public string Cause { get; }
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

    /// <summary>Push only: drop after <see cref="SendTimeout"/> (default) or wait for as long as it takes.</summary>
    public NetMqStallPolicy StallPolicy { get; init; } = NetMqStallPolicy.DropAfterTimeout;

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
    private int _waiting;
    private long _waitStarted;
    private long _waits;
    private long _waitTicks;
    private long _droppedMessages;
    private long _droppedEvents;

    /// <summary>Wait-forever sends in slices this long, to notice a cancelled run (NetMQ's wait cannot be cancelled).</summary>
    private static readonly TimeSpan WaitSlice = TimeSpan.FromMilliseconds(100);

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

        if (options.Pattern == NetMqPattern.Publish && options.StallPolicy != NetMqStallPolicy.DropAfterTimeout)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.StallPolicy,
                $"NetMqPublisherOptions.StallPolicy = {options.StallPolicy} applies to Push only; Publish never waits.");
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
        catch (Exception e) when (BindFailure(e) is { } cause)
        {
            _socket.Dispose();
            throw new NetMqEndpointException(options.Address, cause, e);
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

    /// <summary>Waiting and drops as they happen (for a live line); read from any thread.</summary>
    public NetMqSinkCounters Counters
    {
        get
        {
            bool waiting = Volatile.Read(ref _waiting) != 0;
            return new NetMqSinkCounters(
                waiting,
                waiting ? _time.GetElapsedTime(Volatile.Read(ref _waitStarted)) : TimeSpan.Zero,
                Interlocked.Read(ref _waits),
                TimeSpan.FromTicks(Interlocked.Read(ref _waitTicks)),
                Interlocked.Read(ref _droppedMessages),
                Interlocked.Read(ref _droppedEvents));
        }
    }

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
                CountDropped(1, events.Count);
                return ValueTask.FromResult(SinkWriteResult.None(events, DropReason.NoSubscriber));
            }
        }

        var result = _options.Granularity == PublishGranularity.PerBatch
            ? PublishBatch(events, cancellationToken)
            : PublishEach(events, cancellationToken);
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

    private SinkWriteResult PublishBatch(EventBatch events, CancellationToken ct)
    {
        var headerLength = WriteHeader(events, 0, events.Count);
        if (!MemoryMarshal.TryGetArray(events.AllMemory, out ArraySegment<byte> body) || body.Offset != 0)
        {
            throw new InvalidOperationException("Batch bytes are not a pooled array from offset 0.");
        }

        if (!Send(headerLength, body.Array!, body.Count, ct))
        {
            CountDropped(1, events.Count);
            return SinkWriteResult.None(events, DropReason.PublisherQueueFull);
        }

        return SinkWriteResult.All(events);
    }

    private SinkWriteResult PublishEach(EventBatch events, CancellationToken ct)
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
            if (Send(headerLength, _single, eventBytes.Length, ct))
            {
                written++;
                bytes += eventBytes.Length;
            }
            else
            {
                CountDropped(1, 1);
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

    private bool Send(int headerLength, byte[] body, int bodyLength, CancellationToken ct)
    {
        // The header frame is copied by NetMQ, so _header can be reused at once. Push waits for room (back-pressure).
        if (!SendFrame(_header, headerLength, more: true, ct))
        {
            return false;
        }

        // A multipart message is atomic in ZeroMQ: room is decided at the first frame and the first frame alone is
        // never delivered. So the body is sent without cancellation: a half-sent message would corrupt the next one.
        if (!SendFrame(body, bodyLength, more: false, CancellationToken.None))
        {
            return false;
        }

        Interlocked.Increment(ref _sequence);
        return true;
    }

    private bool SendFrame(byte[] data, int length, bool more, CancellationToken ct)
    {
        if (_socket.TrySendFrame(TimeSpan.Zero, data, length, more))
        {
            return true;
        }

        if (_options.Pattern == NetMqPattern.Publish)
        {
            return false;
        }

        Interlocked.Increment(ref _waits);
        var start = _time.GetTimestamp();
        Volatile.Write(ref _waitStarted, start);
        Volatile.Write(ref _waiting, 1);
        try
        {
            if (_options.StallPolicy == NetMqStallPolicy.DropAfterTimeout)
            {
                return _socket.TrySendFrame(_options.SendTimeout, data, length, more);
            }

            while (!_socket.TrySendFrame(WaitSlice, data, length, more))
            {
                ct.ThrowIfCancellationRequested();
            }

            return true;
        }
        finally
        {
            Interlocked.Add(ref _waitTicks, _time.GetElapsedTime(start).Ticks);
            Volatile.Write(ref _waiting, 0);
        }
    }

    private void CountDropped(long messages, long events)
    {
        Interlocked.Add(ref _droppedMessages, messages);
        Interlocked.Add(ref _droppedEvents, events);
    }

    /// <summary>A bind failure an operator can fix (the address), described in a few words; null for anything else.</summary>
    private static string? BindFailure(Exception e) => e switch
    {
        AddressAlreadyInUseException => "address already in use",
        ProtocolNotSupportedException => "unknown transport (expected tcp://host:port, ipc://path or inproc://name)",
        EndpointNotFoundException => $"no such endpoint ({FirstLine(e.Message)})",
        NetMQException or ArgumentException or FormatException or System.Net.Sockets.SocketException =>
            $"malformed or unusable address ({FirstLine(e.Message)})",
        _ => null,
    };

    // ArgumentException appends "(Parameter 'x')" on a line of its own; the error stays one line.
    private static string FirstLine(string message) => message.Split('\n', 2)[0].TrimEnd('\r', ' ');

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
