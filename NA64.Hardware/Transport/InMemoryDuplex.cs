namespace NA64.Hardware.Transport;

/// <summary>
/// Two connected full-duplex in-memory streams: bytes written on one side are read on the other. A read waits
/// (synchronously or asynchronously, cancellable) until bytes arrive; it returns 0 (end of stream) once the other
/// side is disposed, and a write to a disposed peer throws <see cref="IOException"/>, as a dropped cable would.
/// A simulator sits on <c>DeviceSide</c>, the driver's transport on <c>HostSide</c>.
/// </summary>
public static class InMemoryDuplex
{
    public static (Stream HostSide, Stream DeviceSide) CreatePair()
    {
        var toDevice = new BytePipe();
        var toHost = new BytePipe();
        return (new DuplexStream(toHost, toDevice, "host"), new DuplexStream(toDevice, toHost, "device"));
    }

    /// <summary>One direction: an unbounded byte queue with one reader and one writer.</summary>
    private sealed class BytePipe
    {
        private readonly Lock _lock = new();
        private byte[] _data = new byte[256];
        private int _start;
        private int _end;
        private bool _writerClosed;
        private bool _readerClosed;
        private TaskCompletionSource? _readable;

        public void Write(ReadOnlySpan<byte> bytes, string writerName)
        {
            TaskCompletionSource? readable;
            lock (_lock)
            {
                ObjectDisposedException.ThrowIf(_writerClosed, typeof(DuplexStream));
                if (_readerClosed)
                {
                    throw new IOException($"In-memory duplex: the peer of the {writerName} side is closed");
                }

                if (_data.Length - _end < bytes.Length)
                {
                    var count = _end - _start;
                    var target = count + bytes.Length > _data.Length ? new byte[Math.Max(_data.Length * 2, count + bytes.Length)] : _data;
                    _data.AsSpan(_start, count).CopyTo(target);
                    _data = target;
                    _start = 0;
                    _end = count;
                }

                bytes.CopyTo(_data.AsSpan(_end));
                _end += bytes.Length;
                readable = _readable;
                _readable = null;
            }

            readable?.TrySetResult();
        }

        public async ValueTask<int> ReadAsync(Memory<byte> destination, CancellationToken cancellationToken)
        {
            while (true)
            {
                TaskCompletionSource readable;
                lock (_lock)
                {
                    if (TryTake(destination.Span, out var n))
                    {
                        return n;
                    }

                    readable = _readable ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                }

                await readable.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
        }

        public int Read(Span<byte> destination)
        {
            while (true)
            {
                TaskCompletionSource readable;
                lock (_lock)
                {
                    if (TryTake(destination, out var n))
                    {
                        return n;
                    }

                    readable = _readable ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                }

                readable.Task.Wait();
            }
        }

        public void CloseWriter() => Close(ref _writerClosed);

        public void CloseReader() => Close(ref _readerClosed);

        private void Close(ref bool flag)
        {
            TaskCompletionSource? readable;
            lock (_lock)
            {
                flag = true;
                readable = _readable;
                _readable = null;
            }

            readable?.TrySetResult();
        }

        /// <summary>Under the lock: copies what is there; false means "wait". A closed pipe reads as end of stream.</summary>
        private bool TryTake(Span<byte> destination, out int n)
        {
            if (_readerClosed || destination.IsEmpty)
            {
                n = 0;
                return true;
            }

            if (_end > _start)
            {
                n = Math.Min(destination.Length, _end - _start);
                _data.AsSpan(_start, n).CopyTo(destination);
                _start += n;
                if (_start == _end)
                {
                    _start = _end = 0;
                }

                return true;
            }

            n = 0;
            return _writerClosed;
        }
    }

    private sealed class DuplexStream(BytePipe incoming, BytePipe outgoing, string name) : Stream
    {
        private bool _disposed;

        public override bool CanRead => !_disposed;

        public override bool CanWrite => !_disposed;

        public override bool CanSeek => false;

        public override long Length => throw new NotSupportedException("An in-memory duplex stream has no length");

        public override long Position
        {
            get => throw new NotSupportedException("An in-memory duplex stream has no position");
            set => throw new NotSupportedException("An in-memory duplex stream has no position");
        }

        public override int Read(byte[] buffer, int offset, int count)
        {
            ValidateBufferArguments(buffer, offset, count);
            return Read(buffer.AsSpan(offset, count));
        }

        public override int Read(Span<byte> buffer)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return incoming.Read(buffer);
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        {
            ValidateBufferArguments(buffer, offset, count);
            return ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();
        }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return incoming.ReadAsync(buffer, cancellationToken);
        }

        public override void Write(byte[] buffer, int offset, int count)
        {
            ValidateBufferArguments(buffer, offset, count);
            Write(buffer.AsSpan(offset, count));
        }

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            outgoing.Write(buffer, name);
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        {
            ValidateBufferArguments(buffer, offset, count);
            return WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();
        }

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            cancellationToken.ThrowIfCancellationRequested();
            Write(buffer.Span);
            return ValueTask.CompletedTask;
        }

        public override void Flush()
        {
        }

        public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException("An in-memory duplex stream cannot seek");

        public override void SetLength(long value) => throw new NotSupportedException("An in-memory duplex stream has no length");

        protected override void Dispose(bool disposing)
        {
            if (disposing && !_disposed)
            {
                _disposed = true;
                outgoing.CloseWriter();
                incoming.CloseReader();
            }

            base.Dispose(disposing);
        }
    }
}
