using System.Net;
using System.Net.Sockets;
using Serilog;

namespace NA64.Simulators.Serving;

/// <summary>
/// Serves a simulated device on a TCP port (raw bytes, like the NDT1470 on port 1470 or a terminal server).
/// Each accepted client is served by the same <see cref="LineDeviceServer"/>, so all clients reach one device
/// state. A disconnect fault closes the client sockets; new clients are accepted as before.
/// </summary>
public sealed class TcpDeviceServer : IAsyncDisposable
{
    private readonly LineDeviceServer _server;
    private readonly TcpListener _listener;
    private readonly ILogger _log;
    private readonly CancellationTokenSource _stop = new();
    private Task? _acceptLoop;

    /// <param name="port">TCP port; 0 picks a free one (see <see cref="Port"/>).</param>
    public TcpDeviceServer(LineDeviceServer server, int port, IPAddress? address = null, ILogger? log = null)
    {
        ArgumentNullException.ThrowIfNull(server);
        if (port is < 0 or > 65535)
        {
            throw new ArgumentOutOfRangeException(nameof(port), port, $"port is {port}; it must be 0 to 65535.");
        }

        _server = server;
        _listener = new TcpListener(address ?? IPAddress.Loopback, port);
        _log = (log ?? Serilog.Core.Logger.None).ForContext<TcpDeviceServer>();
    }

    /// <summary>The address listened on, as <c>tcp 127.0.0.1:1470</c> (the real port after <see cref="Start"/>).</summary>
    public string Endpoint => $"tcp {_listener.LocalEndpoint}";

    /// <summary>The port listened on (valid after <see cref="Start"/>).</summary>
    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>Starts listening and accepting clients in the background.</summary>
    public void Start()
    {
        if (_acceptLoop is not null)
        {
            throw new InvalidOperationException("TcpDeviceServer is already started.");
        }

        try
        {
            _listener.Start();
        }
        catch (SocketException e)
        {
            // One line for the operator (which endpoint, why) instead of a socket stack trace.
            var endpoint = (IPEndPoint)_listener.LocalEndpoint;
            throw new ListenException($"tcp {endpoint}", e);
        }

        _log.Information("Simulated device listening on TCP port {Port}", Port);
        _acceptLoop = AcceptLoopAsync(_stop.Token);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        _listener.Stop();
        if (_acceptLoop is not null)
        {
            try
            {
                await _acceptLoop.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                _log.Information("Simulated device on TCP port stopped");
            }
        }

        _stop.Dispose();
    }

    private async Task AcceptLoopAsync(CancellationToken ct)
    {
        var clients = new List<Task>();
        try
        {
            while (true)
            {
                TcpClient client;
                try
                {
                    client = await _listener.AcceptTcpClientAsync(ct).ConfigureAwait(false);
                }
                catch (Exception e) when (ct.IsCancellationRequested && e is InvalidOperationException or ObjectDisposedException or SocketException)
                {
                    // Disposal stops the listener right after cancelling: an accept entered in between ends with "not
                    // listening" instead of a cancellation. Either way it is the end of the loop.
                    throw new OperationCanceledException("TCP device server stopped", e, ct);
                }

                clients.RemoveAll(t => t.IsCompleted);
                clients.Add(ServeClientAsync(client, ct));
            }
        }
        finally
        {
            await Task.WhenAll(clients).ConfigureAwait(false);
        }
    }

    private async Task ServeClientAsync(TcpClient client, CancellationToken ct)
    {
        using (client)
        {
            var remote = client.Client.RemoteEndPoint;
            client.NoDelay = true;
            _log.Information("Simulated device client {Remote} connected", remote);
            try
            {
                await using var stream = client.GetStream();
                await _server.ServeAsync(stream, ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                _log.Information("Simulated device client {Remote} closed on shutdown", remote);
            }
            catch (IOException e)
            {
                _log.Information(e, "Simulated device client {Remote} connection lost", remote);
            }

            _log.Information("Simulated device client {Remote} disconnected", remote);
        }
    }
}

/// <summary>
/// A simulator could not listen where it was asked to. The message is one line naming the endpoint and the cause,
/// e.g. <c>tcp 127.0.0.1:1470: address already in use</c>.
/// </summary>
public sealed class ListenException : IOException
{
    public ListenException(string endpoint, SocketException cause)
        : base($"{endpoint}: {Describe(cause ?? throw new ArgumentNullException(nameof(cause)))}", cause)
    {
        Endpoint = endpoint;
        Error = cause.SocketErrorCode;
    }

    /// <summary>Where it tried to listen, e.g. <c>tcp 127.0.0.1:1470</c>.</summary>
    public string Endpoint { get; }

    public SocketError Error { get; }

    private static string Describe(SocketException e) => e.SocketErrorCode switch
    {
        SocketError.AddressAlreadyInUse => "address already in use",
        SocketError.AccessDenied => "permission denied (ports below 1024 need privileges)",
        SocketError.AddressNotAvailable => "address not available on this machine",
        _ => e.Message,
    };
}
