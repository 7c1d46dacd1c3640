using System.Buffers.Binary;
using System.Globalization;
using NA64.Readout.Pipeline;

namespace NA64.Readout.Sinks;

/// <summary>One event's entry in a <see cref="NetMqEventHeader"/> frame.</summary>
public readonly record struct PublishedEvent(uint Run, uint Spill, uint EventInSpill, uint EventInRun, uint TriggerMask, int Size, long UnixSeconds);

/// <summary>
/// The first frame of every message of <see cref="NetMqPublisherSink"/>; the second frame is the DATE
/// events back to back, sizes as listed here. All integers little-endian.
/// <code>
/// offset size field
///  0     4    "NA64" (ASCII; also the PUB/SUB topic)
///  4     2    version = 1
///  6     2    event count N
///  8     8    message sequence number, +1 per message sent by the sink (a gap = messages lost)
/// 16   32*N   per event: run u32, spill u32, event in spill u32, event in run u32,
///             trigger mask u32, size in bytes u32, unix seconds i64
/// </code>
/// </summary>
public static class NetMqEventHeader
{
    public const int PrefixBytes = 16;
    public const int EntryBytes = 32;
    public const ushort Version = 1;

    /// <summary>Topic prefix of every message; subscribe to it (or to the empty topic).</summary>
    public static ReadOnlySpan<byte> Topic => "NA64"u8;

    public static int SizeFor(int events) => PrefixBytes + (EntryBytes * events);

    /// <summary>Writes the header for records [first, first + count) of <paramref name="events"/>; returns bytes written.</summary>
    public static int Write(Span<byte> destination, ulong sequence, EventBatch events, int first, int count)
    {
        ArgumentNullException.ThrowIfNull(events);
        if (count is < 0 or > ushort.MaxValue)
        {
            throw new ArgumentOutOfRangeException(nameof(count), count, $"Event count {count} is outside 0..{ushort.MaxValue} per message.");
        }

        var size = SizeFor(count);
        if (destination.Length < size)
        {
            throw new ArgumentException($"Header needs {size} bytes, destination has {destination.Length}.", nameof(destination));
        }

        Topic.CopyTo(destination);
        BinaryPrimitives.WriteUInt16LittleEndian(destination[4..], Version);
        BinaryPrimitives.WriteUInt16LittleEndian(destination[6..], (ushort)count);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[8..], sequence);
        var entry = destination[PrefixBytes..];
        for (var i = first; i < first + count; i++)
        {
            ref readonly var meta = ref events.GetMetadata(i);
            BinaryPrimitives.WriteUInt32LittleEndian(entry, meta.Run);
            BinaryPrimitives.WriteUInt32LittleEndian(entry[4..], meta.Spill);
            BinaryPrimitives.WriteUInt32LittleEndian(entry[8..], meta.EventInSpill);
            BinaryPrimitives.WriteUInt32LittleEndian(entry[12..], meta.EventInRun);
            BinaryPrimitives.WriteUInt32LittleEndian(entry[16..], meta.TriggerMask);
            BinaryPrimitives.WriteUInt32LittleEndian(entry[20..], (uint)events.GetBytes(i).Length);
            BinaryPrimitives.WriteInt64LittleEndian(entry[24..], meta.UnixSeconds);
            entry = entry[EntryBytes..];
        }

        return size;
    }

    /// <summary>Reads a header frame (subscriber side); throws <see cref="FormatException"/> naming the field for a bad frame.</summary>
    public static (ulong Sequence, PublishedEvent[] Events) Read(ReadOnlySpan<byte> frame)
    {
        if (frame.Length < PrefixBytes)
        {
            throw new FormatException(string.Create(CultureInfo.InvariantCulture,
                $"NA64 header frame has {frame.Length} bytes, fewer than the {PrefixBytes}-byte prefix."));
        }

        if (!frame[..4].SequenceEqual(Topic))
        {
            throw new FormatException("NA64 header frame does not start with \"NA64\".");
        }

        var version = BinaryPrimitives.ReadUInt16LittleEndian(frame[4..]);
        if (version != Version)
        {
            throw new FormatException(string.Create(CultureInfo.InvariantCulture,
                $"NA64 header version {version} is not the supported {Version}."));
        }

        int count = BinaryPrimitives.ReadUInt16LittleEndian(frame[6..]);
        if (frame.Length != SizeFor(count))
        {
            throw new FormatException(string.Create(CultureInfo.InvariantCulture,
                $"NA64 header frame has {frame.Length} bytes; count {count} needs {SizeFor(count)}."));
        }

        var sequence = BinaryPrimitives.ReadUInt64LittleEndian(frame[8..]);
        var events = new PublishedEvent[count];
        var entry = frame[PrefixBytes..];
        for (var i = 0; i < count; i++)
        {
            var size = BinaryPrimitives.ReadUInt32LittleEndian(entry[20..]);
            if (size > int.MaxValue)
            {
                throw new FormatException(string.Create(CultureInfo.InvariantCulture, $"NA64 header entry {i}: size {size} exceeds {int.MaxValue}."));
            }

            events[i] = new PublishedEvent(
                BinaryPrimitives.ReadUInt32LittleEndian(entry),
                BinaryPrimitives.ReadUInt32LittleEndian(entry[4..]),
                BinaryPrimitives.ReadUInt32LittleEndian(entry[8..]),
                BinaryPrimitives.ReadUInt32LittleEndian(entry[12..]),
                BinaryPrimitives.ReadUInt32LittleEndian(entry[16..]),
                (int)size,
                BinaryPrimitives.ReadInt64LittleEndian(entry[24..]));
            entry = entry[EntryBytes..];
        }

        return (sequence, events);
    }
}
