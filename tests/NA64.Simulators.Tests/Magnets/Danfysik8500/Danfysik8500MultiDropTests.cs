using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Microsoft.Extensions.Time.Testing;
using NA64.Hardware.Magnets;
using NA64.Hardware.Magnets.Danfysik8500;
using NA64.Hardware.Transport;
using NA64.Simulators.Magnets.Danfysik8500;
using NA64.Simulators.Serving;

namespace NA64.Simulators.Tests.Magnets.Danfysik8500;

public sealed class Danfysik8500MultiDropTests
{
    [Fact]
    public async Task Two_drivers_on_one_line_each_reach_only_their_unit()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 9, 1, 8, 0, 0, TimeSpan.Zero));
        var bus = new Danfysik8500Bus([new Danfysik8500Wire(new Danfysik8500Model(3, time)), new Danfysik8500Wire(new Danfysik8500Model(5, time))]);
        var server = new LineDeviceServer(bus, time);
        var (host, device) = InMemoryDuplex.CreatePair();
        using var stop = new CancellationTokenSource();
        var serving = server.ServeAsync(device, stop.Token);
        await using (var transport = new LineTransport(new InMemoryEndpoint(() => host), LineFraming.DanfysikCrLfCr, time))
        {
            var options = new Danfysik8500Options(1000, 0.001, 0.001, 0.001);
            var a = new Danfysik8500Supply(transport, new MagnetLimits("A", 900), options with { Address = 3 }, time);
            var b = new Danfysik8500Supply(transport, new MagnetLimits("B", 900), options with { Address = 5 }, time);

            // Both at once: each conversation holds the line from its ADR to its last reply.
            await Task.WhenAll(a.InitializeAsync(), b.InitializeAsync()).WaitAsync(Danfysik8500Rig.Guard);
            await Task.WhenAll(a.SwitchOnAsync(), b.SetCurrentAsync(250)).WaitAsync(Danfysik8500Rig.Guard);
            Assert.True(bus[3].Unit.PowerOn);
            Assert.False(bus[5].Unit.PowerOn);
            Assert.Equal(0, bus[3].Unit.SetpointPpm);
            Assert.Equal(250_000, bus[5].Unit.SetpointPpm);
            Assert.Equal(250, (await b.ReadAsync()).SetpointAmps, 9);
            Assert.Equal(MagnetOutput.On, (await a.ReadAsync()).Output);
            Assert.Equal(0, transport.Counters.Timeouts);

            // Stopped while the host's end is still open: only the cancellation can end the session (closing the
            // transport first would let it end by end-of-stream instead, whichever came first).
            await stop.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => serving.WaitAsync(Danfysik8500Rig.Guard));
        }
    }

    [Property(MaxTest = 300)]
    public bool The_simulators_S1_is_24_characters_whatever_happened(int interlockBits, bool powerOn, bool reversed, byte seconds)
    {
        var time = new FakeTimeProvider();
        var model = new Danfysik8500Model(0, time);
        var wire = new Danfysik8500Wire(model);
        model.StartOn(0, reversed ? MagnetPolarity.Reversed : MagnetPolarity.Normal);
        wire.Respond("REM");
        wire.Respond("WA 500000");
        if (!powerOn)
        {
            wire.Respond("F");
        }

        var interlocks = (Danfysik8500Conditions)interlockBits & Danfysik8500Model.InterlockInputs;
        if (interlocks != Danfysik8500Conditions.None)
        {
            model.RaiseInterlock(interlocks);
        }

        time.Advance(TimeSpan.FromSeconds(seconds));
        var s1 = wire.Respond("S1")!;
        var decoded = Danfysik8500Codec.DecodeStatus("S1", s1);
        return s1.Length == 24
            && decoded.SumInterlock == (interlocks != Danfysik8500Conditions.None)
            && decoded.PowerOn == (powerOn && interlocks == Danfysik8500Conditions.None)
            && decoded.Polarity == (reversed ? MagnetPolarity.Reversed : MagnetPolarity.Normal)
            && (decoded.Conditions & Danfysik8500Model.InterlockInputs) == interlocks;
    }
}
