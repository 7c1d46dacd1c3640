using System.Globalization;
using System.Net.Sockets;

namespace NA64.Hardware.Transport;

/// <summary>A TCP connection: the CAEN NDT1470 (port 1470), iseg SHR over LAN, or a terminal server in front of a serial device.</summary>
public sealed class TcpEndpoint : IStreamEndpoint
{
    public TcpEndpoint(string host, int port)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(host);
        if (port is < 1 or > 65535)
        {
            throw new ArgumentOutOfRangeException(nameof(port), port, $"TCP port = {port.ToString(CultureInfo.InvariantCulture)} refused; allowed 1..65535");
        }

        Host = host;
        Port = port;
    }

    public string Host { get; }

    public int Port { get; }

    public string Address => EndpointAddress.FormatTcp(Host, Port);

    public async ValueTask<Stream> OpenAsync(CancellationToken cancellationToken)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(Host, Port, cancellationToken).ConfigureAwait(false);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}
