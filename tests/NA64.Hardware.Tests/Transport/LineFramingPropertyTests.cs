using System.Text;
using FsCheck;
using FsCheck.Fluent;
using Microsoft.Extensions.Time.Testing;
using NA64.Hardware.Transport;
using Serilog.Core;
using Serilog.Events;

namespace NA64.Hardware.Tests.Transport;

public sealed class LineFramingPropertyTests
{
    private static readonly Gen<string> LineGen =
        from chars in Gen.ArrayOf(Gen.Choose(0, 255).Where(c => c is not '\r' and not '\n').Select(c => (char)c))
        select new string(chars);

    private static readonly Gen<(LineFraming Framing, string[] Lines, int[] Cuts)> CaseGen =
        from framing in Gen.Elements(LineFraming.CrLf, LineFraming.Cr, LineFraming.DanfysikCrLfCr)
        from count in Gen.Choose(1, 8)
        from lines in Gen.ArrayOf(LineGen, count)
        from cuts in Gen.ArrayOf(Gen.Choose(1, 7), 64)
        select (framing, lines, cuts);

    /// <summary>However the reply bytes are cut into reads, the lines come back exactly, bytes 0..255 included.</summary>
    [Fact]
    public void Reply_lines_survive_any_chunking_for_every_framing() =>
        Prop.ForAll(CaseGen.ToArbitrary(), c => Task.Run(() => RoundTripAsync(c.Framing, c.Lines, c.Cuts)).GetAwaiter().GetResult())
            .Check(Config.QuickThrowOnFailure.WithMaxTest(60));

    private static async Task<bool> RoundTripAsync(LineFraming framing, string[] lines, int[] cuts)
    {
        var (host, deviceSide) = InMemoryDuplex.CreatePair();
        await using var transport = new LineTransport(new InMemoryEndpoint(() => host), framing, new FakeTimeProvider());
        await using var device = new FakeDevice(deviceSide, framing.RequestTerminator);
        var exchange = transport.ExchangeLinesAsync("Q", lines.Length, TimeSpan.FromSeconds(1));
        await device.ReadRequestAsync();
        var terminator = Encoding.Latin1.GetString(framing.ReplyTerminator);
        var wire = string.Concat(lines.Select(l => l + terminator));
        var at = 0;
        for (var i = 0; at < wire.Length; i++)
        {
            var n = Math.Min(cuts[i % cuts.Length], wire.Length - at);
            await device.WriteAsync(wire.Substring(at, n));
            at += n;
        }

        var received = await Safety.Within(exchange);
        return received.SequenceEqual(lines) && transport.Counters.DiscardedBytes == 0;
    }

    private sealed class Collector : ILogEventSink
    {
        public List<LogEvent> Events { get; } = [];

        public void Emit(LogEvent logEvent)
        {
            lock (Events)
            {
                Events.Add(logEvent);
            }
        }
    }

    [Fact]
    public async Task Every_frame_is_logged_at_verbose_with_its_direction()
    {
        var collector = new Collector();
        using var log = new Serilog.LoggerConfiguration().MinimumLevel.Verbose().WriteTo.Sink(collector).CreateLogger();
        var (host, deviceSide) = InMemoryDuplex.CreatePair();
        await using var transport = new LineTransport(new InMemoryEndpoint(() => host, "sim:log"), LineFraming.CrLf, new FakeTimeProvider(), log);
        await using var device = new FakeDevice(deviceSide);
        var exchange = transport.ExchangeAsync("$BD:00,CMD:MON,PAR:BDNAME", TimeSpan.FromSeconds(1));
        await device.ReadRequestAsync();
        await device.WriteAsync("#BD:00,CMD:OK,VAL:N1470\r\n");
        await Safety.Within(exchange);

        List<(string Direction, string Frame)> frames;
        lock (collector.Events)
        {
            frames = collector.Events
                .Where(e => e.Level == LogEventLevel.Verbose && e.Properties.ContainsKey("Direction"))
                .Select(e => (((ScalarValue)e.Properties["Direction"]).Value as string ?? "", ((ScalarValue)e.Properties["Frame"]).Value as string ?? ""))
                .ToList();
        }

        Assert.Equal([("tx", "$BD:00,CMD:MON,PAR:BDNAME"), ("rx", "#BD:00,CMD:OK,VAL:N1470")], frames);
    }
}
