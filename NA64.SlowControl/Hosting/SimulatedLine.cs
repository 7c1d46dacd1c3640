using NA64.SlowControl.Devices;
using NA64.Hardware.Transport;
using NA64.Simulators.Serving;
using Serilog;

namespace NA64.SlowControl.Hosting;

/// <summary>
/// One simulated port of any kind (an RS-485 chain of CAEN boards, a Genesys multi-drop line, a beam-line gateway)
/// served in-process over an in-memory duplex pipe. Each (re)connect of the host side opens a fresh pipe and a fresh
/// serving loop, as a real port would.
/// </summary>
public sealed class SimulatedLine<TPort> : IAsyncDisposable
    where TPort : SimulatedPort
{
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _sessions = [];

    public SimulatedLine(string name, TPort port, TimeProvider time, ILogger log)
    {
        Name = name;
        Port = port;
        Server = new LineDeviceServer(port.Device, time, log: log);
        Endpoint = new InMemoryEndpoint(Connect, name);
    }

    public string Name { get; }
    public InMemoryEndpoint Endpoint { get; }

    /// <summary>The simulated devices behind this port.</summary>
    public TPort Port { get; }

    /// <summary>Serves the port; its <see cref="LineDeviceServer.Faults"/> are the line's (silence, garble, disconnect).</summary>
    public LineDeviceServer Server { get; }

    private Stream Connect()
    {
        var (host, device) = InMemoryDuplex.CreatePair();
        var server = Server;
        lock (_sessions)
        {
            _sessions.RemoveAll(t => t.IsCompleted);
            _sessions.Add(Task.Run(async () =>
            {
                await using (device.ConfigureAwait(false))
                    await server.ServeAsync(device, _stop.Token).ConfigureAwait(false);
            }));
        }

        return host;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        Task[] sessions;
        lock (_sessions)
            sessions = [.. _sessions];
        try
        {
            await Task.WhenAll(sessions).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // The serving loops end by cancellation at shutdown: that is their normal way out.
        }

        _stop.Dispose();
    }
}
