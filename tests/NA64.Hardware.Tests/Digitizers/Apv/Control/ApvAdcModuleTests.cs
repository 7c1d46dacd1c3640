using Microsoft.Extensions.Time.Testing;
using NA64.Hardware.Digitizers.Apv;
using NA64.Hardware.Digitizers.Msadc;
using NA64.Hardware.Errors;

namespace NA64.Hardware.Tests.Digitizers.Apv.Control;

/// <summary>APV-ADC driver against a scripted device end of an in-memory pair: every reply is written by the test.</summary>
public class ApvAdcModuleTests
{
    private static readonly ApvAdcModuleOptions Options = new()
    {
        Name = "MM-ADC0", SourceId = 622, AdcId = 3, ReplyTimeout = TimeSpan.FromMilliseconds(100), Retries = 2,
    };

    private static ApvAdcConfiguration Good() =>
        ApvAdcConfiguration.Uniform(ApvAdcRegisters.TypicalMode, 100, new ApvChannelSettings(400, 14, 7));

    private static async Task<MsadcFrame> ReceiveRequest(InMemoryDatagramChannel device)
    {
        var buffer = new byte[64];
        int n = await device.ReceiveAsync(buffer, CancellationToken.None);
        return MsadcProtocol.Read(buffer.AsSpan(0, n));
    }

    private static ValueTask Reply(InMemoryDatagramChannel device, MsadcFrame request, uint value,
        MsadcReplyStatus status = MsadcReplyStatus.Ok) =>
        device.SendAsync(MsadcProtocol.ToBytes(new MsadcFrame(request.Opcode, true, request.Sequence,
            request.Register, status, value)), CancellationToken.None);

    public static TheoryData<string, Func<ApvAdcConfiguration, ApvAdcConfiguration>, string, string, double, double, string> OutOfRange()
    {
        static ApvAdcConfiguration One(ApvAdcConfiguration c, int index, Func<ApvChannelSettings, ApvChannelSettings> change)
        {
            var channels = c.Channels.ToArray();
            channels[index] = change(channels[index]);
            return c with { Channels = channels };
        }
        return new()
        {
            { "latency above", c => c with { Latency = 192 }, "MM-ADC0", "Latency", 192, 191, "maximum" },
            { "latency below", c => c with { Latency = -1 }, "MM-ADC0", "Latency", -1, 0, "minimum" },
            { "mode bit 4", c => c with { Mode = (ApvAdcMode)0x9Fu }, "MM-ADC0", "Mode", 0x9F, 0xEF, "defined-bit mask" },
            { "mode above 8 bits", c => c with { Mode = (ApvAdcMode)0x18Fu }, "MM-ADC0", "Mode", 0x18F, 0xEF, "defined-bit mask" },
            { "pedestal above", c => One(c, 129, s => s with { Pedestal = 1024 }), "MM-ADC0 APV 1 channel 1", "Pedestal", 1024, 1023, "maximum" },
            { "pedestal below", c => One(c, 0, s => s with { Pedestal = -1 }), "MM-ADC0 APV 0 channel 0", "Pedestal", -1, 0, "minimum" },
            { "sigma above", c => One(c, 511, s => s with { SigmaQuarterCounts = 4096 }), "MM-ADC0 APV 3 channel 127", "SigmaQuarterCounts", 4096, 4095, "maximum" },
            { "sigma below", c => One(c, 300, s => s with { SigmaQuarterCounts = -3 }), "MM-ADC0 APV 2 channel 44", "SigmaQuarterCounts", -3, 0, "minimum" },
            { "threshold above", c => One(c, 273, s => s with { Threshold = 5000 }), "MM-ADC0 APV 2 channel 17", "Threshold", 5000, 1023, "maximum" },
            { "threshold below", c => One(c, 5, s => s with { Threshold = -1 }), "MM-ADC0 APV 0 channel 5", "Threshold", -1, 0, "minimum" },
        };
    }

    [Theory]
    [MemberData(nameof(OutOfRange))]
    public async Task Every_out_of_range_setting_is_refused_naming_field_value_and_limit_and_nothing_is_sent(
        string scenario, Func<ApvAdcConfiguration, ApvAdcConfiguration> change,
        string channel, string field, double value, double limit, string limitName)
    {
        var (host, device) = InMemoryDatagramChannel.CreatePair(scenario);
        var module = new ApvAdcModule(host, Options, new FakeTimeProvider());
        var ex = await Assert.ThrowsAsync<SetpointOutOfRangeException>(() => module.ConfigureAsync(change(Good())));
        Assert.Equal((channel, field, value, limit, limitName), (ex.Channel, ex.Parameter, ex.Value, ex.Limit, ex.LimitName));
        Assert.DoesNotContain('\n', ex.Message);
        Assert.Equal(0, host.SentCount);
        Assert.Equal(0, device.PendingCount);
    }

