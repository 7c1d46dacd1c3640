using System.Buffers.Binary;
using System.Globalization;

namespace NA64.Readout.Formats;

/// <summary>
/// DATE event types by value (data-formats §3.5). Types 9 and 10 are named differently by DDD and by DATE 3.x,
/// so they carry no name here; the reader reports them by number as "not a data event".
/// </summary>
public enum DateEventType : uint
{
    StartOfRun = 1,
    EndOfRun = 2,
    StartOfRunFiles = 3,
    EndOfRunFiles = 4,
    StartOfBurst = 5,
    EndOfBurst = 6,
    Physics = 7,
    Calibration = 8,
}

/// <summary>
/// The DATE 3.6 event header (event.h V03.06, 17 words = 68 bytes; data-formats §3.2, decoder-checks §2).
/// </summary>
public readonly record struct DateEventHeader(
    uint Size,
    uint HeadLen,
    uint Version,
    DateEventType Type,
    uint RunNumber,
    uint NbInRun,
    int Burst,
    int NbInBurst,
    uint TriggerPattern0,
    uint TriggerPattern1,
    uint DetectorPattern,
    uint TypeAttribute0,
    uint TypeAttribute1,
    uint TypeAttribute2,
    uint LdcId,
    uint GdcId,
    uint Timestamp)
{
    public const int Words = 17;
    public const int Bytes = 68;
    public const uint Magic = 0xDA1E5AFE;
    public const uint SwappedMagic = 0xFE5A1EDA;
    public const uint Version36 = 0x00030006;

    /// <summary>Word 3 below this is the old header's headLen, at or above it a 3.x version (data-formats §3.1).</summary>
    public const uint FirstVersionValue = 0xFFFF;

    public const int MaxBurst = 0xFFF;
    public const int MaxNbInBurst = 0xFFFFF;

    /// <summary>System attribute 68 (word 13 bit 4): the payload is sub-events.</summary>
    public const uint SuperEventAttributeBit = 0x10;

    /// <summary>eventId[1] = burst&lt;&lt;20 | nbInBurst.</summary>
    public uint EventId1 => ((uint)(Burst & MaxBurst) << 20) | (uint)(NbInBurst & MaxNbInBurst);

    /// <summary>DDD's trigger mask: (pattern[0] >> 1) | (pattern[1] &lt;&lt; 31); mask bit k is trigger id k+1.</summary>
    public uint TriggerMask => (TriggerPattern0 >> 1) | (TriggerPattern1 << 31);

    public bool IsSuperEvent => (TypeAttribute2 & SuperEventAttributeBit) != 0;

    /// <summary>Only end-of-burst, physics and calibration events carry equipments in DDD.</summary>
    public bool CarriesEquipments => Type is DateEventType.EndOfBurst or DateEventType.Physics or DateEventType.Calibration;

    /// <summary>Trigger pattern words with the validity bit: ((mask &lt;&lt; 1) | 1, mask >> 31).</summary>
    public static (uint Pattern0, uint Pattern1) EncodeTriggerMask(uint mask) => ((mask << 1) | 1u, mask >> 31);

    /// <summary>Writes the 68 bytes little-endian. Refuses run 0 (DDD then loads no maps), bursts > 4095, nbInBurst > 2^20-1.</summary>
    public void WriteTo(Span<byte> destination)
    {
        if (RunNumber == 0)
        {
            throw new ArgumentOutOfRangeException(nameof(RunNumber), RunNumber,
                "DATE run number = 0 refused: DDD loads maps only when the run number changes from its initial 0, so run 0 decodes without maps");
        }

        if (Burst < 0 || Burst > MaxBurst)
        {
            throw new ArgumentOutOfRangeException(nameof(Burst), Burst,
                string.Create(CultureInfo.InvariantCulture, $"DATE burst = {Burst} refused: eventId[1] holds 0..{MaxBurst}"));
        }

        if (NbInBurst < 0 || NbInBurst > MaxNbInBurst)
        {
            throw new ArgumentOutOfRangeException(nameof(NbInBurst), NbInBurst,
                string.Create(CultureInfo.InvariantCulture, $"DATE nbInBurst = {NbInBurst} refused: eventId[1] holds 0..{MaxNbInBurst}"));
        }

        if (HeadLen < Bytes || Size < HeadLen || (Size & 3) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(Size), Size,
                string.Create(CultureInfo.InvariantCulture, $"DATE eventSize = {Size} with headLen = {HeadLen} refused: headLen ≥ {Bytes}, size ≥ headLen and a multiple of 4"));
        }

        if (destination.Length < Bytes)
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"DATE header needs {Bytes} bytes, the destination has {destination.Length}"), nameof(destination));
        }

        Span<uint> w = stackalloc uint[Words];
        w[0] = Size;
        w[1] = Magic;
        w[2] = HeadLen;
        w[3] = Version;
        w[4] = (uint)Type;
        w[5] = RunNumber;
        w[6] = NbInRun;
        w[7] = EventId1;
        w[8] = TriggerPattern0;
        w[9] = TriggerPattern1;
        w[10] = DetectorPattern;
        w[11] = TypeAttribute0;
        w[12] = TypeAttribute1;
        w[13] = TypeAttribute2;
        w[14] = LdcId;
        w[15] = GdcId;
        w[16] = Timestamp;
        for (int i = 0; i < Words; i++)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(destination[(i * 4)..], w[i]);
        }
    }

    /// <summary>Reads the 17 words as they are (no checks; <see cref="DateEventView"/> checks magic, flavour and sizes).</summary>
    public static DateEventHeader Read(ReadOnlySpan<byte> source)
    {
        if (source.Length < Bytes)
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"DATE 3.6 header needs {Bytes} bytes, {source.Length} given"), nameof(source));
        }

        uint id1 = W(source, 7);
        return new DateEventHeader(
            W(source, 0), W(source, 2), W(source, 3), (DateEventType)W(source, 4), W(source, 5), W(source, 6), (int)(id1 >> 20), (int)(id1 & MaxNbInBurst),
            W(source, 8), W(source, 9), W(source, 10), W(source, 11), W(source, 12), W(source, 13), W(source, 14), W(source, 15), W(source, 16));
    }

    private static uint W(ReadOnlySpan<byte> s, int i) => BinaryPrimitives.ReadUInt32LittleEndian(s[(i * 4)..]);
}

