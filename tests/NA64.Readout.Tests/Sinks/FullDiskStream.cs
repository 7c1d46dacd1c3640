namespace NA64.Readout.Tests.Sinks;

/// <summary>
/// A seekable in-memory file on a disk that fills up after <see cref="Room"/> bytes: a write that passes it stores
/// what fits (as the OS does on a partial write) and throws IOException "No space left on device".
/// </summary>
internal sealed class FullDiskStream(long room) : MemoryStream
{
    public long Room { get; set; } = room;

    public int Failures { get; private set; }

    public override void Write(byte[] buffer, int offset, int count)
    {
        long left = Math.Max(0, Room - Position);
        if (count > left)
        {
            base.Write(buffer, offset, (int)left);
            Failures++;
            throw new IOException("No space left on device");
        }

        base.Write(buffer, offset, count);
    }

    // MemoryStream's span overload does not go through the array one: route it there so both obey the room.
    public override void Write(ReadOnlySpan<byte> buffer) => Write(buffer.ToArray(), 0, buffer.Length);

    public override void WriteByte(byte value) => Write([value], 0, 1);
}
