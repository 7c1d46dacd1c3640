using NA64.Hardware.Errors;
using Serilog.Events;

namespace NA64.Hardware.Transport;

/// <summary>
/// The one request/reply line transport, over any <see cref="IStreamEndpoint"/>.
/// <list type="bullet">
/// <item>One exchange on the wire at a time; callers are admitted strictly first come, first served.</item>
/// <item>Before each request, input already received (a late reply to a timed-out request, a broken line) is
/// discarded and counted, and if a line was cut short the reader skips to the next terminator, so a stale or
/// partial line is never handed to the next caller.</item>
/// <item>Timeouts run on the injected <see cref="TimeProvider"/>; a timeout or a cancellation leaves the transport usable.</item>
/// <item>End of stream or an I/O error marks the port dead (<see cref="TransportDisconnectedException"/>); the next
/// request re-opens the endpoint and raises <see cref="Reconnected"/>.</item>
/// </list>
/// Lines are Latin-1: every byte maps to one char, so garbage bytes reach the parser unchanged.
/// </summary>
public sealed class LineTransport : IAsyncDisposable
{
    private readonly IStreamEndpoint _endpoint;
    private readonly LineFraming _framing;
    private readonly TimeProvider _time;
    private readonly Serilog.ILogger _log;
    private readonly FifoGate _gate = new();
    private readonly Lock _connectionLock = new();
    private Connection? _connection;
    private bool _everOpened;
    private bool _disposed;
    private int _consecutiveTimeouts;

    public LineTransport(IStreamEndpoint endpoint, LineFraming framing, TimeProvider? timeProvider = null, Serilog.ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        ArgumentNullException.ThrowIfNull(framing);
        _endpoint = endpoint;
        _framing = framing;
        _time = timeProvider ?? TimeProvider.System;
        _log = (logger ?? Serilog.Core.Logger.None).ForContext<LineTransport>();
    }

    /// <summary>The endpoint's address, as in the setup file.</summary>
    public string Address => _endpoint.Address;

    public LineFraming Framing => _framing;

    /// <summary>True while a stream is open and has not failed (false before the first request and after a disconnect).</summary>
    public bool IsConnected
    {
        get
        {
            lock (_connectionLock)
            {
                return _connection is { IsDead: false };
            }
        }
    }

    public TransportCounters Counters { get; } = new();

    /// <summary>
    /// Raised (inside the exchange that re-opened the port, before its request is written) after the stream was
    /// re-opened following a disconnect, so drivers can push settings back. Handlers must not block on an
    /// exchange of this transport: queue it (it is admitted right after the current one).
    /// </summary>
    public event EventHandler? Reconnected;

    /// <summary>
    /// A line that <see cref="LineFraming.IsUnsolicited"/> marks as device-initiated (e.g. a Genesys SRQ), whenever
    /// it arrives, even in the middle of an exchange: it is not taken as the reply. Raised on the reader's thread,
    /// outside any lock; handlers must be quick and must not await an exchange of this transport.
    /// </summary>
    public event EventHandler<string>? UnsolicitedLine;

    /// <summary>
    /// After this many timeouts in a row the port is closed and re-opened at the next exchange. A serial line
    /// whose far end vanished (USB adapter unplugged, pty hung up) does not always report an error through
    /// System.IO.Ports; it only stops answering. 0 keeps the port open whatever happens.
    /// </summary>
    public int ReopenAfterTimeouts { get; init; } = 3;

    /// <summary>Writes <paramref name="request"/> plus the request terminator and returns the next complete reply line, terminator removed.</summary>
    public async Task<string> ExchangeAsync(string request, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var lines = await ExchangeLinesAsync(request, 1, timeout, cancellationToken).ConfigureAwait(false);
        return lines[0];
    }

