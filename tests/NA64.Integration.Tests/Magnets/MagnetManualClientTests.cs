using System.Globalization;
using System.IO.Ports;
using System.Text;
using Microsoft.Extensions.Time.Testing;
using NA64.Hardware.Magnets;
using NA64.Hardware.Magnets.Danfysik8500;
using NA64.Integration.Tests.Magnets.Danfysik8500;
using NA64.Integration.Tests.Magnets.Genesys;
using NA64.SlowControl.Magnets;
using NA64.Hardware.Magnets.Genesys;
using NA64.Hardware.Transport;
using NA64.Simulators.Magnets.Danfysik8500;
using NA64.Simulators.Magnets.Genesys;
using NA64.Simulators.Serving;

namespace NA64.Integration.Tests.Magnets;

/// <summary>
/// Clients written from the manuals alone (device-protocols.md §3.5 and §4.5, the tables of §3.2, §3.3, §4.3, §4.4):
/// raw bytes through System.IO.Ports.SerialPort on the pty slave, no project driver code. Every expected reply is
/// written from the manual's bytes, never from the simulators' code; where the manual leaves a form unverified (digit
/// counts of <c>MC?</c>/<c>MV?</c>/<c>PC?</c>, the Danfysik error wording) only what it does fix is asserted. A silent
/// directive is checked by the next query: any stray byte would come in front of that query's exact reply.
/// </summary>
public sealed class MagnetManualClientTests
{
    [Fact]
    public async Task A_Genesys_client_written_from_the_manual_gets_the_exact_reply_bytes_of_the_example_exchange()
    {
        var time = MagnetPtyRig.NewTime();
        var unit = new GenesysUnitModel(6, GenesysFacts.ParseModel("GEN8-400"), time);
        await Serve(new GenesysWire([unit]), time, port =>
        {
            // §3.5, line by line (GEN8-400: 8 V, 400 A); CR ends requests and replies.
            Assert.Equal("OK\r", Ask(port, "ADR 6\r", "\r"));
            Assert.Equal("LAMBDA,GEN8-400\r", Ask(port, "IDN?\r", "\r"));
            Assert.Equal("OK\r", Ask(port, "RMT 1\r", "\r"));
            Assert.Equal("OK\r", Ask(port, "OVP 8.8\r", "\r"));
            Assert.Equal("OK\r", Ask(port, "PV 5.0\r", "\r"));
            Assert.Equal("5.0\r", Ask(port, "PV?\r", "\r")); // the string as sent
            Assert.Equal("OK\r", Ask(port, "PC 100\r", "\r"));
            Assert.Equal("OK\r", Ask(port, "OUT 1\r", "\r"));

            // The bench dipole (0.5 H, 0.01 ohm) reaches 100 A at 5 V well within a minute, then regulates: CC.
            time.Advance(TimeSpan.FromMinutes(1));
            Assert.Equal("CC\r", Ask(port, "MODE?\r", "\r"));
            Assert.Equal("ON\r", Ask(port, "OUT?\r", "\r"));
            // §3.3 gives values, not digit counts, for PC?, MC?, MV?: a plain decimal (no exponent, no comma) is asserted.
            Assert.Equal(100, PlainDecimal(Ask(port, "PC?\r", "\r")), 9);
            Assert.InRange(PlainDecimal(Ask(port, "MC?\r", "\r")), 99.9, 100.1);
            Assert.InRange(PlainDecimal(Ask(port, "MV?\r", "\r")), 0.9, 1.1); // I·R = 100 A x 0.01 ohm

            Assert.Equal("E01\r", Ask(port, "PV 9.5\r", "\r")); // above 105 % of 8 V
            Assert.Equal("C01\r", Ask(port, "XYZ\r", "\r"));
            Assert.Equal("OK\r", Ask(port, "\r", "\r"));
            Assert.Equal("C05\r", Ask(port, "PC 999\r", "\r")); // §3.2: setting out of range (400 A rating)

            // §3.2 E07: OUT ON refused during a fault shutdown (rear-panel enable opened: fault register bit 7, ENA).
            unit.SetEnableOpen(true);
            Assert.Equal("80\r", Ask(port, "FLT?\r", "\r"));
            Assert.Equal("E07\r", Ask(port, "OUT 1\r", "\r"));
            Assert.Equal("OFF\r", Ask(port, "OUT?\r", "\r"));
        });
    }

