using NA64.Hardware.Digitizers.Msadc;
using NA64.Hardware.Digitizers.Msadc.Format;
using NA64.Simulators.Digitizers.Msadc;
using NA64.Simulators.Physics;

namespace NA64.Simulators.Tests.Digitizers.Msadc;

/// <summary>The simulated trigger system + MSADC sources sending S-Link fragments as datagrams on their data channels.</summary>
public sealed class MsadcCrateSimulatorTests
{
    /// <summary>Safety limit on real-time waits; a correct simulator never comes near it.</summary>
    private static readonly TimeSpan Safety = TimeSpan.FromSeconds(30);

    private sealed class Rig : IAsyncDisposable
    {
        public required MsadcCrateSimulator Crate { get; init; }
        public required MsadcDevice[] Devices { get; init; }
        public required InMemoryDatagramChannel[] Hosts { get; init; }

        public async ValueTask DisposeAsync()
        {
            await Crate.DisposeAsync();
            foreach (var host in Hosts)
                host.Dispose();
        }

        /// <summary>Reads <paramref name="count"/> datagrams of source <paramref name="index"/> and decodes them.</summary>
        public async Task<List<(SlinkHeader Header, SadcEventData Data, int Length)>> ReadAsync(int index, int count)
        {
            using var safety = new CancellationTokenSource(Safety);
            var buffer = new byte[65536];
            var list = new List<(SlinkHeader, SadcEventData, int)>();
            for (int i = 0; i < count; i++)
            {
                int length = await Hosts[index].ReceiveAsync(buffer, safety.Token);
                var data = new SadcEventData();
                var header = SlinkHeader.Read(buffer);
                SadcDecoder.Decode(buffer.AsSpan(0, length), data, header.EventNumber);
                list.Add((header, data, length));
            }

            return list;
        }
    }

    /// <summary>Two sources (610, 611) with one latch-all module each, started, on in-memory data channels of <paramref name="capacity"/>.</summary>
    private static async Task<Rig> CreateAsync(int seed = 41, int capacity = 4, bool start = true)
    {
        var generator = new Na64EventGenerator(new PhysicsOptions { Waveform = new WaveformOptions { PileUp = false } }, seed);
        var devices = new List<MsadcDevice>();
        var hosts = new List<InMemoryDatagramChannel>();
        var sources = new List<(MsadcSourceSimulator, IDatagramChannel)>();
        for (int s = 0; s < 2; s++)
        {
            var device = new MsadcDevice($"MSADC-{s}", 610 + s, 0);
            var channels = Enumerable.Repeat(new MsadcChannelSettings(0, 0, 0), 64).ToArray();
            await device.ConfigureAsync(new MsadcConfiguration(MsadcMode.LatchAll, 32, 10, channels));
            if (start)
            {
                await device.ArmAsync();
                await device.StartAsync();
            }

            devices.Add(device);
            var (host, data) = InMemoryDatagramChannel.CreatePair($"source-{610 + s}", capacity);
            hosts.Add(host);
            sources.Add((new MsadcSourceSimulator(610 + s, [new MsadcDataPath(device, s * 64, generator.Synthesizer, 10)]), data));
        }

        return new Rig { Crate = new MsadcCrateSimulator(generator, sources), Devices = [.. devices], Hosts = [.. hosts] };
    }

    [Fact]
    public async Task Beam_program_sends_one_fragment_per_source_and_trigger_in_order_and_waits_for_the_reader()
    {
        await using var rig = await CreateAsync(capacity: 4);
        var before = new List<long>();
        var truths = new List<EventTruth>();
        rig.Crate.BeforeTrigger = (index, _) => before.Add(index);
        rig.Crate.OnTruth = (truth, _) => truths.Add(truth);
        var firing = rig.Crate.StartTriggers(new TriggerProgram(SimulatedTriggerMode.Beam, Triggers: 20));

        // Nobody reads yet: the crate stops at the channel's capacity instead of losing fragments.
        using var safety = new CancellationTokenSource(Safety);
        while (rig.Hosts[1].PendingCount < 4)
        {
            safety.Token.ThrowIfCancellationRequested();
            await Task.Yield();
        }

        Assert.False(firing.IsCompleted);
        Assert.Equal(4, rig.Hosts[0].PendingCount);

        // Both sources read at once: the crate sends source by source per trigger and waits on whichever is full.
        var readA = rig.ReadAsync(0, 20);
        var readB = rig.ReadAsync(1, 20);
        var a = await readA;
        var b = await readB;
        await firing.WaitAsync(safety.Token);

        Assert.Equal(20, rig.Crate.Triggers);
        Assert.Equal(40, rig.Crate.DatagramsSent);
        Assert.Equal(Enumerable.Range(0, 20).Select(i => (long)i), before);
        Assert.Equal(truths.Select(t => t.EventInSpill), a.Select(x => x.Header.EventNumber));
        Assert.Equal(truths.Select(t => t.EventInSpill), b.Select(x => x.Header.EventNumber));
        Assert.All(a, x => Assert.Equal(610, x.Header.SourceId));
        Assert.All(b, x => Assert.Equal(611, x.Header.SourceId));
        // One fragment per datagram: its S-Link event_size is the datagram's length.
        Assert.All(a.Concat(b), x => Assert.Equal(4 * x.Header.EventSize, x.Length));
        Assert.All(a.Concat(b), x => Assert.DoesNotContain(x.Data.Problems, p => p.DataLost));
        Assert.All(a.Concat(b), x => Assert.Equal(64, x.Data.Channels.Length));
        Assert.Equal(truths.Where(t => t.IsSignal).Select(t => (t.Spill, t.EventInSpill)), rig.Crate.InjectedSignals);
        Assert.Equal(0, rig.Hosts[0].PendingCount);
    }

