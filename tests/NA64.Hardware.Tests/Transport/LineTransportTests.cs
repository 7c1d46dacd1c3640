using Microsoft.Extensions.Time.Testing;
using NA64.Hardware.Errors;
using NA64.Hardware.Transport;

namespace NA64.Hardware.Tests.Transport;

public sealed class LineTransportTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMilliseconds(500);

    /// <summary>A transport on an in-memory endpoint; every (re-)open makes a new pair whose device side is queued for the test.</summary>
    private sealed class Rig : IAsyncDisposable
    {
        private readonly Queue<FakeDevice> _opened = new();
        private readonly string _requestTerminator;

        public Rig(LineFraming framing, TimeProvider? time = null)
        {
            _requestTerminator = framing.RequestTerminator;
            Time = time as FakeTimeProvider ?? new FakeTimeProvider();
            Endpoint = new InMemoryEndpoint(() =>
            {
                var (host, device) = InMemoryDuplex.CreatePair();
                lock (_opened)
                {
                    _opened.Enqueue(new FakeDevice(device, _requestTerminator));
                }

                return host;
            }, "sim:test");
            Transport = new LineTransport(Endpoint, framing, Time);
        }

        public FakeTimeProvider Time { get; }

        public InMemoryEndpoint Endpoint { get; }

        public LineTransport Transport { get; }

        public FakeDevice? Device { get; private set; }

        /// <summary>The device side of the most recent open (waits for the transport to open it).</summary>
        public async Task<FakeDevice> NextDeviceAsync()
        {
            FakeDevice? next = null;
            await Safety.Until(() =>
            {
                lock (_opened)
                {
                    return _opened.TryDequeue(out next);
                }
            }, "the transport opens the endpoint");
            Device = next!;
            return Device;
        }

        public async ValueTask DisposeAsync()
        {
            await Transport.DisposeAsync();
            if (Device is not null)
            {
                await Device.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task Exchange_appends_the_terminator_and_returns_the_reply_without_it()
    {
        await using var rig = new Rig(LineFraming.CrLf);
        var reply = rig.Transport.ExchangeAsync("$BD:00,CMD:MON,PAR:BDNCH", Timeout);
        var device = await rig.NextDeviceAsync();
        Assert.Equal("$BD:00,CMD:MON,PAR:BDNCH", await device.ReadRequestAsync());
        await device.WriteAsync("#BD:00,CMD:OK,VAL:4\r\n");
        Assert.Equal("#BD:00,CMD:OK,VAL:4", await Safety.Within(reply));
        Assert.Equal(1, rig.Transport.Counters.Requests);
        Assert.Equal(1, rig.Transport.Counters.Replies);
        Assert.Equal(26, rig.Transport.Counters.BytesSent);
        Assert.Equal(21, rig.Transport.Counters.BytesReceived);
        Assert.Equal(0, rig.Transport.Counters.DiscardedBytes);
    }

    [Fact]
    public async Task Many_concurrent_callers_are_served_in_arrival_order_one_at_a_time()
    {
        await using var rig = new Rig(LineFraming.CrLf);
        const int callers = 64;
        var first = rig.Transport.ExchangeAsync("Q0", Timeout);
        var device = await rig.NextDeviceAsync();
        Assert.Equal("Q0", await device.ReadRequestAsync());

        // Queued while Q0 holds the line: arrival order is the order of these calls.
        var pending = new List<Task<string>> { first };
        for (var i = 1; i < callers; i++)
        {
            pending.Add(rig.Transport.ExchangeAsync($"Q{i}", Timeout));
        }

        for (var i = 0; i < callers; i++)
        {
            if (i > 0)
            {
                Assert.Equal($"Q{i}", await device.ReadRequestAsync());
            }

            // Nothing else may be on the wire while a reply is outstanding.
            Assert.Equal("", device.Leftover);
            await device.WriteAsync($"A{i}\r\n");
            Assert.Equal($"A{i}", await Safety.Within(pending[i]));
        }

        Assert.Equal(callers, rig.Transport.Counters.Replies);
    }

    [Fact]
    public async Task Callers_from_many_threads_each_get_their_own_reply()
    {
        await using var rig = new Rig(LineFraming.CrLf);
        const int callers = 200;
        var opened = rig.NextDeviceAsync();
        var calls = Enumerable.Range(0, callers)
            .Select(i => Task.Run(() => rig.Transport.ExchangeAsync($"ECHO {i}", Timeout)))
            .ToArray();
        var device = await opened;
        var echoDevice = Task.Run(async () =>
        {
            for (var i = 0; i < callers; i++)
            {
                var request = await device.ReadRequestAsync();
                Assert.Equal("", device.Leftover);
                await device.WriteAsync($"{request[5..]}\r\n");
            }
        });

        var replies = await Safety.Within(Task.WhenAll(calls));
        await Safety.Within(echoDevice);
        Assert.Equal(Enumerable.Range(0, callers).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)), replies);
    }

    [Fact]
    public async Task Timeout_throws_and_a_late_reply_is_discarded_not_given_to_the_next_caller()
    {
        await using var rig = new Rig(LineFraming.CrLf);
        var first = rig.Transport.ExchangeAsync("$BD:00,CMD:MON,CH:1,PAR:VMON", Timeout);
        var device = await rig.NextDeviceAsync();
        await device.ReadRequestAsync();
        rig.Time.Advance(Timeout);
        var timeout = await Assert.ThrowsAsync<DeviceTimeoutException>(() => Safety.Within(first));
        Assert.Equal("sim:test", timeout.Port);
        Assert.Equal(Timeout, timeout.Timeout);
        Assert.Equal(1, rig.Transport.Counters.Timeouts);

        await device.WriteAsync("#BD:00,CMD:OK,VAL:1500.0\r\n");
        await Safety.Until(() => rig.Transport.Counters.BytesReceived == 26, "the late reply reaches the transport");

        var second = rig.Transport.ExchangeAsync("$BD:00,CMD:MON,CH:2,PAR:VMON", Timeout);
        Assert.Equal("$BD:00,CMD:MON,CH:2,PAR:VMON", await device.ReadRequestAsync());
        await device.WriteAsync("#BD:00,CMD:OK,VAL:0000.0\r\n");
        Assert.Equal("#BD:00,CMD:OK,VAL:0000.0", await Safety.Within(second));
        Assert.Equal(26, rig.Transport.Counters.DiscardedBytes);
    }

    [Fact]
    public async Task Repeated_timeouts_reopen_the_port_and_a_reply_resets_the_count()
    {
        await using var rig = new Rig(LineFraming.CrLf);
        Assert.Equal(3, rig.Transport.ReopenAfterTimeouts);
        var device = (FakeDevice?)null;

        // Two timeouts, then a reply: the count starts again, the port stays open.
        for (var i = 0; i < 2; i++)
        {
            var lost = rig.Transport.ExchangeAsync("A", Timeout);
            device ??= await rig.NextDeviceAsync();
            await device.ReadRequestAsync();
            rig.Time.Advance(Timeout);
            await Assert.ThrowsAsync<DeviceTimeoutException>(() => Safety.Within(lost));
        }

        var answered = rig.Transport.ExchangeAsync("B", Timeout);
        await device!.ReadRequestAsync();
        await device.WriteAsync("b\r\n");
        Assert.Equal("b", await Safety.Within(answered));

        // Three in a row: a far end that went away without an error; the next exchange opens the port again.
        for (var i = 0; i < 3; i++)
        {
            var lost = rig.Transport.ExchangeAsync("C", Timeout);
            await device.ReadRequestAsync();
            rig.Time.Advance(Timeout);
            await Assert.ThrowsAsync<DeviceTimeoutException>(() => Safety.Within(lost));
        }

        Assert.Equal(1, rig.Endpoint.OpenCount);
        var afterReopen = rig.Transport.ExchangeAsync("D", Timeout);
        var reopened = await rig.NextDeviceAsync();
        Assert.Equal("D", await reopened.ReadRequestAsync());
        await reopened.WriteAsync("d\r\n");
        Assert.Equal("d", await Safety.Within(afterReopen));
        Assert.Equal(2, rig.Endpoint.OpenCount);
        Assert.Equal(1, rig.Transport.Counters.Reconnects);
    }

    [Fact]
    public async Task Timeout_does_not_fire_before_its_time()
    {
        await using var rig = new Rig(LineFraming.CrLf);
        var call = rig.Transport.ExchangeAsync("X", Timeout);
        var device = await rig.NextDeviceAsync();
        await device.ReadRequestAsync();
        rig.Time.Advance(Timeout - TimeSpan.FromMilliseconds(1));
        Assert.False(call.IsCompleted);
        await device.WriteAsync("Y\r\n");
        Assert.Equal("Y", await Safety.Within(call));
        Assert.Equal(0, rig.Transport.Counters.Timeouts);
    }

    [Fact]
    public async Task A_partial_stale_line_is_skipped_up_to_its_terminator()
    {
        await using var rig = new Rig(LineFraming.CrLf);
        var first = rig.Transport.ExchangeAsync("A", Timeout);
        var device = await rig.NextDeviceAsync();
        await device.ReadRequestAsync();
        rig.Time.Advance(Timeout);
        await Assert.ThrowsAsync<DeviceTimeoutException>(() => Safety.Within(first));

        // Half of the late reply is in before the next request, the rest after it.
        await device.WriteAsync("#BD:00,CM");
        await Safety.Until(() => rig.Transport.Counters.BytesReceived == 9, "the partial line reaches the transport");
        var second = rig.Transport.ExchangeAsync("B", Timeout);
        Assert.Equal("B", await device.ReadRequestAsync());
        await device.WriteAsync("D:OK,VAL:1\r\n#BD:00,CMD:OK,VAL:2\r\n");
        Assert.Equal("#BD:00,CMD:OK,VAL:2", await Safety.Within(second));
        Assert.Equal(9 + 12, rig.Transport.Counters.DiscardedBytes);
    }

    [Fact]
    public async Task A_terminator_split_across_the_resync_point_is_still_found()
    {
        await using var rig = new Rig(LineFraming.CrLf);
        var first = rig.Transport.SendAsync("A");
        var device = await rig.NextDeviceAsync();
        await Safety.Within(first);
        await device.ReadRequestAsync();
        await device.WriteAsync("junk\r");
        await Safety.Until(() => rig.Transport.Counters.BytesReceived == 5, "the partial line reaches the transport");
        var second = rig.Transport.ExchangeAsync("B", Timeout);
        await device.ReadRequestAsync();
        await device.WriteAsync("\nOK\r\n");
        Assert.Equal("OK", await Safety.Within(second));
        Assert.Equal(6, rig.Transport.Counters.DiscardedBytes);
    }

    [Fact]
    public async Task Garbage_bytes_reach_the_parser_unchanged()
    {
        await using var rig = new Rig(LineFraming.CrLf);
        var call = rig.Transport.ExchangeAsync("Q", Timeout);
        var device = await rig.NextDeviceAsync();
        await device.ReadRequestAsync();
        await device.WriteAsync("\u00FF\u0000#BD\u0080\r\n");
        var reply = await Safety.Within(call);
        Assert.Equal("\u00FF\u0000#BD\u0080", reply);
        Assert.Equal("\\xFF\\x00#BD\\x80", Printable.Escape(reply));
    }

    [Fact]
    public async Task An_overlong_line_throws_with_its_raw_bytes_and_the_next_exchange_is_clean()
    {
        await using var rig = new Rig(LineFraming.CrLf with { MaxLineLength = 16 });
        var first = rig.Transport.ExchangeAsync("Q1", Timeout);
        var device = await rig.NextDeviceAsync();
        await device.ReadRequestAsync();
        await device.WriteAsync(new string('x', 40));
        var error = await Assert.ThrowsAsync<DeviceReplyException>(() => Safety.Within(first));
        Assert.Equal("Q1", error.Request);
        Assert.Equal(new string('x', 18), error.RawReply);

        var second = rig.Transport.ExchangeAsync("Q2", Timeout);
        await device.ReadRequestAsync();
        await device.WriteAsync("yyyy\r\nOK\r\n");
        Assert.Equal("OK", await Safety.Within(second));
        Assert.Equal(40 - 18 + 6, rig.Transport.Counters.DiscardedBytes);
    }

    [Fact]
    public async Task A_line_of_exactly_the_maximum_length_is_accepted()
    {
        await using var rig = new Rig(LineFraming.CrLf with { MaxLineLength = 16 });
        var call = rig.Transport.ExchangeAsync("Q", Timeout);
        var device = await rig.NextDeviceAsync();
        await device.ReadRequestAsync();
        await device.WriteAsync(new string('z', 16) + "\r\n");
        Assert.Equal(new string('z', 16), await Safety.Within(call));
    }

    [Fact]
    public async Task Caller_cancellation_throws_OperationCanceled_and_leaves_the_transport_usable()
    {
        await using var rig = new Rig(LineFraming.CrLf);
        using var cts = new CancellationTokenSource();
        var call = rig.Transport.ExchangeAsync("Q1", Timeout, cts.Token);
        var device = await rig.NextDeviceAsync();
        await device.ReadRequestAsync();
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Safety.Within(call));
        Assert.Equal(0, rig.Transport.Counters.Timeouts);

        var next = rig.Transport.ExchangeAsync("Q2", Timeout);
        Assert.Equal("Q2", await device.ReadRequestAsync());
        await device.WriteAsync("R2\r\n");
        Assert.Equal("R2", await Safety.Within(next));
    }

    [Fact]
    public async Task A_caller_cancelled_while_queued_leaves_the_queue_and_the_others_keep_their_order()
    {
        await using var rig = new Rig(LineFraming.CrLf);
        var first = rig.Transport.ExchangeAsync("Q0", Timeout);
        var device = await rig.NextDeviceAsync();
        await device.ReadRequestAsync();
        using var cts = new CancellationTokenSource();
        var cancelled = rig.Transport.ExchangeAsync("Q1", Timeout, cts.Token);
        var third = rig.Transport.ExchangeAsync("Q2", Timeout);
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Safety.Within(cancelled));

        await device.WriteAsync("R0\r\n");
        Assert.Equal("R0", await Safety.Within(first));
        Assert.Equal("Q2", await device.ReadRequestAsync());
        await device.WriteAsync("R2\r\n");
        Assert.Equal("R2", await Safety.Within(third));
        Assert.Equal(2, rig.Transport.Counters.Requests);
    }

    [Fact]
    public async Task Disconnect_while_waiting_throws_and_the_next_request_reconnects()
    {
        await using var rig = new Rig(LineFraming.CrLf);
        var reconnected = 0;
        rig.Transport.Reconnected += (_, _) => reconnected++;
        var first = rig.Transport.ExchangeAsync("Q1", Timeout);
        var device = await rig.NextDeviceAsync();
        await device.ReadRequestAsync();
        await device.DisposeAsync();
        var error = await Assert.ThrowsAsync<TransportDisconnectedException>(() => Safety.Within(first));
        Assert.Equal("sim:test", error.Port);
        Assert.Equal(0, reconnected);
        Assert.False(rig.Transport.IsConnected);

        var second = rig.Transport.ExchangeAsync("Q2", Timeout);
        var newDevice = await rig.NextDeviceAsync();
        Assert.Equal("Q2", await newDevice.ReadRequestAsync());
        await newDevice.WriteAsync("R2\r\n");
        Assert.Equal("R2", await Safety.Within(second));
        Assert.Equal(1, reconnected);
        Assert.Equal(1, rig.Transport.Counters.Reconnects);
        Assert.Equal(2, rig.Endpoint.OpenCount);
    }

    [Fact]
    public async Task Reconnected_handlers_can_queue_exchanges_that_run_right_after_the_current_one()
    {
        await using var rig = new Rig(LineFraming.CrLf);
        var first = rig.Transport.SendAsync("HELLO");
        var device = await rig.NextDeviceAsync();
        await Safety.Within(first);
        await device.DisposeAsync();
        await Safety.Until(() => !rig.Transport.IsConnected, "the transport notices the closed stream");

        Task<string>? restore = null;
        rig.Transport.Reconnected += (_, _) => restore = rig.Transport.ExchangeAsync("RESTORE", Timeout);
        var request = rig.Transport.ExchangeAsync("Q", Timeout);
        var newDevice = await rig.NextDeviceAsync();
        Assert.Equal("Q", await newDevice.ReadRequestAsync());
        await newDevice.WriteAsync("R\r\n");
        Assert.Equal("R", await Safety.Within(request));
        Assert.Equal("RESTORE", await newDevice.ReadRequestAsync());
        await newDevice.WriteAsync("OK\r\n");
        Assert.NotNull(restore);
        Assert.Equal("OK", await Safety.Within(restore!));
    }

    [Fact]
    public async Task Writing_to_a_closed_peer_throws_disconnected_and_the_next_request_reconnects()
    {
        var rig = new Rig(LineFraming.CrLf);
        await using (rig)
        {
            var first = rig.Transport.SendAsync("A");
            var device = await rig.NextDeviceAsync();
            await Safety.Within(first);
            await device.DisposeAsync();

            // Either the reader already saw the end of stream (then this send re-opens) or the write fails.
            try
            {
                await Safety.Within(rig.Transport.SendAsync("B"));
            }
            catch (TransportDisconnectedException e)
            {
                Assert.Equal("sim:test", e.Port);
                await Safety.Within(rig.Transport.SendAsync("B"));
            }

            var newDevice = await rig.NextDeviceAsync();
            Assert.Equal("B", await newDevice.ReadRequestAsync());
            Assert.Equal(1, rig.Transport.Counters.Reconnects);
        }
    }

    [Fact]
    public async Task A_failing_open_is_reported_as_disconnected()
    {
        var endpoint = new InMemoryEndpoint(() => throw new IOException("no such port"), "serial:/dev/ttyUSB9");
        await using var transport = new LineTransport(endpoint, LineFraming.CrLf, new FakeTimeProvider());
        var error = await Assert.ThrowsAsync<TransportDisconnectedException>(() => transport.ExchangeAsync("Q", Timeout));
        Assert.Equal("serial:/dev/ttyUSB9", error.Port);
        Assert.IsType<IOException>(error.InnerException);
    }

    [Fact]
    public async Task Genesys_framing_uses_CR_both_ways()
    {
        await using var rig = new Rig(LineFraming.Cr);
        var call = rig.Transport.ExchangeAsync("ADR 6", Timeout);
        var device = await rig.NextDeviceAsync();
        Assert.Equal("ADR 6", await device.ReadRequestAsync());
        await device.WriteAsync("OK\r");
        Assert.Equal("OK", await Safety.Within(call));
    }

    [Fact]
    public async Task Danfysik_replies_split_on_LF_CR_even_when_it_arrives_in_pieces()
    {
        await using var rig = new Rig(LineFraming.DanfysikCrLfCr);
        var call = rig.Transport.ExchangeAsync("AD 0", Timeout);
        var device = await rig.NextDeviceAsync();
        Assert.Equal("AD 0", await device.ReadRequestAsync());
        await device.WriteAsync("12");
        await device.WriteAsync("\r34\n");
        Assert.False(call.IsCompleted);
        await device.WriteAsync("\r");
        Assert.Equal("12\r34", await Safety.Within(call));

        var next = rig.Transport.ExchangeAsync("S1", Timeout);
        Assert.Equal("S1", await device.ReadRequestAsync());
        await device.WriteAsync("!!!!!!.!.!!!!!!!!!!!!!!!\n\r");
        Assert.Equal("!!!!!!.!.!!!!!!!!!!!!!!!", await Safety.Within(next));
    }

    [Fact]
    public async Task Iseg_echo_and_answer_come_back_as_two_lines()
    {
        await using var rig = new Rig(LineFraming.CrLf);
        var call = rig.Transport.ExchangeLinesAsync(":VOLT ON,(@0);*OPC?", 2, Timeout);
        var device = await rig.NextDeviceAsync();
        var request = await device.ReadRequestAsync();
        await device.WriteAsync(request + "\r\n");
        await device.WriteAsync("1\r\n");
        Assert.Equal([":VOLT ON,(@0);*OPC?", "1"], await Safety.Within(call));
        Assert.Equal(2, rig.Transport.Counters.Replies);
    }

    [Fact]
    public async Task Send_writes_the_request_and_expects_nothing()
    {
        await using var rig = new Rig(LineFraming.DanfysikCrLfCr);
        var send = rig.Transport.SendAsync("N");
        var device = await rig.NextDeviceAsync();
        await Safety.Within(send);
        Assert.Equal("N", await device.ReadRequestAsync());
        Assert.Equal(1, rig.Transport.Counters.Requests);
        Assert.Equal(2, rig.Transport.Counters.BytesSent);
    }

    [Theory]
    [InlineData("A\r\nB")]
    [InlineData("A\u0100")]
    public async Task Requests_the_wire_cannot_carry_are_refused_before_any_byte_is_sent(string request)
    {
        await using var rig = new Rig(LineFraming.CrLf);
        await Assert.ThrowsAsync<ArgumentException>(() => rig.Transport.ExchangeAsync(request, Timeout));
        Assert.Equal(0, rig.Endpoint.OpenCount);
        Assert.Equal(0, rig.Transport.Counters.BytesSent);
    }

    [Fact]
    public async Task After_dispose_requests_throw_ObjectDisposed()
    {
        var rig = new Rig(LineFraming.CrLf);
        await rig.Transport.DisposeAsync();
        await Assert.ThrowsAsync<ObjectDisposedException>(() => rig.Transport.ExchangeAsync("Q", Timeout));
    }
}
