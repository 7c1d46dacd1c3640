using NA64.Hardware.Digitizers.Msadc;
using NA64.Simulators.Digitizers.Msadc;
using NA64.Simulators.Physics;

namespace NA64.Simulators.Tests.Digitizers.Msadc;

public class MsadcDataPathTests
{
    private static async Task<MsadcDevice> Running(MsadcMode mode, int samples, Func<int, MsadcChannelSettings> channel)
    {
        var device = new MsadcDevice("ECAL-A", 610, 0);
        await device.ConfigureAsync(new MsadcConfiguration(mode, samples, 0,
            Enumerable.Range(0, 64).Select(channel).ToArray()));
        await device.ArmAsync();
        await device.StartAsync();
        return device;
    }

    [Fact]
    public async Task Latch_all_sends_every_channel_with_the_module_sample_count()
    {
        var generator = new Na64EventGenerator(new PhysicsOptions(), seed: 3);
        var block = new short[generator.BlockLength];
        generator.Next(block);
        var device = await Running(MsadcMode.LatchAll, 25, _ => new MsadcChannelSettings(0, 0, 0));
        var path = new MsadcDataPath(device, firstChannel: 64);
        var samples = new ushort[64 * 25];
        var kept = new bool[64];
        Assert.Equal(64, path.Capture(block, generator.SamplesPerChannel, samples, kept));
        // Module channel 3 is generator channel 67, first 25 of its 32 samples.
        for (int s = 0; s < 25; s++)
            Assert.Equal((ushort)block[67 * 32 + s], samples[3 * 25 + s]);
        // Generator has 124 channels: module inputs 60..63 are unconnected and read their pedestal registers.
        Assert.Equal(1u, device.TriggerCount);
    }

    [Fact]
    public async Task Sparse_keeps_only_channels_above_threshold_over_their_even_odd_pedestal()
    {
        var generator = new Na64EventGenerator(new PhysicsOptions { Waveform = new WaveformOptions { PileUp = false } }, seed: 4);
        var block = new short[generator.BlockLength];
        generator.Next(block);
        var cal = generator.Calibration;
        var device = await Running(MsadcMode.Sparse, 32, c => new MsadcChannelSettings(
            (int)Math.Round(cal[c].PedestalEven), (int)Math.Round(cal[c].PedestalOdd), 30));
        var path = new MsadcDataPath(device, firstChannel: 0);
        var kept = new bool[64];
        int count = path.Capture(block, 32, new ushort[64 * 32], kept);
        int centralMain = generator.Layout.IndexOf("ECAL1_3_3");
        int farPreshower = generator.Layout.IndexOf("ECAL0_0_0");
        Assert.True(kept[centralMain]);
        Assert.False(kept[farPreshower]);
        Assert.InRange(count, 2, 63);
        var loaded = (await device.ReadConfigurationAsync()).Channels;
        for (int c = 0; c < 64; c++)
        {
            int max = MsadcDataPath.MaxAbovePedestal(block.AsSpan(c * 32, 32).ToArray().Select(v => (ushort)v).ToArray(),
                loaded[c].PedestalEven, loaded[c].PedestalOdd);
            Assert.Equal(max > 30, kept[c]);
        }
    }

    [Fact]
    public async Task Threshold_at_full_scale_suppresses_every_channel_and_stopped_module_takes_no_trigger()
    {
        var generator = new Na64EventGenerator(new PhysicsOptions(), seed: 5);
        var block = new short[generator.BlockLength];
        generator.Next(block);
        var device = await Running(MsadcMode.Sparse, 32, _ => new MsadcChannelSettings(0, 0, 4095));
        var path = new MsadcDataPath(device, 0);
        Assert.Equal(0, path.Capture(block, 32, new ushort[64 * 32], new bool[64]));
        await device.StopAsync();
        Assert.Equal(-1, path.Capture(block, 32, new ushort[64 * 32], new bool[64]));
    }

    [Fact]
    public async Task Latency_above_the_timed_in_value_moves_the_pulse_later_in_the_window()
    {
        var generator = new Na64EventGenerator(new PhysicsOptions { Waveform = new WaveformOptions { PileUp = false } }, seed: 6);
        var block = new short[generator.BlockLength];
        generator.Next(block);
        int central = generator.Layout.IndexOf("ECAL1_3_3");
        var device = await Running(MsadcMode.LatchAll, 32, _ => new MsadcChannelSettings(0, 0, 0));
        var path = new MsadcDataPath(device, 0, generator.Synthesizer, timedInLatency: 0);
        var samples = new ushort[64 * 32];
        path.Capture(block, 32, samples, new bool[64]);
        int nominalPeak = PeakOf(samples.AsSpan(central * 32, 32));
        Assert.Equal(PeakOf(block.AsSpan(central * 32, 32).ToArray().Select(v => (ushort)v).ToArray()), nominalPeak);

        await device.StopAsync();
        await device.ConfigureAsync(new MsadcConfiguration(MsadcMode.LatchAll, 32, 5, Enumerable.Repeat(new MsadcChannelSettings(0, 0, 0), 64).ToArray()));
        await device.ArmAsync();
        await device.StartAsync();
        path.Capture(block, 32, samples, new bool[64]);
        Assert.Equal(nominalPeak + 5, PeakOf(samples.AsSpan(central * 32, 32)));

        static int PeakOf(ReadOnlySpan<ushort> channel) => channel.IndexOf(System.Linq.Enumerable.Max(channel.ToArray()));
    }

    [Fact]
    public async Task Latency_off_the_timed_in_value_without_a_synthesizer_is_refused_by_name()
    {
        var generator = new Na64EventGenerator(new PhysicsOptions(), seed: 7);
        var block = new short[generator.BlockLength];
        generator.Next(block);
        var device = await Running(MsadcMode.LatchAll, 32, _ => new MsadcChannelSettings(0, 0, 0));
        var path = new MsadcDataPath(device, 0, waveforms: null, timedInLatency: 40);
        var e = Assert.Throws<InvalidOperationException>(() => path.Capture(block, 32, new ushort[64 * 32], new bool[64]));
        Assert.Contains("ECAL-A", e.Message);
        Assert.Contains("latency 0", e.Message);
        Assert.Contains("timed-in 40", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new MsadcDataPath(device, 0, null, timedInLatency: 321));
    }

    [Fact]
    public void Max_above_pedestal_uses_the_path_of_each_sample()
    {
        ushort[] samples = [200, 210, 205, 260];
        Assert.Equal(50, MsadcDataPath.MaxAbovePedestal(samples, 200, 210));
        Assert.Equal(60, MsadcDataPath.MaxAbovePedestal(samples, 190, 200));
    }
}
