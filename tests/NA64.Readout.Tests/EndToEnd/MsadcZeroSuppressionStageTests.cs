using System.Runtime.Intrinsics;
using NA64.Hardware.Digitizers.Msadc;
using NA64.Hardware.Digitizers.Msadc.Format;
using NA64.Readout.Pipeline;
using NA64.Readout.Processing;
using NA64.Simulators.Digitizers.Msadc;
using NA64.Simulators.Physics;

namespace NA64.Readout.Tests.EndToEnd;

/// <summary>The MSADC processing stage on fragments from the simulated modules fed by the physics generator.</summary>
public sealed class MsadcZeroSuppressionStageTests
{
    private const int Samples = 32;
    private const int Source = 610;

    private sealed class Rig
    {
        public required Na64EventGenerator Generator { get; init; }
        public required MsadcSourceSimulator Simulator { get; init; }
        public required SuppressionTable[] Tables { get; init; }
        public short[] Block { get; } = new short[124 * Samples];

        public static Rig Create(int seed, double nSigma = 5)
        {
            var generator = new Na64EventGenerator(new PhysicsOptions { Waveform = new WaveformOptions { SamplesPerChannel = Samples } }, seed);
            var paths = new List<MsadcDataPath>();
            var tables = new List<SuppressionTable>();
            for (int port = 0; port < 2; port++)
            {
                var device = new MsadcDevice($"m{port}", Source, port);
                device.ConfigureAsync(MsadcConfiguration.Uniform(MsadcMode.LatchAll, Samples, 0, new MsadcChannelSettings(0, 0, 0))).GetAwaiter().GetResult();
                device.ArmAsync().GetAwaiter().GetResult();
                device.StartAsync().GetAwaiter().GetResult();
                paths.Add(new MsadcDataPath(device, port * 64));
                var even = new short[64];
                var odd = new short[64];
                var threshold = new short[64];
                for (int k = 0; k < 64; k++)
                {
                    int c = (port * 64) + k;
                    if (c >= generator.Layout.Count)
                    {
                        threshold[k] = SuppressionTable.Masked;
                        continue;
                    }

                    var cal = generator.Calibration[c];
                    even[k] = (short)Math.Round(cal.PedestalEven);
                    odd[k] = (short)Math.Round(cal.PedestalOdd);
                    threshold[k] = (short)Math.Ceiling(nSigma * cal.NoiseRms);
                }

                tables.Add(new SuppressionTable(even, odd, threshold));
            }

            return new Rig { Generator = generator, Simulator = new MsadcSourceSimulator(Source, paths), Tables = [.. tables] };
        }

        public MsadcZeroSuppressionStage Stage(ZsImplementation implementation) =>
            new([new MsadcStageModule(Source, 0, Tables[0]), new MsadcStageModule(Source, 1, Tables[1])], Samples, implementation: implementation);

        /// <summary>Next event: the latch-all fragment and its metadata.</summary>
        public (byte[] Fragment, EventMetadata Meta, EventTruth Truth) Next()
        {
            var truth = Generator.Next(Block);
            var buffer = new byte[Simulator.MaxFragmentBytes];
            int length = Simulator.WriteFragment(Block, Samples, truth.EventInSpill, SlinkHeader.SpillFromBurst(truth.Spill), buffer);
            return (buffer[..length], new EventMetadata(7, (uint)truth.Spill, (uint)truth.EventInSpill, 1, 1, 0, Source, 7), truth);
        }
    }

