using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Time.Testing;
using NA64.Hardware.Transport;
using NA64.Simulators.Serving;

namespace NA64.Simulators.Tests.Hv.CaenN1470.LineServing;

public class LineDeviceServerTests
{
    [Fact]
    public async Task SplitsInputOnTheTerminatorWhateverTheChunking()
    {
        await using var h = new ServingHarness();
        var first = h.ReadLineAsync();
        await h.SendAsync("$BD:00,CMD:MON,PA");
        await h.SendAsync("R:BDNAME\r");
        await h.SendAsync("\n$BD:05,CMD:MON,PAR:BDNCH\r\n$BD:00,CMD:MON,PAR:BDNCH\r\n");

        Assert.Equal("#BD:00,CMD:OK,VAL:N1470\r\n", await first);
        Assert.Equal("#BD:00,CMD:OK,VAL:4\r\n", await h.ReadLineAsync());
    }

    [Fact]
    public async Task DroppedReplyIsNotSentButTheRequestIsProcessed()
    {
        await using var h = new ServingHarness();
        h.Faults.DropNextReply();
        var reply = h.ReadLineAsync();
        await h.SendAsync("$BD:00,CMD:SET,CH:0,PAR:VSET,VAL:560\r\n$BD:00,CMD:MON,CH:0,PAR:VSET\r\n");

        Assert.Equal("#BD:00,CMD:OK,VAL:0560.0\r\n", await reply);
    }

    [Fact]
    public async Task GarbledReplyKeepsLengthAndTerminatorAndDiffersInAtMostTheGivenBytes()
    {
        await using var h = new ServingHarness();
        const string clean = "#BD:00,CMD:OK,VAL:N1470\r\n";
        h.Faults.GarbleNextReply(3);

        var garbled = await h.AskAsync("$BD:00,CMD:MON,PAR:BDNAME");

        Assert.Equal(clean.Length, garbled.Length);
        Assert.EndsWith("\r\n", garbled, StringComparison.Ordinal);
        var differences = clean.Zip(garbled).Count(p => p.First != p.Second);
        Assert.InRange(differences, 1, 3);
        Assert.Equal(clean, await h.AskAsync("$BD:00,CMD:MON,PAR:BDNAME"));
    }

    [Fact]
    public async Task TruncatedReplyLosesItsTailAndTerminator()
    {
        await using var h = new ServingHarness();
        h.Faults.TruncateNextReply(9);
        var line = h.ReadLineAsync();
        await h.SendAsync("$BD:00,CMD:MON,PAR:BDNAME\r\n$BD:00,CMD:MON,PAR:BDNCH\r\n");

        Assert.Equal("#BD:00,CM#BD:00,CMD:OK,VAL:4\r\n", await line);
    }

    [Fact]
    public async Task ReplyDelayIsSimulatedTime()
    {
        await using var h = new ServingHarness();
        h.Faults.ReplyDelay = TimeSpan.FromMilliseconds(500);
        var reply = h.ReadLineAsync();
        await h.SendAsync("$BD:00,CMD:MON,PAR:BDNCH\r\n");

        await h.Time.WaitForTimerAsync();
        h.Advance(TimeSpan.FromMilliseconds(499));
        Assert.False(reply.IsCompleted);
        h.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal("#BD:00,CMD:OK,VAL:4\r\n", await reply);
    }

