using Microsoft.Extensions.Time.Testing;
using NA64.Hardware.Magnets.Genesys;
using NA64.Simulators.Magnets;
using NA64.Simulators.Magnets.Genesys;

namespace NA64.Simulators.Tests.Magnets.Genesys;

/// <summary>Simulated Genesys units on one line, on a fake clock, with a helper that speaks the wire.</summary>
internal sealed class GenesysTestLine
{
    public GenesysTestLine(string model = "GEN8-400", params int[] addresses)
    {
        if (addresses.Length == 0)
        {
            addresses = [6];
        }

        Units = addresses
            .Select(a => new GenesysUnitModel(a, GenesysFacts.ParseModel(model), Time, new MagnetLoad(0.5, 0.01, noiseAmps: 0.02, seed: a)))
            .ToArray();
        Wire = new GenesysWire(Units);
    }

    public FakeTimeProvider Time { get; } = new(new DateTimeOffset(2026, 9, 1, 8, 0, 0, TimeSpan.Zero));

    public GenesysUnitModel[] Units { get; }

    public GenesysWire Wire { get; }

    public GenesysUnitModel this[int address] => Wire[address];

    public string? Ask(string request) => Wire.Respond(request);

    public void Advance(double seconds) => Time.Advance(TimeSpan.FromSeconds(seconds));
}
