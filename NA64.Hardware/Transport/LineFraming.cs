namespace NA64.Hardware.Transport;

/// <summary>
/// How lines are delimited on one kind of port: the terminator appended to every request and the byte
/// sequence that ends every reply. The framing is data; <see cref="LineTransport"/> is the one reader using it.
/// </summary>
public sealed record LineFraming
{
    /// <summary>Longest reply line accepted by default, terminator excluded (guards against a device streaming garbage).</summary>
    public const int DefaultMaxLineLength = 4096;

    private readonly byte[] _replyTerminator;

    public LineFraming(string requestTerminator, ReadOnlySpan<byte> replyTerminator)
    {
        ArgumentNullException.ThrowIfNull(requestTerminator);
        for (var i = 0; i < requestTerminator.Length; i++)
        {
            if (requestTerminator[i] > 0xFF)
            {
                throw new ArgumentException(
                    $"Request terminator character U+{(int)requestTerminator[i]:X4} at position {i} is outside Latin-1 (0..255)",
                    nameof(requestTerminator));
            }
        }

        if (replyTerminator.IsEmpty)
        {
            throw new ArgumentException("Reply terminator is empty; it needs at least one byte", nameof(replyTerminator));
        }

        RequestTerminator = requestTerminator;
        _replyTerminator = replyTerminator.ToArray();
    }

    /// <summary>CAEN N1470 family and iseg: requests and replies end with CR LF.</summary>
    public static LineFraming CrLf { get; } = new("\r\n", "\r\n"u8);

    /// <summary>TDK-Lambda Genesys: requests and replies end with CR.</summary>
    public static LineFraming Cr { get; } = new("\r", "\r"u8);

    /// <summary>
    /// Danfysik 8500: requests end with CR; replies end with LF then CR. Splitting on CR alone would leave an LF
    /// in front of the value, and LF alone a CR in front of the next reply, so the split is on the two-byte sequence.
    /// </summary>
    public static LineFraming DanfysikCrLfCr { get; } = new("\r", "\n\r"u8);

    /// <summary>
    /// Lines the device may send on its own, outside any exchange (a Genesys SRQ <c>!nn</c>). A reply line for which
    /// this returns true is never handed to a caller as a reply: <see cref="LineTransport"/> counts it and raises
    /// <see cref="LineTransport.UnsolicitedLine"/>. Null: every line is a reply.
    /// </summary>
    public Func<string, bool>? IsUnsolicited { get; init; }

    /// <summary>Appended to every request.</summary>
    public string RequestTerminator { get; }

    /// <summary>Ends every reply line; never part of the line handed to the caller.</summary>
    public ReadOnlySpan<byte> ReplyTerminator => _replyTerminator;

    /// <summary>Longest reply line accepted, terminator excluded. Longer input raises DeviceReplyException and is skipped.</summary>
    public int MaxLineLength
    {
        get;
        init
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1, nameof(MaxLineLength));
            field = value;
        }
    } = DefaultMaxLineLength;

    public bool Equals(LineFraming? other) =>
        other is not null
        && RequestTerminator == other.RequestTerminator
        && MaxLineLength == other.MaxLineLength
        && ReferenceEquals(IsUnsolicited, other.IsUnsolicited)
        && _replyTerminator.AsSpan().SequenceEqual(other._replyTerminator);

    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.Add(RequestTerminator);
        hash.Add(MaxLineLength);
        hash.AddBytes(_replyTerminator);
        return hash.ToHashCode();
    }

    public override string ToString() =>
        $"request '{Printable.Escape(RequestTerminator)}', reply '{Printable.Escape(System.Text.Encoding.Latin1.GetString(_replyTerminator))}', max {MaxLineLength} bytes";
}
