using Microsoft.Extensions.Time.Testing;
using NA64.Hardware.Transport;

namespace NA64.Hardware.Tests.Transport;

public sealed class PacedStreamTests
{
    /// <summary>Counts what reaches the line.</summary>
    private sealed class LineRecorder : Stream
    {
        private long _written;

        public long Written => Interlocked.Read(ref _written);

        public override bool CanRead => false;

        public override bool CanWrite => true;

        public override bool CanSeek => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Write(byte[] buffer, int offset, int count) => Interlocked.Add(ref _written, count);

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            Interlocked.Add(ref _written, buffer.Length);
            return ValueTask.CompletedTask;
        }

        public override void Flush()
        {
        }

        public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();
    }

    [Fact]
    public async Task Bytes_leave_at_ten_bit_times_each_measured_from_the_start_of_the_burst()
    {
        var time = new FakeTimeProvider();
        var line = new LineRecorder();
        await using var paced = new PacedStream(line, 9600, time);
        Assert.Equal(TimeSpan.FromTicks(10_417), paced.ByteTime);

        // 96 bytes at 9600 baud 8N1 take exactly 100 ms.
        var write = paced.WriteAsync(new byte[96]).AsTask();
        Assert.Equal(0, line.Written);

        time.Advance(TimeSpan.FromMilliseconds(50));
        await Safety.Until(() => line.Written >= 48, "48 bytes are due after 50 ms");
        Assert.Equal(48, line.Written);
        Assert.False(write.IsCompleted);

        // A late timer (here one jump of 30 ms) lets everything due meanwhile out at once: the average rate holds.
        time.Advance(TimeSpan.FromMilliseconds(30));
        await Safety.Until(() => line.Written >= 76, "76 bytes are due after 80 ms");
        Assert.Equal(76, line.Written);

        time.Advance(TimeSpan.FromMilliseconds(20));
        await Safety.Within(write);
        Assert.Equal(96, line.Written);
    }

    [Fact]
    public async Task After_an_idle_line_the_next_byte_takes_a_full_byte_time_again()
    {
        var time = new FakeTimeProvider();
        var line = new LineRecorder();
        await using var paced = new PacedStream(line, 9600, time);
        var first = paced.WriteAsync(new byte[1]).AsTask();
        time.Advance(TimeSpan.FromMilliseconds(2));
        await Safety.Within(first);

        time.Advance(TimeSpan.FromSeconds(1));
        var second = paced.WriteAsync(new byte[2]).AsTask();
        Assert.Equal(1, line.Written);

        // 1 ms is less than one byte time (1.0417 ms): nothing may leave yet, the idle time earns no credit.
        time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.False(second.IsCompleted);
        Assert.Equal(1, line.Written);
        time.Advance(TimeSpan.FromMilliseconds(1));
        await Safety.Until(() => line.Written >= 2, "the first byte of the new burst");
        Assert.Equal(2, line.Written);
        time.Advance(TimeSpan.FromMilliseconds(1));
        await Safety.Within(second);
        Assert.Equal(3, line.Written);
    }

    [Fact]
    public async Task A_long_burst_keeps_the_exact_rate_without_drift()
    {
        var time = new FakeTimeProvider();
        var line = new LineRecorder();
        await using var paced = new PacedStream(line, 9600, time);

        // 960 bytes at 9600 baud 8N1 take exactly one second; after k ms, floor(0.96 k) bytes have left.
        var write = paced.WriteAsync(new byte[960]).AsTask();
        for (var k = 1; k <= 1000; k++)
        {
            time.Advance(TimeSpan.FromMilliseconds(1));
            var expected = k * 96 / 100;
            await Safety.Until(() => line.Written >= expected, $"{expected} bytes after {k} ms");
            Assert.Equal(expected, line.Written);
        }

        await Safety.Within(write);
    }

    [Fact]
    public async Task Back_to_back_writes_continue_the_same_burst()
    {
        var time = new FakeTimeProvider();
        var line = new LineRecorder();
        await using var paced = new PacedStream(line, 115200, time);
        var a = paced.WriteAsync(new byte[10]).AsTask();
        var b = paced.WriteAsync(new byte[10]).AsTask();

        // 115200 baud: 11.52 bytes per ms. The second write queues behind the first instead of starting a new burst.
        time.Advance(TimeSpan.FromMilliseconds(1));
        await Safety.Until(() => line.Written >= 11, "11 bytes after 1 ms");
        Assert.Equal(11, line.Written);
        await Safety.Within(a);
        Assert.False(b.IsCompleted);
        time.Advance(TimeSpan.FromMilliseconds(1));
        await Safety.Within(b);
        Assert.Equal(20, line.Written);
    }

    [Fact]
    public void Invalid_line_settings_are_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new PacedStream(new LineRecorder(), 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new PacedStream(new LineRecorder(), 9600, bitsPerByte: 3));
    }
}