    [Fact]
    public async Task A_table_download_of_the_wrong_size_or_with_a_bad_entry_sends_nothing()
    {
        var (host, _) = InMemoryDatagramChannel.CreatePair();
        var module = new ApvAdcModule(host, Options, new FakeTimeProvider());
        var ex = await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() =>
            module.DownloadTablesAsync(new ApvChannelSettings[128]));
        Assert.Contains("Channels has 128 entries, an APV-ADC has 512", ex.Message, StringComparison.Ordinal);
        var tables = Good().Channels.ToArray();
        tables[400] = tables[400] with { Threshold = 1024 };
        await Assert.ThrowsAsync<SetpointOutOfRangeException>(() => module.DownloadTablesAsync(tables));
        await Assert.ThrowsAsync<SetpointOutOfRangeException>(() => module.SetModeAsync((ApvAdcMode)0x10u));
        Assert.Equal(0, host.SentCount);
    }

    [Fact]
    public async Task Raw_writes_out_of_range_read_only_or_outside_the_map_send_nothing()
    {
        var (host, _) = InMemoryDatagramChannel.CreatePair();
        var module = new ApvAdcModule(host, Options, new FakeTimeProvider());
        await Assert.ThrowsAsync<SetpointOutOfRangeException>(() => module.WriteRegisterAsync(ApvAdcRegisters.Latency, 192));
        await Assert.ThrowsAsync<SetpointOutOfRangeException>(() => module.WriteRegisterAsync(ApvAdcRegisters.Mode, 0x10));
        await Assert.ThrowsAsync<SetpointOutOfRangeException>(() => module.WriteRegisterAsync(ApvAdcRegisters.Sigma(0, 0), 4096));
        await Assert.ThrowsAsync<ArgumentException>(() => module.WriteRegisterAsync(ApvAdcRegisters.AdcId, 1));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => module.ReadRegisterAsync(0x1000));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => module.WriteRegisterAsync(0x2200, 0));
        Assert.Equal(0, host.SentCount);
    }

    [Theory]
    [InlineData(1024, 3, "SourceId", 1023.0)]
    [InlineData(622, 256, "AdcId", 255.0)]
    public void Options_outside_the_address_ranges_are_refused(int source, int adc, string field, double limit)
    {
        var (host, _) = InMemoryDatagramChannel.CreatePair();
        var ex = Assert.Throws<SetpointOutOfRangeException>(() =>
            new ApvAdcModule(host, Options with { SourceId = source, AdcId = adc }, new FakeTimeProvider()));
        Assert.Equal((field, limit), (ex.Parameter, ex.Limit));
    }

    [Fact]
    public async Task A_write_that_reads_back_differently_is_a_typed_error_naming_register_and_both_values()
    {
        var (host, device) = InMemoryDatagramChannel.CreatePair();
        var module = new ApvAdcModule(host, Options, new FakeTimeProvider());
        var task = module.SetModeAsync(ApvAdcRegisters.TypicalMode);
        var write = await ReceiveRequest(device);
        Assert.Equal((MsadcOpcode.Write, (ushort)0x1001, 0x8Fu), (write.Opcode, write.Register, write.Value));
        await Reply(device, write, 0x8F);
        var read = await ReceiveRequest(device);
        Assert.Equal((MsadcOpcode.Read, (ushort)0x1001), (read.Opcode, read.Register));
        await Reply(device, read, 0x0F);
        var ex = await Assert.ThrowsAsync<ApvAdcReadBackException>(() => task);
        Assert.Equal("MM-ADC0: register Mode (0x1001) written 143, read back 15", ex.Message);
        Assert.Equal(new ApvAdcRegisterMismatch(0x1001, "Mode", 0x8F, 0x0F), Assert.Single(ex.Mismatches));
        Assert.Equal(32, ex.RawReply.Length);
    }

    [Fact]
    public async Task A_silent_module_is_asked_three_times_with_new_sequence_numbers_then_times_out()
    {
        var (host, device) = InMemoryDatagramChannel.CreatePair();
        var time = new FakeTimeProvider();
        var module = new ApvAdcModule(host, Options, time);
        var task = module.ReadStatusAsync();
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
        Assert.Equal((3L, 2L), (host.SentCount, module.Retries));
    }

    [Fact]
    public async Task A_reply_for_another_register_is_dropped_as_stray()
    {
        var (host, device) = InMemoryDatagramChannel.CreatePair();
        var module = new ApvAdcModule(host, Options, new FakeTimeProvider());
        var task = module.ReadRegisterAsync(ApvAdcRegisters.Latency);
        var request = await ReceiveRequest(device);
        await Reply(device, request with { Register = ApvAdcRegisters.Mode }, 0x8F);
        await Reply(device, request, 100);
        Assert.Equal(100u, await task);
        Assert.Equal(1, module.StrayReplies);
    }

    [Fact]
    public async Task Configure_refuses_a_board_that_is_not_an_apv_adc_before_writing_anything()
    {
        var (host, device) = InMemoryDatagramChannel.CreatePair();
        var module = new ApvAdcModule(host, Options, new FakeTimeProvider());
        var task = module.ConfigureAsync(Good());
        // An MSADC speaks the same frames but has no BoardType register.
        var board = await ReceiveRequest(device);
        Assert.Equal(ApvAdcRegisters.BoardType, board.Register);
        await Reply(device, board, 0, MsadcReplyStatus.UnknownRegister);
        var ex = await Assert.ThrowsAsync<DeviceReplyException>(() => task);
        Assert.Contains("Read BoardType refused by the module: UnknownRegister", ex.Message, StringComparison.Ordinal);
        Assert.Equal(1, host.SentCount);
    }

    [Fact]
    public async Task Configure_refuses_an_apv_adc_with_another_adc_id()
    {
        var (host, device) = InMemoryDatagramChannel.CreatePair();
        var module = new ApvAdcModule(host, Options, new FakeTimeProvider());
        var task = module.ConfigureAsync(Good());
        foreach (uint value in new uint[] { 0x5041, 622, 4 })
            await Reply(device, await ReceiveRequest(device), value);
        var ex = await Assert.ThrowsAsync<DeviceReplyException>(() => task);
        Assert.Contains("is board type 0x5041 source 622 ADC 4, setup says APV-ADC (0x5041) source 622 ADC 3", ex.Message, StringComparison.Ordinal);
        Assert.Equal(3, host.SentCount);
    }
}
