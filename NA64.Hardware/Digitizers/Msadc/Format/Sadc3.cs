namespace NA64.Hardware.Digitizers.Msadc.Format;

/// <summary>
/// Bit layout of MSADC "data format 3" (data-formats §6.2-6.5, decoder-checks §2), LSB first. Shift-and-mask only:
/// the DDD structs are GCC bit-fields, C# has none.
/// </summary>
public static class Sadc3
{
    // ADC header: event:12 | size:12 | error:1 | adc_id:2 | hl_port:3 | key:2
    public const int EventMask = 0xFFF;
    public const int SizeShift = 12;
    public const int SizeMask = 0xFFF;
    public const int ErrorShift = 24;
    public const int AdcIdShift = 25;
    public const int AdcIdMask = 0x3;
    public const int PortShift = 27;
    public const int PortMask = 0x7;
    public const int KeyShift = 30;
    public const uint KeyAdcHeader = 3;
    public const uint KeyMissingModule = 0;

    // Channel header: sum:16 | samples:9 | zero:1 | chan_id:4 | id:2
    public const int SumMask = 0xFFFF;
    public const int SamplesShift = 16;
    public const int SamplesMask = 0x1FF;
    public const int ZeroShift = 25;
    public const int ChanIdShift = 26;
    public const int ChanIdMask = 0xF;
    public const int IdShift = 30;
    public const uint ChannelHeaderId = 1;

    // Data word: data1:12 | data2:12 | id:8; DDD checks only id>>6
    public const int Data2Shift = 12;
    public const int SampleMask = 0xFFF;
    public const uint FirstDataWordId = 0x40;
    public const uint NextDataWordId = 0x80;
    public const uint FirstDataWordTop = 1;
    public const uint NextDataWordTop = 2;

    public const int MaxPort = 7;
    public const int MaxAdcId = 3;
    public const int MaxChanId = 15;
    public const int ChannelsPerAdc = 16;
    public const int MaxSamples = 511;
    public const int MaxBlockWords = 4095;

    /// <summary>4095 is the MSADC overflow code: a saturated sample, not a value.</summary>
    public const ushort SaturatedSample = 4095;

    public static uint AdcHeader(int eventNumber, int sizeWords, bool error, int adcId, int port) =>
        (uint)(eventNumber & EventMask) | ((uint)sizeWords << SizeShift) | (error ? 1u << ErrorShift : 0)
        | ((uint)adcId << AdcIdShift) | ((uint)port << PortShift) | (KeyAdcHeader << KeyShift);

    /// <summary>The 1-word "module missing" marker: key 0, size 1, event filled (DDD compares it, data-formats §6.5).</summary>
    public static uint MissingModule(int eventNumber, int adcId, int port) =>
        (uint)(eventNumber & EventMask) | (1u << SizeShift) | ((uint)adcId << AdcIdShift) | ((uint)port << PortShift);

    public static uint ChannelHeader(int sum, int samples, int chanId) =>
        (uint)(sum & SumMask) | ((uint)samples << SamplesShift) | ((uint)chanId << ChanIdShift) | (ChannelHeaderId << IdShift);

    public static uint DataWord(int data1, int data2, bool first) =>
        (uint)data1 | ((uint)data2 << Data2Shift) | ((first ? FirstDataWordId : NextDataWordId) << 24);

    /// <summary>Data words that follow a channel header: ceil(samples/2).</summary>
    public static int DataWords(int samples) => (samples + 1) >> 1;

    /// <summary>ADC block size in words: 1 + Σ (1 + ceil(samples/2)).</summary>
    public static int BlockWords(int channels, int samplesPerChannel) => 1 + (channels * (1 + DataWords(samplesPerChannel)));

    /// <summary>
    /// Pedestal-subtracted sum Σ(s − ped) with separate even/odd pedestals (the two interleaved ADC paths, data-formats §6.7),
    /// rounded and clamped to the 16-bit field, 0..65535.
    /// </summary>
    public static int PedestalSubtractedSum(ReadOnlySpan<ushort> samples, float pedestalEven, float pedestalOdd)
    {
        long raw = 0;
        foreach (ushort s in samples)
        {
            raw += s;
        }

        int nOdd = samples.Length >> 1;
        int nEven = samples.Length - nOdd;
        double sum = raw - ((double)pedestalEven * nEven) - ((double)pedestalOdd * nOdd);
        return sum <= 0 ? 0 : sum >= SumMask ? SumMask : (int)Math.Round(sum, MidpointRounding.AwayFromZero);
    }
}

/// <summary>What the encoder writes into the 16-bit channel sum (data-formats §6.3: the on-board definition is undocumented).</summary>
public enum SadcSumMode
{
    Zero,
    PedestalSubtracted,
}

/// <summary>
/// DDD's data id of an MSADC channel: (srcID, hl_port, adc_id, chan_id). Map files number the 64 channels of a port
/// chip_channel = adc_id*16 + chan_id.
/// </summary>
public readonly record struct SadcChannelAddress(int SourceId, int Port, int AdcId, int ChanId)
{
    public int ChipChannel => (AdcId * Sadc3.ChannelsPerAdc) + ChanId;

    public static SadcChannelAddress FromChipChannel(int sourceId, int port, int chipChannel) =>
        new(sourceId, port, chipChannel >> 4, chipChannel & 0xF);

    /// <summary>An address with every field checked against what the hardware has (source 0..1023, port 0..7,
    /// ADC chip 0..3, channel 0..15); the error names the field, the value and the range.</summary>
    public static SadcChannelAddress Checked(int sourceId, int port, int adcId, int chanId)
    {
        Check(nameof(SourceId), sourceId, 1023);
        Check(nameof(Port), port, 7);
        Check(nameof(AdcId), adcId, 3);
        Check(nameof(ChanId), chanId, Sadc3.ChannelsPerAdc - 1);
        return new(sourceId, port, adcId, chanId);
    }

    private static void Check(string field, int value, int maximum)
    {
        if (value < 0 || value > maximum)
            throw new ArgumentOutOfRangeException(field, value,
                System.FormattableString.Invariant($"{field} = {value} is outside 0..{maximum}"));
    }
}
