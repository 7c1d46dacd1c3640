using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;
using NA64.Hardware.Digitizers.Msadc;
using NA64.Hardware.Errors;
using Serilog;

namespace NA64.Simulators.Digitizers.Apv;

/// <summary>
/// Wire interface of the simulated APV-ADC: turns control datagrams (the MSADC frames, unchanged) into calls on
/// <see cref="ApvAdcDevice"/> and answers each with a reply carrying the request's sequence number. Serves an
/// <see cref="IDatagramChannel"/> (in-memory pair) or a UDP socket bound to a local endpoint. A copy of
/// MsadcControlServer's loop over another device, plus the APV fault hooks (silence, garbled replies): the MSADC
/// simulator is left untouched.
/// </summary>
public sealed class ApvAdcControlServer
{
    private readonly ApvAdcDevice _device;
    private readonly ILogger _log;
    private long _badFrames;
    private int _dropNext;
    private long _dropped;
    private int _dropReplies;
    private long _droppedReplies;
    private int _garbleReplies;
    private long _garbled;
    private int _silent;
    private long _unanswered;

    public ApvAdcControlServer(ApvAdcDevice device, ILogger? log = null)
    {
        _device = device ?? throw new ArgumentNullException(nameof(device));
        _log = log ?? Serilog.Core.Logger.None;
    }

    public ApvAdcDevice Device => _device;

    /// <summary>Datagrams that were not a request; each got a BadFrame reply if it had enough bytes for one.</summary>
    public long BadFrames => Interlocked.Read(ref _badFrames);

    /// <summary>Requests dropped on purpose by <see cref="DropNextRequests"/>.</summary>
    public long DroppedRequests => Interlocked.Read(ref _dropped);

    /// <summary>Replies withheld on purpose by <see cref="DropNextReplies"/>.</summary>
    public long DroppedReplies => Interlocked.Read(ref _droppedReplies);

    /// <summary>Replies sent garbled on purpose by <see cref="GarbleNextReplies"/>.</summary>
    public long GarbledReplies => Interlocked.Read(ref _garbled);

    /// <summary>Requests ignored while <see cref="Silent"/> (module powered off, link down, firmware hung).</summary>
    public long UnansweredRequests => Interlocked.Read(ref _unanswered);

    /// <summary>Fault injection: while true no request is executed or answered.</summary>
    public bool Silent
    {
        get => Volatile.Read(ref _silent) != 0;
        set => Volatile.Write(ref _silent, value ? 1 : 0);
    }

    /// <summary>Fault injection: the next <paramref name="count"/> requests get no reply (a lost datagram).</summary>
    public void DropNextRequests(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        Volatile.Write(ref _dropNext, count);
    }

    /// <summary>Fault injection: the next <paramref name="count"/> requests are executed but their replies are lost.</summary>
    public void DropNextReplies(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        Volatile.Write(ref _dropReplies, count);
    }

    /// <summary>
    /// Fault injection: the next <paramref name="count"/> requests are executed and answered, but the reply's magic
    /// bytes are inverted on the way (a reply the host cannot parse, so it cannot trust its sequence number either).
    /// </summary>
    public void GarbleNextReplies(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        Volatile.Write(ref _garbleReplies, count);
    }

    /// <summary>Handles one request; returns the reply length (0 = no reply).</summary>
    public int Handle(ReadOnlySpan<byte> request, Span<byte> reply)
    {
        if (Silent)
        {
            Interlocked.Increment(ref _unanswered);
            return 0;
        }
        MsadcFrame frame;
        try
        {
            frame = MsadcProtocol.Read(request);
        }
        catch (FrameFormatException ex)
        {
            Interlocked.Increment(ref _badFrames);
            _log.Warning("APV-ADC sim {Module} bad request {Raw}: {Reason}", _device.Name, Convert.ToHexString(request), ex.Message);
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
        if (TakeOne(ref _dropNext))
        {
            Interlocked.Increment(ref _dropped);
            _log.Information("APV-ADC sim {Module} drops {Request} (fault injection)", _device.Name, frame.ToString());
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
        if (TakeOne(ref _dropReplies))
        {
            Interlocked.Increment(ref _droppedReplies);
            _log.Information("APV-ADC sim {Module} executed {Request}, reply lost (fault injection)", _device.Name, frame.ToString());
            return 0;
        }

        MsadcProtocol.Write(new MsadcFrame(frame.Opcode, true, frame.Sequence, frame.Register, status, value), reply);
        if (TakeOne(ref _garbleReplies))
        {
            Interlocked.Increment(ref _garbled);
            reply[0] ^= 0xFF;
            reply[1] ^= 0xFF;
            _log.Information("APV-ADC sim {Module} executed {Request}, reply garbled (fault injection)", _device.Name, frame.ToString());
        }
        return MsadcProtocol.FrameLength;
    }

    /// <summary>Answers requests on a connected datagram channel until cancelled or the peer closes it.</summary>
    public Task ServeAsync(IDatagramChannel channel, CancellationToken cancellationToken) =>
        RegisterFrameServing.ServeAsync(channel, Handle,
            () => _log.Information("APV-ADC sim {Module}: host closed {Address}", _device.Name, channel.Address), cancellationToken);

    /// <summary>Binds a UDP socket (port 0 = any free port) and answers whoever sends to it, until cancelled.</summary>
    public UdpRegisterEndpoint ListenUdp(IPEndPoint local) => new(Handle, local);

    /// <summary>Takes one from a fault counter if any is left (several tasks may race for the last one).</summary>
    private static bool TakeOne(ref int counter)
    {
        while (true)
        {
            int left = Volatile.Read(ref counter);
            if (left <= 0)
                return false;
            if (Interlocked.CompareExchange(ref counter, left - 1, left) == left)
                return true;
        }
    }
}
