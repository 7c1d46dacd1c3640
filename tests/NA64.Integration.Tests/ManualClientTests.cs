using System.IO.Ports;
using System.Text;
using Microsoft.Extensions.Time.Testing;
using NA64.Hardware.Transport;
using NA64.Simulators.Hv.CaenN1470;
using NA64.Simulators.Serving;

namespace NA64.Integration.Tests;

/// <summary>
/// A client written from the CAEN manual alone: raw bytes through System.IO.Ports.SerialPort on the pty slave, no
/// project driver code. The replies must be the exact bytes of device-protocols.md §1.10.
/// </summary>
public sealed class ManualClientTests
{
    [Fact]
    public async Task A_client_written_from_the_manual_gets_the_exact_reply_bytes_of_the_example_exchange()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 6, 1, 8, 0, 0, TimeSpan.Zero));
        var board = new CaenN1470BoardModel(0, time);
        var server = new LineDeviceServer(new CaenN1470Bus([new CaenN1470Wire(board)]), time);
        using var pty = PseudoTerminal.Open();
        using var stop = new CancellationTokenSource();
        var serving = Task.Run(() => server.ServeAsync(pty.Master, stop.Token));

        using (var port = new SerialPort(pty.SlavePath, 9600, Parity.None, 8, StopBits.One))
        {
            port.Handshake = Handshake.None;
            // A safety net against a hang, not a timing assertion.
            port.ReadTimeout = (int)Safety.Timeout.TotalMilliseconds;
            port.Open();

            Assert.Equal("#BD:00,CMD:OK,VAL:N1470\r\n", Ask(port, "$BD:00,CMD:MON,PAR:BDNAME\r\n"));
            Assert.Equal("#BD:00,CMD:OK,VAL:4\r\n", Ask(port, "$BD:00,CMD:MON,PAR:BDNCH\r\n"));
            Assert.Equal("#BD:00,CMD:OK\r\n", Ask(port, "$BD:00,CMD:SET,CH:1,PAR:VSET,VAL:1500.0\r\n"));
            Assert.Equal("#BD:00,CMD:OK\r\n", Ask(port, "$BD:00,CMD:SET,CH:1,PAR:ON\r\n"));

            // The ramp (RUP 50 V/s from power-up) takes 30 s of simulated time.
            time.Advance(TimeSpan.FromSeconds(40));
            Assert.Equal("#BD:00,CMD:OK,VAL:1500.0\r\n", Ask(port, "$BD:00,CMD:MON,CH:1,PAR:VMON\r\n"));
            Assert.Equal("#BD:00,CMD:OK,VAL:0000.0;1500.0;0000.0;0000.0\r\n", Ask(port, "$BD:00,CMD:MON,CH:4,PAR:VMON\r\n"));
            Assert.Equal("#BD:00,VAL:ERR\r\n", Ask(port, "$BD:00,CMD:SET,CH:0,PAR:VSET,VAL:9999\r\n"));

            board.SetLocal(true); // front panel switched to LOCAL
            Assert.Equal("#BD:00,LOC:ERR\r\n", Ask(port, "$BD:00,CMD:SET,CH:0,PAR:OFF\r\n"));
            Assert.Equal("#BD:00,CMD:OK,VAL:LOCAL\r\n", Ask(port, "$BD:00,CMD:MON,PAR:BDCTR\r\n"));
        }

        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Safety.Within(serving));
    }

    /// <summary>Writes the request bytes and reads reply bytes up to and including CR LF.</summary>
    private static string Ask(SerialPort port, string request)
    {
        var bytes = Encoding.ASCII.GetBytes(request);
        port.Write(bytes, 0, bytes.Length);
        var reply = new List<byte>();
        while (reply.Count < 2 || reply[^2] != '\r' || reply[^1] != '\n')
        {
            var b = port.ReadByte();
            Assert.True(b >= 0, $"the port closed after '{Encoding.ASCII.GetString(reply.ToArray())}'");
            reply.Add((byte)b);
        }

        return Encoding.ASCII.GetString(reply.ToArray());
    }
}
