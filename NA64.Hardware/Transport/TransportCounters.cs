namespace NA64.Hardware.Transport;

/// <summary>Running totals of one <see cref="LineTransport"/>; every read is atomic and safe from any thread.</summary>
public sealed class TransportCounters
{
    private long _requests;
    private long _replies;
    private long _timeouts;
    private long _discardedBytes;
    private long _reconnects;
    private long _bytesSent;
    private long _bytesReceived;
    private long _unsolicitedLines;

    /// <summary>Requests written (exchanges and sends).</summary>
    public long Requests => Interlocked.Read(ref _requests);

    /// <summary>Reply lines handed to callers.</summary>
    public long Replies => Interlocked.Read(ref _replies);

    /// <summary>Exchanges that got no complete reply within their timeout.</summary>
    public long Timeouts => Interlocked.Read(ref _timeouts);

    /// <summary>Stale or partial input dropped at resynchronisation (late replies, broken lines, overlong garbage).</summary>
    public long DiscardedBytes => Interlocked.Read(ref _discardedBytes);

    /// <summary>Times the endpoint was re-opened after a disconnect.</summary>
    public long Reconnects => Interlocked.Read(ref _reconnects);

    /// <summary>Lines the framing marks as unsolicited (device-initiated), routed to <see cref="LineTransport.UnsolicitedLine"/>.</summary>
    public long UnsolicitedLines => Interlocked.Read(ref _unsolicitedLines);

    public long BytesSent => Interlocked.Read(ref _bytesSent);

    public long BytesReceived => Interlocked.Read(ref _bytesReceived);

    internal void AddUnsolicited() => Interlocked.Increment(ref _unsolicitedLines);

    internal void AddRequest() => Interlocked.Increment(ref _requests);

    internal void AddReply() => Interlocked.Increment(ref _replies);

    internal void AddTimeout() => Interlocked.Increment(ref _timeouts);

    internal void AddDiscarded(long bytes) => Interlocked.Add(ref _discardedBytes, bytes);

    internal void AddReconnect() => Interlocked.Increment(ref _reconnects);

    internal void AddSent(long bytes) => Interlocked.Add(ref _bytesSent, bytes);

    internal void AddReceived(long bytes) => Interlocked.Add(ref _bytesReceived, bytes);

    public override string ToString() =>
        $"requests {Requests}, replies {Replies}, timeouts {Timeouts}, discarded {DiscardedBytes} B, reconnects {Reconnects}, sent {BytesSent} B, received {BytesReceived} B";
}
