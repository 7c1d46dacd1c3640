using NA64.Hardware.Digitizers.Msadc.Format;
using FsCheck.Xunit;
using NA64.Hardware.Digitizers.Msadc;
using NA64.Hardware.Errors;

namespace NA64.Hardware.Tests.Digitizers.Msadc.Control;

public class MsadcProtocolTests
{
    [Property]
    public bool Frame_round_trips(byte op, bool isReply, uint sequence, ushort register, ushort status, uint value)
    {
        var opcode = (MsadcOpcode)(1 + op % 6);
        var replyStatus = (MsadcReplyStatus)(status % 7);
        var frame = new MsadcFrame(opcode, isReply, sequence, register, replyStatus, value);
        return MsadcProtocol.Read(MsadcProtocol.ToBytes(frame)) == frame;
    }

    [Fact]
    public void Layout_is_little_endian_with_magic_MS()
    {
        var bytes = MsadcProtocol.ToBytes(new MsadcFrame(MsadcOpcode.Write, false, 0x01020304, 0x1045, MsadcReplyStatus.Ok, 0xA0B0C0D0));
        Assert.Equal("4D5301020403020145100000D0C0B0A0", Convert.ToHexString(bytes));
    }

    [Fact]
    public void Bad_magic_is_refused_at_byte_0()
    {
        var bytes = MsadcProtocol.ToBytes(new MsadcFrame(MsadcOpcode.Read, false, 1, 0, MsadcReplyStatus.Ok, 0));
        bytes[0] = 0x58;
        var ex = Assert.Throws<FrameFormatException>(() => MsadcProtocol.Read(bytes));
        Assert.Equal(0, ex.ByteOffset);
    }

    [Fact]
    public void Short_datagram_and_unknown_opcode_are_refused()
    {
        Assert.Throws<FrameFormatException>(() => MsadcProtocol.Read(new byte[15]));
        var bytes = MsadcProtocol.ToBytes(new MsadcFrame(MsadcOpcode.Read, false, 1, 0, MsadcReplyStatus.Ok, 0));
        bytes[3] = 9;
        Assert.Equal(3, Assert.Throws<FrameFormatException>(() => MsadcProtocol.Read(bytes)).ByteOffset);
    }

    [Fact]
    public void Register_map_names_channel_registers_and_has_gaps()
    {
        Assert.Equal("Threshold[17]", MsadcRegisters.Find(MsadcRegisters.Threshold(17))!.Name);
        Assert.Equal((ushort)0x1045, MsadcRegisters.PedestalOdd(17));
        Assert.Null(MsadcRegisters.Find(0x1003));
        Assert.Null(MsadcRegisters.Find(0x1100));
        Assert.Equal(25u, MsadcRegisters.Find(MsadcRegisters.SamplesPerChannel)!.Minimum);
    }

    [Fact]
    public void Channel_address_splits_chip_channel_and_checks_ranges()
    {
        var a = SadcChannelAddress.FromChipChannel(623, 5, 35);
        Assert.Equal((2, 3, 35), (a.AdcId, a.ChanId, a.ChipChannel));
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => SadcChannelAddress.Checked(623, 8, 0, 0));
        Assert.Contains("Port = 8", ex.Message, StringComparison.Ordinal);
    }
}