    [Fact]
    public async Task Random_trigger_without_beam_reads_pedestal_and_noise_in_spill_zero()
    {
        await using var rig = await CreateAsync();
        var firing = rig.Crate.StartTriggers(new TriggerProgram(SimulatedTriggerMode.RandomNoBeam, Triggers: 30));
        var readA = rig.ReadAsync(0, 30);
        var readB = rig.ReadAsync(1, 30);
        var a = await readA;
        await readB;
        await firing.WaitAsync(Safety);

        Assert.Equal(Enumerable.Range(1, 30), a.Select(x => x.Header.EventNumber));
        Assert.All(a, x => Assert.Equal(0, x.Header.SpillNumber));
        // No beam: every sample of every channel is its pedestal plus noise, nowhere near a shower's pulse.
        var calibration = rig.Crate.Generator.Calibration;
        foreach (var (_, data, _) in a)
        {
            foreach (var channel in data.Channels)
            {
                var cal = calibration[channel.Address.ChipChannel];
                double limit = 6 * cal.NoiseRms + 2;
                var samples = data.Samples(channel);
                for (int k = 0; k < samples.Length; k++)
                    Assert.InRange((double)samples[k], ((k & 1) == 0 ? cal.PedestalEven : cal.PedestalOdd) - limit, ((k & 1) == 0 ? cal.PedestalEven : cal.PedestalOdd) + limit);
            }
        }

        Assert.Empty(rig.Crate.InjectedSignals);
    }

    [Fact]
    public async Task Spills_program_ends_with_the_first_trigger_of_the_next_spill_which_it_does_not_count()
    {
        var generator = new Na64EventGenerator(new PhysicsOptions { Beam = new BeamOptions { ParticlesPerSpill = 200 } }, 42);
        var device = new MsadcDevice("M", 610, 0);
        await device.ArmAsync();
        await device.StartAsync();
        var (host, data) = InMemoryDatagramChannel.CreatePair("spills");   // unbounded: the test reads after the program
        await using var crate = new MsadcCrateSimulator(generator, [(new MsadcSourceSimulator(610, [new MsadcDataPath(device, 0)]), data)]);

        await crate.StartTriggers(new TriggerProgram(SimulatedTriggerMode.Beam, Spills: 2)).WaitAsync(Safety);

        var buffer = new byte[65536];
        var spills = new List<int>();
        while (host.TryReceive(buffer, out _))
            spills.Add(SlinkHeader.Read(buffer).SpillNumber);
        Assert.Equal(2, spills.Distinct().Count(s => s <= 2));
        Assert.Equal(3, spills[^1]);
        Assert.Equal(1, spills.Count(s => s == 3));
        Assert.Equal(spills.Count - 1, crate.Triggers);
    }

    [Fact]
    public async Task Stopped_modules_send_nothing_and_stopping_the_program_abandons_a_waiting_send()
    {
        await using var rig = await CreateAsync(capacity: 1, start: false);
        var idle = rig.Crate.StartTriggers(new TriggerProgram(SimulatedTriggerMode.Beam, Triggers: 5));
        await idle.WaitAsync(Safety);
        Assert.Equal((5L, 0L), (rig.Crate.Triggers, rig.Crate.DatagramsSent));   // triggers fired, no module answered

        foreach (var device in rig.Devices)
        {
            await device.ArmAsync();
            await device.StartAsync();
        }

        var endless = rig.Crate.StartTriggers(new TriggerProgram(SimulatedTriggerMode.Beam));
        using (var safety = new CancellationTokenSource(Safety))
        {
            while (rig.Hosts[1].PendingCount < 1)
            {
                safety.Token.ThrowIfCancellationRequested();
                await Task.Yield();
            }
        }

        await Assert.ThrowsAsync<InvalidOperationException>(() => rig.Crate.StartTriggers(new TriggerProgram(SimulatedTriggerMode.Beam)));
        await rig.Crate.StopTriggersAsync().WaitAsync(Safety);
        Assert.True(endless.IsCompletedSuccessfully);
        Assert.Equal(1, rig.Hosts[0].PendingCount);   // the send waiting for room was abandoned, not queued
        Assert.Equal(1, rig.Hosts[1].PendingCount);
    }

    [Fact]
    public async Task Same_seed_sends_the_same_bytes()
    {
        async Task<List<byte[]>> StreamAsync()
        {
            await using var rig = await CreateAsync(seed: 77, capacity: 64);
            await rig.Crate.StartTriggers(new TriggerProgram(SimulatedTriggerMode.Beam, Triggers: 25)).WaitAsync(Safety);
            var list = new List<byte[]>();
            var buffer = new byte[65536];
            foreach (var host in rig.Hosts)
            {
                while (host.TryReceive(buffer, out int length))
                    list.Add(buffer[..length]);
            }

            return list;
        }

        var first = await StreamAsync();
        Assert.Equal(50, first.Count);
        Assert.Equal(first, await StreamAsync());
    }

    [Fact]
    public async Task Bad_programs_and_sources_are_refused()
    {
        await using var rig = await CreateAsync();
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => rig.Crate.StartTriggers(new TriggerProgram(SimulatedTriggerMode.Beam, Triggers: 0)));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => rig.Crate.StartTriggers(new TriggerProgram(SimulatedTriggerMode.Beam, Spills: 0)));
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => rig.Crate.Source(999));
        Assert.Contains("no source 999", e.Message, StringComparison.Ordinal);
        Assert.Equal(610, rig.Crate.Source(610).SourceId);
    }
}
