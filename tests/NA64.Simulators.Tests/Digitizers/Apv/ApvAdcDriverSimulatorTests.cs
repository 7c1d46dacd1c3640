using System.Net;
using Microsoft.Extensions.Time.Testing;
using NA64.Hardware.Digitizers.Apv;
using NA64.Hardware.Digitizers.Msadc;
using NA64.Hardware.Errors;
using NA64.Simulators.Digitizers.Apv;

namespace NA64.Simulators.Tests.Digitizers.Apv;

/// <summary>The APV-ADC driver against the simulated module, over the in-memory pair (and once over real UDP).</summary>
public sealed class ApvAdcDriverSimulatorTests : IDisposable
{
    private readonly CancellationTokenSource _stop = new();

    private static readonly ApvAdcModuleOptions Options = new()
    {
        Name = "MM-ADC0", SourceId = 622, AdcId = 3, ReplyTimeout = TimeSpan.FromMilliseconds(100), Retries = 2,
    };

    public void Dispose()
    {
        _stop.Cancel();
        _stop.Dispose();
    }

    /// <summary>Entries differ from their neighbours and from every other salt's, so a misplaced or lost write shows.</summary>
    private static ApvChannelSettings[] VariedTables(int salt = 0)
    {
        var channels = new ApvChannelSettings[ApvAdcRegisters.ChannelsPerAdc];
        for (int i = 0; i < channels.Length; i++)
            channels[i] = new ApvChannelSettings(300 + (i + salt) % 500, 8 + (i + salt) % 40, (7 * i + salt) % 1024);
        return channels;
    }

    private static ApvAdcConfiguration Varied(int salt = 0) => new(ApvAdcRegisters.TypicalMode, 117, VariedTables(salt));

    private (ApvAdcModule Module, ApvAdcControlServer Server) InMemory(TimeProvider time)
    {
        var (host, device) = InMemoryDatagramChannel.CreatePair("mm-adc0");
        var server = new ApvAdcControlServer(new ApvAdcDevice("MM-ADC0", 622, 3));
        _ = server.ServeAsync(device, _stop.Token);
        return (new ApvAdcModule(host, Options, time), server);
    }

    private static async Task AssertRoundTrip(ApvAdcModule module, ApvAdcDevice device)
    {
        var configuration = Varied();
        await module.ConfigureAsync(configuration);
        var back = await module.ReadConfigurationAsync();
        Assert.Equal((configuration.Mode, configuration.Latency), (back.Mode, back.Latency));
        Assert.Equal(configuration.Channels, back.Channels);
        Assert.Equal((ApvAdcRegisters.TypicalMode, 117), (device.Mode, device.Latency));
        Assert.Equal(configuration.Channels, (await device.ReadConfigurationAsync()).Channels);

        await module.ArmAsync();
        await module.StartAsync();
        Assert.True(device.AcceptTrigger());
        Assert.True(device.AcceptTrigger());
        Assert.Equal(new ApvAdcStatus(MsadcRunState.Running, 2), await module.ReadStatusAsync());
        await module.StopAsync();
        Assert.Equal(MsadcRunState.Idle, (await module.ReadStatusAsync()).State);
    }

    [Fact]
    public async Task Configure_verify_read_back_and_run_control_over_the_in_memory_pair()
    {
        var (module, server) = InMemory(new FakeTimeProvider());
        await AssertRoundTrip(module, server.Device);
        Assert.Equal((0L, 0L), (module.StrayReplies, module.Retries));
    }

    [Fact]
    public async Task Configure_read_back_and_run_control_over_real_udp_loopback()
    {
        var server = new ApvAdcControlServer(new ApvAdcDevice("MM-ADC0", 622, 3));
        using var endpoint = server.ListenUdp(new IPEndPoint(IPAddress.Loopback, 0));
        var serving = endpoint.RunAsync(_stop.Token);
        using var channel = new UdpDatagramChannel(endpoint.LocalEndPoint);
        // Real sockets: a generous timeout, nothing is asserted about time.
        var module = new ApvAdcModule(channel, Options with { ReplyTimeout = TimeSpan.FromSeconds(5) });
        await AssertRoundTrip(module, server.Device);
        Assert.False(serving.IsFaulted);
    }

