using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;
using NA64.Hardware.Digitizers.Msadc;

namespace NA64.Simulators.Digitizers;

/// <summary>Answers one register-frame request (MSADC, APV-ADC control servers): the reply's length, 0 for none.</summary>
public delegate int RegisterFrameHandler(ReadOnlySpan<byte> request, Span<byte> reply);

/// <summary>
/// Serving a simulated module's register frames (<see cref="MsadcProtocol"/>) on a connected datagram channel or a bound
/// UDP socket: the same loops for every module kind, whose control server supplies only the answer to one request.
/// </summary>
public static class RegisterFrameServing
{
    /// <summary>Answers requests on a connected datagram channel until cancelled or the peer closes it (then <paramref name="closed"/>).</summary>
    public static async Task ServeAsync(IDatagramChannel channel, RegisterFrameHandler handle, Action closed, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(channel);
        ArgumentNullException.ThrowIfNull(handle);
        var request = new byte[512];
        var reply = new byte[MsadcProtocol.FrameLength];
        while (!cancellationToken.IsCancellationRequested)
        {
            int length;
            try
            {
                length = await channel.ReceiveAsync(request, cancellationToken).ConfigureAwait(false);
            }
            catch (ChannelClosedException)
            {
                closed();
                return;
            }
            int replyLength = handle(request.AsSpan(0, length), reply);
            if (replyLength > 0)
                await channel.SendAsync(reply.AsMemory(0, replyLength), cancellationToken).ConfigureAwait(false);
        }
    }
}

/// <summary>A bound UDP socket serving a simulated module's register frames to whoever sends; dispose to close it.</summary>
public sealed class UdpRegisterEndpoint : IDisposable
{
    private readonly RegisterFrameHandler _handle;
    private readonly Socket _socket;

    /// <summary>Binds <paramref name="local"/> (port 0 = any free port).</summary>
    public UdpRegisterEndpoint(RegisterFrameHandler handle, IPEndPoint local)
    {
        ArgumentNullException.ThrowIfNull(local);
        _handle = handle ?? throw new ArgumentNullException(nameof(handle));
        _socket = new Socket(local.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            _socket.Bind(local);
        }
        catch
        {
            // Not bound: the socket is closed here and the caller sees why.
            _socket.Dispose();
            throw;
        }
    }

    public IPEndPoint LocalEndPoint => (IPEndPoint)_socket.LocalEndPoint!;

    /// <summary>Answers until cancelled.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var request = new byte[512];
        var reply = new byte[MsadcProtocol.FrameLength];
        EndPoint any = new IPEndPoint(LocalEndPoint.AddressFamily == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Any : IPAddress.Any, 0);
        while (!cancellationToken.IsCancellationRequested)
        {
            var received = await _socket.ReceiveFromAsync(request, SocketFlags.None, any, cancellationToken).ConfigureAwait(false);
            int replyLength = _handle(request.AsSpan(0, received.ReceivedBytes), reply);
            if (replyLength > 0)
                await _socket.SendToAsync(reply.AsMemory(0, replyLength), SocketFlags.None, received.RemoteEndPoint, cancellationToken)
                    .ConfigureAwait(false);
        }
    }

    public void Dispose() => _socket.Dispose();
}