    [Fact]
    public async Task A_Danfysik_client_written_from_the_manual_gets_the_exact_reply_bytes_of_the_example_exchange()
    {
        var time = MagnetPtyRig.NewTime();
        // A 1000 A unit with 1 mA per AD count: ppm and counts read alike, the manual example's unity scaling. No noise.
        var unit = new Danfysik8500Model(0, time, Danfysik8500SimSettings.Default with { NoiseCounts = 0 });
        await Serve(new Danfysik8500Wire(unit), time, port =>
        {
            // §4.5; replies end LF CR (§4.1), directives are silent (§4.2).
            Send(port, "REM\r");
            Assert.Equal("!!....................!.\n\r", Ask(port, "S1\r", "\n\r")); // power off (1), normal (2), not ready (23)
            Send(port, "N\r");
            Assert.Equal(".!......................\n\r", Ask(port, "S1\r", "\n\r")); // power on, polarity normal
            Assert.Equal(24 + 2, Encoding.ASCII.GetByteCount(Ask(port, "S1\r", "\n\r"))); // §4.4: 26 bytes in all
            Send(port, "WA 250000\r");
            Assert.Equal("250000\n\r", Ask(port, "RA\r", "\n\r"));

            // A real unit slews (20 A/s here) and AD is raw ADC: once there, 250 A at 1 mA per count.
            time.Advance(TimeSpan.FromSeconds(30));
            Assert.Equal("250000\n\r", Ask(port, "AD 8\r", "\n\r"));
            Assert.Equal("+\n\r", Ask(port, "PO\r", "\n\r"));

            Send(port, "F\r");
            Assert.Equal("!!....................!.\n\r", Ask(port, "S1\r", "\n\r")); // power off (1), normal (2), not ready (23)

            // Magnet water-flow interlock (§4.4 position 21) with sum interlock (10); this unit drops main power on it
            // (§4.6), so positions 1 and 23 stay set.
            unit.RaiseInterlock(Danfysik8500Conditions.MagnetWaterFlowFailure);
            Assert.Equal("!!.......!..........!.!.\n\r", Ask(port, "S1\r", "\n\r"));

            // §4.3: ADR answers the address, 3 digits in the ISIS emulator (unverified): only digits are asserted.
            var address = Ask(port, "ADR\r", "\n\r");
            Assert.EndsWith("\n\r", address, StringComparison.Ordinal);
            Assert.Equal(0, int.Parse(address[..^2], NumberStyles.None, CultureInfo.InvariantCulture));

            // §4.2: a command not understood gets an error message (its wording is unverified), ended LF CR.
            var error = Ask(port, "XYZ\r", "\n\r");
            Assert.True(error.Length > 2, "an unknown command must be answered with an error message");
        });
    }

