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
    public async Task Pedestal_and_physics_runs_over_UDP_build_every_trigger_or_count_what_the_network_lost()
    {
        await using var kit = ReadoutTestKit.Create(signalFraction: 0.02);
        var readout = kit.Run.Readout;

        // The "installation" in another process: simulated modules and crate on real UDP sockets (loopback).
        var modules = readout.AllModules.Select(x => new SimulatedMsadcModule(x.Module.Name, x.Source.SourceId, x.Module.Port, x.Module.FirstChannel)).ToArray();
        var dataPorts = readout.Sources.ToDictionary(s => s.SourceId, _ => FreeUdpPort());
        var generator = new Na64EventGenerator(SimulatedMsadcCrate.PhysicsOptionsFor(readout), readout.Beam.Seed);
        await using var server = new MsadcUdpCrateServer(generator, modules,
            dataPorts.ToDictionary(p => p.Key, p => new IPEndPoint(IPAddress.Loopback, p.Value)), IPAddress.Loopback, 0, readout.Beam.TimedInLatency);
        var serving = server.Start();
        var control = modules.Zip(server.ControlEndpoints).ToDictionary(x => x.First.Name, x => x.Second.Port);
        var sources = readout.Sources.Select(s => s with
        {
            Data = $"udp:127.0.0.1:{dataPorts[s.SourceId]}",
            Modules = s.Modules.Select(m => m with { Control = $"udp:127.0.0.1:{control[m.Name]}" }).ToArray(),
        }).ToArray();
        var setup = SetupLoader.LoadDefault() with { Readout = readout with { Sources = sources } };
        await using var run = new ReadoutRun(setup, "udp test", TimeProvider.System, null, kit.Directory);
        Assert.Null(run.Crate.Simulator);

        // The shifter selects random triggers at the TCS for the pedestal run; the TCS fires while every module runs.
        server.Mode = SimulatedTriggerMode.RandomNoBeam;
        var pedestals = await run.PedestalRunAsync(200).WaitAsync(Safety);
        await server.Transition.WaitAsync(Safety);
        Assert.Equal(200, pedestals.Transport!.Triggers);
        Assert.Equal(modules.Length * (3 + (3 * 64)), pedestals.RegistersVerified);
        Assert.All(pedestals.Tables, t => Assert.InRange(t[0].PedestalEven, 100, 400));

        server.Mode = SimulatedTriggerMode.Beam;
        const int events = 300;
        var result = await run.PhysicsRunAsync(new PhysicsRunRequest { Events = events }).WaitAsync(Safety);
        await server.Transition.WaitAsync(Safety);

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
        Assert.All(server.Devices, d => Assert.Equal(MsadcRunState.Idle, d.State));
        Assert.False(serving.IsCompleted);
    }
}
