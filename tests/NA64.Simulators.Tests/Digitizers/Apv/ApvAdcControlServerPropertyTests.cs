using FsCheck.Xunit;
using NA64.Hardware.Digitizers.Apv;
using NA64.Hardware.Digitizers.Msadc;
using NA64.Hardware.Errors;
using NA64.Simulators.Digitizers.Apv;

namespace NA64.Simulators.Tests.Digitizers.Apv;

public class ApvAdcControlServerPropertyTests
{
    [Property]
    public bool Any_datagram_gets_no_reply_or_a_well_formed_one(byte[] datagram)
    {
        var server = new ApvAdcControlServer(new ApvAdcDevice("sim", 622, 0));
        var reply = new byte[MsadcProtocol.FrameLength];
        int n = server.Handle(datagram ?? [], reply);
        return n == 0 || MsadcProtocol.Read(reply.AsSpan(0, n)).IsReply;
    }

    /// <summary>
    /// The device's own limits agree with the driver's map everywhere but at the mode register, where the device takes
    /// any 8-bit value and the driver refuses the undescribed b4 (the driver is the stricter side on purpose).
    /// </summary>
    [Property]
    public bool Any_write_request_is_accepted_exactly_when_the_map_allows_it(ushort register, uint value)
    {
        var device = new ApvAdcDevice("sim", 622, 0);
        var server = new ApvAdcControlServer(device);
        var reply = new byte[MsadcProtocol.FrameLength];
        server.Handle(MsadcProtocol.ToBytes(new MsadcFrame(MsadcOpcode.Write, false, 1, register, MsadcReplyStatus.Ok, value)), reply);
        bool accepted = MsadcProtocol.Read(reply).Status == MsadcReplyStatus.Ok;
        var known = ApvAdcRegisters.Find(register);
        bool shouldAccept = register == ApvAdcRegisters.Mode
            ? value <= 0xFF
            : known is { Writable: true } && value >= known.Minimum && value <= known.Maximum;
        return accepted == shouldAccept && device.Latency is >= 0 and <= ApvAdcRegisters.MaxLatency;
    }

    [Property]
    public bool Any_mode_value_reads_back_as_written(byte value)
    {
        var device = new ApvAdcDevice("sim", 622, 0);
        return device.Write(ApvAdcRegisters.Mode, value) == MsadcReplyStatus.Ok
            && device.Read(ApvAdcRegisters.Mode, out uint back) == MsadcReplyStatus.Ok && back == value
            && (uint)device.Mode == value;
    }

    [Fact]
    public async Task In_process_device_refuses_a_bad_configuration_like_the_driver()
    {
        IApvAdc device = new ApvAdcDevice("sim", 622, 0);
        var ex = await Assert.ThrowsAsync<SetpointOutOfRangeException>(() => device.ConfigureAsync(
            ApvAdcConfiguration.Uniform(ApvAdcRegisters.TypicalMode, 200, new ApvChannelSettings(400, 12, 6))));
        Assert.Equal(("Latency", 200.0, 191.0), (ex.Parameter, ex.Value, ex.Limit));
        Assert.Equal(0, (await device.ReadConfigurationAsync()).Latency);
        await device.ConfigureAsync(ApvAdcConfiguration.Uniform(ApvAdcRegisters.TypicalMode, 100, new ApvChannelSettings(400, 12, 6)));
        await device.ArmAsync();
        await device.StartAsync();
        await Assert.ThrowsAsync<InvalidOperationException>(() => device.DownloadTablesAsync(new ApvChannelSettings[512]));
        Assert.Equal(new ApvAdcStatus(MsadcRunState.Running, 0), await device.ReadStatusAsync());
    }
}
