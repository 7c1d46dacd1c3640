using Microsoft.Extensions.Time.Testing;
using NA64.Hardware.Magnets;
using NA64.Hardware.Magnets.BeamLine;
using NA64.Hardware.Transport;
using NA64.Simulators.Magnets.BeamLine;
using NA64.Simulators.Serving;

namespace NA64.Simulators.Tests.Magnets.BeamLine;

/// <summary>
/// The real driver (BeamLineMagnet over LineBeamLineGateway over LineTransport) against the simulated gateway, on an
/// in-memory pipe or TCP loopback. Simulator and driver share one fake clock; the transport's reply timeout runs on
/// the system clock only as a hang guard.
/// </summary>
internal sealed class BeamLineRig : IAsyncDisposable
{
    public const double Ceiling = 900;
    public static readonly TimeSpan Period = BeamLineFacts.DefaultCyclePeriod;

    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _serving = [];
    private readonly TcpDeviceServer? _tcp;

    private BeamLineRig(bool overTcp)
    {
        Gateway = new BeamLineGatewayModel(Time);
        Server = new LineDeviceServer(new BeamLineGatewayWire(Gateway), Time);
        IStreamEndpoint endpoint;
        if (overTcp)
        {
            _tcp = new TcpDeviceServer(Server, 0);
            _tcp.Start();
            endpoint = new TcpEndpoint("127.0.0.1", _tcp.Port);
        }
        else
        {
            endpoint = new InMemoryEndpoint(() =>
            {
                var (host, device) = InMemoryDuplex.CreatePair();
                _serving.Add(Server.ServeAsync(device, _stop.Token));
                return host;
            });
        }

        Transport = new LineTransport(endpoint, LineFraming.CrLf, TimeProvider.System);
        Magnet = new BeamLineMagnet(new LineBeamLineGateway(Transport, "na64-shift", TimeSpan.FromSeconds(20)),
            new MagnetLimits("MBPL", Ceiling), new BeamLineMagnetOptions(CyclePeriod: Period, StaleAfterCycles: 3), Time);
    }

    public static BeamLineRig InMemory() => new(overTcp: false);

    public static BeamLineRig OverTcp() => new(overTcp: true);

    public FakeTimeProvider Time { get; } = new(new DateTimeOffset(2026, 9, 1, 8, 0, 0, TimeSpan.Zero));

    public BeamLineGatewayModel Gateway { get; }

    public BeamLineCircuitModel Mbpl => Gateway.Circuit(BeamLineFacts.MbplCircuit)!;

    public LineDeviceServer Server { get; }

    public LineTransport Transport { get; }

    public BeamLineMagnet Magnet { get; }

    public void Cycles(int n) => Time.Advance(Period * n);

    /// <summary>Reads once per SPS cycle until <paramref name="done"/> holds; fails after <paramref name="maxCycles"/>.</summary>
    public async Task<MagnetReadback> ReadUntilAsync(Func<MagnetReadback, bool> done, string what, int maxCycles = 20)
    {
        for (var i = 0; i < maxCycles; i++)
        {
            Cycles(1);
            var readback = await Magnet.ReadAsync();
            if (done(readback))
            {
                return readback;
            }
        }

        Assert.Fail($"{what} not reached within {maxCycles} SPS cycles");
        return null!;
    }

    public async ValueTask DisposeAsync()
    {
        await Transport.DisposeAsync();
        await _stop.CancelAsync();
        if (_tcp is not null)
        {
            await _tcp.DisposeAsync();
        }

        foreach (var serving in _serving)
        {
            try
            {
                await serving;
            }
            catch (OperationCanceledException)
            {
                // the rig's own stop: the in-memory session ends by cancellation
            }
        }

        _stop.Dispose();
    }
}
