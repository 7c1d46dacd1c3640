using System.Buffers.Binary;
using System.Globalization;
using NA64.Hardware.Digitizers.Msadc.Format;
using NA64.Hardware.Errors;

namespace NA64.Readout.Formats;

/// <summary>One equipment of a DATE event: its header and where its S-Link block sits inside <see cref="DateEventView.Bytes"/>.</summary>
public readonly record struct DateEquipment(DateEquipmentHeader Header, int PayloadOffset, int PayloadLength, long ByteOffset)
{
    public int SourceId => (int)Header.EquipmentId;
}

/// <summary>What the DATE layer accepts (data-formats §3.1, §11).</summary>
public sealed record DateReaderOptions
{
    /// <summary>DDD reads every version ≥ 0xFFFF with the 3.6 offsets; by default we accept only 0x00030006, which is what we write.</summary>
    public bool AcceptAny3xVersion { get; init; }

    /// <summary>A size word above this is treated as corruption rather than allocated.</summary>
    public int MaxEventBytes { get; init; } = 64 * 1024 * 1024;
}

/// <summary>
/// A parsed DATE 3.6 event: header, equipments (flat or from sub-events of a super event) and the problems found while
/// walking them. It is a view: it refers to the bytes it was loaded from and is reused for the next event, so it
/// copies nothing per equipment. Header-level faults (not DATE, big-endian, old flavour, bad sizes) throw
/// <see cref="FrameFormatException"/>; faults inside the payload are collected in <see cref="Problems"/>, the good
/// equipments survive.
/// </summary>
public sealed class DateEventView
{
    private readonly List<FormatProblem> _problems = new();
    private DateEquipment[] _equipments = new DateEquipment[16];
    private int _equipmentCount;

    public DateEventHeader Header { get; private set; }

    /// <summary>Offset of the event in the file (or whatever base the caller gave).</summary>
    public long ByteOffset { get; private set; }

    public ReadOnlyMemory<byte> Bytes { get; private set; }

    public ReadOnlySpan<DateEquipment> Equipments => new(_equipments, 0, _equipmentCount);

    public IReadOnlyList<FormatProblem> Problems => _problems;

    /// <summary>Equipments shorter than 28 + 12 bytes (no room for an S-Link header): skipped as DDD does, but counted.</summary>
    public int SkippedShortEquipments { get; private set; }

    /// <summary>The S-Link block of an equipment.</summary>
    public ReadOnlySpan<byte> Payload(scoped in DateEquipment equipment) => Bytes.Span.Slice(equipment.PayloadOffset, equipment.PayloadLength);

    /// <summary>
    /// Checks the first 16 bytes of an event (magic, flavour, size rules) and returns the event size and header length.
    /// Throws <see cref="FrameFormatException"/> with <paramref name="byteOffset"/> and a message naming the field.
    /// </summary>
    public static (int Size, int HeadLen) CheckPrefix(ReadOnlySpan<byte> prefix, long byteOffset, DateReaderOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (prefix.Length < 16)
        {
            throw new FrameFormatException(string.Create(CultureInfo.InvariantCulture, $"DATE event prefix needs 16 bytes, {prefix.Length} given"), byteOffset);
        }

        uint size = BinaryPrimitives.ReadUInt32LittleEndian(prefix);
        uint magic = BinaryPrimitives.ReadUInt32LittleEndian(prefix[4..]);
        uint word2 = BinaryPrimitives.ReadUInt32LittleEndian(prefix[8..]);
        uint word3 = BinaryPrimitives.ReadUInt32LittleEndian(prefix[12..]);
        if (magic == DateEventHeader.SwappedMagic)
        {
            throw new FrameFormatException("big-endian file: DATE magic reads 0xFE5A1EDA (byte-swapped 0xDA1E5AFE); event swapping is not supported", byteOffset);
        }

        if (magic != DateEventHeader.Magic)
        {
            throw new FrameFormatException(string.Create(CultureInfo.InvariantCulture,
                $"not a DATE event: word 1 = 0x{magic:X8}, expected the magic 0xDA1E5AFE"), byteOffset);
        }

        if (word3 < DateEventHeader.FirstVersionValue)
        {
            throw new FrameFormatException(string.Create(CultureInfo.InvariantCulture,
                $"old DATE header flavour (word 3 = headLen {word3} < 0xFFFF) is not supported; only DATE 3.6 headers are read"), byteOffset);
        }

        if (word3 != DateEventHeader.Version36 && !options.AcceptAny3xVersion)
        {
            throw new FrameFormatException(string.Create(CultureInfo.InvariantCulture,
                $"DATE header version 0x{word3:X8} is not supported; expected 0x00030006 (3.6)"), byteOffset);
        }

        if (size == 0 || (size & 3) != 0)
        {
            throw new FrameFormatException(string.Create(CultureInfo.InvariantCulture,
                $"DATE eventSize = {size} bytes refused: it must be non-zero and a multiple of 4"), byteOffset);
        }

        if (word2 < DateEventHeader.Bytes || (word2 & 3) != 0)
        {
            throw new FrameFormatException(string.Create(CultureInfo.InvariantCulture,
                $"DATE eventHeadSize = {word2} bytes refused: a 3.6 header is at least {DateEventHeader.Bytes} bytes and a multiple of 4"), byteOffset);
        }

        if (size < word2)
        {
            throw new FrameFormatException(string.Create(CultureInfo.InvariantCulture,
                $"DATE eventSize = {size} bytes is smaller than eventHeadSize = {word2}"), byteOffset);
        }

        if (size > (uint)options.MaxEventBytes)
        {
            throw new FrameFormatException(string.Create(CultureInfo.InvariantCulture,
                $"DATE eventSize = {size} bytes exceeds the limit MaxEventBytes = {options.MaxEventBytes}"), byteOffset);
        }

        return ((int)size, (int)word2);
    }

