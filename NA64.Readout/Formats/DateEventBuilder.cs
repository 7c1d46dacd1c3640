using System.Buffers.Binary;
using System.Globalization;
using NA64.Hardware.Digitizers.Msadc.Format;

namespace NA64.Readout.Formats;

/// <summary>Configurable DATE fields (data-formats §11): LDC/GDC ids, detector pattern, equipment type and element size.</summary>
public sealed record DateWriterOptions
{
    public uint LdcId { get; init; }

    public uint GdcId { get; init; }

    /// <summary>Bit 0 = valid, no detectors.</summary>
    public uint DetectorPattern { get; init; } = 1;

    public uint EquipmentType { get; init; } = DateEquipmentHeader.SlinkType;

    /// <summary>Bytes per raw element (unverified, data-formats §4.1).</summary>
    public uint BasicElementSize { get; init; } = 4;
}

/// <summary>
/// Builds one flat DATE 3.6 event in a buffer it keeps between events: header, then one equipment per S-Link block.
/// Front-end encoders write their S-Link block straight into <see cref="GetEquipmentSpan"/>, so the payload is written
/// once; sizes are back-patched. Checks each block against the rules DDD applies: equipment size = 28 + 4 × event_size,
/// S-Link event_number = DATE nbInBurst.
/// </summary>
public sealed class DateEventBuilder
{
    private readonly TimeProvider _time;
    private readonly DateWriterOptions _options;
    private byte[] _buffer;
    private int _length;
    private int _reservedAt = -1;
    private bool _open;
    private DateEventHeader _header;

    public DateEventBuilder(TimeProvider time, DateWriterOptions? options = null, int initialCapacity = 64 * 1024)
    {
        ArgumentNullException.ThrowIfNull(time);
        _time = time;
        _options = options ?? new DateWriterOptions();
        _buffer = new byte[Math.Max(DateEventHeader.Bytes, initialCapacity)];
    }

    public int EquipmentCount { get; private set; }

    /// <summary>Starts an event. Refuses run 0, burst > 4095 and nbInBurst > 1 048 575; the timestamp is taken from the TimeProvider now.</summary>
    public void Begin(DateEventType type, uint runNumber, uint nbInRun, int burst, int nbInBurst, uint triggerMask, uint typeAttribute0 = 0, uint typeAttribute1 = 0)
    {
        long seconds = _time.GetUtcNow().ToUnixTimeSeconds();
        if (seconds < 0 || seconds > uint.MaxValue)
        {
            throw new ArgumentOutOfRangeException(nameof(_time), seconds,
                string.Create(CultureInfo.InvariantCulture, $"DATE eventTimestamp = {seconds} s refused: the field holds 0..{uint.MaxValue} s since 1970"));
        }

        (uint t0, uint t1) = DateEventHeader.EncodeTriggerMask(triggerMask);
        _header = new DateEventHeader(
            DateEventHeader.Bytes, DateEventHeader.Bytes, DateEventHeader.Version36, type, runNumber, nbInRun, burst, nbInBurst,
            t0, t1, _options.DetectorPattern, typeAttribute0, typeAttribute1, 0, _options.LdcId, _options.GdcId, (uint)seconds);
        // Validate now, so that a bad run/burst/event number fails before any payload is produced.
        _header.WriteTo(_buffer);
        _length = DateEventHeader.Bytes;
        _reservedAt = -1;
        EquipmentCount = 0;
        _open = true;
    }

    /// <summary>
    /// Room for one S-Link block of at most <paramref name="maxBytes"/>; write into it, then call <see cref="CommitEquipment"/>
    /// with the bytes written. The span is valid until the next call on this builder.
    /// </summary>
    public Span<byte> GetEquipmentSpan(int maxBytes)
    {
        ThrowIfNotOpen();
        if (!_header.CarriesEquipments)
        {
            throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture,
                $"DATE event type {(uint)_header.Type} carries no equipments (DDD scans only types 6, 7 and 8)"));
        }

        ArgumentOutOfRangeException.ThrowIfNegative(maxBytes);
        Ensure(_length + DateEquipmentHeader.Bytes + maxBytes);
        _reservedAt = _length;
        return _buffer.AsSpan(_length + DateEquipmentHeader.Bytes, maxBytes);
    }

    /// <summary>
    /// Closes the equipment opened by <see cref="GetEquipmentSpan"/>. The equipment id is the S-Link source id.
    /// Refuses a block whose S-Link event_size disagrees with <paramref name="bytesWritten"/> or whose event_number is not nbInBurst.
    /// </summary>
    public void CommitEquipment(int bytesWritten)
    {
        ThrowIfNotOpen();
        if (_reservedAt < 0)
        {
            throw new InvalidOperationException("CommitEquipment needs GetEquipmentSpan first");
        }

        int at = _reservedAt;
        _reservedAt = -1;
        ReadOnlySpan<byte> block = _buffer.AsSpan(at + DateEquipmentHeader.Bytes, bytesWritten);
        SlinkHeader slink = CheckBlock(block);
        uint size = (uint)(DateEquipmentHeader.Bytes + bytesWritten);
        new DateEquipmentHeader(size, _options.EquipmentType, (uint)slink.SourceId, 0, 0, 0, _options.BasicElementSize).WriteTo(_buffer.AsSpan(at));
        _length = at + (int)size;
        EquipmentCount++;
    }

    /// <summary>Copies one complete S-Link block in as an equipment (same checks as <see cref="CommitEquipment"/>).</summary>
    public void AddEquipment(ReadOnlySpan<byte> slinkBlock)
    {
        Span<byte> room = GetEquipmentSpan(slinkBlock.Length);
        slinkBlock.CopyTo(room);
        CommitEquipment(slinkBlock.Length);
    }

    /// <summary>Writes the final size into the header and returns the whole event. Valid until the next <see cref="Begin"/>.</summary>
    public ReadOnlySpan<byte> Finish()
    {
        ThrowIfNotOpen();
        if (_reservedAt >= 0)
        {
            throw new InvalidOperationException("An equipment was opened with GetEquipmentSpan but not committed");
        }

        BinaryPrimitives.WriteUInt32LittleEndian(_buffer, (uint)_length);
        _open = false;
        return _buffer.AsSpan(0, _length);
    }

    private SlinkHeader CheckBlock(ReadOnlySpan<byte> block)
    {
        if (block.Length < SlinkHeader.Bytes || (block.Length & 3) != 0)
        {
            throw new ArgumentOutOfRangeException("bytesWritten", block.Length,
                string.Create(CultureInfo.InvariantCulture, $"S-Link block of {block.Length} bytes refused: at least {SlinkHeader.Bytes} bytes and a multiple of 4"));
        }

        SlinkHeader h = SlinkHeader.Read(block);
        if (h.EventSize * 4 != block.Length)
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                $"S-Link event_size = {h.EventSize} words ({h.EventSize * 4} bytes) of source {h.SourceId} disagrees with the {block.Length} bytes written; equipment size must be 28 + 4 × event_size"), "bytesWritten");
        }

        if (h.EventNumber != _header.NbInBurst)
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                $"S-Link event_number = {h.EventNumber} of source {h.SourceId} refused: it must equal DATE nbInBurst = {_header.NbInBurst}"), "bytesWritten");
        }

        return h;
    }

    private void Ensure(int bytes)
    {
        if (bytes > _buffer.Length)
        {
            Array.Resize(ref _buffer, Math.Max(bytes, _buffer.Length * 2));
        }
    }

    private void ThrowIfNotOpen()
    {
        if (!_open)
        {
            throw new InvalidOperationException("No DATE event is open: call Begin first");
        }
    }
}
