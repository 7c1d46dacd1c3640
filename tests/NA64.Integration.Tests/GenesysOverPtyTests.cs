using Microsoft.Extensions.Time.Testing;
using NA64.Hardware.Magnets;
using NA64.Hardware.Magnets.Genesys;
using NA64.Hardware.Transport;
using NA64.Simulators.Magnets;
using NA64.Simulators.Magnets.Genesys;
using NA64.Simulators.Serving;

namespace NA64.Integration.Tests;

/// <summary>
/// The Genesys driver and simulator over a real pseudo-terminal opened by System.IO.Ports (CR framing, 9600 baud on
/// the host side). Deterministic: physics and reply timeouts run on a FakeTimeProvider advanced by the test; only the
/// bytes really travel through the kernel.
/// </summary>
public sealed class GenesysOverPtyTests
{
    [Fact]
    public async Task Two_supplies_on_one_serial_line_switch_on_ramp_and_report_an_SRQ()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 6, 1, 8, 0, 0, TimeSpan.Zero));
        var model = GenesysFacts.ParseModel("GEN8-400");
        var units = new[]
        {
            new GenesysUnitModel(6, model, time, new MagnetLoad(0.5, 0.01, 0.02, seed: 6)),
            new GenesysUnitModel(7, model, time, new MagnetLoad(0.5, 0.01, 0.02, seed: 7)),
        };
        var device = new ObservedLineDevice(new GenesysWire(units));
        var server = new LineDeviceServer(device, time);
        using var pty = PseudoTerminal.Open();
        using var stop = new CancellationTokenSource();
        var serving = Task.Run(() => server.ServeAsync(pty.Master, stop.Token));
        var transport = new LineTransport(EndpointAddress.Parse("serial:" + pty.SlavePath + "?baud=9600").CreateEndpoint(), GenesysProtocol.Framing, time);
        try
        {
            using var dipole = new GenesysSupply(transport, 6, new MagnetLimits("MBPL-TEST", 400, 8), time: time);
            using var corrector = new GenesysSupply(transport, 7, new MagnetLimits("COR-TEST", 50, 2), time: time);
            await Safety.Within(Task.Run(() => dipole.InitializeAsync()));
            await Safety.Within(Task.Run(() => corrector.InitializeAsync()));
            Assert.Equal(["ADR 6", "IDN?", "ADR 7", "IDN?"], device.Requests);

            await Safety.Within(Task.Run(() => dipole.SwitchOnAsync()));
            await Safety.Within(Task.Run(() => dipole.SetCurrentAsync(200)));
            await Safety.Within(Task.Run(() => corrector.SwitchOnAsync()));
            await Safety.Within(Task.Run(() => corrector.SetCurrentAsync(20)));
            time.Advance(TimeSpan.FromMinutes(5));

            var d = await ReadAsync(dipole);
            var c = await ReadAsync(corrector);
            Assert.Equal(MagnetOutput.On, d.Output);
            Assert.Equal(MagnetConditions.CurrentRegulated, d.Conditions);
            Assert.InRange(d.Amps, 199.95, 200.05);
            Assert.InRange(c.Amps, 19.95, 20.05);
            Assert.Equal("2", units[1].PvText);
            Assert.Equal("8", units[0].PvText);

            units[0].SetStatusEnable((int)GenesysStatus.Fault);
            units[0].SetEnableOpen(true);
            var afterInterlock = await ReadAsync(corrector);
            Assert.Equal(MagnetOutput.On, afterInterlock.Output);
            Assert.Equal(1, dipole.ServiceRequests);
            Assert.Equal(0, corrector.ServiceRequests);
            var tripped = await ReadAsync(dipole);
            Assert.Equal(MagnetOutput.Fault, tripped.Output);
            Assert.True(tripped.Conditions.HasFlag(MagnetConditions.Interlock));
            Assert.Equal(0, transport.Counters.Timeouts);
        }
        finally
        {
            await Safety.Within(Task.Run(async () => await transport.DisposeAsync()));
            await stop.CancelAsync();
            try
            {
                await Safety.Within(serving);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                // The serving loop was cancelled at teardown: its normal way out.
            }
        }
    }

    private static async Task<MagnetReadback> ReadAsync(GenesysSupply supply)
    {
        var read = Task.Run(() => supply.ReadAsync());
        await Safety.Within(read);
        return await read;
    }
}
