using System.Globalization;
using System.Net.Sockets;
using NA64.Hardware.Errors;
using Serilog;

namespace NA64.Hardware.Digitizers.Msadc;

/// <summary>
/// One module's conversation in the register frames of <see cref="MsadcProtocol"/> (MSADC, APV-ADC): one request in
/// flight, a sequence number per request, a reply timeout with retries, late or foreign replies dropped and counted,
/// and the lost-reply rule for ARM and START (a retry refused as WrongState while the module already is where the
/// command wanted it counts as done). What differs between modules (register names, their map) stays in the driver.
/// </summary>
public sealed class RegisterLink
{
    private readonly IDatagramChannel _channel;
    private readonly string _module;
    private readonly string _family;
    private readonly TimeSpan _replyTimeout;
    private readonly int _retries;
    private readonly TimeProvider _time;
    private readonly ILogger _log;
    private readonly Func<ushort, string> _registerName;
    private readonly bool _matchRegister;
    private readonly SemaphoreSlim _oneInFlight = new(1, 1);
    private readonly byte[] _request = new byte[MsadcProtocol.FrameLength];
    private readonly byte[] _reply = new byte[512];
    private uint _sequence;
    private long _strayReplies;
    private long _retried;

    /// <param name="family">What the module is, for messages (<c>MSADC</c>, <c>APV-ADC</c>).</param>
    /// <param name="registerName">The register map's name of an address, for messages.</param>
    /// <param name="matchRegister">A READ/WRITE reply must also name the request's register to be its reply.</param>
    public RegisterLink(IDatagramChannel channel, string module, string family, TimeSpan replyTimeout, int retries, TimeProvider time, ILogger log,
        Func<ushort, string> registerName, bool matchRegister)
    {
        _channel = channel ?? throw new ArgumentNullException(nameof(channel));
        _module = module;
        _family = family;
        _replyTimeout = replyTimeout;
        _retries = retries;
        _time = time;
        _log = log;
        _registerName = registerName;
        _matchRegister = matchRegister;
    }

    public string Address => _channel.Address;

    /// <summary>Replies dropped: late ones of an earlier attempt, foreign or malformed datagrams.</summary>
    public long StrayReplies => Interlocked.Read(ref _strayReplies);

    /// <summary>Requests sent again after a reply timeout.</summary>
    public long Retries => Interlocked.Read(ref _retried);

    /// <summary>One request and its reply (with retries); a refusal by the module throws naming the register.</summary>
    public async Task<MsadcFrame> TransactAsync(MsadcOpcode opcode, ushort address, uint value, CancellationToken cancellationToken)
    {
        await _oneInFlight.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            for (int attempt = 0; ; attempt++)
            {
                var request = new MsadcFrame(opcode, false, ++_sequence, address, MsadcReplyStatus.Ok, value);
                MsadcProtocol.Write(request, _request);
                var reply = await SendAndAwaitAsync(request, cancellationToken).ConfigureAwait(false);
                if (reply is { } r)
                {
                    if (r.Status == MsadcReplyStatus.WrongState && attempt > 0 && opcode is MsadcOpcode.Arm or MsadcOpcode.Start
                        && await AlreadyInAsync(opcode == MsadcOpcode.Arm ? MsadcRunState.Armed : MsadcRunState.Running, cancellationToken).ConfigureAwait(false) is { } done)
                        return done;
                    if (r.Status != MsadcReplyStatus.Ok)
                        throw Reply(string.Create(CultureInfo.InvariantCulture,
                            $"{_module}: {opcode} {_registerName(address)} refused by the module: {r.Status}"), r, request.ToString());
                    return r;
                }
                if (attempt >= _retries)
                    throw new DeviceTimeoutException(_channel.Address, request.ToString(), _replyTimeout);
                Interlocked.Increment(ref _retried);
                _log.Warning("{Family} {Module} no reply to {Opcode} {Register} seq {Sequence} within {TimeoutMs} ms, retry {Attempt}",
                    _family, _module, opcode, _registerName(address), request.Sequence, _replyTimeout.TotalMilliseconds, attempt + 1);
            }
        }
        finally
        {
            _oneInFlight.Release();
        }
    }

    /// <summary>A reply as the one-line refusal, carrying the reply's bytes.</summary>
    public static DeviceReplyException Reply(string message, MsadcFrame reply, string request) =>
        new(message, request, MsadcProtocol.Hex(MsadcProtocol.ToBytes(reply)));

    /// <summary>
    /// ARM and START are not idempotent: when an earlier attempt was executed and only its reply was lost, the retry is
    /// refused with WrongState. A STATUS then tells whether the module already is where the command wanted it (the
    /// command succeeded: its STATUS reply is returned) or not (null: the refusal stands).
    /// </summary>
    private async Task<MsadcFrame?> AlreadyInAsync(MsadcRunState wanted, CancellationToken cancellationToken)
    {
        var request = new MsadcFrame(MsadcOpcode.Status, false, ++_sequence, 0, MsadcReplyStatus.Ok, 0);
        MsadcProtocol.Write(request, _request);
        var status = await SendAndAwaitAsync(request, cancellationToken).ConfigureAwait(false);
        if (status is not { Status: MsadcReplyStatus.Ok } s || s.Value != (uint)wanted)
            return null;
        _log.Warning("{Family} {Module} retried command refused as WrongState but the module is {State}: the first attempt's reply was lost",
            _family, _module, wanted);
        return s;
    }

    /// <summary>Sends the request in <see cref="_request"/> and returns its reply, or null when the timeout passed.</summary>
    private async Task<MsadcFrame?> SendAndAwaitAsync(MsadcFrame request, CancellationToken cancellationToken)
    {
        using var timeout = new CancellationTokenSource(_replyTimeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        try
        {
            await _channel.SendAsync(_request, linked.Token).ConfigureAwait(false);
            while (true)
            {
                int length = await _channel.ReceiveAsync(_reply, linked.Token).ConfigureAwait(false);
                MsadcFrame reply;
                try
                {
                    reply = MsadcProtocol.Read(_reply.AsSpan(0, length));
                }
                catch (FrameFormatException ex)
                {
                    // A garbled reply carries no trustworthy sequence number: drop it, keep waiting, let the timeout retry.
                    Interlocked.Increment(ref _strayReplies);
                    _log.Warning("{Family} {Module} dropped malformed reply {Raw}: {Reason}",
                        _family, _module, MsadcProtocol.Hex(_reply.AsSpan(0, length)), ex.Message);
                    continue;
                }
                if (!reply.IsReply || reply.Sequence != request.Sequence || reply.Opcode != request.Opcode
                    || (_matchRegister && request.Opcode is MsadcOpcode.Read or MsadcOpcode.Write && reply.Register != request.Register))
                {
                    // A late reply to an earlier attempt, or a datagram that is not ours: count it and keep waiting.
                    Interlocked.Increment(ref _strayReplies);
                    _log.Warning("{Family} {Module} dropped stray {Reply} while waiting for seq {Sequence}",
                        _family, _module, reply.ToString(), request.Sequence);
                    continue;
                }
                return reply;
            }
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            return null;
        }
        catch (SocketException ex)
        {
            throw new TransportDisconnectedException(_channel.Address, ex);
        }
    }
}
