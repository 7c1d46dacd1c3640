using Microsoft.Extensions.Time.Testing;
using NA64.Hardware.Magnets;
using NA64.Hardware.Magnets.Danfysik8500;
using NA64.Hardware.Transport;
using NA64.Simulators.Magnets.Danfysik8500;
using NA64.Simulators.Serving;

namespace NA64.Simulators.Tests.Magnets.Danfysik8500;

/// <summary>
/// The real driver over an in-memory line to the simulator on one fake clock. The driver's scaling comes from its own
/// options (what an installation's configuration would say), set here to the simulated unit's calibration.
/// </summary>
internal sealed class Danfysik8500Rig : IAsyncDisposable
{
    public static readonly TimeSpan Guard = TimeSpan.FromSeconds(20);

    private readonly CancellationTokenSource _stop = new();
    private readonly Task _serving;

    public Danfysik8500Rig(double maxAmps = 900)
    {
        Model = new Danfysik8500Model(0, Time);
        Wire = new Danfysik8500Wire(Model);
        Server = new LineDeviceServer(Wire, Time);
        var (host, device) = InMemoryDuplex.CreatePair();
        _serving = Server.ServeAsync(device, _stop.Token);
        Transport = new LineTransport(new InMemoryEndpoint(() => host), LineFraming.DanfysikCrLfCr, Time);
        var s = Model.Settings;
        Supply = new Danfysik8500Supply(
            Transport,
            new MagnetLimits("MBPL-test", maxAmps),
            new Danfysik8500Options(s.FullScaleAmps, s.FullScaleAmps / Danfysik8500Facts.FullScalePpm, s.AmpsPerCurrentCount, s.VoltsPerVoltageCount),
            Time);
    }

    public FakeTimeProvider Time { get; } = new(new DateTimeOffset(2026, 9, 1, 8, 0, 0, TimeSpan.Zero));

    public Danfysik8500Model Model { get; }

    public Danfysik8500Wire Wire { get; }

    public LineDeviceServer Server { get; }

    public LineTransport Transport { get; }

    public Danfysik8500Supply Supply { get; }

    /// <summary>Advances fake time a second at a time, reading the supply after each, until <paramref name="done"/> holds.</summary>
    public async Task<MagnetReadback> ReadUntilAsync(Func<MagnetReadback, bool> done, string what, int maxSeconds = 600)
    {
        for (var i = 0; i < maxSeconds; i++)
        {
            var r = await Supply.ReadAsync().WaitAsync(Guard);
            if (done(r))
            {
                return r;
            }

            Time.Advance(TimeSpan.FromSeconds(1));
        }

        throw new Xunit.Sdk.XunitException($"{what} not reached within {maxSeconds} simulated seconds");
    }

    public async ValueTask DisposeAsync()
    {
        await Transport.DisposeAsync();
        await _stop.CancelAsync();
        try
        {
            await _serving.WaitAsync(Guard);
        }
        catch (OperationCanceledException)
        {
            // the serving loop ends by cancellation: that is how it is stopped
        }

        _stop.Dispose();
    }
}
