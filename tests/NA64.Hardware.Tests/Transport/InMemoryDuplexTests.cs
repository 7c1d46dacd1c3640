using NA64.Hardware.Transport;

namespace NA64.Hardware.Tests.Transport;

public sealed class InMemoryDuplexTests
{
    [Fact]
    public async Task Bytes_written_on_one_side_are_read_on_the_other_in_both_directions()
    {
        var (host, device) = InMemoryDuplex.CreatePair();
        await using (host)
        await using (device)
        {
            await host.WriteAsync("ping"u8.ToArray());
            var buffer = new byte[16];
            Assert.Equal(4, await device.ReadAsync(buffer));
            Assert.Equal("ping"u8.ToArray(), buffer[..4]);

            device.Write("pong"u8);
            Assert.Equal(4, host.Read(buffer));
            Assert.Equal("pong"u8.ToArray(), buffer[..4]);
        }
    }

    [Fact]
    public async Task A_waiting_read_completes_when_bytes_arrive_and_large_writes_arrive_whole()
    {
        var (host, device) = InMemoryDuplex.CreatePair();
        var read = new byte[10_000];
        var pending = device.ReadExactlyAsync(read).AsTask();
        Assert.False(pending.IsCompleted);
        var data = Enumerable.Range(0, 10_000).Select(i => (byte)(i * 7)).ToArray();
        await host.WriteAsync(data.AsMemory(0, 3));
        await host.WriteAsync(data.AsMemory(3));
        await Safety.Within(pending);
        Assert.Equal(data, read);
    }

    [Fact]
    public async Task Disposing_one_side_ends_the_other_sides_reads_and_fails_its_writes()
    {
        var (host, device) = InMemoryDuplex.CreatePair();
        await host.WriteAsync(new byte[] { 1, 2 });
        var pending = host.ReadAsync(new byte[4]).AsTask();
        await device.DisposeAsync();
        Assert.Equal(0, await Safety.Within(pending));
        await Assert.ThrowsAsync<IOException>(() => host.WriteAsync(new byte[] { 3 }).AsTask());
        Assert.Throws<ObjectDisposedException>(() => device.Write(new byte[] { 4 }));
    }

    [Fact]
    public async Task Bytes_already_sent_are_still_read_before_end_of_stream()
    {
        var (host, device) = InMemoryDuplex.CreatePair();
        await device.WriteAsync(new byte[] { 9, 8 });
        await device.DisposeAsync();
        var buffer = new byte[4];
        Assert.Equal(2, await host.ReadAsync(buffer));
        Assert.Equal(0, await host.ReadAsync(buffer));
    }

    [Fact]
    public async Task A_read_can_be_cancelled_without_losing_later_bytes()
    {
        var (host, device) = InMemoryDuplex.CreatePair();
        using var cts = new CancellationTokenSource();
        var buffer = new byte[4];
        var pending = device.ReadAsync(buffer, cts.Token).AsTask();
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => pending);
        await host.WriteAsync(new byte[] { 5 });
        Assert.Equal(1, await Safety.Within(device.ReadAsync(buffer).AsTask()));
        Assert.Equal(5, buffer[0]);
    }

    [Fact]
    public async Task The_endpoint_calls_its_factory_on_every_open()
    {
        var opened = new List<Stream>();
        var endpoint = new InMemoryEndpoint(() =>
        {
            var (host, _) = InMemoryDuplex.CreatePair();
            opened.Add(host);
            return host;
        });
        Assert.Equal("sim", endpoint.Address);
        var a = await endpoint.OpenAsync(CancellationToken.None);
        var b = await endpoint.OpenAsync(CancellationToken.None);
        Assert.NotSame(a, b);
        Assert.Equal([a, b], opened);
        Assert.Equal(2, endpoint.OpenCount);
    }
}
