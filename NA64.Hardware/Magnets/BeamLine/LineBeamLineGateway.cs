using NA64.Hardware.Transport;
using P = NA64.Hardware.Magnets.BeamLine.BeamLineProtocol;

namespace NA64.Hardware.Magnets.BeamLine;

/// <summary>
/// <see cref="IBeamLineGateway"/> over our gateway line protocol (CR LF) on a <see cref="LineTransport"/>: the
/// simulator behind TCP, a pty or an in-memory pipe, or a future gateway process in front of CESAR. Every request
/// carries <paramref name="user"/> so that the gateway logs who asked.
/// </summary>
public sealed class LineBeamLineGateway(LineTransport transport, string user, TimeSpan? replyTimeout = null) : IBeamLineGateway
{
    private readonly LineTransport _transport = transport ?? throw new ArgumentNullException(nameof(transport));
    private readonly string _user = P.IsName(user) ? user
        : throw new ArgumentException($"user is '{user}'; it must be 1 to {P.MaxNameLength} of A-Z a-z 0-9 . _ -", nameof(user));
    private readonly TimeSpan _timeout = replyTimeout is { } t && t <= TimeSpan.Zero
        ? throw new ArgumentOutOfRangeException(nameof(replyTimeout), t, "replyTimeout must be positive")
        : replyTimeout ?? TimeSpan.FromSeconds(2);

    public string Address => _transport.Address;

    public async Task<BeamLineStatus> ReadAsync(string circuit, CancellationToken cancellationToken = default)
    {
        var request = BeamLineCodec.FormatRead(circuit);
        var reply = await _transport.ExchangeAsync(request, _timeout, cancellationToken).ConfigureAwait(false);
        return BeamLineCodec.ParseStatus(request, reply, circuit);
    }

    public Task<BeamLineOutcome> RequestSetCurrentAsync(string circuit, double amps, string reason, CancellationToken cancellationToken = default) =>
        RequestAsync(BeamLineCodec.FormatSet(circuit, amps, _user, reason), cancellationToken);

    public Task<BeamLineOutcome> RequestStandbyAsync(string circuit, string reason, CancellationToken cancellationToken = default) =>
        RequestAsync(BeamLineCodec.FormatCommand(P.Standby, circuit, _user, reason), cancellationToken);

    public Task<BeamLineOutcome> RequestOnAsync(string circuit, string reason, CancellationToken cancellationToken = default) =>
        RequestAsync(BeamLineCodec.FormatCommand(P.On, circuit, _user, reason), cancellationToken);

    public Task<BeamLineOutcome> RequestOffAsync(string circuit, string reason, CancellationToken cancellationToken = default) =>
        RequestAsync(BeamLineCodec.FormatCommand(P.Off, circuit, _user, reason), cancellationToken);

    public Task<BeamLineOutcome> RequestResetAsync(string circuit, string reason, CancellationToken cancellationToken = default) =>
        RequestAsync(BeamLineCodec.FormatCommand(P.Reset, circuit, _user, reason), cancellationToken);

    public Task<BeamLineOutcome> LoadBeamFileAsync(string name, string reason, CancellationToken cancellationToken = default) =>
        RequestAsync(BeamLineCodec.FormatLoad(name, _user, reason), cancellationToken);

    private async Task<BeamLineOutcome> RequestAsync(string request, CancellationToken cancellationToken)
    {
        var reply = await _transport.ExchangeAsync(request, _timeout, cancellationToken).ConfigureAwait(false);
        return BeamLineCodec.ParseOutcome(request, reply);
    }
}
