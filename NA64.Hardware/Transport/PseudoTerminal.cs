using System.Runtime.InteropServices;
using System.Text;

namespace NA64.Hardware.Transport;

/// <summary>
/// A Linux pseudo-terminal opened from .NET (posix_openpt, no external tool): a simulator serves the
/// <see cref="Master"/> stream while the driver opens <see cref="SlavePath"/> (e.g. <c>/dev/pts/3</c>) with
/// <see cref="SerialEndpoint"/>, so System.IO.Ports really runs.
/// <para>
/// One slave descriptor is kept open here for the life of the pseudo-terminal: the line stays in raw mode, and
/// the master never sees the hang-up (EIO) that Linux reports while no slave is open, so a client can close and
/// re-open the slave (a reconnect) while the simulator keeps reading. Through that descriptor the exclusive-use
/// flag that System.IO.Ports sets on open (TIOCEXCL) is cleared whenever bytes pass, because otherwise a
/// non-root client could not open the slave again (root is exempt).
/// </para>
/// </summary>
public sealed class PseudoTerminal : IDisposable
{
    private readonly LibC.FdHandle _slave;
    private readonly PtyMasterStream _master;

    private PseudoTerminal(LibC.FdHandle master, LibC.FdHandle slave, string slavePath)
    {
        _slave = slave;
        SlavePath = slavePath;
        _master = new PtyMasterStream(master, slave);
    }

    /// <summary>Path of the slave device a client opens like a serial port.</summary>
    public string SlavePath { get; }

    /// <summary>The device end: bytes written here are read by the client, and the client's writes are read here.</summary>
    public Stream Master => _master;

