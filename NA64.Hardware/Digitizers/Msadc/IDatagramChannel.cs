namespace NA64.Hardware.Digitizers.Msadc;

/// <summary>
/// A datagram socket: each send is one datagram to the peer, each receive one datagram from it.
/// Implementations: <see cref="UdpDatagramChannel"/> (a real UDP socket, connected to a module or listening for a
/// data source) and <see cref="InMemoryDatagramChannel"/> (one end of an in-process pair, for the simulators).
/// </summary>
public interface IDatagramChannel : IDisposable
{
    /// <summary>Human-readable peer address, e.g. <c>udp:127.0.0.1:5000</c>.</summary>
    string Address { get; }

    ValueTask SendAsync(ReadOnlyMemory<byte> datagram, CancellationToken cancellationToken);

    /// <summary>Waits for the next datagram and copies it into <paramref name="buffer"/>; returns its length.</summary>
    ValueTask<int> ReceiveAsync(Memory<byte> buffer, CancellationToken cancellationToken);

    /// <summary>
    /// Takes a datagram that is already waiting, without waiting for one: false when none is. Used to discard what an
    /// earlier run left behind before a new run starts.
    /// </summary>
    bool TryReceive(Span<byte> buffer, out int length);
}
