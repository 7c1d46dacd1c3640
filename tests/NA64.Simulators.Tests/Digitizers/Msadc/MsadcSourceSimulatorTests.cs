using NA64.Hardware.Digitizers.Msadc;
using NA64.Hardware.Digitizers.Msadc.Format;
using NA64.Simulators.Digitizers.Msadc;
using NA64.Simulators.Physics;

namespace NA64.Simulators.Tests.Digitizers.Msadc;

/// <summary>Physics generator → simulated modules → SADC format 3 fragment → the readout's decoder.</summary>
public class MsadcSourceSimulatorTests
{
    private readonly Na64EventGenerator _generator =
        new(new PhysicsOptions { Waveform = new WaveformOptions { PileUp = false } }, seed: 31);
    private readonly short[] _block;
    private readonly EventTruth _truth;

    public MsadcSourceSimulatorTests()
    {
        _block = new short[_generator.BlockLength];
        _truth = _generator.Next(_block);
    }

    private async Task<MsadcSourceSimulator> Source(MsadcMode mode, int samples = 32, int threshold = 20)
    {
        var modules = new List<MsadcDataPath>();
        for (int port = 0; port < 2; port++)
        {
            var device = new MsadcDevice($"MSADC-{port}", 610, port);
            var channels = new MsadcChannelSettings[64];
            for (int k = 0; k < 64; k++)
            {
                int g = port * 64 + k;
                var cal = g < _generator.Layout.Count ? _generator.Calibration[g] : new ChannelCalibration(200, 200, 0, 0);
                channels[k] = new MsadcChannelSettings((int)Math.Round(cal.PedestalEven), (int)Math.Round(cal.PedestalOdd), threshold);
            }
            await device.ConfigureAsync(new MsadcConfiguration(mode, samples, 10, channels));
            await device.ArmAsync();
            await device.StartAsync();
            modules.Add(new MsadcDataPath(device, port * 64, timedInLatency: 10));
        }
        return new MsadcSourceSimulator(610, modules);
    }

    private (SadcEventData Data, SadcSourceResult Result) Write(MsadcSourceSimulator source, out int bytes)
    {
        var buffer = new byte[source.MaxFragmentBytes];
        bytes = source.WriteFragment(_block, _generator.SamplesPerChannel, _truth.EventInSpill, _truth.Spill, buffer);
        var data = new SadcEventData();
        var result = SadcDecoder.Decode(buffer.AsSpan(0, bytes), data, _truth.EventInSpill);
        return (data, result);
    }

    [Fact]
    public async Task Latch_all_fragment_decodes_to_the_generator_samples()
    {
        var source = await Source(MsadcMode.LatchAll);
        var (data, result) = Write(source, out int bytes);
        Assert.Equal(SadcBlockWriter.LatchAllBytes(8, 32), bytes);
        Assert.Empty(data.Problems);
        Assert.False(result.Discarded);
        Assert.Equal((610, _truth.EventInSpill, _truth.Spill), (result.Header.SourceId, result.Header.EventNumber, result.Header.SpillNumber));
        Assert.Equal(128, data.Channels.Length);
        foreach (var channel in data.Channels)
        {
            int g = channel.Address.Port * 64 + channel.Address.ChipChannel;
            if (g >= _generator.Layout.Count)
                continue;
            var expected = _block.AsSpan(g * 32, 32).ToArray().Select(v => (ushort)v).ToArray();
            Assert.Equal(expected, data.Samples(channel).ToArray());
        }
    }

    [Fact]
    public async Task Sparse_fragment_holds_the_channels_over_threshold_and_the_module_sample_count()
    {
        var source = await Source(MsadcMode.Sparse, samples: 25);
        var (data, _) = Write(source, out _);
        Assert.Empty(data.Problems);
        Assert.Equal(8, data.AdcBlocks.Length); // every ADC header present, even empty ones
        Assert.InRange(data.Channels.Length, 3, 60);
        Assert.All(data.Channels.ToArray(), c => Assert.Equal(25, c.SampleCount));
        int central = _generator.Layout.IndexOf("ECAL1_3_3");
        Assert.Contains(data.Channels.ToArray(), c => c.Address.Port * 64 + c.Address.ChipChannel == central);
        Assert.DoesNotContain(data.Channels.ToArray(), c => c.Address.Port * 64 + c.Address.ChipChannel == _generator.Layout.IndexOf("VETO0"));
    }

    [Fact]
    public async Task All_channels_suppressed_still_writes_every_adc_header()
    {
        var source = await Source(MsadcMode.Sparse);
        source.InjectFault(MsadcDataFault.AllChannelsSuppressed);
        var (data, _) = Write(source, out int bytes);
        Assert.Equal(4 * (3 + 8), bytes);
        Assert.Empty(data.Channels.ToArray());
        Assert.Equal(8, data.AdcBlocks.Length);
        Assert.Empty(data.Problems);
        Assert.Equal(1, source.FaultsInjected);
    }

    [Fact]
    public async Task Missing_module_writes_markers_for_its_four_chips()
    {
        var source = await Source(MsadcMode.LatchAll);
        source.SetModuleMissing(1, true);
        var (data, _) = Write(source, out _);
        Assert.Equal(4, data.MissingModules.Length);
        Assert.All(data.MissingModules.ToArray(), m => Assert.Equal((610, 1), (m.SourceId, m.Port)));
        Assert.Equal(64, data.Channels.Length);
    }

    [Theory]
    [InlineData(MsadcDataFault.CorruptWord, FormatProblemKind.BadChannelHeader)]
    [InlineData(MsadcDataFault.WrongEventNumber, FormatProblemKind.WrongEvent)]
    [InlineData(MsadcDataFault.TruncatedBlock, FormatProblemKind.SlinkSizeMismatch)]
    public async Task Injected_fault_is_caught_by_the_decoder_and_lasts_only_the_asked_triggers(MsadcDataFault fault, FormatProblemKind expected)
    {
        var source = await Source(MsadcMode.LatchAll);
        source.InjectFault(fault, triggers: 1);
        var (bad, _) = Write(source, out _);
        Assert.Contains(bad.Problems, p => p.Kind == expected);
        var (good, _) = Write(source, out _);
        Assert.Empty(good.Problems);
        Assert.Equal(1, source.FaultsInjected);
    }

    [Fact]
    public async Task A_stopped_source_sends_nothing()
    {
        var source = await Source(MsadcMode.LatchAll);
        foreach (var module in source.Modules)
            await module.Device.StopAsync();
        Write(source, out int bytes);
        Assert.Equal(0, bytes);
    }
}
