namespace NA64.Simulators.Serving;

/// <summary>
/// Faults of the line between host and device, independent of the protocol (backdoor; never reachable over
/// the wire). One instance per served line; thread-safe. "Next reply" faults are consumed by the next reply
/// the device produces, on whichever connection that happens.
/// </summary>
public sealed class LineFaults
{
    private readonly Lock _gate = new();
    private readonly Random _random;
    private int _dropReplies;
    private int _garbleBytes;
    private int? _truncateTo;
    private TimeSpan _delay;
    private bool _silent;

    /// <param name="seed">seed of the garbling byte choice, so a garbled exchange is reproducible.</param>
    public LineFaults(int seed = 1470)
    {
        _random = new Random(seed);
    }

    /// <summary>Raised by <see cref="Disconnect"/>: every connection being served closes; servers accept new ones.</summary>
    public event EventHandler? DisconnectRequested;

    /// <summary>Latency added before every reply, in simulated time (the server's TimeProvider).</summary>
    public TimeSpan ReplyDelay
    {
        get
        {
            lock (_gate)
            {
                return _delay;
            }
        }

        set
        {
            if (value < TimeSpan.Zero)
            {
                throw new ArgumentOutOfRangeException(nameof(value), value, "ReplyDelay must not be negative.");
            }

            lock (_gate)
            {
                _delay = value;
            }
        }
    }

    /// <summary>While true the device neither processes requests nor answers (a hung unit).</summary>
    public bool Silent
    {
        get
        {
            lock (_gate)
            {
                return _silent;
            }
        }

        set
        {
            lock (_gate)
            {
                _silent = value;
            }
        }
    }

    /// <summary>The next reply is not sent (the request is still processed).</summary>
    public void DropNextReply()
    {
        lock (_gate)
        {
            _dropReplies++;
        }
    }

    /// <summary>Replaces <paramref name="byteCount"/> bytes of the next reply (terminator kept) by other printable bytes.</summary>
    public void GarbleNextReply(int byteCount = 1)
    {
        if (byteCount < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(byteCount), byteCount, "byteCount must be at least 1.");
        }

        lock (_gate)
        {
            _garbleBytes = byteCount;
        }
    }

    /// <summary>Sends only the first <paramref name="keepBytes"/> bytes of the next reply (no terminator).</summary>
    public void TruncateNextReply(int keepBytes)
    {
        if (keepBytes < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(keepBytes), keepBytes, "keepBytes must not be negative.");
        }

        lock (_gate)
        {
            _truncateTo = keepBytes;
        }
    }

    /// <summary>Closes every connection now (the far end sees end of stream).</summary>
    public void Disconnect() => DisconnectRequested?.Invoke(this, EventArgs.Empty);

    /// <summary>
    /// Applies the pending next-reply faults to a framed reply (body + terminator); null means send nothing.
    /// </summary>
    internal byte[]? Apply(byte[] framed, int terminatorLength)
    {
        lock (_gate)
        {
            if (_dropReplies > 0)
            {
                _dropReplies--;
                return null;
            }

            if (_garbleBytes > 0)
            {
                var body = framed.Length - terminatorLength;
                for (var i = 0; i < _garbleBytes && body > 0; i++)
                {
                    var at = _random.Next(body);
                    framed[at] = Garbled(framed[at]);
                }

                _garbleBytes = 0;
            }

            if (_truncateTo is { } keep)
            {
                _truncateTo = null;
                return framed.AsSpan(0, Math.Min(keep, framed.Length)).ToArray();
            }

            return framed;
        }
    }

    /// <summary>A printable byte that differs from <paramref name="original"/>.</summary>
    private byte Garbled(byte original)
    {
        byte b;
        do
        {
            b = (byte)_random.Next(0x21, 0x7F);
        }
        while (b == original);
        return b;
    }
}