    [Fact]
    public void Kept_channels_carry_raw_samples_and_sums_every_block_stays_and_the_decoder_finds_nothing_wrong()
    {
        var rig = Rig.Create(seed: 3);
        var stage = rig.Stage(ZsImplementation.Best);
        var input = new SadcEventData();
        var output = new SadcEventData();
        long kept = 0;
        for (int e = 0; e < 300; e++)
        {
            var (fragment, meta, _) = rig.Next();
            var destination = new byte[fragment.Length];
            int length = stage.ProcessFragment(fragment, meta, destination, out var reason);
            Assert.Equal(DropReason.None, reason);
            input.Clear();
            output.Clear();
            SadcDecoder.Decode(fragment, input, (int)meta.EventInSpill);
            SadcDecoder.Decode(destination.AsSpan(0, length), output, (int)meta.EventInSpill, 0, (int)meta.Spill);
            Assert.DoesNotContain(output.Problems, p => p.Kind != FormatProblemKind.SaturatedSample);
            Assert.Equal(input.AdcBlocks.ToArray().Select(b => (b.Port, b.AdcId)), output.AdcBlocks.ToArray().Select(b => (b.Port, b.AdcId)));
            var header = SlinkHeader.Read(destination);
            Assert.Equal((Source, (int)meta.EventInSpill, SlinkHeader.TcsNoError), (header.SourceId, header.EventNumber, header.TcsError));

            // Exactly the channels the rule keeps: max(sample - pedestal of its path) > threshold.
            var byAddress = input.Channels.ToArray().ToDictionary(c => c.Address);
            var expected = new List<SadcChannelAddress>();
            foreach (var channel in input.Channels)
            {
                var table = rig.Tables[channel.Address.Port];
                int cc = channel.Address.ChipChannel;
                var s = input.Samples(channel);
                int max = int.MinValue;
                for (int k = 0; k < s.Length; k++)
                    max = Math.Max(max, s[k] - ((k & 1) == 0 ? table.PedestalEven[cc] : table.PedestalOdd[cc]));
                if (max > table.Threshold[cc])
                    expected.Add(channel.Address);
            }

            Assert.Equal(expected, output.Channels.ToArray().Select(c => c.Address));
            foreach (var channel in output.Channels)
            {
                var original = byAddress[channel.Address];
                Assert.Equal(original.Sum, channel.Sum);
                Assert.True(input.Samples(original).SequenceEqual(output.Samples(channel)));
            }

            kept += output.Channels.Length;
        }

        Assert.Equal(kept, stage.ChannelsKept);
        Assert.Equal(300 * 128, stage.ChannelsIn);
        Assert.InRange(kept, 300, 300 * 64);
    }

    [Fact]
    public void Modules_whose_blocks_come_interleaved_keep_the_same_channels_as_in_module_order()
    {
        var rig = Rig.Create(seed: 8);
        var stage = rig.Stage(ZsImplementation.Best);
        var input = new SadcEventData();
        var inOrder = new SadcEventData();
        var interleaved = new SadcEventData();
        for (int e = 0; e < 50; e++)
        {
            var (fragment, meta, _) = rig.Next();
            input.Clear();
            SadcDecoder.Decode(fragment, input, (int)meta.EventInSpill);
            // The same channels, blocks in the order port 0 adc 0, port 1 adc 0, port 0 adc 1, ...: each module's
            // bookkeeping is left and taken up again three times.
            var buffer = new byte[fragment.Length];
            var writer = new SadcBlockWriter(buffer, Source, (int)meta.EventInSpill, SlinkHeader.SpillFromBurst((int)meta.Spill));
            for (int adc = 0; adc < 4; adc++)
            {
                for (int port = 0; port < 2; port++)
                {
                    writer.BeginAdc(port, adc);
                    foreach (var channel in input.Channels)
                    {
                        if (channel.Address.Port == port && channel.Address.AdcId == adc)
                            writer.AddChannel(channel.Address.ChanId, input.Samples(channel), channel.Sum);
                    }
                }
            }

            var shuffled = buffer[..writer.Finish()];
            var a = new byte[fragment.Length];
            var b = new byte[fragment.Length];
            int la = stage.ProcessFragment(fragment, meta, a, out var ra);
            int lb = stage.ProcessFragment(shuffled, meta, b, out var rb);
            Assert.Equal((DropReason.None, DropReason.None), (ra, rb));
            inOrder.Clear();
            interleaved.Clear();
            SadcDecoder.Decode(a.AsSpan(0, la), inOrder, (int)meta.EventInSpill);
            SadcDecoder.Decode(b.AsSpan(0, lb), interleaved, (int)meta.EventInSpill);
            Assert.Equal(
                inOrder.Channels.ToArray().Select(c => (c.Address, string.Join(',', inOrder.Samples(c).ToArray()))).OrderBy(x => x.Address.ChipChannel + (64 * x.Address.Port)),
                interleaved.Channels.ToArray().Select(c => (c.Address, string.Join(',', interleaved.Samples(c).ToArray()))).OrderBy(x => x.Address.ChipChannel + (64 * x.Address.Port)));
        }
    }

