namespace NA64.Hardware.Digitizers.Msadc.Format;

/// <summary>Per-channel flags the decoder attaches; the channel is kept in every case (nothing is dropped silently).</summary>
[Flags]
public enum SadcChannelFlags : byte
{
    None = 0,

    /// <summary>A data word had the wrong id; the channel holds only the samples read before it.</summary>
    Truncated = 1,

    /// <summary>At least one sample is 4095 (overflow).</summary>
    Saturated = 2,

    /// <summary>The channel header's zero bit was set.</summary>
    ZeroBitSet = 4,

    /// <summary>The same (port, adc_id, chan_id) appeared earlier in this source's fragment.</summary>
    Duplicate = 8,

    /// <summary>The enclosing ADC header had its error bit set.</summary>
    AdcErrorBit = 16,
}

/// <summary>One decoded channel; its samples live in <see cref="SadcEventData.Samples(in SadcChannel)"/>.</summary>
public readonly record struct SadcChannel(SadcChannelAddress Address, int Sum, int SampleStart, int SampleCount, SadcChannelFlags Flags);

/// <summary>A missing-module marker seen in the data.</summary>
public readonly record struct SadcMissingModule(int SourceId, int Port, int AdcId, long ByteOffset);

/// <summary>One ADC block header seen in the data (also those with no channel), for the "every header present" check.</summary>
public readonly record struct SadcAdcBlock(int SourceId, int Port, int AdcId, bool ErrorBit, int SizeWords, long ByteOffset);

/// <summary>Outcome for one S-Link source: its header, whether its data were discarded, how many channels came out.</summary>
public readonly record struct SadcSourceResult(SlinkHeader Header, bool Discarded, int Channels, long ByteOffset);

/// <summary>
/// Reusable output of <see cref="SadcDecoder"/>: channels of one event (all its sources), their samples, the ADC blocks
/// and missing modules seen, and the problems. Arrays grow when needed and are kept, so a steady stream of events
/// decodes without allocating. Call <see cref="Clear"/> between events.
/// </summary>
public sealed class SadcEventData
{
    private readonly List<FormatProblem> _problems = new();
    private SadcChannel[] _channels;
    private ushort[] _samples;
    private SadcMissingModule[] _missing = new SadcMissingModule[8];
    private SadcAdcBlock[] _blocks;
    private SadcSourceResult[] _sources = new SadcSourceResult[8];
    private int _channelCount;
    private int _sampleCount;
    private int _missingCount;
    private int _blockCount;
    private int _sourceCount;

    public SadcEventData(int initialChannels = 256, int initialSamples = 256 * 32)
    {
        _channels = new SadcChannel[Math.Max(1, initialChannels)];
        _samples = new ushort[Math.Max(Sadc3.MaxSamples + 1, initialSamples)];
        _blocks = new SadcAdcBlock[Math.Max(4, initialChannels / 16)];
    }

    public ReadOnlySpan<SadcChannel> Channels => new(_channels, 0, _channelCount);

    /// <summary>All samples of the event, channel after channel.</summary>
    public ReadOnlySpan<ushort> AllSamples => new(_samples, 0, _sampleCount);

    public ReadOnlySpan<SadcMissingModule> MissingModules => new(_missing, 0, _missingCount);

    public ReadOnlySpan<SadcAdcBlock> AdcBlocks => new(_blocks, 0, _blockCount);

    public ReadOnlySpan<SadcSourceResult> Sources => new(_sources, 0, _sourceCount);

    public IReadOnlyList<FormatProblem> Problems => _problems;

    public ReadOnlySpan<ushort> Samples(scoped in SadcChannel channel) => new(_samples, channel.SampleStart, channel.SampleCount);

    public void Clear()
    {
        _channelCount = 0;
        _sampleCount = 0;
        _missingCount = 0;
        _blockCount = 0;
        _sourceCount = 0;
        _problems.Clear();
    }

    internal int ChannelCount => _channelCount;

    internal void AddProblem(in FormatProblem problem) => _problems.Add(problem);

    internal void AddMissing(in SadcMissingModule m)
    {
        Grow(ref _missing, _missingCount);
        _missing[_missingCount++] = m;
    }

    internal void AddBlock(in SadcAdcBlock b)
    {
        Grow(ref _blocks, _blockCount);
        _blocks[_blockCount++] = b;
    }

    internal void AddSource(in SadcSourceResult s)
    {
        Grow(ref _sources, _sourceCount);
        _sources[_sourceCount++] = s;
    }

    /// <summary>Room for up to <paramref name="count"/> samples at the end; returns where they start.</summary>
    internal Span<ushort> ReserveSamples(int count, out int start)
    {
        if (_sampleCount + count > _samples.Length)
        {
            Array.Resize(ref _samples, Math.Max(_samples.Length * 2, _sampleCount + count));
        }

        start = _sampleCount;
        return _samples.AsSpan(_sampleCount, count);
    }

    internal void CommitChannel(in SadcChannel channel)
    {
        Grow(ref _channels, _channelCount);
        _channels[_channelCount++] = channel;
        _sampleCount = channel.SampleStart + channel.SampleCount;
    }

    private static void Grow<T>(ref T[] array, int count)
    {
        if (count == array.Length)
        {
            Array.Resize(ref array, array.Length * 2);
        }
    }
}
