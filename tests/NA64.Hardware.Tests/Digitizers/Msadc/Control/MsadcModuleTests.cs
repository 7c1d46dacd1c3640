using Microsoft.Extensions.Time.Testing;
using NA64.Hardware.Digitizers.Msadc;
using NA64.Hardware.Errors;

namespace NA64.Hardware.Tests.Digitizers.Msadc.Control;

/// <summary>Driver against a scripted device end of an in-memory pair: every reply is written by the test.</summary>
public class MsadcModuleTests
{
    private static readonly MsadcModuleOptions Options = new()
    {
        Name = "ECAL-A", SourceId = 610, Port = 2, ReplyTimeout = TimeSpan.FromMilliseconds(100), Retries = 2,
    };

    private static MsadcConfiguration Good(int samples = 32, int threshold = 10) =>
        MsadcConfiguration.Uniform(MsadcMode.Sparse, samples, 40, new MsadcChannelSettings(200, 203, threshold));

    private static async Task<MsadcFrame> ReceiveRequest(InMemoryDatagramChannel device)
    {
        var buffer = new byte[64];
        int n = await device.ReceiveAsync(buffer, CancellationToken.None);
        return MsadcProtocol.Read(buffer.AsSpan(0, n));
    }

    private static ValueTask Reply(InMemoryDatagramChannel device, MsadcFrame request, uint value,
        MsadcReplyStatus status = MsadcReplyStatus.Ok, uint? sequence = null) =>
        device.SendAsync(MsadcProtocol.ToBytes(new MsadcFrame(request.Opcode, true, sequence ?? request.Sequence,
            request.Register, status, value)), CancellationToken.None);

    [Theory]
    [InlineData(33, "maximum", 32)]
    [InlineData(24, "minimum", 25)]
    public async Task Samples_out_of_range_are_refused_and_nothing_is_sent(int samples, string limitName, int limit)
    {
        var (host, device) = InMemoryDatagramChannel.CreatePair();
        var module = new MsadcModule(host, Options, new FakeTimeProvider());
        var ex = await Assert.ThrowsAsync<SetpointOutOfRangeException>(() => module.ConfigureAsync(Good(samples)));
        Assert.Equal(("SamplesPerChannel", (double)samples, (double)limit, limitName), (ex.Parameter, ex.Value, ex.Limit, ex.LimitName));
        Assert.Equal(0, host.SentCount);
        Assert.Equal(0, device.PendingCount);
    }

    [Fact]
    public async Task A_bad_threshold_on_one_channel_refuses_the_whole_configuration_before_sending()
    {
        var (host, device) = InMemoryDatagramChannel.CreatePair();
        var module = new MsadcModule(host, Options, new FakeTimeProvider());
        var channels = Enumerable.Repeat(new MsadcChannelSettings(200, 203, 10), 64).ToArray();
        channels[17] = channels[17] with { Threshold = 5000 };
        var ex = await Assert.ThrowsAsync<SetpointOutOfRangeException>(() =>
            module.ConfigureAsync(new MsadcConfiguration(MsadcMode.Sparse, 32, 40, channels)));
        Assert.Equal("ECAL-A channel 17", ex.Channel);
        Assert.Equal("Threshold", ex.Parameter);
        Assert.Equal(4095, ex.Limit);
        Assert.Equal(0, host.SentCount);
        Assert.Equal(0, device.PendingCount);
    }