    [Fact]
    public void Scalar_Vector256_and_Vector512_stages_write_identical_bytes()
    {
        var rig = Rig.Create(seed: 5);
        var stages = new[] { rig.Stage(ZsImplementation.Scalar), rig.Stage(ZsImplementation.Vector256), rig.Stage(ZsImplementation.Vector512) };
        for (int e = 0; e < 200; e++)
        {
            var (fragment, meta, _) = rig.Next();
            var outputs = stages.Select(stage =>
            {
                var destination = new byte[fragment.Length];
                int length = stage.ProcessFragment(fragment, meta, destination, out var reason);
                Assert.Equal(DropReason.None, reason);
                return destination[..length];
            }).ToArray();
            Assert.Equal(outputs[0], outputs[1]);
            Assert.Equal(outputs[0], outputs[2]);
        }
    }

    [Fact]
    public void Nothing_above_threshold_gives_header_only_blocks_and_missing_modules_keep_their_markers()
    {
        var rig = Rig.Create(seed: 8, nSigma: 4000);
        rig.Simulator.SetModuleMissing(1, true);
        var stage = rig.Stage(ZsImplementation.Best);
        var (fragment, meta, _) = rig.Next();
        var destination = new byte[fragment.Length];
        int length = stage.ProcessFragment(fragment, meta, destination, out var reason);
        Assert.Equal(DropReason.None, reason);
        // S-Link header + 4 empty ADC blocks of port 0 + 4 missing-module markers of port 1.
        Assert.Equal((3 + 4 + 4) * 4, length);
        var output = new SadcEventData();
        SadcDecoder.Decode(destination.AsSpan(0, length), output, (int)meta.EventInSpill);
        Assert.Empty(output.Problems);
        Assert.Empty(output.Channels.ToArray());
        Assert.Equal(4, output.AdcBlocks.Length);
        Assert.All(output.AdcBlocks.ToArray(), b => Assert.Equal(1, b.SizeWords));
        Assert.Equal([0, 1, 2, 3], output.MissingModules.ToArray().Select(m => m.AdcId));
        Assert.Equal(4, stage.MissingModuleMarkers);
    }

    [Fact]
    public void Processing_a_steady_stream_allocates_nothing_per_event()
    {
        var rig = Rig.Create(seed: 9);
        var stage = rig.Stage(ZsImplementation.Best);
        var events = Enumerable.Range(0, 400).Select(_ => rig.Next()).ToArray();
        var destination = new byte[events.Max(e => e.Fragment.Length)];
        foreach (var (fragment, meta, _) in events.Take(50))
            stage.ProcessFragment(fragment, meta, destination, out _);
        var reasons = new DropReason[events.Length];
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int e = 50; e < events.Length; e++)
            stage.ProcessFragment(events[e].Fragment, events[e].Meta, destination, out reasons[e]);

        // Saturated samples are flagged by the decoder with a message (a string per flagged channel), so count only clean events' cost.
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        long saturatedProblems = stage.GetProblems(FormatProblemKind.SaturatedSample);
        Assert.True(allocated <= saturatedProblems * 1024, $"{allocated} bytes allocated for 350 events ({saturatedProblems} saturation flags)");
        Assert.All(reasons, r => Assert.Equal(DropReason.None, r));
        Assert.True(Vector256.IsHardwareAccelerated || stage.Implementation == ZsImplementation.Scalar);
    }

    [Fact]
    public void A_module_missing_for_the_whole_run_is_counted_every_event_but_listed_only_200_times()
    {
        var rig = Rig.Create(seed: 10);
        rig.Simulator.SetModuleMissing(1, true);
        var stage = rig.Stage(ZsImplementation.Best);
        for (int e = 0; e < 300; e++)
        {
            var (fragment, meta, _) = rig.Next();
            stage.ProcessFragment(fragment, meta, new byte[fragment.Length], out var reason);
            Assert.Equal(DropReason.None, reason);
        }

        Assert.Equal(300 * 4, stage.MissingModuleMarkers);
        var locations = stage.ProblemLocations();
        Assert.Equal(201, locations.Count);
        Assert.StartsWith("run 7 spill 1 event 1 source 610 byte ", locations[0], StringComparison.Ordinal);
        Assert.Contains("missing-module marker", locations[0], StringComparison.Ordinal);
        Assert.Equal("... further problems are counted, not listed", locations[^1]);
    }
}