    /// <summary>
    /// Writes one request and collects <paramref name="lineCount"/> reply lines (e.g. the iseg echo, then the answer),
    /// all within one <paramref name="timeout"/>.
    /// </summary>
    public async Task<IReadOnlyList<string>> ExchangeLinesAsync(string request, int lineCount, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(lineCount, 1);
        if (timeout <= TimeSpan.Zero && timeout != Timeout.InfiniteTimeSpan)
        {
            throw new ArgumentOutOfRangeException(nameof(timeout), timeout, "Reply timeout must be positive (or infinite)");
        }

        var bytes = Encode(request);
        using var turn = await _gate.EnterAsync(cancellationToken).ConfigureAwait(false);
        using var timeoutCts = new CancellationTokenSource(timeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(timeoutCts.Token, cancellationToken);
        try
        {
            var connection = await EnsureConnectedAsync(linked.Token, timeoutCts.Token, timeout).ConfigureAwait(false);
            await WriteAsync(connection, bytes, request, linked.Token).ConfigureAwait(false);
            var lines = new string[lineCount];
            for (var i = 0; i < lineCount; i++)
            {
                lines[i] = await ReadLineAsync(connection, request, linked.Token).ConfigureAwait(false);
            }

            _consecutiveTimeouts = 0;
            return lines;
        }
        catch (OperationCanceledException) when (timeoutCts.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            Counters.AddTimeout();
            _log.Debug("{Port} no reply to {Request} within {TimeoutMs} ms", Address, Printable.Escape(request), timeout.TotalMilliseconds);
            if (ReopenAfterTimeouts > 0 && ++_consecutiveTimeouts >= ReopenAfterTimeouts)
            {
                _consecutiveTimeouts = 0;
                lock (_connectionLock)
                {
                    _connection?.MarkDead(new TimeoutException($"{ReopenAfterTimeouts} replies in a row timed out"));
                }

                _log.Warning("{Port} gave no reply {Count} times in a row; the port is re-opened at the next exchange", Address, ReopenAfterTimeouts);
            }

            throw new DeviceTimeoutException(Address, request, timeout);
        }
    }

    /// <summary>Writes a request that gets no reply (Danfysik directives, iseg sets without *OPC?).</summary>
    public async Task SendAsync(string request, CancellationToken cancellationToken = default)
    {
        var bytes = Encode(request);
        using var turn = await _gate.EnterAsync(cancellationToken).ConfigureAwait(false);
        var connection = await EnsureConnectedAsync(cancellationToken, CancellationToken.None, Timeout.InfiniteTimeSpan).ConfigureAwait(false);
        await WriteAsync(connection, bytes, request, cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        Connection? connection;
        lock (_connectionLock)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            connection = _connection;
            _connection = null;
        }

        if (connection is not null)
        {
            await connection.DisposeAsync().ConfigureAwait(false);
        }
    }

    private byte[] Encode(string request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var terminator = _framing.RequestTerminator;
        if (terminator.Length > 0 && request.Contains(terminator, StringComparison.Ordinal))
        {
            throw new ArgumentException(
                $"Request '{Printable.Escape(request)}' already contains the request terminator '{Printable.Escape(terminator)}'; it is appended by the transport",
                nameof(request));
        }

        var bytes = new byte[request.Length + terminator.Length];
        for (var i = 0; i < request.Length; i++)
        {
            var c = request[i];
            if (c > 0xFF)
            {
                throw new ArgumentException(
                    $"Request character U+{(int)c:X4} at position {i} is outside Latin-1 (0..255): '{request}'", nameof(request));
            }

            bytes[i] = (byte)c;
        }

        for (var i = 0; i < terminator.Length; i++)
        {
            bytes[request.Length + i] = (byte)terminator[i];
        }

        return bytes;
    }

    /// <summary>Returns a live connection, re-opening the endpoint if the last one died. Runs inside the gate.</summary>
    private async ValueTask<Connection> EnsureConnectedAsync(CancellationToken cancellationToken, CancellationToken timeoutToken, TimeSpan timeout)
    {
        Connection? dead;
        lock (_connectionLock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_connection is { IsDead: false } live)
            {
                return live;
            }

            dead = _connection;
            _connection = null;
        }

        if (dead is not null)
        {
            await dead.DisposeAsync().ConfigureAwait(false);
        }

        Stream stream;
        try
        {
            stream = await _endpoint.OpenAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException e) when (timeoutToken.IsCancellationRequested && cancellationToken.IsCancellationRequested)
        {
            _log.Warning("{Port} could not be opened within {TimeoutMs} ms", Address, timeout.TotalMilliseconds);
            throw new TransportDisconnectedException(Address, new TimeoutException($"Opening {Address} took longer than {timeout.TotalMilliseconds:0} ms", e));
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            _log.Warning(e, "{Port} could not be opened", Address);
            throw new TransportDisconnectedException(Address, e);
        }

        var connection = new Connection(stream, _framing, Counters, _log, Address, RaiseUnsolicited);
        bool reconnect;
        lock (_connectionLock)
        {
            if (_disposed)
            {
                connection.Abandon();
                throw new ObjectDisposedException(nameof(LineTransport));
            }

            _connection = connection;
            reconnect = _everOpened;
            _everOpened = true;
        }

        connection.Start();
        if (reconnect)
        {
            Counters.AddReconnect();
            _log.Information("{Port} re-opened after a disconnect", Address);
            RaiseReconnected();
        }
        else
        {
            _log.Debug("{Port} opened", Address);
        }

        return connection;
    }

    private void RaiseReconnected()
    {
        try
        {
            Reconnected?.Invoke(this, EventArgs.Empty);
        }
        catch (Exception e)
        {
            // A subscriber's bug must not fail the exchange that happened to re-open the port; it is reported, not hidden.
            _log.Error(e, "{Port} a Reconnected handler failed", Address);
        }
    }