    [Fact]
    public async Task Run_start_practice_pedestal_run_in_latch_all_then_thresholds_downloaded_then_sparse()
    {
        var (module, server) = InMemory(new FakeTimeProvider());
        // na64-setup.md §10.3: latch-all without beam for the pedestal run ...
        await module.ConfigureAsync(ApvAdcConfiguration.Uniform(ApvAdcMode.TripleFrame, 117, new ApvChannelSettings(0, 0, 0)));
        Assert.False(server.Device.Mode.HasFlag(ApvAdcMode.Sparse));
        // ... then the pedestals, sigmas and thresholds it produced are downloaded, and the module goes sparse.
        var tables = VariedTables(salt: 7);
        await module.DownloadTablesAsync(tables);
        await module.SetModeAsync(ApvAdcRegisters.TypicalMode);
        var back = await module.ReadConfigurationAsync();
        Assert.Equal((ApvAdcRegisters.TypicalMode, 117), (back.Mode, back.Latency));
        Assert.Equal(tables, back.Channels);
    }

    [Fact]
    public async Task A_table_write_that_does_not_stick_is_caught_by_the_read_back_naming_register_and_both_values()
    {
        var (module, server) = InMemory(new FakeTimeProvider());
        await module.ConfigureAsync(Varied());
        server.Device.InjectNonStickingWrite(ApvAdcRegisters.Threshold(2, 17));
        var again = Varied(salt: 1);
        var ex = await Assert.ThrowsAsync<ApvAdcReadBackException>(() => module.DownloadTablesAsync(again.Channels));
        var expected = new ApvAdcRegisterMismatch(0x4111, "Threshold[2][17]",
            (uint)again.Channels[273].Threshold, (uint)Varied().Channels[273].Threshold);
        Assert.Equal(expected, Assert.Single(ex.Mismatches));
        Assert.Equal($"MM-ADC0: register Threshold[2][17] (0x4111) written {expected.Written}, read back {expected.ReadBack}", ex.Message);
        Assert.Equal(1536, ex.CheckedCount);
        Assert.Equal(1, server.Device.LostWrites);
    }

    [Fact]
    public async Task Several_non_sticking_writes_are_all_listed_and_the_mode_is_not_switched_to_sparse()
    {
        var (module, server) = InMemory(new FakeTimeProvider());
        server.Device.InjectNonStickingWrite(ApvAdcRegisters.Pedestal(0, 5));
        server.Device.InjectNonStickingWrite(ApvAdcRegisters.Sigma(3, 127));
        var ex = await Assert.ThrowsAsync<ApvAdcReadBackException>(() => module.ConfigureAsync(Varied()));
        Assert.Equal(["Pedestal[0][5]", "Sigma[3][127]"], ex.Mismatches.Select(m => m.Register));
        Assert.All(ex.Mismatches, m => Assert.Equal(0u, m.ReadBack));
        Assert.EndsWith("; 2 of 1536 registers differ", ex.Message, StringComparison.Ordinal);
        // Tables are loaded before the mode: a module whose thresholds did not load stays out of sparse mode.
        Assert.Equal(ApvAdcMode.TripleFrame, server.Device.Mode);
    }

    [Fact]
    public async Task A_silent_module_is_retried_in_simulated_time_then_times_out()
    {
        var time = new FakeTimeProvider();
        var (module, server) = InMemory(time);
        server.Silent = true;
        var task = module.ReadRegisterAsync(ApvAdcRegisters.FirmwareVersion);
        for (int attempt = 1; attempt <= 3; attempt++)
        {
            // The reply timer is armed before the request goes out; once the simulator has ignored it, advance.
            while (server.UnansweredRequests < attempt)
                await Task.Yield();
            Assert.False(task.IsCompleted);
            time.Advance(TimeSpan.FromMilliseconds(100));
        }
        var ex = await Assert.ThrowsAsync<DeviceTimeoutException>(() => task);
        Assert.Equal("mem:mm-adc0/device", ex.Port);
        Assert.Equal((3L, 2L), (server.UnansweredRequests, module.Retries));

        // Back from silence: the next request is answered, nothing left over from the timed-out ones.
        server.Silent = false;
        Assert.Equal(ApvAdcDevice.Firmware, await module.ReadRegisterAsync(ApvAdcRegisters.FirmwareVersion));
    }