    [Fact]
    public async Task BaudRatePacesRequestsAndRepliesAndBackToBackExchangesQueueOnTheLine()
    {
        // 9600 baud, 10 bit times per byte: the 26-byte request arrives 27.083 ms after its first byte,
        // the 21-byte reply takes 21.875 ms. FakeTimeProvider timers fire on whole milliseconds, so the checks
        // keep a margin of a millisecond or more around each expected instant.
        await using var h = new ServingHarness(baudRate: 9600);
        var first = h.ReadLineAsync();
        await h.SendAsync("$BD:00,CMD:MON,PAR:BDNCH\r\n$BD:00,CMD:MON,PAR:BDNCH\r\n");

        await h.Time.WaitForTimerAsync();
        h.Advance(TimeSpan.FromMilliseconds(26.0));
        Assert.Equal(0, h.Server.LinesReceived); // the device has not got the whole request yet
        h.Advance(TimeSpan.FromMilliseconds(1.1)); // t = 27.1 ms
        await h.Time.WaitForTimerAsync();
        h.Advance(TimeSpan.FromMilliseconds(20.0)); // t = 47.1 ms
        Assert.False(first.IsCompleted);
        h.Advance(TimeSpan.FromMilliseconds(2.0)); // t = 49.1 ms >= 27.083 + 21.875
        Assert.Equal("#BD:00,CMD:OK,VAL:4\r\n", await first);

        // The second request queued behind the first on the host-to-device line: complete at 54.167 ms.
        var second = h.ReadLineAsync();
        await h.Time.WaitForTimerAsync();
        h.Advance(TimeSpan.FromMilliseconds(4.0)); // t = 53.1 ms
        Assert.Equal(1, h.Server.LinesReceived);
        h.Advance(TimeSpan.FromMilliseconds(1.1)); // t = 54.2 ms
        await h.Time.WaitForTimerAsync();
        h.Advance(TimeSpan.FromMilliseconds(20.0)); // t = 74.2 ms
        Assert.False(second.IsCompleted);
        h.Advance(TimeSpan.FromMilliseconds(2.0)); // t = 76.2 ms >= 54.167 + 21.875
        Assert.Equal("#BD:00,CMD:OK,VAL:4\r\n", await second);
    }

    [Fact]
    public async Task SilentDeviceNeitherProcessesNorAnswers()
    {
        await using var h = new ServingHarness();
        h.Faults.Silent = true;
        var reply = h.ReadLineAsync();
        await h.SendAsync("$BD:00,CMD:SET,CH:0,PAR:VSET,VAL:560\r\n");
        Assert.True(SpinWait.SpinUntil(() => h.Server.LinesReceived == 1, ServingHarness.Guard));
        h.Advance(TimeSpan.FromSeconds(10));
        h.Faults.Silent = false;
        await h.SendAsync("$BD:00,CMD:MON,CH:0,PAR:VSET\r\n");

        Assert.Equal("#BD:00,CMD:OK,VAL:0000.0\r\n", await reply);
    }

    [Fact]
    public async Task DisconnectEndsTheSessionAndANewOneIsServed()
    {
        var caen = new CaenTestBoard();
        var server = new LineDeviceServer(caen.Wire, caen.Time);
        var (host, device) = InMemoryDuplex.CreatePair();
        var session = server.ServeAsync(device, CancellationToken.None);

        server.Faults.Disconnect();
        await session.WaitAsync(ServingHarness.Guard);
        await device.DisposeAsync();
        Assert.Equal(0, await host.ReadAsync(new byte[8]).AsTask().WaitAsync(ServingHarness.Guard));

        var (host2, device2) = InMemoryDuplex.CreatePair();
        var session2 = server.ServeAsync(device2, CancellationToken.None);
        await host2.WriteAsync(Encoding.ASCII.GetBytes("$BD:00,CMD:MON,PAR:BDNCH\r\n"));
        var buffer = new byte[64];
        var n = await host2.ReadAsync(buffer).AsTask().WaitAsync(ServingHarness.Guard);
        Assert.Equal("#BD:00,CMD:OK,VAL:4\r\n", Encoding.ASCII.GetString(buffer, 0, n));
        await host2.DisposeAsync();
        await session2.WaitAsync(ServingHarness.Guard);
    }

