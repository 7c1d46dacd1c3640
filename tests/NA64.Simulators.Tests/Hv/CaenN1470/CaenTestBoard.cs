using NA64.Simulators.Physics;
using Microsoft.Extensions.Time.Testing;
using NA64.Simulators.Hv.CaenN1470;

namespace NA64.Simulators.Tests.Hv.CaenN1470;

/// <summary>One simulated board on a fake clock, with a helper that speaks the wire.</summary>
internal sealed class CaenTestBoard
{
    public CaenTestBoard(int address = 0, CaenN1470Personality? personality = null, IReadOnlyList<CaenN1470Load>? loads = null, SpillCycle? spill = null)
    {
        Board = new CaenN1470BoardModel(address, Time, personality, loads, spill ?? NoBeam);
        Wire = new CaenN1470Wire(Board);
    }

    /// <summary>A spill cycle whose first spill never comes, for tests that do not look at beam.</summary>
    public static SpillCycle NoBeam { get; } = new(TimeSpan.FromSeconds(4.8), TimeSpan.FromSeconds(24.8), TimeSpan.FromDays(365));

    public FakeTimeProvider Time { get; } = new(new DateTimeOffset(2026, 9, 1, 8, 0, 0, TimeSpan.Zero));

    public CaenN1470BoardModel Board { get; }

    public CaenN1470Wire Wire { get; }

    public CaenN1470Channel this[int channel] => Board.Channels[channel];

    public string? Ask(string request) => Wire.Respond(request);

    public void Advance(double seconds) => Time.Advance(TimeSpan.FromSeconds(seconds));

    /// <summary>Sets VSET and switches on, via the model.</summary>
    public void On(int channel, double vset)
    {
        Assert.True(this[channel].TrySetVSet(vset));
        this[channel].SwitchOn();
    }
}