    private void RaiseUnsolicited(string line)
    {
        try
        {
            UnsolicitedLine?.Invoke(this, line);
        }
        catch (Exception e)
        {
            // A subscriber's bug must not kill the reader of the port; it is reported, not hidden.
            _log.Error(e, "{Port} an UnsolicitedLine handler failed on {Line}", Address, Printable.Escape(line));
        }
    }

    private async ValueTask WriteAsync(Connection connection, byte[] bytes, string request, CancellationToken cancellationToken)
    {
        var discarded = connection.DiscardStale();
        if (discarded > 0)
        {
            Counters.AddDiscarded(discarded);
            _log.Debug("{Port} discarded {Bytes} stale bytes before {Request}", Address, discarded, Printable.Escape(request));
        }

        if (_log.IsEnabled(LogEventLevel.Verbose))
        {
            _log.Verbose("{Port} {Direction} {Frame}", Address, "tx", Printable.Escape(request));
        }

        Counters.AddRequest();
        try
        {
            await connection.Stream.WriteAsync(bytes, cancellationToken).ConfigureAwait(false);
            await connection.Stream.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            connection.MarkDead(e);
            _log.Warning(e, "{Port} write failed, port marked disconnected", Address);
            throw new TransportDisconnectedException(Address, e);
        }

        Counters.AddSent(bytes.Length);
    }

    private async ValueTask<string> ReadLineAsync(Connection connection, string request, CancellationToken cancellationToken)
    {
        var item = await connection.TakeAsync(cancellationToken).ConfigureAwait(false);
        switch (item.Kind)
        {
            case ItemKind.Line:
                Counters.AddReply();
                return item.Text!;
            case ItemKind.Overlong:
                throw new DeviceReplyException(
                    $"Reply from {Address} to '{Printable.Escape(request)}' exceeds {_framing.MaxLineLength} bytes without a terminator",
                    request, item.Text!);
            default:
                throw new TransportDisconnectedException(Address, item.Error);
        }
    }

    private enum ItemKind
    {
        Line,
        Overlong,
        Disconnected,
    }

    private readonly record struct Item(ItemKind Kind, string? Text, int WireBytes, Exception? Error);

    /// <summary>
    /// One opened stream and its reader. The reader runs all the time, so input that arrives between exchanges
    /// (late replies) is already buffered, and counted as stale, when the next request is written.
    /// </summary>
    private sealed class Connection : IAsyncDisposable
    {
        private readonly LineFraming _framing;
        private readonly TransportCounters _counters;
        private readonly Serilog.ILogger _log;
        private readonly string _address;
        private readonly Action<string> _unsolicited;
        private readonly Lock _lock = new();
        private readonly Queue<Item> _items = new();
        private readonly CancellationTokenSource _stop = new();
        private readonly byte[] _terminator;
        private readonly byte[] _partial;
        private int _partialLength;
        private bool _skipping;
        private bool _dead;
        private Exception? _deadReason;
        private TaskCompletionSource? _waiter;
        private Task _reader = Task.CompletedTask;

        public Connection(Stream stream, LineFraming framing, TransportCounters counters, Serilog.ILogger log, string address, Action<string> unsolicited)
        {
            _unsolicited = unsolicited;
            Stream = stream;
            _framing = framing;
            _counters = counters;
            _log = log;
            _address = address;
            _terminator = framing.ReplyTerminator.ToArray();
            _partial = new byte[framing.MaxLineLength + _terminator.Length];
        }

        public Stream Stream { get; }

        public bool IsDead
        {
            get
            {
                lock (_lock)
                {
                    return _dead;
                }
            }
        }

        public void Start() => _reader = Task.Run(ReadLoopAsync);

        /// <summary>Drops every line received so far and any partial line; returns the bytes dropped.</summary>
        public long DiscardStale()
        {
            lock (_lock)
            {
                long dropped = 0;
                foreach (var item in _items)
                {
                    dropped += item.WireBytes;
                    if (item.Kind == ItemKind.Line && _log.IsEnabled(LogEventLevel.Verbose))
                    {
                        _log.Verbose("{Port} {Direction} {Frame}", _address, "discard", Printable.Escape(item.Text!));
                    }
                }

                _items.Clear();
                if (_partialLength > 0 && !_skipping)
                {
                    // The rest of this line may still be on its way: skip to the next terminator.
                    dropped += _partialLength;
                    _skipping = true;
                    KeepTerminatorPrefix();
                }

                return dropped;
            }
        }