/// <summary>The DATE 3.x equipment header (7 words = 28 bytes; data-formats §4.1). Size is in bytes and includes these 28.</summary>
public readonly record struct DateEquipmentHeader(uint Size, uint Type, uint EquipmentId, uint TypeAttribute0, uint TypeAttribute1, uint TypeAttribute2, uint BasicElementSize)
{
    public const int Bytes = 28;

    /// <summary>64 = S-Link equipment.</summary>
    public const uint SlinkType = 64;

    public void WriteTo(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(destination, Size);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[4..], Type);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[8..], EquipmentId);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[12..], TypeAttribute0);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[16..], TypeAttribute1);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[20..], TypeAttribute2);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[24..], BasicElementSize);
    }

    public static DateEquipmentHeader Read(ReadOnlySpan<byte> source) => new(
        BinaryPrimitives.ReadUInt32LittleEndian(source),
        BinaryPrimitives.ReadUInt32LittleEndian(source[4..]),
        BinaryPrimitives.ReadUInt32LittleEndian(source[8..]),
        BinaryPrimitives.ReadUInt32LittleEndian(source[12..]),
        BinaryPrimitives.ReadUInt32LittleEndian(source[16..]),
        BinaryPrimitives.ReadUInt32LittleEndian(source[20..]),
        BinaryPrimitives.ReadUInt32LittleEndian(source[24..]));
}
