using System.Net;
using System.Net.Sockets;
using NA64.Hardware.Digitizers.Msadc;
using NA64.Readout.Pipeline;
using NA64.SlowControl.Readout;
using NA64.SlowControl.Setup;
using NA64.Simulators.Digitizers.Msadc;
using NA64.Simulators.Physics;

namespace NA64.SlowControl.Tests.Readout;

/// <summary>The host on <c>udp:</c> endpoints, with the simulated modules and crate serving real UDP sockets on loopback.</summary>
public sealed class ReadoutOverUdpTests
{
    /// <summary>Safety limit on real-time waits; a correct run never comes near it.</summary>
    private static readonly TimeSpan Safety = TimeSpan.FromSeconds(60);

    private static int FreeUdpPort()
    {
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)probe.LocalEndPoint!).Port;
    }

    [Fact]
    public async Task Physics_run_over_UDP_builds_every_trigger_or_counts_what_the_network_lost()
    {
        // Pedestal tables from a simulated run of the same modules, in the directory the UDP run reads.
        await using var kit = ReadoutTestKit.Create(signalFraction: 0.02);
        await kit.Run.PedestalRunAsync(200);
        var readout = kit.Run.Readout;

        // The "installation": each module's control server on its own UDP port, the crate sending to the host's data ports.
        using var stop = new CancellationTokenSource();
        var generator = new Na64EventGenerator(SimulatedMsadcCrate.PhysicsOptionsFor(readout), readout.Beam.Seed);
        var devices = new List<MsadcDevice>();
        var endpoints = new List<MsadcControlServer.UdpControlEndpoint>();
        var servers = new List<Task>();
        var sources = new List<ReadoutSourceSetup>();
        var simulated = new List<(MsadcSourceSimulator, IDatagramChannel)>();
        foreach (var source in readout.Sources)
        {
            int dataPort = FreeUdpPort();
            var modules = new List<ReadoutModuleSetup>();
            var paths = new List<MsadcDataPath>();
            foreach (var module in source.Modules)
            {
                var device = new MsadcDevice(module.Name, source.SourceId, module.Port);
                devices.Add(device);
                var endpoint = new MsadcControlServer(device).ListenUdp(new IPEndPoint(IPAddress.Loopback, 0));
                endpoints.Add(endpoint);
                servers.Add(ServeAsync(endpoint, stop.Token));
                paths.Add(new MsadcDataPath(device, module.FirstChannel, generator.Synthesizer, readout.Beam.TimedInLatency));
                modules.Add(module with { Control = $"udp:127.0.0.1:{endpoint.LocalEndPoint.Port}" });
            }

            sources.Add(source with { Modules = modules, Data = $"udp:127.0.0.1:{dataPort}" });
            simulated.Add((new MsadcSourceSimulator(source.SourceId, paths), new UdpDatagramChannel(new IPEndPoint(IPAddress.Loopback, dataPort))));
        }

        var setup = SetupLoader.LoadDefault() with { Readout = readout with { Sources = sources } };
        await using var crate = new MsadcCrateSimulator(generator, simulated);
        await using var run = new ReadoutRun(setup, "udp test", TimeProvider.System, null, kit.Directory);
        Assert.Null(run.Crate.Simulator);

        const int events = 300;
        var allRunning = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        foreach (var device in devices)
            device.StateChanged += (_, _) =>
            {
                if (devices.All(d => d.State == MsadcRunState.Running))
                    allRunning.TrySetResult();
            };
        var physics = run.PhysicsRunAsync(new PhysicsRunRequest { Events = events });
        // The shifter starts the beam trigger once the run control has started the modules.
        await Task.WhenAny(allRunning.Task, physics).WaitAsync(Safety);
        Assert.False(physics.IsFaulted, physics.Exception?.ToString());

        var firing = crate.StartTriggers(new TriggerProgram(SimulatedTriggerMode.Beam));
        var result = await physics.WaitAsync(Safety);
        await crate.StopTriggersAsync();
        Assert.True(firing.IsCompletedSuccessfully);
        await stop.CancelAsync();
        foreach (var endpoint in endpoints)
            endpoint.Dispose();
        await Task.WhenAll(servers);

        // Every trigger the host numbered is built or counted: a datagram lost on loopback (a full socket buffer) shows as
        // an event-number gap and its event as a missing source; nothing vanishes.
        var p = result.Pipeline;
        Assert.True(p.IsBalanced);
        Assert.Equal(events, p.EventsIn);
        Assert.Equal(events, result.Triggers);
        long missing = p.GetDropped(DropReason.MissingSource) + p.GetDropped(DropReason.SkippedAfterMissingSource);
        Assert.Equal(events - missing, p.EventsBuilt);
        Assert.True(result.Transport!.Lost >= p.GetDropped(DropReason.MissingSource),
            $"{p.GetDropped(DropReason.MissingSource)} events missed a source but only {result.Transport.Lost} datagrams are counted lost");
        Assert.Empty(result.Transport.Faults);
        Assert.Empty(result.Transport.Unfinished);
        // The same physics arrives over UDP: the electron peak at 100 GeV.
        Assert.InRange(result.ElectronPeak.Mean, 98.0, 101.0);
        Assert.All(devices, d => Assert.Equal(MsadcRunState.Idle, d.State));
    }

    private static async Task ServeAsync(MsadcControlServer.UdpControlEndpoint endpoint, CancellationToken ct)
    {
        try
        {
            await endpoint.RunAsync(ct);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // End of the test: the server stops with it.
        }
    }
}
