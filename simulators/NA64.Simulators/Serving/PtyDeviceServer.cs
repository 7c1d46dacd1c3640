using NA64.Hardware.Transport;
using Serilog;

namespace NA64.Simulators.Serving;

/// <summary>
/// Serves a simulated device on a Linux pseudo-terminal: a driver opens <see cref="SlavePath"/> with
/// System.IO.Ports as if it were a USB-serial adapter. A serial line has no connection to drop, so a
/// disconnect fault only discards the partly received request and serving goes on; the far end closing and
/// re-opening the slave is invisible to the master (see <see cref="PseudoTerminal"/>).
/// </summary>
public sealed class PtyDeviceServer : IAsyncDisposable
{
    private readonly LineDeviceServer _server;
    private readonly PseudoTerminal _pty;
    private readonly ILogger _log;
    private readonly CancellationTokenSource _stop = new();
    private Task? _serving;

    /// <summary>Opens the pseudo-terminal at once, so <see cref="SlavePath"/> can be handed out before <see cref="Start"/>.</summary>
    public PtyDeviceServer(LineDeviceServer server, ILogger? log = null)
    {
        ArgumentNullException.ThrowIfNull(server);
        _server = server;
        _log = (log ?? Serilog.Core.Logger.None).ForContext<PtyDeviceServer>();
        _pty = PseudoTerminal.Open();
    }

    /// <summary>The device a client opens, e.g. <c>/dev/pts/3</c>.</summary>
    public string SlavePath => _pty.SlavePath;

    /// <summary>Completes when serving ends (end of stream on the master, or <see cref="DisposeAsync"/>).</summary>
    public Task Serving => _serving ?? throw new InvalidOperationException("PtyDeviceServer is not started.");

    public void Start()
    {
        if (_serving is not null)
        {
            throw new InvalidOperationException("PtyDeviceServer is already started.");
        }

        _log.Information("Simulated device on pseudo-terminal {Device}", SlavePath);
        _serving = ServeLoopAsync(_stop.Token);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        if (_serving is not null)
        {
            try
            {
                await _serving.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                _log.Information("Simulated device on {Device} stopped", SlavePath);
            }
        }

        _pty.Dispose();
        _stop.Dispose();
    }

    private async Task ServeLoopAsync(CancellationToken ct)
    {
        while (await _server.ServeSessionAsync(_pty.Master, ct).ConfigureAwait(false))
        {
            _log.Information("Disconnect fault on {Device}: pending input discarded, serving on", SlavePath);
        }

        _log.Information("Pseudo-terminal {Device} reached end of stream", SlavePath);
    }
}
