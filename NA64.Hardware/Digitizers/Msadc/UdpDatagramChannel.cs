using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;

namespace NA64.Hardware.Digitizers.Msadc;

/// <summary>
/// A UDP socket, either connected to one peer (a module's control port: datagrams from other peers are dropped by the
/// OS) or, from <see cref="Listen"/>, bound to a local endpoint and receiving from any sender (an S-Link data source
/// sending to the host).
/// </summary>
public sealed class UdpDatagramChannel : IDatagramChannel
{
    private readonly Socket _socket;
    private readonly bool _connected;
    private readonly SocketAddress? _sender;   // listening: filled by every receive, without allocating
    private int _received;

    public UdpDatagramChannel(IPEndPoint remote, IPEndPoint? local = null)
    {
        ArgumentNullException.ThrowIfNull(remote);
        _socket = new Socket(remote.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            _socket.Bind(local ?? new IPEndPoint(
                remote.AddressFamily == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Any : IPAddress.Any, 0));
            _socket.Connect(remote);
        }
        catch
        {
            _socket.Dispose();
            throw;
        }
        _connected = true;
        Address = $"udp:{remote}";
    }

    private UdpDatagramChannel(Socket socket, IPEndPoint local)
    {
        _socket = socket;
        _sender = new SocketAddress(local.AddressFamily);
        Address = $"udp:{LocalEndPoint} (listening)";
    }

    /// <summary>Binds <paramref name="local"/> (port 0: any free port, see <see cref="LocalEndPoint"/>) and receives from any sender.</summary>
    public static UdpDatagramChannel Listen(IPEndPoint local, int receiveBufferBytes = 4 << 20)
    {
        ArgumentNullException.ThrowIfNull(local);
        var socket = new Socket(local.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            // A large kernel buffer rides out the host's pauses; what overflows it is lost and shows as event-number gaps.
            socket.ReceiveBufferSize = receiveBufferBytes;
            socket.Bind(local);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
        return new UdpDatagramChannel(socket, local);
    }

    public string Address { get; }

    public IPEndPoint LocalEndPoint => (IPEndPoint)_socket.LocalEndPoint!;

    /// <summary>Connected: to the peer. Listening: to the last sender (refused before anything was received).</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    public async ValueTask SendAsync(ReadOnlyMemory<byte> datagram, CancellationToken cancellationToken)
    {
        if (_connected)
        {
            await _socket.SendAsync(datagram, SocketFlags.None, cancellationToken).ConfigureAwait(false);
            return;
        }

        if (Volatile.Read(ref _received) == 0)
            throw new InvalidOperationException($"{Address}: nothing received yet, so there is no peer to send to");
        // A copy: the next receive overwrites the sender address while this send may still be using it.
        var to = new SocketAddress(_sender!.Family, _sender.Size);
        _sender.Buffer.CopyTo(to.Buffer);
        await _socket.SendToAsync(datagram, SocketFlags.None, to, cancellationToken).ConfigureAwait(false);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<int> ReceiveAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        if (_connected)
            return await _socket.ReceiveAsync(buffer, SocketFlags.None, cancellationToken).ConfigureAwait(false);
        int length = await _socket.ReceiveFromAsync(buffer, SocketFlags.None, _sender!, cancellationToken).ConfigureAwait(false);
        Volatile.Write(ref _received, 1);
        return length;
    }

    public bool TryReceive(Span<byte> buffer, out int length)
    {
        length = 0;
        if (_socket.Available == 0)
            return false;
        length = _socket.Receive(buffer, SocketFlags.None);
        return true;
    }

    public void Dispose() => _socket.Dispose();
}
