using Microsoft.Extensions.Time.Testing;
using NA64.Hardware.Transport;

namespace NA64.Hardware.Tests.Transport;

/// <summary>The framing's unsolicited-line predicate (Genesys SRQ): such lines are routed to an event, never taken as a reply.</summary>
public sealed class UnsolicitedLineTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMilliseconds(500);
    private static readonly LineFraming SrqFraming = LineFraming.Cr with { IsUnsolicited = l => l.StartsWith('!') };

    [Fact]
    public async Task A_line_matching_the_predicate_in_the_middle_of_an_exchange_is_raised_and_the_next_line_is_the_reply()
    {
        var (host, deviceSide) = InMemoryDuplex.CreatePair();
        await using var transport = new LineTransport(new InMemoryEndpoint(() => host), SrqFraming, new FakeTimeProvider());
        await using var device = new FakeDevice(deviceSide, "\r");
        var seen = new List<string>();
        transport.UnsolicitedLine += (_, line) =>
        {
            lock (seen)
            {
                seen.Add(line);
            }
        };

        var reply = transport.ExchangeAsync("PC 100", Timeout);
        Assert.Equal("PC 100", await device.ReadRequestAsync());
        await device.WriteAsync("!06\r");
        await device.WriteAsync("!07\rOK\r");
        Assert.Equal("OK", await Safety.Within(reply));
        lock (seen)
        {
            Assert.Equal(["!06", "!07"], seen);
        }

        Assert.Equal(2, transport.Counters.UnsolicitedLines);
        Assert.Equal(1, transport.Counters.Replies);
        Assert.Equal(0, transport.Counters.DiscardedBytes);
    }

    [Fact]
    public async Task Between_exchanges_an_unsolicited_line_is_not_stale_input_and_a_failing_handler_does_not_kill_the_reader()
    {
        var (host, deviceSide) = InMemoryDuplex.CreatePair();
        await using var transport = new LineTransport(new InMemoryEndpoint(() => host), SrqFraming, new FakeTimeProvider());
        await using var device = new FakeDevice(deviceSide, "\r");
        var count = 0;
        transport.UnsolicitedLine += (_, _) =>
        {
            Interlocked.Increment(ref count);
            throw new InvalidOperationException("handler bug");
        };

        var first = transport.ExchangeAsync("MC?", Timeout);
        Assert.Equal("MC?", await device.ReadRequestAsync());
        await device.WriteAsync("1.00\r");
        Assert.Equal("1.00", await Safety.Within(first));

        await device.WriteAsync("!06\r");
        await Safety.Until(() => Volatile.Read(ref count) == 1, "the SRQ handler ran");
        var second = transport.ExchangeAsync("MV?", Timeout);
        Assert.Equal("MV?", await device.ReadRequestAsync());
        await device.WriteAsync("2.00\r");
        Assert.Equal("2.00", await Safety.Within(second));
        Assert.Equal(0, transport.Counters.DiscardedBytes);
    }

    [Fact]
    public void Framings_without_the_predicate_differ_from_those_with_it()
    {
        Assert.NotEqual(LineFraming.Cr, SrqFraming);
        Assert.Equal(LineFraming.Cr, LineFraming.Cr with { });
        Assert.True(SrqFraming.ReplyTerminator.SequenceEqual("\r"u8));
    }
}