    [Fact]
    public async Task The_Danfysik_driver_runs_a_unit_written_independently_from_the_manual_over_a_serial_port()
    {
        var time = MagnetPtyRig.NewTime();
        // Every reply 300 ms after its request (the driver waits 500 ms); directives stay silent.
        var latency = TimeSpan.FromMilliseconds(300);
        var device = new ManualDanfysikDevice(time, latency);
        var start = time.GetUtcNow();
        var server = new LineDeviceServer(device, time);
        using var pty = PseudoTerminal.Open();
        using var stop = new CancellationTokenSource();
        var serving = Task.Run(() => server.ServeAsync(pty.Master, stop.Token));
        var transport = new LineTransport(EndpointAddress.Parse("serial:" + pty.SlavePath + "?baud=9600").CreateEndpoint(), LineFraming.DanfysikCrLfCr, time);
        try
        {
            var supply = new Danfysik8500Supply(transport, new MagnetLimits("MANUAL-8500", 550),
                new Danfysik8500Options(ManualDanfysikDevice.FullScaleAmps, ManualDanfysikDevice.FullScaleAmps / Danfysik8500Facts.FullScalePpm,
                    ManualDanfysikDevice.AmpsPerCount, ManualDanfysikDevice.VoltsPerCount), time);

            await MagnetPtyRig.Run(() => supply.InitializeAsync());
            Assert.Equal(["REM", "S1", "RA", "PO"], device.Received);
            Assert.False(device.PowerOn);

            Assert.Equal(MagnetRequestOutcome.Done, (await MagnetPtyRig.Run(() => supply.SwitchOnAsync())).Outcome);
            Assert.True(device.PowerOn);
            Assert.Equal(MagnetRequestOutcome.Done, (await MagnetPtyRig.Run(() => supply.SetCurrentAsync(500))).Outcome);
            Assert.Equal(833333, device.SetpointPpm); // 500 A of 600 A full scale, rounded to the ppm

            // Zero-padded numbers, informational and spare S1 positions set, no not-ready bit: none of it matters.
            var on = await MagnetPtyRig.Run(() => supply.ReadAsync());
            Assert.Equal(MagnetOutput.On, on.Output);
            Assert.Equal(MagnetConditions.None, on.Conditions);
            Assert.Equal(MagnetPolarity.Normal, on.Polarity);
            Assert.Equal(500, on.SetpointAmps, 3);
            Assert.Equal(500, on.Amps, 9);     // 50000 counts of 10 mA
            Assert.Equal(10, on.Volts!.Value, 9); // 500 A x 20 mohm, 10000 counts of 1 mV

            Assert.Equal(MagnetRequestOutcome.Done, (await MagnetPtyRig.Run(() => supply.SwitchOffAsync())).Outcome);
            var off = await MagnetPtyRig.Run(() => supply.ReadAsync());
            Assert.Equal(MagnetOutput.Off, off.Output);
            Assert.Equal(0, off.Amps);

            // At zero the polarity is selected and verified by S1 position 3.
            Assert.Equal(MagnetRequestOutcome.Done, (await MagnetPtyRig.Run(() => supply.SetPolarityAsync(MagnetPolarity.Reversed))).Outcome);
            Assert.Equal(MagnetPolarity.Reversed, (await MagnetPtyRig.Run(() => supply.ReadAsync())).Polarity);

            // Door opened: a fault with the interlock and door named; RS does not take while it is open, then does.
            device.SetDoorOpen(true);
            var door = await MagnetPtyRig.Run(() => supply.ReadAsync());
            Assert.Equal(MagnetOutput.Fault, door.Output);
            Assert.Equal(MagnetConditions.Interlock | MagnetConditions.Door, door.Conditions);
            var notTaken = await Assert.ThrowsAsync<Danfysik8500DirectiveNotTakenException>(() => MagnetPtyRig.Run(() => supply.ResetAsync()));
            Assert.Equal("RS", notTaken.Sent);
            device.SetDoorOpen(false);
            Assert.Equal(MagnetRequestOutcome.Done, (await MagnetPtyRig.Run(() => supply.ResetAsync())).Outcome);
            Assert.Equal(MagnetOutput.Off, (await MagnetPtyRig.Run(() => supply.ReadAsync())).Output);
            Assert.Equal(0, transport.Counters.Timeouts);
            Assert.Equal(latency * device.Answered, time.GetUtcNow() - start); // every status reply really came late
            // Only the 7 directives stayed silent: REM, N, WA 833333, F, PO -, RS (not taken), RS.
            Assert.Equal(7, device.Received.Count(r => r is "REM" or "N" or "F" or "RS" || r.StartsWith("WA ", StringComparison.Ordinal) || r.StartsWith("PO ", StringComparison.Ordinal)));
            Assert.Equal(device.Received.Count - 7, device.Answered);
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

    [Fact]
    public async Task The_Genesys_driver_runs_a_unit_written_independently_from_the_manual_over_a_serial_port()
    {
        // Every reply 300 ms after its request (the driver waits 500 ms).
        var time = MagnetPtyRig.NewTime();
        var latency = TimeSpan.FromMilliseconds(300);
        var device = new ManualGenesysDevice(time, latency);
        GenesysSupply? driver = null;
        await using var rig = MagnetPtyRig.Over(time, device, GenesysProtocol.Framing, (transport, time) =>
            driver = new GenesysSupply(transport, ManualGenesysDevice.Address, new MagnetLimits("MANUAL-GEN", 450, 8), time: time));
        var supply = driver!;
        var start = time.GetUtcNow();

        await MagnetPtyRig.Run(() => supply.InitializeAsync());
        Assert.Equal(["ADR 6", "IDN?"], device.Received);
        Assert.Equal(new GenesysModel("GEN20-500", 20, 500), supply.Model);

        Assert.Equal(MagnetRequestOutcome.Done, (await MagnetPtyRig.Run(() => supply.SwitchOnAsync())).Outcome);
        Assert.Equal(MagnetRequestOutcome.Done, (await MagnetPtyRig.Run(() => supply.SetCurrentAsync(250))).Outcome);
        Assert.Equal(["ADR 6", "IDN?", "PV 8", "OUT 1", "PC 250"], device.Received);

        // OUT? as 1/0, other digit counts, zero-padded MC?: read as the manual's values.
        var on = await MagnetPtyRig.Run(() => supply.ReadAsync());
        Assert.Equal(MagnetOutput.On, on.Output);
        Assert.Equal(MagnetConditions.CurrentRegulated, on.Conditions);
        Assert.Equal(250, on.SetpointAmps, 9);
        Assert.Equal(250, on.Amps, 9);
        Assert.Equal(2.5, on.Volts!.Value, 9);

        Assert.Equal(MagnetRequestOutcome.Done, (await MagnetPtyRig.Run(() => supply.SwitchOffAsync())).Outcome);
        var off = await MagnetPtyRig.Run(() => supply.ReadAsync());
        Assert.Equal(MagnetOutput.Off, off.Output);
        Assert.Equal(0, off.Amps);

        // Enable open: OUT 1 gets E07, the reset is denied naming the fault register, then taken once it closes.
        device.SetEnableOpen(true);
        await Assert.ThrowsAsync<GenesysFaultShutdownException>(() => MagnetPtyRig.Run(() => supply.SwitchOnAsync()));
        var denied = await MagnetPtyRig.Run(() => supply.ResetAsync());
        Assert.Equal(MagnetRequestOutcome.Denied, denied.Outcome);
        Assert.Contains("FLT 80", denied.Reason, StringComparison.Ordinal);
        device.SetEnableOpen(false);
        Assert.Equal(MagnetRequestOutcome.Done, (await MagnetPtyRig.Run(() => supply.ResetAsync())).Outcome);
        Assert.Equal(0, rig.Counters.Timeouts);
        Assert.Equal(latency * device.Answered, time.GetUtcNow() - start); // every reply really came late
        Assert.Equal(device.Received.Count, device.Answered);
    }

    [Fact]
    public async Task The_magnet_controller_ramps_a_Genesys_written_independently_from_the_manual_to_its_setpoint()
    {
        var time = MagnetPtyRig.NewTime();
        var device = new ManualGenesysDevice();
        await using var rig = MagnetPtyRig.Over(time, device, GenesysProtocol.Framing, (transport, time) =>
            new GenesysSupply(transport, ManualGenesysDevice.Address, new MagnetLimits("MANUAL-GEN", 450, 8), time: time));
        await rig.PollNow();
        Assert.Equal(MagnetState.Off, rig.State);

        await MagnetPtyRig.Run(() => rig.Controller.RampToAsync(100));
        // 10 steps of 10 A (one per 1 s poll); the inductance-free load follows at once; 5 s stable.
        var polls = await rig.PollUntil(MagnetState.AtSetpoint, 30);
        Assert.InRange(polls, 15, 16);
        Assert.Equal(100, device.Pc, 9);
        var steps = rig.SentSetpoints();
        Assert.All(steps.Zip(steps.Skip(1)), p => Assert.True(p.Second.Amps - p.First.Amps <= 10 + 1e-9));
        Assert.Equal(100, rig.Controller.Snapshot().Amps!.Value, 9);

        await MagnetPtyRig.Run(() => rig.Controller.SwitchOffAsync());
        await rig.Poll();
        Assert.Equal(MagnetState.Off, rig.State);
        Assert.False(device.OutputOn);
    }

    /// <summary>Serves <paramref name="device"/> on a new pty, runs the client on the slave through System.IO.Ports, stops the server.</summary>
    private static async Task Serve(ILineDevice device, FakeTimeProvider time, Action<SerialPort> client)
    {
        var server = new LineDeviceServer(device, time);
        using var pty = PseudoTerminal.Open();
        using var stop = new CancellationTokenSource();
        var serving = Task.Run(() => server.ServeAsync(pty.Master, stop.Token));
        using (var port = new SerialPort(pty.SlavePath, 9600, Parity.None, 8, StopBits.One))
        {
            port.Handshake = Handshake.None;
            // A safety net against a hang, not a timing assertion.
            port.ReadTimeout = (int)Safety.Timeout.TotalMilliseconds;
            port.Open();
            await Safety.Within(Task.Run(() => client(port)));
        }

        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Safety.Within(serving));
    }

    private static void Send(SerialPort port, string request)
    {
        var bytes = Encoding.ASCII.GetBytes(request);
        port.Write(bytes, 0, bytes.Length);
    }

    /// <summary>Writes the request bytes and reads reply bytes up to and including <paramref name="terminator"/>.</summary>
    private static string Ask(SerialPort port, string request, string terminator)
    {
        Send(port, request);
        var end = Encoding.ASCII.GetBytes(terminator);
        var reply = new List<byte>();
        while (reply.Count < end.Length || !reply.TakeLast(end.Length).SequenceEqual(end))
        {
            var b = port.ReadByte();
            Assert.True(b >= 0, $"the port closed after '{Encoding.ASCII.GetString(reply.ToArray())}'");
            reply.Add((byte)b);
        }

        return Encoding.ASCII.GetString(reply.ToArray());
    }

    /// <summary>A Genesys number reply: digits with at most one decimal point, then CR (§0 rule 1: invariant, no exponent).</summary>
    private static double PlainDecimal(string reply)
    {
        Assert.EndsWith("\r", reply, StringComparison.Ordinal);
        var text = reply[..^1];
        Assert.Matches(@"^\d+(\.\d+)?$", text);
        return double.Parse(text, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture);
    }
}