    [Fact]
    public async Task Raw_write_out_of_range_or_read_only_sends_nothing()
    {
        var (host, _) = InMemoryDatagramChannel.CreatePair();
        var module = new MsadcModule(host, Options, new FakeTimeProvider());
        await Assert.ThrowsAsync<SetpointOutOfRangeException>(() => module.WriteRegisterAsync(MsadcRegisters.Latency, 321));
        await Assert.ThrowsAsync<ArgumentException>(() => module.WriteRegisterAsync(MsadcRegisters.RunState, 1));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => module.ReadRegisterAsync(0x1003));
        Assert.Equal(0, host.SentCount);
    }

    [Fact]
    public async Task Write_is_read_back_and_a_mismatch_names_register_written_and_read()
    {
        var (host, device) = InMemoryDatagramChannel.CreatePair();
        var module = new MsadcModule(host, Options, new FakeTimeProvider());
        var task = module.WriteRegisterAsync(MsadcRegisters.Threshold(5), 77);
        var write = await ReceiveRequest(device);
        Assert.Equal((MsadcOpcode.Write, MsadcRegisters.Threshold(5), 77u), (write.Opcode, write.Register, write.Value));
        await Reply(device, write, 77);
        var read = await ReceiveRequest(device);
        Assert.Equal((MsadcOpcode.Read, MsadcRegisters.Threshold(5)), (read.Opcode, read.Register));
        await Reply(device, read, 13);
        var ex = await Assert.ThrowsAsync<DeviceReplyException>(() => task);
        Assert.Contains("Threshold[5] written 77, read back 13", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Stray_reply_with_old_sequence_is_dropped_and_counted()
    {
        var (host, device) = InMemoryDatagramChannel.CreatePair();
        var module = new MsadcModule(host, Options, new FakeTimeProvider());
        var task = module.ReadRegisterAsync(MsadcRegisters.Latency);
        var request = await ReceiveRequest(device);
        await Reply(device, request, 999, sequence: request.Sequence - 1);
        await Reply(device, request, 40);
        Assert.Equal(40u, await task);
        Assert.Equal(1, module.StrayReplies);
    }

    [Fact]
    public async Task Refusal_status_becomes_DeviceReplyException_with_the_raw_reply()
    {
        var (host, device) = InMemoryDatagramChannel.CreatePair();
        var module = new MsadcModule(host, Options, new FakeTimeProvider());
        var task = module.StartAsync();
        var request = await ReceiveRequest(device);
        Assert.Equal(MsadcOpcode.Start, request.Opcode);
        await Reply(device, request, 0, MsadcReplyStatus.WrongState);
        var ex = await Assert.ThrowsAsync<DeviceReplyException>(() => task);
        Assert.Contains("WrongState", ex.Message, StringComparison.Ordinal);
        Assert.Equal(32, ex.RawReply.Length);
    }

    [Fact]
    public async Task No_reply_is_retried_with_a_new_sequence_then_times_out()
    {
        var (host, device) = InMemoryDatagramChannel.CreatePair();
        var time = new FakeTimeProvider();
        var module = new MsadcModule(host, Options, time);
        var task = module.ReadRegisterAsync(MsadcRegisters.Mode);
        var sequences = new List<uint>();
        for (int attempt = 0; attempt < 3; attempt++)
        {
            // The timer is armed before the request is sent, so once it is here, advancing time fires it.
            sequences.Add((await ReceiveRequest(device)).Sequence);
            Assert.False(task.IsCompleted);
            time.Advance(TimeSpan.FromMilliseconds(100));
        }
        var ex = await Assert.ThrowsAsync<DeviceTimeoutException>(() => task);
        Assert.Equal(TimeSpan.FromMilliseconds(100), ex.Timeout);
        Assert.Equal(3, sequences.Distinct().Count());
        Assert.Equal(3, host.SentCount);
    }

    [Fact]
    public async Task Reply_to_the_retry_succeeds_and_a_late_reply_to_the_first_attempt_is_ignored()
    {
        var (host, device) = InMemoryDatagramChannel.CreatePair();
        var time = new FakeTimeProvider();
        var module = new MsadcModule(host, Options, time);
        var task = module.ReadRegisterAsync(MsadcRegisters.SamplesPerChannel);
        var first = await ReceiveRequest(device);
        time.Advance(TimeSpan.FromMilliseconds(100));
        var second = await ReceiveRequest(device);
        await Reply(device, first, 25);
        await Reply(device, second, 32);
        Assert.Equal(32u, await task);
        Assert.Equal(1, module.StrayReplies);
    }

    [Fact]
    public async Task Configure_checks_the_module_identity_first()
    {
        var (host, device) = InMemoryDatagramChannel.CreatePair();
        var module = new MsadcModule(host, Options, new FakeTimeProvider());
        var task = module.ConfigureAsync(Good());
        var source = await ReceiveRequest(device);
        Assert.Equal(MsadcRegisters.SourceId, source.Register);
        await Reply(device, source, 611);
        var port = await ReceiveRequest(device);
        await Reply(device, port, 2);
        var ex = await Assert.ThrowsAsync<DeviceReplyException>(() => task);
        Assert.Contains("source 611 port 2, setup says source 610 port 2", ex.Message, StringComparison.Ordinal);
        Assert.Equal(2, host.SentCount);
    }
}
