using System.Globalization;
using System.Net;
using NA64.Hardware.Digitizers.Msadc;
using NA64.Simulators.Physics;
using Serilog;

namespace NA64.Simulators.Digitizers.Msadc;

/// <summary>One simulated MSADC module of a standalone crate: S-Link source, HotLink port, first detector-layout channel.</summary>
public sealed record SimulatedMsadcModule(string Name, int SourceId, int Port, int FirstChannel);

/// <summary>
/// A simulated MSADC crate serving real UDP sockets, for a host in another process (or a test) configured with
/// <c>udp:</c> endpoints: each module's control server listens on its own UDP port, and each S-Link source sends its
/// fragments to the host's data endpoint. The trigger system behaves like a TCS left running by the shifter: it fires
/// <see cref="Mode"/> triggers while every module is running (the host's START of the last module starts it, the first
/// STOP ends it), with no limit; over UDP nothing waits for the host, so what the host cannot take is lost.
/// </summary>
public sealed class MsadcUdpCrateServer : IAsyncDisposable
{
    private readonly MsadcDevice[] _devices;
    private readonly UdpRegisterEndpoint[] _endpoints;
    private readonly UdpDatagramChannel[] _data;
    private readonly ILogger _log;
    private readonly object _lock = new();
    private readonly CancellationTokenSource _stop = new();
    private Task _serving = Task.CompletedTask;
    private Task _transition = Task.CompletedTask;
    private bool _firing;

    /// <param name="dataTargets">Per source id, the host's data endpoint (its <c>readout.sources[].data</c>).</param>
    /// <param name="controlAddress">Address the control servers bind (e.g. 127.0.0.1); ports from <paramref name="firstControlPort"/> on, or any free port when 0.</param>
    public MsadcUdpCrateServer(Na64EventGenerator generator, IReadOnlyList<SimulatedMsadcModule> modules,
        IReadOnlyDictionary<int, IPEndPoint> dataTargets, IPAddress controlAddress, int firstControlPort = 0, int timedInLatency = 0,
        ILogger? log = null)
    {
        ArgumentNullException.ThrowIfNull(generator);
        ArgumentNullException.ThrowIfNull(modules);
        ArgumentNullException.ThrowIfNull(dataTargets);
        ArgumentNullException.ThrowIfNull(controlAddress);
        if (modules.Count == 0)
            throw new ArgumentException("a crate needs at least one module", nameof(modules));
        if (firstControlPort is < 0 or > 65535)
            throw new ArgumentOutOfRangeException(nameof(firstControlPort), firstControlPort, "control port must be 0 (any) or 1..65535");
        _log = log ?? Serilog.Core.Logger.None;
        _devices = [.. modules.Select(m => new MsadcDevice(m.Name, m.SourceId, m.Port))];
        var endpoints = new List<UdpRegisterEndpoint>();
        var data = new List<UdpDatagramChannel>();
        try
        {
            for (int i = 0; i < _devices.Length; i++)
            {
                int port = firstControlPort == 0 ? 0 : firstControlPort + i;
                endpoints.Add(new MsadcControlServer(_devices[i], _log).ListenUdp(new IPEndPoint(controlAddress, port)));
            }

            var sources = new List<(MsadcSourceSimulator, IDatagramChannel)>();
            foreach (var group in modules.Select((m, i) => (Module: m, Device: _devices[i])).GroupBy(x => x.Module.SourceId))
            {
                if (!dataTargets.TryGetValue(group.Key, out var target))
                    throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"no data endpoint for source {group.Key}"), nameof(dataTargets));
                var channel = new UdpDatagramChannel(target);
                data.Add(channel);
                var paths = group.Select(x => new MsadcDataPath(x.Device, x.Module.FirstChannel, generator.Synthesizer, timedInLatency)).ToArray();
                sources.Add((new MsadcSourceSimulator(group.Key, paths, _log), channel));
            }

            Crate = new MsadcCrateSimulator(generator, sources, _log);
        }
        catch
        {
            foreach (var endpoint in endpoints)
                endpoint.Dispose();
            foreach (var channel in data)
                channel.Dispose();
            throw;
        }

        _endpoints = [.. endpoints];
        _data = [.. data];
        foreach (var device in _devices)
            device.StateChanged += OnStateChanged;
    }

    /// <summary>What the TCS fires the next time every module is running (the shifter's choice: beam, or random for pedestals).</summary>
    public SimulatedTriggerMode Mode { get; set; } = SimulatedTriggerMode.Beam;

    public MsadcCrateSimulator Crate { get; }

    public IReadOnlyList<MsadcDevice> Devices => _devices;

    /// <summary>Each module's control endpoint, in the order the modules were given (what the host's <c>control: udp:...</c> names).</summary>
    public IReadOnlyList<IPEndPoint> ControlEndpoints => [.. _endpoints.Select(e => e.LocalEndPoint)];

    /// <summary>Answers control requests until <see cref="DisposeAsync"/>.</summary>
    public Task Start()
    {
        if (!_serving.IsCompleted)
            throw new InvalidOperationException("the crate is already serving");
        _serving = Task.WhenAll(_endpoints.Select(e => ServeAsync(e, _stop.Token)));
        return _serving;
    }

    /// <summary>The last start or stop of the trigger system (tests wait on it; it rethrows a failure of the TCS).</summary>
    public Task Transition
    {
        get
        {
            lock (_lock)
                return _transition;
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var device in _devices)
            device.StateChanged -= OnStateChanged;
        await _stop.CancelAsync().ConfigureAwait(false);
        await Crate.DisposeAsync().ConfigureAwait(false);
        foreach (var endpoint in _endpoints)
            endpoint.Dispose();
        await _serving.ConfigureAwait(false);
        foreach (var channel in _data)
            channel.Dispose();
        _stop.Dispose();
    }

    private void OnStateChanged(MsadcDevice device, MsadcRunState state)
    {
        lock (_lock)
        {
            bool all = _devices.All(d => d.State == MsadcRunState.Running);
            if (all && !_firing)
            {
                _firing = true;
                var mode = Mode;
                _log.Information("Simulated crate: every module running, TCS fires {Mode} triggers", mode);
                // Chained, so that a start never overtakes the stop before it.
                _transition = _transition.ContinueWith(previous =>
                {
                    LogFailure(previous);
                    Crate.StartTriggers(new TriggerProgram(mode));
                }, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
            }
            else if (!all && _firing && state != MsadcRunState.Running)
            {
                _firing = false;
                _log.Information("Simulated crate: module {Module} left running, TCS stops", device.Name);
                _transition = _transition.ContinueWith(previous =>
                {
                    LogFailure(previous);
                    return Crate.StopTriggersAsync();
                }, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default).Unwrap();
            }
        }
    }

    private void LogFailure(Task previous)
    {
        // The chain goes on after a failed start or stop (the next run must be able to start the TCS again); the failure is logged.
        if (previous.Exception is { } failure)
            _log.Error(failure, "Simulated crate: the TCS start or stop before failed");
    }

    private static async Task ServeAsync(UdpRegisterEndpoint endpoint, CancellationToken ct)
    {
        try
        {
            await endpoint.RunAsync(ct).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // The crate is shut down.
        }
    }
}
