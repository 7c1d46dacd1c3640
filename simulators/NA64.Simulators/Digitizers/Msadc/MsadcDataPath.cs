using System.Globalization;
using NA64.Hardware.Digitizers.Msadc;
using NA64.Simulators.Physics;

namespace NA64.Simulators.Digitizers.Msadc;

/// <summary>
/// Data side of one simulated module: takes 64 consecutive channels of the physics generator's sample block
/// (module channel k = generator channel <see cref="FirstChannel"/> + k, chip = k / 16) and applies the module's
/// registers: samples per channel, mode, and in sparse mode the on-board threshold
/// (keep a channel if max(sample − pedestal of its even/odd path) &gt; threshold). Inputs past the end of the
/// generator's block are unconnected and read their pedestal registers.
/// The latency register places the window: at <see cref="TimedInLatency"/> the module reads the generator's nominal
/// window; each sample clock more starts the window one sample earlier (the pulse moves one sample later), rendered
/// from the event's pulses by the <see cref="WaveformSynthesizer"/>.
/// </summary>
public sealed class MsadcDataPath
{
    private const int Channels = MsadcRegisters.ChannelsPerModule;
    private readonly MsadcDevice _device;
    private readonly int[] _pedestalEven = new int[Channels];
    private readonly int[] _pedestalOdd = new int[Channels];
    private readonly int[] _threshold = new int[Channels];

    private readonly WaveformSynthesizer? _waveforms;

    /// <param name="device">The module's register file.</param>
    /// <param name="firstChannel">Generator channel of module channel 0.</param>
    /// <param name="waveforms">The generator's synthesizer, needed when the latency differs from <paramref name="timedInLatency"/>.</param>
    /// <param name="timedInLatency">Latency (sample clocks) at which the module's window is the generator's nominal one.</param>
    public MsadcDataPath(MsadcDevice device, int firstChannel, WaveformSynthesizer? waveforms = null, int timedInLatency = 0)
    {
        _device = device ?? throw new ArgumentNullException(nameof(device));
        ArgumentOutOfRangeException.ThrowIfNegative(firstChannel);
        if (timedInLatency < 0 || timedInLatency > MsadcRegisters.MaxLatency)
            throw new ArgumentOutOfRangeException(nameof(timedInLatency), timedInLatency, string.Create(CultureInfo.InvariantCulture,
                $"timed-in latency = {timedInLatency} refused: 0..{MsadcRegisters.MaxLatency} sample clocks"));
        FirstChannel = firstChannel;
        _waveforms = waveforms;
        TimedInLatency = timedInLatency;
    }

    public MsadcDevice Device => _device;
    public int FirstChannel { get; }
    public int TimedInLatency { get; }

    /// <summary>
    /// Copies this module's channels out of the generator block into <paramref name="moduleSamples"/>, laid out
    /// [chipChannel][samples] with the module's sample count, and marks which channels the module sends.
    /// Returns the number of channels sent, or -1 if the module is not running (no trigger accepted).
    /// </summary>
    public int Capture(ReadOnlySpan<short> generatorBlock, int generatorSamples, Span<ushort> moduleSamples, Span<bool> kept)
    {
        int samples = _device.SamplesPerChannel;
        if (generatorSamples < samples)
            throw new ArgumentOutOfRangeException(nameof(generatorSamples), generatorSamples, string.Create(
                CultureInfo.InvariantCulture, $"generator gives {generatorSamples} samples, module {_device.Name} reads {samples}"));
        if (moduleSamples.Length < Channels * samples)
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                $"module sample buffer has {moduleSamples.Length} entries, needs {Channels * samples}"), nameof(moduleSamples));
        if (kept.Length < Channels)
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                $"kept flags hold {kept.Length} entries, needs {Channels}"), nameof(kept));
        if (!_device.AcceptTrigger())
            return -1;

        _device.CopyChannelSettings(_pedestalEven, _pedestalOdd, _threshold);
        bool sparse = _device.Mode == MsadcMode.Sparse;
        int earlier = _device.Latency - TimedInLatency;
        if (earlier != 0 && _waveforms is null)
            throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture,
                $"module {_device.Name}: latency {_device.Latency} is not the timed-in {TimedInLatency}, and this data path has no waveform synthesizer to render the moved window"));
        int generatorChannels = generatorBlock.Length / generatorSamples;
        int count = 0;
        for (int k = 0; k < Channels; k++)
        {
            var destination = moduleSamples.Slice(k * samples, samples);
            int source = FirstChannel + k;
            if (source < generatorChannels && earlier != 0)
            {
                _waveforms!.RenderWindow(source, earlier, destination);
            }
            else if (source < generatorChannels)
            {
                var from = generatorBlock.Slice(source * generatorSamples, samples);
                for (int s = 0; s < samples; s++)
                    destination[s] = (ushort)from[s];
            }
            else
            {
                for (int s = 0; s < samples; s++)
                    destination[s] = (ushort)((s & 1) == 0 ? _pedestalEven[k] : _pedestalOdd[k]);
            }
            kept[k] = !sparse || MaxAbovePedestal(destination, _pedestalEven[k], _pedestalOdd[k]) > _threshold[k];
            if (kept[k])
                count++;
        }
        return count;
    }

    /// <summary>max over samples of (sample − pedestal of its path): even samples use the even pedestal.</summary>
    public static int MaxAbovePedestal(ReadOnlySpan<ushort> samples, int pedestalEven, int pedestalOdd)
    {
        int max = int.MinValue;
        for (int s = 0; s < samples.Length; s++)
        {
            int v = samples[s] - ((s & 1) == 0 ? pedestalEven : pedestalOdd);
            if (v > max)
                max = v;
        }
        return max;
    }
}