    /// <summary>
    /// Loads one complete event. The bytes must be exactly one event (size word = length). Header-level faults throw
    /// <see cref="FrameFormatException"/>; equipment faults go to <see cref="Problems"/>.
    /// </summary>
    public void Load(ReadOnlyMemory<byte> eventBytes, long byteOffset = 0, DateReaderOptions? options = null)
    {
        options ??= Defaults;
        ReadOnlySpan<byte> span = eventBytes.Span;
        (int size, int headLen) = CheckPrefix(span, byteOffset, options);
        if (size != span.Length)
        {
            throw new FrameFormatException(string.Create(CultureInfo.InvariantCulture,
                $"DATE eventSize = {size} bytes disagrees with the {span.Length} bytes given"), byteOffset);
        }

        _problems.Clear();
        _equipmentCount = 0;
        SkippedShortEquipments = 0;
        Bytes = eventBytes;
        ByteOffset = byteOffset;
        Header = DateEventHeader.Read(span);
        uint type = (uint)Header.Type;
        if (type == 0 || type > 14)
        {
            _problems.Add(new FormatProblem(FormatProblemKind.UnknownEventType, byteOffset + 16, -1,
                string.Create(CultureInfo.InvariantCulture, $"DATE eventType = {type} is not a known type (1..14)")));
        }

        if (!Header.CarriesEquipments)
        {
            return;
        }

        if (Header.IsSuperEvent)
        {
            WalkSubEvents(span, headLen, size, options);
        }
        else
        {
            WalkEquipments(span, headLen, size);
        }
    }

    private static readonly DateReaderOptions Defaults = new();

