using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;
using NA64.Hardware.Digitizers.Msadc;
using NA64.Hardware.Errors;
using Serilog;

namespace NA64.Simulators.Digitizers.Msadc;

/// <summary>
/// Wire interface of the simulated MSADC: turns control datagrams into calls on <see cref="MsadcDevice"/> and
/// answers each with a reply carrying the request's sequence number. Serves an <see cref="IDatagramChannel"/>
/// (in-memory pair) or a UDP socket bound to a local endpoint.
/// </summary>
public sealed class MsadcControlServer
{
    private readonly MsadcDevice _device;
    private readonly ILogger _log;
    private long _badFrames;
    private int _dropNext;
    private long _dropped;
    private int _dropReplies;
    private long _droppedReplies;

    public MsadcControlServer(MsadcDevice device, ILogger? log = null)
    {
        _device = device ?? throw new ArgumentNullException(nameof(device));
        _log = log ?? Serilog.Core.Logger.None;
    }

    public MsadcDevice Device => _device;

    /// <summary>Datagrams that were not an MSADC request; each got a BadFrame reply if it had enough bytes for one.</summary>
    public long BadFrames => Interlocked.Read(ref _badFrames);

    /// <summary>Requests dropped on purpose by <see cref="DropNextRequests"/>.</summary>
    public long DroppedRequests => Interlocked.Read(ref _dropped);

    /// <summary>Fault injection: the next <paramref name="count"/> requests get no reply (a lost datagram).</summary>
    public void DropNextRequests(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        Volatile.Write(ref _dropNext, count);
    }

    /// <summary>Replies withheld on purpose by <see cref="DropNextReplies"/>.</summary>
    public long DroppedReplies => Interlocked.Read(ref _droppedReplies);

    /// <summary>Fault injection: the next <paramref name="count"/> requests are executed but their replies are lost.</summary>
    public void DropNextReplies(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        Volatile.Write(ref _dropReplies, count);
    }

    /// <summary>Handles one request; returns the reply length (0 = no reply).</summary>
    public int Handle(ReadOnlySpan<byte> request, Span<byte> reply)
    {
        MsadcFrame frame;
        try
        {
            frame = MsadcProtocol.Read(request);
        }
        catch (FrameFormatException ex)
        {
            Interlocked.Increment(ref _badFrames);
            _log.Warning("MSADC sim {Module} bad request {Raw}: {Reason}", _device.Name, Convert.ToHexString(request), ex.Message);
            if (request.Length < 8)
                return 0;
            // Echo the sequence number so the driver can match the refusal to its request.
            uint seq = System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(request[4..]);
            MsadcProtocol.Write(new MsadcFrame(MsadcOpcode.Status, true, seq, 0, MsadcReplyStatus.BadFrame, 0), reply);
            return MsadcProtocol.FrameLength;
        }
        if (frame.IsReply)
        {
            Interlocked.Increment(ref _badFrames);
            return 0;
        }
        if (Volatile.Read(ref _dropNext) > 0)
        {
            Interlocked.Decrement(ref _dropNext);
            Interlocked.Increment(ref _dropped);
            _log.Information("MSADC sim {Module} drops {Request} (fault injection)", _device.Name, frame.ToString());
            return 0;
        }

        uint value = 0;
        MsadcReplyStatus status = frame.Opcode switch
        {
            MsadcOpcode.Read => _device.Read(frame.Register, out value),
            MsadcOpcode.Write => _device.Write(frame.Register, frame.Value),
            MsadcOpcode.Status => MsadcReplyStatus.Ok,
            _ => _device.Command(frame.Opcode),
        };
        if (frame.Opcode == MsadcOpcode.Status)
            value = (uint)_device.State;
        else if (frame.Opcode == MsadcOpcode.Write && status == MsadcReplyStatus.Ok)
            value = frame.Value;
        if (Volatile.Read(ref _dropReplies) > 0)
        {
            Interlocked.Decrement(ref _dropReplies);
            Interlocked.Increment(ref _droppedReplies);
            _log.Information("MSADC sim {Module} executed {Request}, reply lost (fault injection)", _device.Name, frame.ToString());
            return 0;
        }

        MsadcProtocol.Write(new MsadcFrame(frame.Opcode, true, frame.Sequence, frame.Register, status, value), reply);
        return MsadcProtocol.FrameLength;
    }

    /// <summary>Answers requests on a connected datagram channel until cancelled or the peer closes it.</summary>
    public Task ServeAsync(IDatagramChannel channel, CancellationToken cancellationToken) =>
        RegisterFrameServing.ServeAsync(channel, Handle,
            () => _log.Information("MSADC sim {Module}: host closed {Address}", _device.Name, channel.Address), cancellationToken);

    /// <summary>Binds a UDP socket (port 0 = any free port) and answers whoever sends to it, until cancelled.</summary>
    public UdpRegisterEndpoint ListenUdp(IPEndPoint local) => new(Handle, local);
}