    public static unsafe PseudoTerminal Open()
    {
        if (!OperatingSystem.IsLinux())
        {
            throw new PlatformNotSupportedException("PseudoTerminal uses Linux posix_openpt");
        }

        var masterFd = LibC.PosixOpenpt(LibC.O_RDWR | LibC.O_NOCTTY | LibC.O_CLOEXEC);
        if (masterFd < 0)
        {
            throw LibC.Error("posix_openpt", Marshal.GetLastPInvokeError());
        }

        var master = new LibC.FdHandle(masterFd);
        try
        {
            if (LibC.Grantpt(masterFd) != 0)
            {
                throw LibC.Error("grantpt", Marshal.GetLastPInvokeError());
            }

            if (LibC.Unlockpt(masterFd) != 0)
            {
                throw LibC.Error("unlockpt", Marshal.GetLastPInvokeError());
            }

            var name = stackalloc byte[128];
            var rc = LibC.PtsnameR(masterFd, name, 128);
            if (rc != 0)
            {
                throw LibC.Error("ptsname_r", rc);
            }

            var slavePath = Encoding.UTF8.GetString(MemoryMarshal.CreateReadOnlySpanFromNullTerminated(name));
            var slaveFd = LibC.Open(slavePath, LibC.O_RDWR | LibC.O_NOCTTY | LibC.O_CLOEXEC);
            if (slaveFd < 0)
            {
                throw LibC.Error($"open {slavePath}", Marshal.GetLastPInvokeError());
            }

            var slave = new LibC.FdHandle(slaveFd);
            try
            {
                // Raw: no echo, no CR/LF translation, no line editing; the bytes on the wire are the protocol's.
                var termios = stackalloc byte[LibC.TermiosBufferSize];
                if (LibC.Tcgetattr(slaveFd, termios) != 0)
                {
                    throw LibC.Error("tcgetattr", Marshal.GetLastPInvokeError());
                }

                LibC.Cfmakeraw(termios);
                if (LibC.Tcsetattr(slaveFd, LibC.TCSANOW, termios) != 0)
                {
                    throw LibC.Error("tcsetattr", Marshal.GetLastPInvokeError());
                }

                // Reads and writes on the master wait in poll(), so they can be woken for cancellation and dispose.
                var flags = LibC.Fcntl(masterFd, LibC.F_GETFL, 0);
                if (flags < 0 || LibC.Fcntl(masterFd, LibC.F_SETFL, flags | LibC.O_NONBLOCK) < 0)
                {
                    throw LibC.Error("fcntl O_NONBLOCK", Marshal.GetLastPInvokeError());
                }

                return new PseudoTerminal(master, slave, slavePath);
            }
            catch
            {
                slave.Dispose();
                throw;
            }
        }
        catch
        {
            master.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        _master.Dispose();
        _slave.Dispose();
    }

    /// <summary>
    /// The master descriptor as a stream. Reads and writes wait in poll() together with a wake-up pipe, so a
    /// cancellation or Dispose interrupts them; the descriptor is closed only after the last call has left.
    /// </summary>
    private sealed class PtyMasterStream : Stream
    {
        private readonly LibC.FdHandle _master;
        private readonly LibC.FdHandle _slave;
        private readonly LibC.FdHandle _wakeRead;
        private readonly LibC.FdHandle _wakeWrite;
        private volatile bool _disposed;
        private int _disposing;

        public unsafe PtyMasterStream(LibC.FdHandle master, LibC.FdHandle slave)
        {
            _master = master;
            _slave = slave;
            var fds = stackalloc int[2];
            if (LibC.Pipe2(fds, LibC.O_CLOEXEC | LibC.O_NONBLOCK) != 0)
            {
                throw LibC.Error("pipe2", Marshal.GetLastPInvokeError());
            }

            _wakeRead = new LibC.FdHandle(fds[0]);
            _wakeWrite = new LibC.FdHandle(fds[1]);
            Handles = [_master, _slave, _wakeRead, _wakeWrite];
        }

        private LibC.FdHandle[] Handles { get; }

        public override bool CanRead => !_disposed;

        public override bool CanWrite => !_disposed;

        public override bool CanSeek => false;

        public override long Length => throw new NotSupportedException("A pseudo-terminal has no length");

        public override long Position
        {
            get => throw new NotSupportedException("A pseudo-terminal has no position");
            set => throw new NotSupportedException("A pseudo-terminal has no position");
        }

        public override int Read(byte[] buffer, int offset, int count)
        {
            ValidateBufferArguments(buffer, offset, count);
            return Read(buffer.AsSpan(offset, count), CancellationToken.None);
        }

        public override int Read(Span<byte> buffer) => Read(buffer, CancellationToken.None);

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        {
            ValidateBufferArguments(buffer, offset, count);
            return ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();
        }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            cancellationToken.ThrowIfCancellationRequested();
            // poll() blocks a pool thread while waiting; Dispose and cancellation wake it through the pipe.
            // A read asked for before Dispose ends as end of stream even if its thread starts after Dispose.
            return new ValueTask<int>(Task.Run(() => ReadCore(buffer.Span, cancellationToken), CancellationToken.None));
        }

        public override void Write(byte[] buffer, int offset, int count)
        {
            ValidateBufferArguments(buffer, offset, count);
            Write(buffer.AsSpan(offset, count), CancellationToken.None);
        }

        public override void Write(ReadOnlySpan<byte> buffer) => Write(buffer, CancellationToken.None);

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        {
            ValidateBufferArguments(buffer, offset, count);
            return WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();
        }

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            cancellationToken.ThrowIfCancellationRequested();
            // A write to a pty rarely waits (4 KiB buffer), so it runs inline unless the client stops reading.
            Write(buffer.Span, cancellationToken);
            return ValueTask.CompletedTask;
        }

        public override void Flush()
        {
        }

        public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException("A pseudo-terminal cannot seek");

        public override void SetLength(long value) => throw new NotSupportedException("A pseudo-terminal has no length");

        protected override void Dispose(bool disposing)
        {
            if (disposing && Interlocked.Exchange(ref _disposing, 1) == 0)
            {
                _disposed = true;
                Wake();
                _wakeWrite.Dispose();
                _wakeRead.Dispose();
                _master.Dispose();
            }

            base.Dispose(disposing);
        }