    private void WalkSubEvents(ReadOnlySpan<byte> span, int start, int end, DateReaderOptions options)
    {
        int pos = start;
        while (pos < end)
        {
            long at = ByteOffset + pos;
            if (end - pos < DateEventHeader.Bytes)
            {
                _problems.Add(new FormatProblem(FormatProblemKind.SubEventSize, at, -1,
                    string.Create(CultureInfo.InvariantCulture, $"{end - pos} bytes left in the super event, too few for a {DateEventHeader.Bytes}-byte sub-event header; rest dropped")));
                return;
            }

            int subSize;
            int subHeadLen;
            try
            {
                (subSize, subHeadLen) = CheckPrefix(span[pos..], at, options);
            }
            catch (FrameFormatException e)
            {
                _problems.Add(new FormatProblem(FormatProblemKind.SubEventSize, at, -1, "bad sub-event header: " + e.Message + "; rest of the super event dropped"));
                return;
            }

            if (pos + subSize > end)
            {
                _problems.Add(new FormatProblem(FormatProblemKind.SubEventSize, at, -1,
                    string.Create(CultureInfo.InvariantCulture, $"sub-event size = {subSize} bytes overruns the super event by {pos + subSize - end} bytes; rest dropped")));
                return;
            }

            var sub = DateEventHeader.Read(span[pos..]);
            if (sub.Version != Header.Version || sub.RunNumber != Header.RunNumber || sub.NbInRun != Header.NbInRun
                || sub.Burst != Header.Burst || sub.NbInBurst != Header.NbInBurst)
            {
                _problems.Add(new FormatProblem(FormatProblemKind.SubEventHeaderDiffers, at, -1,
                    string.Create(CultureInfo.InvariantCulture,
                        $"sub-event header differs from its super event: run {sub.RunNumber}/{Header.RunNumber}, burst {sub.Burst}/{Header.Burst}, nbInRun {sub.NbInRun}/{Header.NbInRun}, nbInBurst {sub.NbInBurst}/{Header.NbInBurst}; rest dropped")));
                return;
            }

            WalkEquipments(span, pos + subHeadLen, pos + subSize);
            pos += subSize;
        }
    }

    // DDD's equipment walk (data-formats §4.3): never beyond the end; a size mismatch costs only that source.
    private void WalkEquipments(ReadOnlySpan<byte> span, int start, int end)
    {
        int pos = start;
        while (pos < end)
        {
            long at = ByteOffset + pos;
            if (end - pos < DateEquipmentHeader.Bytes)
            {
                _problems.Add(new FormatProblem(FormatProblemKind.EquipmentTooShort, at, -1,
                    string.Create(CultureInfo.InvariantCulture, $"{end - pos} bytes left in the event, too few for a {DateEquipmentHeader.Bytes}-byte equipment header; rest of event dropped")));
                return;
            }

            var header = DateEquipmentHeader.Read(span[pos..]);
            int id = (int)header.EquipmentId;
            if (header.Size < DateEquipmentHeader.Bytes)
            {
                _problems.Add(new FormatProblem(FormatProblemKind.EquipmentTooShort, at, id,
                    string.Create(CultureInfo.InvariantCulture, $"equipmentSize = {header.Size} bytes is smaller than its {DateEquipmentHeader.Bytes}-byte header; rest of event dropped")));
                return;
            }

            if ((header.Size & 3) != 0)
            {
                _problems.Add(new FormatProblem(FormatProblemKind.EquipmentSizeNotMultipleOf4, at, id,
                    string.Create(CultureInfo.InvariantCulture, $"equipmentSize = {header.Size} bytes is not a multiple of 4; rest of event dropped")));
                return;
            }

            if (header.Size > (uint)(end - pos))
            {
                _problems.Add(new FormatProblem(FormatProblemKind.EquipmentOverrun, at, id,
                    string.Create(CultureInfo.InvariantCulture, $"equipmentSize = {header.Size} bytes passes the event end: only {end - pos} bytes left; rest of event dropped")));
                return;
            }

            int size = (int)header.Size;
            int payload = size - DateEquipmentHeader.Bytes;
            if (payload < 12)
            {
                SkippedShortEquipments++;
            }
            else
            {
                uint slinkWords = BinaryPrimitives.ReadUInt32LittleEndian(span[(pos + DateEquipmentHeader.Bytes)..]) & 0xFFFF;
                if (slinkWords * 4 != payload)
                {
                    int src = (int)((BinaryPrimitives.ReadUInt32LittleEndian(span[(pos + DateEquipmentHeader.Bytes)..]) >> 16) & 0x3FF);
                    _problems.Add(new FormatProblem(FormatProblemKind.EquipmentSlinkSizeMismatch, at, src,
                        string.Create(CultureInfo.InvariantCulture,
                            $"equipmentSize = {size} bytes, but 28 + 4 × S-Link event_size ({slinkWords}) = {28 + (4 * slinkWords)}; equipment {id} skipped")));
                }
                else
                {
                    if (_equipmentCount == _equipments.Length)
                    {
                        Array.Resize(ref _equipments, _equipments.Length * 2);
                    }

                    _equipments[_equipmentCount++] = new DateEquipment(header, pos + DateEquipmentHeader.Bytes, payload, at);
                }
            }

            pos += size;
        }
    }
}