    [Fact]
    public async Task ServeReturnsWhenTheHostClosesAndThrowsWhenCancelled()
    {
        var caen = new CaenTestBoard();
        var server = new LineDeviceServer(caen.Wire, caen.Time);
        var (host, device) = InMemoryDuplex.CreatePair();
        var session = server.ServeAsync(device, CancellationToken.None);
        await host.DisposeAsync();
        await session.WaitAsync(ServingHarness.Guard);

        using var cts = new CancellationTokenSource();
        var (_, device2) = InMemoryDuplex.CreatePair();
        var session2 = server.ServeAsync(device2, cts.Token);
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => session2.WaitAsync(ServingHarness.Guard));
    }

    [Fact]
    public async Task OverlongLineWithoutTerminatorIsHandedOverAndAnswered()
    {
        await using var h = new ServingHarness();
        var reply = h.ReadLineAsync();
        await h.SendAsync("$BD:00," + new string('X', LineDeviceServer.MaxLineBytes));
        Assert.Equal("#BD:00,CMD:ERR\r\n", await reply);
    }

    [Fact]
    public void RejectsANonPositiveBaudRate()
    {
        var caen = new CaenTestBoard();
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new LineDeviceServer(caen.Wire, caen.Time, baudRate: 0));
        Assert.Equal("baudRate", e.ParamName);
    }

    [Fact]
    public async Task TcpServerServesClientsAndAcceptsANewOneAfterADisconnectFault()
    {
        var caen = new CaenTestBoard();
        var server = new LineDeviceServer(caen.Wire, TimeProvider.System);
        await using var tcp = new TcpDeviceServer(server, 0, IPAddress.Loopback);
        tcp.Start();

        using (var client = new TcpClient())
        {
            await client.ConnectAsync(IPAddress.Loopback, tcp.Port).WaitAsync(ServingHarness.Guard);
            var stream = client.GetStream();
            Assert.Equal("#BD:00,CMD:OK,VAL:N1470\r\n", await AskTcpAsync(stream, "$BD:00,CMD:MON,PAR:BDNAME\r\n"));

            server.Faults.Disconnect();
            Assert.True(await DroppedAsync(stream), "the connection stays open after a disconnect fault");
        }

        using var again = new TcpClient();
        await again.ConnectAsync(IPAddress.Loopback, tcp.Port).WaitAsync(ServingHarness.Guard);
        Assert.Equal("#BD:00,CMD:OK", (await AskTcpAsync(again.GetStream(), "$BD:00,CMD:SET,CH:2,PAR:VSET,VAL:1630\r\n")).TrimEnd());
        Assert.Equal(1630, caen[2].VSet);
    }

    /// <summary>
    /// True when the far end dropped the connection: an orderly close (read returns 0) or, when the server's cancelled
    /// receive made the kernel reset it, a connection reset. Both are a pulled cable to the host.
    /// </summary>
    private static async Task<bool> DroppedAsync(NetworkStream stream)
    {
        try
        {
            return await stream.ReadAsync(new byte[8]).AsTask().WaitAsync(ServingHarness.Guard) == 0;
        }
        catch (IOException e) when (e.InnerException is SocketException { SocketErrorCode: SocketError.ConnectionReset })
        {
            return true;
        }
    }

    [Fact]
    public async Task SecondTcpServerOnAPortInUseGivesOneLineNamingTheEndpointAndCause()
    {
        var caen = new CaenTestBoard();
        var server = new LineDeviceServer(caen.Wire, TimeProvider.System);
        await using var first = new TcpDeviceServer(server, 0, IPAddress.Loopback);
        first.Start();
        await using var second = new TcpDeviceServer(server, first.Port, IPAddress.Loopback);

        var e = Assert.Throws<ListenException>(second.Start);

        Assert.Equal($"tcp 127.0.0.1:{first.Port}: address already in use", e.Message);
        Assert.Equal(SocketError.AddressAlreadyInUse, e.Error);
        Assert.Equal($"tcp 127.0.0.1:{first.Port}", e.Endpoint);
        // The first server is untouched and still serves.
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, first.Port).WaitAsync(ServingHarness.Guard);
        Assert.Equal("#BD:00,CMD:OK,VAL:N1470\r\n", await AskTcpAsync(client.GetStream(), "$BD:00,CMD:MON,PAR:BDNAME\r\n"));
    }

    private static async Task<string> AskTcpAsync(NetworkStream stream, string request)
    {
        await stream.WriteAsync(Encoding.ASCII.GetBytes(request));
        var received = new StringBuilder();
        var buffer = new byte[256];
        while (!received.ToString().EndsWith("\r\n", StringComparison.Ordinal))
        {
            var n = await stream.ReadAsync(buffer).AsTask().WaitAsync(ServingHarness.Guard);
            Assert.NotEqual(0, n);
            received.Append(Encoding.ASCII.GetString(buffer, 0, n));
        }

        return received.ToString();
    }
}
