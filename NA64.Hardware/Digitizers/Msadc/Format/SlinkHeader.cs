using System.Buffers.Binary;
using System.Globalization;

namespace NA64.Hardware.Digitizers.Msadc.Format;

/// <summary>
/// The 3-word S-Link header that a CATCH/GeSiCA concentrator puts in front of every front-end block
/// (data-formats §5.1, decoder-checks §2). Fields are LSB first:
/// w0 = event_size:16 | source_id:10 | event_type:5 | error:1;
/// w1 = event_number:20 | spill_number:11 | stat:1;
/// w2 = status:8 | TCS_error:8 | errors_counter:8 | format:8.
/// </summary>
public readonly record struct SlinkHeader(
    int EventSize,
    int SourceId,
    int EventType,
    bool Error,
    int EventNumber,
    int SpillNumber,
    bool Stat,
    byte Status,
    byte TcsError,
    byte ErrorsCounter,
    byte Format)
{
    public const int Words = 3;
    public const int Bytes = Words * 4;

    public const int MaxEventSize = 0xFFFF;
    public const int MaxSourceId = 1023;
    public const int FirstMultiplexerSourceId = 896;
    public const int MaxEventType = 31;
    public const int MaxEventNumber = 0xFFFFF;
    public const int MaxSpillNumber = 0x7FF;

    /// <summary>Bit 3 of TCS_error set means "no ECC error"; good data carry exactly this value.</summary>
    public const byte TcsNoError = 0x08;
    public const byte TcsFifoErrorBit = 0x01;
    public const byte TcsSyncErrorBit = 0x40;
    public const byte TcsUndefinedErrorMask = 0xB6;

    /// <summary>Format bit 7: the block is a first-event-of-run record, not data.</summary>
    public const byte FirstEventOfRunBit = 0x80;

    /// <summary>True for source ids 896..1023, which DDD reads as S-Link multiplexers.</summary>
    public bool IsMultiplexer => SourceId >= FirstMultiplexerSourceId;

    public bool IsFirstEventOfRun => (Format & FirstEventOfRunBit) != 0;

    /// <summary>The S-Link spill counter is 11 bits; DATE bursts (12 bits) are compared modulo 2048 (data-formats §9.3).</summary>
    public static int SpillFromBurst(int burst) => burst & MaxSpillNumber;

    /// <summary>
    /// A header for good data: TCS_error = 0x08, error = 0, errors_counter = 0. Refuses values outside the fields,
    /// source ids of the multiplexer range (896..1023) and ids ≥ 1024.
    /// </summary>
    public static SlinkHeader ForData(int sourceId, int eventNumber, int spillNumber, int eventSizeWords, int eventType = 0, byte format = 0)
    {
        ValidateSourceId(sourceId);
        Check(nameof(EventNumber), eventNumber, MaxEventNumber);
        Check(nameof(SpillNumber), spillNumber, MaxSpillNumber);
        Check(nameof(EventType), eventType, MaxEventType);
        if (eventSizeWords < Words || eventSizeWords > MaxEventSize)
        {
            throw new ArgumentOutOfRangeException(nameof(eventSizeWords), eventSizeWords,
                string.Create(CultureInfo.InvariantCulture, $"S-Link event_size = {eventSizeWords} words refused: it must be {Words}..{MaxEventSize} (the 3 header words included)"));
        }

        return new SlinkHeader(eventSizeWords, sourceId, eventType, false, eventNumber, spillNumber, false, 0, TcsNoError, 0, format);
    }

    /// <summary>Refuses source ids the decoder cannot read as a plain block.</summary>
    public static void ValidateSourceId(int sourceId)
    {
        if (sourceId < 0 || sourceId > MaxSourceId)
        {
            throw new ArgumentOutOfRangeException(nameof(sourceId), sourceId,
                string.Create(CultureInfo.InvariantCulture, $"S-Link source_id = {sourceId} refused: the field is 10 bits, 0..{MaxSourceId}"));
        }

        if (sourceId >= FirstMultiplexerSourceId)
        {
            throw new ArgumentOutOfRangeException(nameof(sourceId), sourceId,
                string.Create(CultureInfo.InvariantCulture, $"S-Link source_id = {sourceId} refused: {FirstMultiplexerSourceId}..{MaxSourceId} is the S-Link multiplexer range, use 0..{FirstMultiplexerSourceId - 1} for a plain block"));
        }
    }

    public uint Word0 => (uint)(EventSize & 0xFFFF) | ((uint)(SourceId & 0x3FF) << 16) | ((uint)(EventType & 0x1F) << 26) | (Error ? 1u << 31 : 0);

    public uint Word1 => (uint)(EventNumber & 0xFFFFF) | ((uint)(SpillNumber & 0x7FF) << 20) | (Stat ? 1u << 31 : 0);

    public uint Word2 => Status | ((uint)TcsError << 8) | ((uint)ErrorsCounter << 16) | ((uint)Format << 24);

    /// <summary>Writes the 3 words little-endian into <paramref name="destination"/> (at least 12 bytes). Fields wider than their bits are refused.</summary>
    public void WriteTo(Span<byte> destination)
    {
        Check(nameof(EventSize), EventSize, MaxEventSize);
        Check(nameof(SourceId), SourceId, MaxSourceId);
        Check(nameof(EventType), EventType, MaxEventType);
        Check(nameof(EventNumber), EventNumber, MaxEventNumber);
        Check(nameof(SpillNumber), SpillNumber, MaxSpillNumber);
        if (destination.Length < Bytes)
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"S-Link header needs {Bytes} bytes, the destination has {destination.Length}"), nameof(destination));
        }

        BinaryPrimitives.WriteUInt32LittleEndian(destination, Word0);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[4..], Word1);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[8..], Word2);
    }

    public static SlinkHeader FromWords(uint w0, uint w1, uint w2) => new(
        (int)(w0 & 0xFFFF),
        (int)((w0 >> 16) & 0x3FF),
        (int)((w0 >> 26) & 0x1F),
        (w0 >> 31) != 0,
        (int)(w1 & 0xFFFFF),
        (int)((w1 >> 20) & 0x7FF),
        (w1 >> 31) != 0,
        (byte)w2,
        (byte)(w2 >> 8),
        (byte)(w2 >> 16),
        (byte)(w2 >> 24));

    /// <summary>Reads the header from the first 12 bytes. Throws <see cref="Errors.FrameFormatException"/> if fewer bytes are given.</summary>
    public static SlinkHeader Read(ReadOnlySpan<byte> source, long byteOffset = 0)
    {
        if (source.Length < Bytes)
        {
            throw new Errors.FrameFormatException(
                string.Create(CultureInfo.InvariantCulture, $"S-Link header needs {Bytes} bytes, only {source.Length} present"), byteOffset);
        }

        return FromWords(
            BinaryPrimitives.ReadUInt32LittleEndian(source),
            BinaryPrimitives.ReadUInt32LittleEndian(source[4..]),
            BinaryPrimitives.ReadUInt32LittleEndian(source[8..]));
    }

    private static void Check(string field, int value, int max)
    {
        if (value < 0 || value > max)
        {
            throw new ArgumentOutOfRangeException(field, value,
                string.Create(CultureInfo.InvariantCulture, $"S-Link {field} = {value} refused: the field holds 0..{max}"));
        }
    }

    /// <summary>
    /// Reports what the header's flags say is wrong (data-formats §5.2, decoder-checks §2): the error flag (word 0),
    /// the errors counter and the TCS error bits (word 2), each as (kind, header word, one-line message). Every decoder
    /// of an S-Link source reports these the same way; <typeparamref name="TState"/> carries the decoder's own output so
    /// that a static callback allocates nothing.
    /// </summary>
    public void ReportFlagProblems<TState>(TState state, Action<TState, FormatProblemKind, int, string> report)
    {
        ArgumentNullException.ThrowIfNull(report);
        if (Error)
            report(state, FormatProblemKind.SlinkErrorFlag, 0, "S-Link error flag (w0 bit 31) is set");
        if (ErrorsCounter != 0)
            report(state, FormatProblemKind.SlinkErrorsCounter, 2, string.Create(CultureInfo.InvariantCulture, $"S-Link errors_counter = {ErrorsCounter}, expected 0"));
        if ((TcsError & TcsNoError) == 0)
            report(state, FormatProblemKind.TcsEccError, 2, string.Create(CultureInfo.InvariantCulture, $"TCS_error = 0x{TcsError:X2} has bit 3 (0x08) clear: TCS ECC error"));
        if ((TcsError & TcsFifoErrorBit) != 0)
            report(state, FormatProblemKind.TcsFifoError, 2, string.Create(CultureInfo.InvariantCulture, $"TCS_error = 0x{TcsError:X2} has bit 0 (0x01) set: TCS FIFO error"));
        if ((TcsError & TcsSyncErrorBit) != 0)
            report(state, FormatProblemKind.TcsSyncError, 2, string.Create(CultureInfo.InvariantCulture, $"TCS_error = 0x{TcsError:X2} has bit 6 (0x40) set: TCS synchronisation error"));
        if ((TcsError & TcsUndefinedErrorMask) != 0)
            report(state, FormatProblemKind.TcsUndefinedError, 2, string.Create(CultureInfo.InvariantCulture, $"TCS_error = 0x{TcsError:X2} has bits of mask 0xB6 set: undefined TCS error"));
    }
}