    [Fact]
    public async Task A_garbled_reply_is_dropped_counted_and_the_request_retried()
    {
        var time = new FakeTimeProvider();
        var (module, server) = InMemory(time);
        server.GarbleNextReplies(1);
        var task = module.ReadRegisterAsync(ApvAdcRegisters.AdcId);
        while (module.StrayReplies == 0)
            await Task.Yield();
        Assert.False(task.IsCompleted);
        time.Advance(TimeSpan.FromMilliseconds(100));
        Assert.Equal(3u, await task);
        Assert.Equal((1L, 1L, 1L), (server.GarbledReplies, module.StrayReplies, module.Retries));
    }

    [Fact]
    public async Task Only_garbled_replies_end_in_a_timeout()
    {
        var time = new FakeTimeProvider();
        var (module, server) = InMemory(time);
        server.GarbleNextReplies(10);
        var task = module.ReadStatusAsync();
        for (int attempt = 1; attempt <= 3; attempt++)
        {
            while (module.StrayReplies < attempt)
                await Task.Yield();
            time.Advance(TimeSpan.FromMilliseconds(100));
        }
        await Assert.ThrowsAsync<DeviceTimeoutException>(() => task);
        Assert.Equal(3, module.StrayReplies);
    }

    [Fact]
    public async Task A_retried_arm_whose_first_reply_was_lost_is_accepted_when_the_module_is_armed()
    {
        var time = new FakeTimeProvider();
        var (module, server) = InMemory(time);
        server.DropNextReplies(1);
        var arm = module.ArmAsync();
        while (server.DroppedReplies == 0)
            await Task.Yield();
        Assert.False(arm.IsCompleted);
        time.Advance(TimeSpan.FromMilliseconds(100));
        await arm.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(MsadcRunState.Armed, server.Device.State);
    }

    [Fact]
    public async Task While_running_tables_and_mode_are_refused_by_the_device_but_the_latency_may_move()
    {
        var (module, server) = InMemory(new FakeTimeProvider());
        await module.ArmAsync();
        await module.StartAsync();
        var ex = await Assert.ThrowsAsync<DeviceReplyException>(() => module.SetModeAsync(ApvAdcMode.TripleFrame));
        Assert.Contains("Write Mode refused by the module: WrongState", ex.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<DeviceReplyException>(() => module.WriteRegisterAsync(ApvAdcRegisters.Threshold(0, 0), 5));
        await module.WriteRegisterAsync(ApvAdcRegisters.Latency, 120);
        Assert.Equal(120, server.Device.Latency);
    }

    [Fact]
    public async Task Start_without_arm_is_refused_by_the_device()
    {
        var (module, _) = InMemory(new FakeTimeProvider());
        var ex = await Assert.ThrowsAsync<DeviceReplyException>(() => module.StartAsync());
        Assert.Contains("WrongState", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0x1001, 0x100u)]
    [InlineData(0x0010, 192u)]
    [InlineData(0x2000, 1024u)]
    [InlineData(0x31FF, 4096u)]
    [InlineData(0x4111, 1024u)]
    public void The_simulator_refuses_a_value_the_driver_would_not_send(ushort register, uint value)
    {
        var server = new ApvAdcControlServer(new ApvAdcDevice("MM-ADC0", 622, 3));
        var reply = new byte[16];
        int n = server.Handle(MsadcProtocol.ToBytes(new MsadcFrame(MsadcOpcode.Write, false, 9, register, MsadcReplyStatus.Ok, value)), reply);
        var frame = MsadcProtocol.Read(reply.AsSpan(0, n));
        Assert.Equal((true, 9u, MsadcReplyStatus.ValueOutOfRange), (frame.IsReply, frame.Sequence, frame.Status));
        Assert.Equal(MsadcReplyStatus.Ok, server.Device.Read(register, out uint stored));
        Assert.NotEqual(value, stored);
    }
}
