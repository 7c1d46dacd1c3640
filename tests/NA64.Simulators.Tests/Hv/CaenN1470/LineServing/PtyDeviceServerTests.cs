using NA64.Hardware.Transport;
using NA64.Simulators.Serving;

namespace NA64.Simulators.Tests.Hv.CaenN1470.LineServing;

/// <summary>A simulated board on a real pseudo-terminal, reached through System.IO.Ports and the real line transport.</summary>
public class PtyDeviceServerTests
{
    [Fact]
    public async Task DriverTransportTalksToTheSimulatorThroughAPtyAndADisconnectFaultDoesNotEndServing()
    {
        var caen = new CaenTestBoard();
        var server = new LineDeviceServer(caen.Wire, caen.Time);
        await using var pty = new PtyDeviceServer(server);
        pty.Start();
        await using var transport = new LineTransport(new SerialEndpoint(new SerialSettings(pty.SlavePath, 9600)), LineFraming.CrLf);

        Assert.Equal("#BD:00,CMD:OK,VAL:N1470", await transport.ExchangeAsync("$BD:00,CMD:MON,PAR:BDNAME", ServingHarness.Guard));
        server.Faults.Disconnect();
        Assert.Equal("#BD:00,CMD:OK", await transport.ExchangeAsync("$BD:00,CMD:SET,CH:1,PAR:VSET,VAL:565", ServingHarness.Guard));
        Assert.Equal(565, caen[1].VSet);
        Assert.False(pty.Serving.IsCompleted);
    }
}
