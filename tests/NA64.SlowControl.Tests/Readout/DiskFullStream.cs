namespace NA64.SlowControl.Tests.Readout;

/// <summary>
/// Puts a full disk under a file stream: writes pass through until <paramref name="room"/> bytes are in the file, then a
/// write stores what fits (a partial write, as the OS does) and throws IOException "No space left on device".
/// </summary>
internal sealed class DiskFullStream(Stream inner, long room) : Stream
{
    public int Failures { get; private set; }

    public override bool CanRead => false;

    public override bool CanSeek => inner.CanSeek;

    public override bool CanWrite => true;

    public override long Length => inner.Length;

    public override long Position { get => inner.Position; set => inner.Position = value; }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        long left = Math.Max(0, room - inner.Position);
        if (buffer.Length > left)
        {
            inner.Write(buffer[..(int)left]);
            Failures++;
            throw new IOException("No space left on device");
        }

        inner.Write(buffer);
    }

    public override void Flush() => inner.Flush();

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException("write-only test stream");

    public override long Seek(long offset, SeekOrigin origin) => inner.Seek(offset, origin);

    public override void SetLength(long value) => inner.SetLength(value);

    protected override void Dispose(bool disposing)
    {
        if (disposing)
            inner.Dispose();
        base.Dispose(disposing);
    }
}
