using FsCheck.Xunit;
using NA64.Hardware.Digitizers.Msadc;
using NA64.Hardware.Errors;
using NA64.Simulators.Digitizers.Msadc;

namespace NA64.Simulators.Tests.Digitizers.Msadc;

public class MsadcControlServerPropertyTests
{
    [Property]
    public bool Any_datagram_gets_no_reply_or_a_well_formed_one(byte[] datagram)
    {
        var server = new MsadcControlServer(new MsadcDevice("sim", 610, 0));
        var reply = new byte[MsadcProtocol.FrameLength];
        int n = server.Handle(datagram ?? [], reply);
        if (n == 0)
            return true;
        var frame = MsadcProtocol.Read(reply.AsSpan(0, n));
        return frame.IsReply;
    }

    [Property]
    public bool Any_write_request_keeps_the_register_file_within_its_limits(ushort register, uint value)
    {
        var device = new MsadcDevice("sim", 610, 0);
        var server = new MsadcControlServer(device);
        var reply = new byte[MsadcProtocol.FrameLength];
        server.Handle(MsadcProtocol.ToBytes(new MsadcFrame(MsadcOpcode.Write, false, 1, register, MsadcReplyStatus.Ok, value)), reply);
        var status = MsadcProtocol.Read(reply).Status;
        var known = MsadcRegisters.Find(register);
        bool accepted = status == MsadcReplyStatus.Ok;
        bool shouldAccept = known is { Writable: true } && value >= known.Minimum && value <= known.Maximum;
        return accepted == shouldAccept
            && device.SamplesPerChannel is >= 25 and <= 32
            && device.Latency is >= 0 and <= 320;
    }

    [Fact]
    public async Task In_process_device_refuses_a_bad_configuration_like_the_driver()
    {
        IDigitizer device = new MsadcDevice("sim", 610, 0);
        var ex = await Assert.ThrowsAsync<SetpointOutOfRangeException>(() => device.ConfigureAsync(
            MsadcConfiguration.Uniform(MsadcMode.LatchAll, 40, 0, new MsadcChannelSettings(100, 100, 0))));
        Assert.Equal(("SamplesPerChannel", 40.0, 32.0), (ex.Parameter, ex.Value, ex.Limit));
        Assert.Equal(32, (await device.ReadConfigurationAsync()).SamplesPerChannel);
    }
}
