using System.Buffers.Binary;
using System.Globalization;
using NA64.Hardware.Errors;

namespace NA64.Hardware.Digitizers.Msadc;

/// <summary>Operation codes of the MSADC control datagram (README.md, "Datagram layout").</summary>
public enum MsadcOpcode : byte
{
    Read = 1,
    Write = 2,
    Arm = 3,
    Start = 4,
    Stop = 5,
    Status = 6,
}

/// <summary>Status code carried by every reply.</summary>
public enum MsadcReplyStatus : ushort
{
    Ok = 0,
    BadFrame = 1,
    UnknownOpcode = 2,
    UnknownRegister = 3,
    ValueOutOfRange = 4,
    ReadOnlyRegister = 5,
    WrongState = 6,
}

/// <summary>One control datagram, request or reply. In a request <see cref="Status"/> is 0.</summary>
public readonly record struct MsadcFrame(
    MsadcOpcode Opcode, bool IsReply, uint Sequence, ushort Register, MsadcReplyStatus Status, uint Value)
{
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"{(IsReply ? "reply" : "request")} {Opcode} seq={Sequence} reg=0x{Register:X4} status={Status} value={Value}");
}

/// <summary>
/// Codec of our own MSADC control datagram. The real MSADC register interface is not public; this protocol is
/// defined by NA64.Hw and documented in README.md. Fixed 16 bytes, little-endian.
/// </summary>
public static class MsadcProtocol
{
    /// <summary>Bytes 'M','S' read as a little-endian 16-bit word.</summary>
    public const ushort Magic = 0x534D;
    public const byte Version = 1;
    public const int FrameLength = 16;
    public const byte ReplyFlag = 0x80;

    public static void Write(in MsadcFrame frame, Span<byte> destination)
    {
        if (destination.Length < FrameLength)
            throw new ArgumentException(
                $"destination holds {destination.Length} bytes, an MSADC frame needs {FrameLength}", nameof(destination));
        BinaryPrimitives.WriteUInt16LittleEndian(destination, Magic);
        destination[2] = Version;
        destination[3] = (byte)((byte)frame.Opcode | (frame.IsReply ? ReplyFlag : 0));
        BinaryPrimitives.WriteUInt32LittleEndian(destination[4..], frame.Sequence);
        BinaryPrimitives.WriteUInt16LittleEndian(destination[8..], frame.Register);
        BinaryPrimitives.WriteUInt16LittleEndian(destination[10..], (ushort)frame.Status);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[12..], frame.Value);
    }

    public static byte[] ToBytes(in MsadcFrame frame)
    {
        var bytes = new byte[FrameLength];
        Write(frame, bytes);
        return bytes;
    }

    /// <summary>Parses one datagram. Throws <see cref="FrameFormatException"/> at the offending byte.</summary>
    public static MsadcFrame Read(ReadOnlySpan<byte> datagram)
    {
        if (datagram.Length != FrameLength)
            throw new FrameFormatException(
                $"MSADC datagram has {datagram.Length} bytes, expected {FrameLength}", Math.Min(datagram.Length, FrameLength));
        ushort magic = BinaryPrimitives.ReadUInt16LittleEndian(datagram);
        if (magic != Magic)
            throw new FrameFormatException(
                string.Create(CultureInfo.InvariantCulture, $"MSADC magic is 0x{magic:X4}, expected 0x{Magic:X4}"), 0);
        if (datagram[2] != Version)
            throw new FrameFormatException(
                string.Create(CultureInfo.InvariantCulture, $"MSADC protocol version {datagram[2]}, expected {Version}"), 2);
        byte op = datagram[3];
        var opcode = (MsadcOpcode)(op & ~ReplyFlag);
        if (!Enum.IsDefined(opcode))
            throw new FrameFormatException(
                string.Create(CultureInfo.InvariantCulture, $"MSADC opcode {op & ~ReplyFlag} is unknown"), 3);
        ushort status = BinaryPrimitives.ReadUInt16LittleEndian(datagram[10..]);
        if (!Enum.IsDefined((MsadcReplyStatus)status))
            throw new FrameFormatException(
                string.Create(CultureInfo.InvariantCulture, $"MSADC reply status {status} is unknown"), 10);
        return new MsadcFrame(
            opcode,
            (op & ReplyFlag) != 0,
            BinaryPrimitives.ReadUInt32LittleEndian(datagram[4..]),
            BinaryPrimitives.ReadUInt16LittleEndian(datagram[8..]),
            (MsadcReplyStatus)status,
            BinaryPrimitives.ReadUInt32LittleEndian(datagram[12..]));
    }

    internal static string Hex(ReadOnlySpan<byte> bytes) => Convert.ToHexString(bytes);
}
