using System.Net;
using System.Net.Sockets;

namespace NA64.Hardware.Digitizers.Msadc;

/// <summary>A UDP socket connected to one peer (the module's control port). Datagrams from other peers are dropped by the OS.</summary>
public sealed class UdpDatagramChannel : IDatagramChannel
{
    private readonly Socket _socket;

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
        Address = $"udp:{remote}";
    }

    public string Address { get; }

    public IPEndPoint LocalEndPoint => (IPEndPoint)_socket.LocalEndPoint!;

    public async ValueTask SendAsync(ReadOnlyMemory<byte> datagram, CancellationToken cancellationToken) =>
        await _socket.SendAsync(datagram, SocketFlags.None, cancellationToken).ConfigureAwait(false);

    public async ValueTask<int> ReceiveAsync(Memory<byte> buffer, CancellationToken cancellationToken) =>
        await _socket.ReceiveAsync(buffer, SocketFlags.None, cancellationToken).ConfigureAwait(false);

    public void Dispose() => _socket.Dispose();
}
