namespace NA64.Hardware.Transport;

/// <summary>
/// Where the bytes of one port go: a serial device (System.IO.Ports), a TCP socket (NDT1470 port 1470,
/// terminal servers), one side of an in-memory duplex pipe, or a pseudo-terminal. Opening yields a byte
/// stream; framing, timeouts and fairness live in <see cref="LineTransport"/>, above every endpoint.
/// </summary>
public interface IStreamEndpoint
{
    /// <summary>Human-readable address as in the setup file, e.g. <c>serial:/dev/ttyUSB0?baud=9600</c>.</summary>
    string Address { get; }

    /// <summary>Opens (or re-opens after a disconnect) the byte stream.</summary>
    ValueTask<Stream> OpenAsync(CancellationToken cancellationToken);
}
