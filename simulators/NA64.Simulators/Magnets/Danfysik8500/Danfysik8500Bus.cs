using NA64.Simulators.Serving;

namespace NA64.Simulators.Magnets.Danfysik8500;

/// <summary>
/// Several 8500 units on one multi-drop line: every unit sees every request; <c>ADR n</c> selects one and the others
/// fall silent. With more than one unit none is selected until the first <c>ADR n</c>.
/// </summary>
public sealed class Danfysik8500Bus : ILineDevice
{
    private readonly Danfysik8500Wire[] _units;

    public Danfysik8500Bus(IEnumerable<Danfysik8500Wire> units)
    {
        ArgumentNullException.ThrowIfNull(units);
        _units = [.. units];
        if (_units.Length == 0)
        {
            throw new ArgumentException("units is empty; a line holds at least one unit.", nameof(units));
        }

        var duplicate = _units.GroupBy(u => u.Unit.Address).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
        {
            throw new ArgumentException($"units has address {duplicate.Key} {duplicate.Count()} times; each address on a line must be unique.", nameof(units));
        }

        if (_units.Length > 1)
        {
            foreach (var unit in _units)
            {
                unit.Selected = false;
            }
        }
    }

    public IReadOnlyList<Danfysik8500Wire> Units => _units;

    public string RequestTerminator => "\r";

    public string ReplyTerminator => "\n\r";

    public Danfysik8500Wire this[int address] =>
        _units.FirstOrDefault(u => u.Unit.Address == address)
        ?? throw new ArgumentOutOfRangeException(nameof(address), address, $"no unit at address {address} on this line.");

    public string? Respond(string request)
    {
        string? reply = null;
        foreach (var unit in _units)
        {
            // Every unit must see ADR n, even after one has answered.
            var answer = unit.Respond(request);
            reply ??= answer;
        }

        return reply;
    }
}
