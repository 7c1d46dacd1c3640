using System.Net;
using Microsoft.Extensions.Time.Testing;
using NA64.Hardware.Digitizers.Msadc;
using NA64.Hardware.Errors;
using NA64.Simulators.Digitizers.Msadc;

namespace NA64.Simulators.Tests.Digitizers.Msadc;

/// <summary>The driver that runs at CERN against the simulated module, over the in-memory pair and over real UDP.</summary>
public sealed class MsadcDriverSimulatorTests : IDisposable
{
    private readonly CancellationTokenSource _stop = new();

    private static readonly MsadcModuleOptions Options = new()
    {
        Name = "ECAL-A", SourceId = 610, Port = 2, ReplyTimeout = TimeSpan.FromMilliseconds(100), Retries = 1,
    };

    public void Dispose()
    {
        _stop.Cancel();
        _stop.Dispose();
    }

    private static MsadcConfiguration Varied()
    {
        var channels = new MsadcChannelSettings[64];
        for (int c = 0; c < 64; c++)
            channels[c] = new MsadcChannelSettings(100 + 4 * c, 103 + 4 * c, 5 + c);
        return new MsadcConfiguration(MsadcMode.Sparse, 27, 123, channels);
    }

    private (MsadcModule Module, MsadcControlServer Server, Task Serving) InMemory(TimeProvider time)
    {
        var (host, device) = InMemoryDatagramChannel.CreatePair("ecal-a");
        var server = new MsadcControlServer(new MsadcDevice("ECAL-A", 610, 2));
        var serving = server.ServeAsync(device, _stop.Token);
        return (new MsadcModule(host, Options, time), server, serving);
    }

    private static async Task AssertRoundTrip(MsadcModule module, MsadcDevice device)
    {
        var configuration = Varied();
        await module.ConfigureAsync(configuration);
        var back = await module.ReadConfigurationAsync();
        Assert.Equal((configuration.Mode, configuration.SamplesPerChannel, configuration.Latency),
            (back.Mode, back.SamplesPerChannel, back.Latency));
        Assert.Equal(configuration.Channels, back.Channels);
        Assert.Equal((MsadcMode.Sparse, 27, 123), (device.Mode, device.SamplesPerChannel, device.Latency));

        await module.ArmAsync();
        await module.StartAsync();
        Assert.True(device.AcceptTrigger());
        Assert.True(device.AcceptTrigger());
        Assert.Equal(new MsadcStatus(MsadcRunState.Running, 2), await module.ReadStatusAsync());
        await module.StopAsync();
        Assert.Equal(MsadcRunState.Idle, (await module.ReadStatusAsync()).State);
    }

    [Fact]
    public async Task Configure_read_back_and_run_control_over_the_in_memory_pair()
    {
        var (module, server, _) = InMemory(new FakeTimeProvider());
        await AssertRoundTrip(module, server.Device);
        Assert.Equal(0, module.StrayReplies);
    }

    [Fact]
    public async Task Configure_read_back_and_run_control_over_real_udp_loopback()
    {
        var server = new MsadcControlServer(new MsadcDevice("ECAL-A", 610, 2));
        using var endpoint = server.ListenUdp(new IPEndPoint(IPAddress.Loopback, 0));
        var serving = endpoint.RunAsync(_stop.Token);
        using var channel = new UdpDatagramChannel(endpoint.LocalEndPoint);
        // Real sockets: a generous timeout, nothing is asserted about time.
        var module = new MsadcModule(channel, Options with { ReplyTimeout = TimeSpan.FromSeconds(5) });
        await AssertRoundTrip(module, server.Device);
        Assert.False(serving.IsFaulted);
    }

    [Fact]
    public async Task Stuck_register_in_the_simulator_is_caught_by_write_verify()
    {
        var (module, server, _) = InMemory(new FakeTimeProvider());
        server.Device.InjectStuckRegister(MsadcRegisters.Threshold(17), 5);
        var ex = await Assert.ThrowsAsync<DeviceReplyException>(() => module.ConfigureAsync(Varied()));
        Assert.Contains("Threshold[17] written 22, read back 5", ex.Message, StringComparison.Ordinal);
        // Channels after the faulty register were never written: the failure stops the configuration.
        Assert.Equal(0, (await server.Device.ReadConfigurationAsync()).Channels[18].Threshold);
    }

    [Fact]
    public async Task Start_without_arm_is_refused_by_the_device()
    {
        var (module, _, _) = InMemory(new FakeTimeProvider());
        var ex = await Assert.ThrowsAsync<DeviceReplyException>(() => module.StartAsync());
        Assert.Contains("WrongState", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Simulator_refuses_a_value_the_driver_would_not_send()
    {
        var server = new MsadcControlServer(new MsadcDevice("ECAL-A", 610, 2));
        var reply = new byte[16];
        int n = server.Handle(MsadcProtocol.ToBytes(new MsadcFrame(MsadcOpcode.Write, false, 9,
            MsadcRegisters.SamplesPerChannel, MsadcReplyStatus.Ok, 40)), reply);
        var frame = MsadcProtocol.Read(reply.AsSpan(0, n));
        Assert.Equal((true, 9u, MsadcReplyStatus.ValueOutOfRange), (frame.IsReply, frame.Sequence, frame.Status));
        Assert.Equal(32, server.Device.SamplesPerChannel);
    }

    [Fact]
    public async Task A_lost_request_is_retried_in_simulated_time()
    {
        var time = new FakeTimeProvider();
        var (module, server, _) = InMemory(time);
        server.DropNextRequests(1);
        var task = module.ReadRegisterAsync(MsadcRegisters.FirmwareVersion);
        // The reply timer is armed before the request goes out; once the simulator has dropped it, advance.
        while (server.DroppedRequests == 0)
            await Task.Yield();
        Assert.False(task.IsCompleted);
        time.Advance(TimeSpan.FromMilliseconds(100));
        Assert.Equal(MsadcDevice.Firmware, await task);
    }

    [Fact]
    public async Task A_retried_start_whose_first_reply_was_lost_is_accepted_when_the_module_runs()
    {
        var time = new FakeTimeProvider();
        var (module, server, _) = InMemory(time);
        await module.ArmAsync().WaitAsync(TimeSpan.FromSeconds(30));
        server.DropNextReplies(1);
        var start = module.StartAsync();
        // The module executed START but its reply is lost: the driver retries, is refused (WrongState), asks STATUS.
        while (server.DroppedReplies == 0)
            await Task.Yield();
        Assert.False(start.IsCompleted);
        time.Advance(TimeSpan.FromMilliseconds(100));
        await start.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(MsadcRunState.Running, server.Device.State);

        // A refusal that is not a lost reply still stands: START while running, first attempt.
        var e = await Assert.ThrowsAsync<DeviceReplyException>(() => module.StartAsync());
        Assert.Contains("WrongState", e.Message, StringComparison.Ordinal);
    }
}
