using System.Text;
using NA64.Hardware.Transport;

namespace NA64.Hardware.Tests.Transport;

/// <summary>
/// Real I/O through a Linux pseudo-terminal with System.IO.Ports on the client side. The real-time limits are a
/// safety net against a hang, never an assertion.
/// </summary>
public sealed class PseudoTerminalTests
{
    private static readonly TimeSpan SafetyTimeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task A_line_goes_both_ways_between_SerialEndpoint_on_the_slave_and_the_master()
    {
        using var pty = PseudoTerminal.Open();
        Assert.StartsWith("/dev/pts/", pty.SlavePath, StringComparison.Ordinal);
        var endpoint = new SerialEndpoint(new SerialSettings(pty.SlavePath, 115200));
        await using var transport = new LineTransport(endpoint, LineFraming.CrLf);

        var device = new FakeDevice(pty.Master);
        var exchange = transport.ExchangeAsync("$BD:00,CMD:MON,PAR:BDNAME", SafetyTimeout);
        Assert.Equal("$BD:00,CMD:MON,PAR:BDNAME", await device.ReadRequestAsync());
        await device.WriteAsync("#BD:00,CMD:OK,VAL:N1470\r\n");
        Assert.Equal("#BD:00,CMD:OK,VAL:N1470", await Safety.Within(exchange));
        Assert.True(transport.IsConnected);
    }

    [Fact]
    public async Task Raw_mode_passes_every_byte_unchanged()
    {
        using var pty = PseudoTerminal.Open();
        var endpoint = new SerialEndpoint(new SerialSettings(pty.SlavePath, 9600));
        await using var client = await endpoint.OpenAsync(CancellationToken.None);
        var all = Enumerable.Range(0, 256).Select(i => (byte)i).ToArray();

        await pty.Master.WriteAsync(all);
        Assert.Equal(all, await ReadExactlyAsync(client, all.Length));

        await client.WriteAsync(all);
        await client.FlushAsync();
        Assert.Equal(all, await ReadExactlyAsync(pty.Master, all.Length));
    }

    [Fact]
    public async Task A_client_can_close_and_reopen_the_slave_while_the_master_stays_usable()
    {
        using var pty = PseudoTerminal.Open();
        var endpoint = new SerialEndpoint(new SerialSettings(pty.SlavePath));
        for (var round = 0; round < 3; round++)
        {
            await using var client = await endpoint.OpenAsync(CancellationToken.None);
            var text = Encoding.ASCII.GetBytes($"round {round}\r\n");
            await client.WriteAsync(text);
            await client.FlushAsync();
            Assert.Equal(text, await ReadExactlyAsync(pty.Master, text.Length));
        }
    }

    [Fact]
    public async Task What_the_device_sent_while_no_client_listened_is_not_read_by_the_next_client()
    {
        using var pty = PseudoTerminal.Open();
        await pty.Master.WriteAsync("#BD:00,CMD:OK,VAL:stale\r\n"u8.ToArray());
        var endpoint = new SerialEndpoint(new SerialSettings(pty.SlavePath));
        await using var client = await endpoint.OpenAsync(CancellationToken.None);
        await pty.Master.WriteAsync("fresh"u8.ToArray());
        Assert.Equal("fresh"u8.ToArray(), await ReadExactlyAsync(client, 5));
    }

    [Fact]
    public async Task A_pending_master_read_is_cancellable_and_ends_at_dispose()
    {
        var pty = PseudoTerminal.Open();
        using (var cts = new CancellationTokenSource())
        {
            var read = pty.Master.ReadAsync(new byte[16], cts.Token).AsTask();
            await cts.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Safety.Within(read));
        }

        var pending = pty.Master.ReadAsync(new byte[16]).AsTask();
        pty.Dispose();
        Assert.Equal(0, await Safety.Within(pending));
        await Assert.ThrowsAsync<ObjectDisposedException>(() => pty.Master.ReadAsync(new byte[16]).AsTask());
    }

    private static async Task<byte[]> ReadExactlyAsync(Stream stream, int count)
    {
        var buffer = new byte[count];
        using var cts = Safety.Net();
        await stream.ReadExactlyAsync(buffer, cts.Token);
        return buffer;
    }
}
