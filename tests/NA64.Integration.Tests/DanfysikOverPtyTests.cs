using Microsoft.Extensions.Time.Testing;
using NA64.Hardware.Magnets;
using NA64.Hardware.Magnets.Danfysik8500;
using NA64.Hardware.Transport;
using NA64.Simulators.Magnets.Danfysik8500;
using NA64.Simulators.Serving;

namespace NA64.Integration.Tests;

/// <summary>
/// The Danfysik 8500 driver and simulator over a real pseudo-terminal opened by System.IO.Ports: CR out, LF CR back
/// through the kernel's tty layer. Time is fake (replies need none); only the bytes really travel.
/// </summary>
public sealed class DanfysikOverPtyTests
{
    [Fact]
    public async Task Remote_then_ramp_to_800_A_and_back_off_over_a_serial_port()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 9, 1, 8, 0, 0, TimeSpan.Zero));
        var model = new Danfysik8500Model(0, time);
        var device = new ObservedLineDevice(new Danfysik8500Wire(model));
        var server = new LineDeviceServer(device, time);
        using var stop = new CancellationTokenSource();
        using var pty = PseudoTerminal.Open();
        var serving = Task.Run(() => server.ServeAsync(pty.Master, stop.Token));

        var transport = new LineTransport(EndpointAddress.Parse("serial:" + pty.SlavePath + "?baud=9600").CreateEndpoint(), LineFraming.DanfysikCrLfCr, time);
        try
        {
            var s = model.Settings;
            var supply = new Danfysik8500Supply(transport, new MagnetLimits("MBPL-pty", 900),
                new Danfysik8500Options(s.FullScaleAmps, s.FullScaleAmps / Danfysik8500Facts.FullScalePpm, s.AmpsPerCurrentCount, s.VoltsPerVoltageCount), time);

            await Safety.Within(supply.InitializeAsync());
            Assert.Equal(["REM", "S1", "RA", "PO"], device.Requests);
            Assert.True(model.Remote);
            Assert.False(model.PowerOn); // first contact switched nothing on

            await Safety.Within(supply.SwitchOnAsync());
            await Safety.Within(supply.SetCurrentAsync(800));
            MagnetReadback r;
            var seconds = 0;
            do
            {
                time.Advance(TimeSpan.FromSeconds(1));
                r = await Safety.Within(supply.ReadAsync());
            }
            while (Math.Abs(r.Amps - 800) > 0.2 && ++seconds < 120);

            Assert.Equal(MagnetOutput.On, r.Output);
            Assert.Equal(800, r.SetpointAmps, 9);
            Assert.InRange(r.Amps, 799.8, 800.2);
            Assert.InRange(seconds, 39, 41); // 800 A at 20 A/s

            await Safety.Within(supply.SwitchOffAsync());
            Assert.Equal(MagnetOutput.Off, (await Safety.Within(supply.ReadAsync())).Output);
            Assert.Equal(0, transport.Counters.Timeouts);
        }
        finally
        {
            await Safety.Within(Task.Run(async () => await transport.DisposeAsync()));
            await stop.CancelAsync();
            pty.Dispose();
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
}
