namespace NA64.Hardware.Digitizers.Apv.Format;

/// <summary>
/// Bit layout of the COMPASS APV format (data-formats §7.2-7.8, decoder-checks §2), LSB first. Shift-and-mask only:
/// the DDD structs are GCC bit-fields, C# has none.
/// </summary>
public static class ApvWords
{
    // ADC header w0: size:16 | adc_id:8 | format_old:8; w1: time_tag:24 | format:8
    public const int AdcHeaderWords = 2;
    public const int AdcSizeMask = 0xFFFF;
    public const int AdcIdShift = 16;
    public const int AdcIdMask = 0xFF;
    public const int FormatShift = 24;
    public const int TimeTagMask = 0xFF_FFFF;

    // APV header w0: data_len:16 | event_number:12 | chip_id:4
    public const int ApvHeaderWords = 2;
    public const int DataLenMask = 0xFFFF;
    public const int EventShift = 16;
    public const int EventMask = 0xFFF;
    public const int ChipIdShift = 28;
    public const int ChipIdMask = 0xF;

    // APV header w1: (good:1 | addr:8) x 3 frames from bit 0 in steps of 9 | reserved:2 | as:1 | gs:1 | reserved:1
    public const int FrameFieldBits = 9;
    public const int AddressMask = 0xFF;
    public const int AsShift = 29;
    public const int GsShift = 30;

    /// <summary>The three good bits (0, 9, 18) of APV header word 1.</summary>
    public const uint GoodBitsMask = (1u << 0) | (1u << 9) | (1u << 18);

    // Latch-all data word: a0:10 | a1:10 | a2:10 | id:2 (the id is not the channel and is ignored)
    public const int AmplitudeBits = 10;
    public const int AmplitudeMask = 0x3FF;
    public const int LatchIdShift = 30;

    // Sparse data word: raw1:8 | raw2:8 | raw3:9 | channel:7
    public const int SparseRaw12Mask = 0xFF;
    public const int SparseRaw3Mask = 0x1FF;
    public const int SparseRaw2Shift = 8;
    public const int SparseRaw3Shift = 16;
    public const int SparseChannelShift = 25;
    public const int SparseChannelMask = 0x7F;

    // Common-mode word: cm1:10 | cm2:10 | cm3:10 | zero:1 | one:1
    public const uint CmOneBit = 1u << 31;
    public const uint CmZeroBit = 1u << 30;

    public const int MaxAdcId = AdcIdMask;
    public const int MaxChipId = ChipIdMask;
    public const int MaxAdcBlockWords = AdcSizeMask;

    /// <summary>Words of a latch-all APV block: 2 header + 128 data (+1 CM).</summary>
    public static int LatchAllBlockWords(bool commonMode) => ApvHeaderWords + ApvFacts.ChannelsPerApv + (commonMode ? 1 : 0);

    public static uint AdcHeader0(int sizeWords, int adcId, byte formatOld) =>
        (uint)(sizeWords & AdcSizeMask) | ((uint)(adcId & AdcIdMask) << AdcIdShift) | ((uint)formatOld << FormatShift);

    public static uint AdcHeader1(int timeTag, byte format) => (uint)(timeTag & TimeTagMask) | ((uint)format << FormatShift);

    public static uint ApvHeader0(int dataLen, int eventNumber, int chipId) =>
        (uint)(dataLen & DataLenMask) | ((uint)(eventNumber & EventMask) << EventShift) | ((uint)(chipId & ChipIdMask) << ChipIdShift);

    /// <summary>APV header word 1 from three 8-bit addresses and the good/sync bits.</summary>
    public static uint ApvHeader1(int address1, int address2, int address3, bool good1 = true, bool good2 = true, bool good3 = true, bool apvSync = true, bool globalSync = true) =>
        Frame(0, address1, good1) | Frame(1, address2, good2) | Frame(2, address3, good3)
        | (apvSync ? 1u << AsShift : 0) | (globalSync ? 1u << GsShift : 0);

    /// <summary>The 8-bit pipeline address of frame 0..2 in APV header word 1.</summary>
    public static int Address(uint header1, int frame) => (int)((header1 >> ((FrameFieldBits * frame) + 1)) & AddressMask);

    public static bool Good(uint header1, int frame) => ((header1 >> (FrameFieldBits * frame)) & 1) != 0;

    public static uint LatchWord(int a0, int a1, int a2, int id = 0) =>
        (uint)(a0 & AmplitudeMask) | ((uint)(a1 & AmplitudeMask) << AmplitudeBits) | ((uint)(a2 & AmplitudeMask) << (2 * AmplitudeBits)) | ((uint)(id & 3) << LatchIdShift);

    public static uint SparseWord(int raw1, int raw2, int raw3, int position) =>
        (uint)(raw1 & SparseRaw12Mask) | ((uint)(raw2 & SparseRaw12Mask) << SparseRaw2Shift) | ((uint)(raw3 & SparseRaw3Mask) << SparseRaw3Shift)
        | ((uint)(position & SparseChannelMask) << SparseChannelShift);

    public static uint CommonModeWord(int cm1, int cm2, int cm3) => LatchWord(cm1, cm2, cm3) | CmOneBit;

    /// <summary>Amplitude/CM field 0..2 of a latch-all or CM word.</summary>
    public static int Amplitude(uint word, int frame) => (int)((word >> (AmplitudeBits * frame)) & AmplitudeMask);

    private static uint Frame(int frame, int address, bool good) =>
        ((uint)(address & AddressMask) << ((FrameFieldBits * frame) + 1)) | (good ? 1u << (FrameFieldBits * frame) : 0);
}
