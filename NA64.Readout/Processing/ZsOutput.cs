namespace NA64.Readout.Processing;

/// <summary>Per-channel flags in a zero-suppressed record.</summary>
[Flags]
public enum ZsChannelFlags : short
{
    None = 0,
    /// <summary>At least one raw sample reached the saturation level (4095 for the 12-bit MSADC).</summary>
    Saturated = 1,
    /// <summary>Kept only because an adjacent channel of the same chip passed its threshold.</summary>
    Neighbour = 2,
}

/// <summary>
/// Layout of the zero-suppressor's output, all int16 words (int32 values as low word, high word):
/// <code>
/// header : Marker 0x5A53 ("ZS") | SamplesPerChannel | ChannelsExamined (2 words)
/// record : Channel (2 words) | Flags | S pedestal-subtracted samples      (repeated Kept times)
/// trailer: Marker 0x5A45 ("ZE") | Kept (2 words) | ChannelsExamined (2 words)
/// </code>
/// Header and trailer are always written, also when no channel survives (data-formats.md 6.6).
/// </summary>
public static class ZsOutput
{
    public const short HeaderMarker = 0x5A53;
    public const short TrailerMarker = 0x5A45;
    public const int HeaderLength = 4;
    public const int RecordOverhead = 3;
    public const int TrailerLength = 5;

    /// <summary>Words needed when every channel is kept: the capacity the caller must provide.</summary>
    public static int MaxLength(int channelCount, int samplesPerChannel)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(channelCount);
        ArgumentOutOfRangeException.ThrowIfLessThan(samplesPerChannel, 1);
        long words = HeaderLength + TrailerLength + (long)channelCount * (RecordOverhead + samplesPerChannel);
        if (words > Array.MaxLength)
            throw new ArgumentOutOfRangeException(nameof(channelCount), channelCount,
                $"{channelCount} channels × {samplesPerChannel} samples need {words} output words, more than {Array.MaxLength}");
        return (int)words;
    }

    internal static void WriteInt(Span<short> dst, int value)
    {
        dst[0] = unchecked((short)value);
        dst[1] = unchecked((short)(value >> 16));
    }

    internal static int ReadInt(ReadOnlySpan<short> src) => (ushort)src[0] | (src[1] << 16);
}

/// <summary>One kept channel of a zero-suppressed block.</summary>
public readonly ref struct ZsChannel
{
    public ZsChannel(int channel, ZsChannelFlags flags, ReadOnlySpan<short> samples)
    {
        Channel = channel;
        Flags = flags;
        Samples = samples;
    }

    public int Channel { get; }
    public ZsChannelFlags Flags { get; }
    /// <summary>Raw sample minus the even/odd pedestal, signed (not clipped).</summary>
    public ReadOnlySpan<short> Samples { get; }
}

/// <summary>Reads and checks a buffer written by <see cref="ZeroSuppressor"/>.</summary>
public readonly ref struct ZsOutputReader
{
    private readonly ReadOnlySpan<short> _data;

    /// <param name="data">Exactly the words written (<see cref="ZsResult.Written"/>).</param>
    public ZsOutputReader(ReadOnlySpan<short> data)
    {
        if (data.Length < ZsOutput.HeaderLength + ZsOutput.TrailerLength)
            throw new FormatException($"ZS output has {data.Length} words, fewer than header + trailer ({ZsOutput.HeaderLength + ZsOutput.TrailerLength})");
        if (data[0] != ZsOutput.HeaderMarker)
            throw new FormatException($"ZS header marker is 0x{(ushort)data[0]:X4}, expected 0x{(ushort)ZsOutput.HeaderMarker:X4}");
        SamplesPerChannel = data[1];
        if (SamplesPerChannel < 1)
            throw new FormatException($"ZS header SamplesPerChannel = {SamplesPerChannel}, must be >= 1");
        ChannelsExamined = ZsOutput.ReadInt(data[2..]);
        var trailer = data[^ZsOutput.TrailerLength..];
        if (trailer[0] != ZsOutput.TrailerMarker)
            throw new FormatException($"ZS trailer marker is 0x{(ushort)trailer[0]:X4}, expected 0x{(ushort)ZsOutput.TrailerMarker:X4}");
        KeptCount = ZsOutput.ReadInt(trailer[1..]);
        var examinedInTrailer = ZsOutput.ReadInt(trailer[3..]);
        if (examinedInTrailer != ChannelsExamined)
            throw new FormatException($"ZS trailer ChannelsExamined = {examinedInTrailer}, header says {ChannelsExamined}");
        long expected = ZsOutput.HeaderLength + ZsOutput.TrailerLength + (long)KeptCount * (ZsOutput.RecordOverhead + SamplesPerChannel);
        if (KeptCount < 0 || expected != data.Length)
            throw new FormatException($"ZS output has {data.Length} words, {KeptCount} kept channels of {SamplesPerChannel} samples need {expected}");
        _data = data;
    }

    public int SamplesPerChannel { get; }
    public int ChannelsExamined { get; }
    public int KeptCount { get; }

    public ZsChannel this[int index]
    {
        get
        {
            if ((uint)index >= (uint)KeptCount)
                throw new ArgumentOutOfRangeException(nameof(index), index, $"index must be 0..{KeptCount - 1}");
            var record = _data.Slice(ZsOutput.HeaderLength + index * (ZsOutput.RecordOverhead + SamplesPerChannel),
                ZsOutput.RecordOverhead + SamplesPerChannel);
            return new ZsChannel(ZsOutput.ReadInt(record), (ZsChannelFlags)record[2], record[ZsOutput.RecordOverhead..]);
        }
    }
}
