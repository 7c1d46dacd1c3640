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
    public async Task ServeAsync(IDatagramChannel channel, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(channel);
        var request = new byte[512];
        var reply = new byte[MsadcProtocol.FrameLength];
        while (!cancellationToken.IsCancellationRequested)
        {
            int length;
            try
            {
                length = await channel.ReceiveAsync(request, cancellationToken).ConfigureAwait(false);
            }
            catch (ChannelClosedException)
            {
                _log.Information("MSADC sim {Module}: host closed {Address}", _device.Name, channel.Address);
                return;
            }
            int replyLength = Handle(request.AsSpan(0, length), reply);
            if (replyLength > 0)
                await channel.SendAsync(reply.AsMemory(0, replyLength), cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Binds a UDP socket (port 0 = any free port) and answers whoever sends to it, until cancelled.</summary>
    public UdpControlEndpoint ListenUdp(IPEndPoint local) => new(this, local);

    /// <summary>A bound UDP socket serving this simulator; dispose to close it.</summary>
    public sealed class UdpControlEndpoint : IDisposable
    {
        private readonly MsadcControlServer _server;
        private readonly Socket _socket;

        internal UdpControlEndpoint(MsadcControlServer server, IPEndPoint local)
        {
            _server = server;
            _socket = new Socket(local.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
            try
            {
                _socket.Bind(local);
            }
            catch
            {
                _socket.Dispose();
                throw;
            }
        }

        public IPEndPoint LocalEndPoint => (IPEndPoint)_socket.LocalEndPoint!;

        public async Task RunAsync(CancellationToken cancellationToken)
        {
            var request = new byte[512];
            var reply = new byte[MsadcProtocol.FrameLength];
            EndPoint any = new IPEndPoint(LocalEndPoint.AddressFamily == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Any : IPAddress.Any, 0);
            while (!cancellationToken.IsCancellationRequested)
            {
                var received = await _socket.ReceiveFromAsync(request, SocketFlags.None, any, cancellationToken).ConfigureAwait(false);
                int replyLength = _server.Handle(request.AsSpan(0, received.ReceivedBytes), reply);
                if (replyLength > 0)
                    await _socket.SendToAsync(reply.AsMemory(0, replyLength), SocketFlags.None, received.RemoteEndPoint, cancellationToken)
                        .ConfigureAwait(false);
            }
        }

        public void Dispose() => _socket.Dispose();
    }
}
