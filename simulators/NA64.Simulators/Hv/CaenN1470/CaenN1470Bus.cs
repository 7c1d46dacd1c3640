using NA64.Simulators.Serving;

namespace NA64.Simulators.Hv.CaenN1470;

/// <summary>
/// Several N1470 boards on one RS-485 line (addresses 0..31): every board sees every request and only the
/// addressed one answers, so a request for an absent address is met with silence.
/// </summary>
public sealed class CaenN1470Bus : ILineDevice
{
    private readonly CaenN1470Wire[] _boards;

    public CaenN1470Bus(IEnumerable<CaenN1470Wire> boards)
    {
        ArgumentNullException.ThrowIfNull(boards);
        _boards = [.. boards];
        var duplicate = _boards.GroupBy(b => b.Board.Address).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
        {
            throw new ArgumentException($"boards has address {duplicate.Key} {duplicate.Count()} times; each address on a chain must be unique.", nameof(boards));
        }
    }

    public IReadOnlyList<CaenN1470Wire> Boards => _boards;

    public string RequestTerminator => CaenN1470Protocol.Terminator;

    public string ReplyTerminator => CaenN1470Protocol.Terminator;

    /// <summary>The board at <paramref name="address"/>.</summary>
    public CaenN1470Wire this[int address] =>
        _boards.FirstOrDefault(b => b.Board.Address == address)
        ?? throw new ArgumentOutOfRangeException(nameof(address), address, $"no board at address {address} on this bus.");

    public string? Respond(string request)
    {
        string? reply = null;
        foreach (var board in _boards)
        {
            reply ??= board.Respond(request);
        }

        return reply;
    }
}