        private int Read(Span<byte> buffer, CancellationToken cancellationToken)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return ReadCore(buffer, cancellationToken);
        }

        private unsafe int ReadCore(Span<byte> buffer, CancellationToken cancellationToken)
        {
            if (buffer.IsEmpty)
            {
                return 0;
            }

            using var use = new Use(this);
            if (!use.Entered)
            {
                return 0;
            }

            using var wake = cancellationToken.Register(Wake);
            while (true)
            {
                if (!WaitFor(LibC.POLLIN, cancellationToken))
                {
                    return 0;
                }

                nint n;
                fixed (byte* p = buffer)
                {
                    n = LibC.Read(_master.Fd, p, buffer.Length);
                }

                if (n > 0)
                {
                    ClearExclusive();
                    return (int)n;
                }

                var errno = n == 0 ? 0 : Marshal.GetLastPInvokeError();
                if (errno is LibC.EAGAIN or LibC.EINTR)
                {
                    continue;
                }

                // EIO: no slave is open. With our own slave descriptor held that happens only when closing, so it reads as end of stream.
                if (n == 0 || errno == LibC.EIO)
                {
                    return 0;
                }

                throw LibC.Error("read from pty master", errno);
            }
        }

        private unsafe void Write(ReadOnlySpan<byte> buffer, CancellationToken cancellationToken)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            using var use = new Use(this);
            ObjectDisposedException.ThrowIf(!use.Entered, this);
            using var wake = cancellationToken.CanBeCanceled ? cancellationToken.Register(Wake) : default;
            while (!buffer.IsEmpty)
            {
                nint n;
                fixed (byte* p = buffer)
                {
                    n = LibC.Write(_master.Fd, p, buffer.Length);
                }

                if (n > 0)
                {
                    buffer = buffer[(int)n..];
                    continue;
                }

                var errno = Marshal.GetLastPInvokeError();
                if (errno == LibC.EINTR)
                {
                    continue;
                }

                if (errno != LibC.EAGAIN)
                {
                    throw LibC.Error("write to pty master", errno);
                }

                // The client is not reading and the pty buffer is full: wait until it drains.
                if (!WaitFor(LibC.POLLOUT, cancellationToken))
                {
                    throw new ObjectDisposedException(nameof(PseudoTerminal));
                }
            }

            ClearExclusive();
        }

        /// <summary>Waits until the master is ready for <paramref name="events"/>; false when disposed.</summary>
        private unsafe bool WaitFor(short events, CancellationToken cancellationToken)
        {
            var fds = stackalloc LibC.PollFd[2];
            while (true)
            {
                if (_disposed)
                {
                    return false;
                }

                cancellationToken.ThrowIfCancellationRequested();
                fds[0] = new LibC.PollFd { Fd = _master.Fd, Events = events };
                fds[1] = new LibC.PollFd { Fd = _wakeRead.Fd, Events = LibC.POLLIN };
                var rc = LibC.Poll(fds, 2, -1);
                if (rc < 0)
                {
                    var errno = Marshal.GetLastPInvokeError();
                    if (errno == LibC.EINTR)
                    {
                        continue;
                    }

                    throw LibC.Error("poll on pty master", errno);
                }

                if ((fds[1].Revents & LibC.POLLIN) != 0)
                {
                    DrainWake();
                    continue;
                }

                if ((fds[0].Revents & (events | LibC.POLLERR | LibC.POLLHUP)) != 0)
                {
                    return true;
                }
            }
        }

        /// <summary>Interrupts a waiting poll(). Called only while the descriptors are referenced (inside a call, or by Dispose before closing).</summary>
        private unsafe void Wake()
        {
            byte one = 1;
            // A full pipe already holds a pending wake-up, so a failed write needs no handling.
            _ = LibC.Write(_wakeWrite.Fd, &one, 1);
        }

        private unsafe void DrainWake()
        {
            var sink = stackalloc byte[64];
            while (LibC.Read(_wakeRead.Fd, sink, 64) > 0)
            {
            }
        }

        /// <summary>Clears TIOCEXCL (set by System.IO.Ports) through the held slave so a non-root client can re-open it.</summary>
        private void ClearExclusive() => _ = LibC.Ioctl(_slave.Fd, LibC.TIOCNXCL, 0);

        /// <summary>Holds references on every descriptor for one call so Dispose cannot close them under it.</summary>
        private readonly ref struct Use
        {
            private readonly PtyMasterStream _owner;
            private readonly int _held;

            public Use(PtyMasterStream owner)
            {
                _owner = owner;
                foreach (var handle in owner.Handles)
                {
                    var added = false;
                    try
                    {
                        handle.DangerousAddRef(ref added);
                    }
                    catch (ObjectDisposedException)
                    {
                        // Lost the race with Dispose: Entered stays false and the caller reports end of stream / disposed.
                        break;
                    }

                    _held++;
                }
            }

            public bool Entered => _held == _owner.Handles.Length;

            public void Dispose()
            {
                for (var i = 0; i < _held; i++)
                {
                    _owner.Handles[i].DangerousRelease();
                }
            }
        }
    }
}