        public async ValueTask<Item> TakeAsync(CancellationToken cancellationToken)
        {
            while (true)
            {
                TaskCompletionSource waiter;
                lock (_lock)
                {
                    if (_items.TryDequeue(out var item))
                    {
                        return item;
                    }

                    if (_dead)
                    {
                        return new Item(ItemKind.Disconnected, null, 0, _deadReason);
                    }

                    waiter = _waiter ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                }

                await waiter.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
        }

        public void MarkDead(Exception? reason)
        {
            TaskCompletionSource? waiter;
            lock (_lock)
            {
                if (_dead)
                {
                    return;
                }

                _dead = true;
                _deadReason = reason;
                waiter = _waiter;
                _waiter = null;
            }

            waiter?.TrySetResult();
        }

        /// <summary>Closes a connection that was never started.</summary>
        public void Abandon()
        {
            _stop.Dispose();
            Stream.Dispose();
        }

        public async ValueTask DisposeAsync()
        {
            MarkDead(new ObjectDisposedException(_address));
            await _stop.CancelAsync().ConfigureAwait(false);
            await Stream.DisposeAsync().ConfigureAwait(false);
            // The read loop ends on its own once the stream is gone; it never throws.
            await _reader.ConfigureAwait(false);
            _stop.Dispose();
        }

        private async Task ReadLoopAsync()
        {
            var buffer = new byte[4096];
            Exception? reason = null;
            try
            {
                while (true)
                {
                    var n = await Stream.ReadAsync(buffer, _stop.Token).ConfigureAwait(false);
                    if (n == 0)
                    {
                        reason = new EndOfStreamException($"{_address} closed the stream");
                        break;
                    }

                    _counters.AddReceived(n);
                    Receive(buffer.AsSpan(0, n));
                }
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                reason = new ObjectDisposedException(_address);
            }
            catch (Exception e)
            {
                // Any failure of the stream means the port is gone; the waiting caller gets it as the inner exception.
                reason = e;
            }

            if (!_stop.IsCancellationRequested)
            {
                _log.Warning(reason, "{Port} disconnected", _address);
            }

            MarkDead(reason);
        }

        private void Receive(ReadOnlySpan<byte> data)
        {
            TaskCompletionSource? waiter = null;
            List<string>? unsolicited = null;
            lock (_lock)
            {
                foreach (var b in data)
                {
                    _partial[_partialLength++] = b;
                    if (_skipping)
                    {
                        _counters.AddDiscarded(1);
                    }

                    if (EndsWithTerminator())
                    {
                        if (_skipping)
                        {
                            _skipping = false;
                        }
                        else
                        {
                            var text = System.Text.Encoding.Latin1.GetString(_partial, 0, _partialLength - _terminator.Length);
                            bool isUnsolicited = _framing.IsUnsolicited?.Invoke(text) == true;
                            if (isUnsolicited)
                            {
                                _counters.AddUnsolicited();
                                (unsolicited ??= []).Add(text);
                            }
                            else
                            {
                                _items.Enqueue(new Item(ItemKind.Line, text, _partialLength, null));
                            }

                            if (_log.IsEnabled(LogEventLevel.Verbose))
                            {
                                _log.Verbose("{Port} {Direction} {Frame}", _address, isUnsolicited ? "rx-unsolicited" : "rx", Printable.Escape(text));
                            }
                        }

                        _partialLength = 0;
                    }
                    else if (_skipping)
                    {
                        KeepTerminatorPrefix();
                    }
                    else if (_partialLength == _partial.Length)
                    {
                        var raw = System.Text.Encoding.Latin1.GetString(_partial, 0, _partialLength);
                        _items.Enqueue(new Item(ItemKind.Overlong, raw, _partialLength, null));
                        _log.Warning("{Port} line longer than {MaxLineLength} bytes without terminator, skipping to the next terminator",
                            _address, _framing.MaxLineLength);
                        _skipping = true;
                        KeepTerminatorPrefix();
                    }
                }

                if (_items.Count > 0)
                {
                    waiter = _waiter;
                    _waiter = null;
                }
            }

            // Unsolicited lines first: they arrived before the reply that wakes the caller, so the caller sees their effect.
            if (unsolicited is not null)
            {
                foreach (var line in unsolicited)
                {
                    _unsolicited(line);
                }
            }

            waiter?.TrySetResult();
        }

        private bool EndsWithTerminator() =>
            _partialLength >= _terminator.Length
            && _partial.AsSpan(_partialLength - _terminator.Length, _terminator.Length).SequenceEqual(_terminator);

        /// <summary>While skipping only the last bytes matter (a terminator may straddle two reads).</summary>
        private void KeepTerminatorPrefix()
        {
            var keep = Math.Min(_partialLength, _terminator.Length - 1);
            _partial.AsSpan(_partialLength - keep, keep).CopyTo(_partial);
            _partialLength = keep;
        }
    }
}
