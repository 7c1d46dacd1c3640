using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace NA64.Hardware.Transport;

/// <summary>The few libc calls a pseudo-terminal needs (Linux, glibc or musl; x86_64 and arm64 constants).</summary>
internal static partial class LibC
{
    public const int O_RDWR = 0x2;
    public const int O_NOCTTY = 0x100;
    public const int O_NONBLOCK = 0x800;
    public const int O_CLOEXEC = 0x80000;
    public const int TCSANOW = 0;
    public const short POLLIN = 0x1;
    public const short POLLOUT = 0x4;
    public const short POLLERR = 0x8;
    public const short POLLHUP = 0x10;
    public const int EINTR = 4;
    public const int EIO = 5;
    public const int EAGAIN = 11;
    public const nuint TIOCNXCL = 0x540D;

    /// <summary>struct termios is 60 bytes on glibc x86_64 (44 + padding elsewhere); the buffer is opaque and generously sized.</summary>
    public const int TermiosBufferSize = 256;

    [StructLayout(LayoutKind.Sequential)]
    public struct PollFd
    {
        public int Fd;
        public short Events;
        public short Revents;
    }

    [LibraryImport("libc", EntryPoint = "posix_openpt", SetLastError = true)]
    public static partial int PosixOpenpt(int flags);

    [LibraryImport("libc", EntryPoint = "grantpt", SetLastError = true)]
    public static partial int Grantpt(int fd);

    [LibraryImport("libc", EntryPoint = "unlockpt", SetLastError = true)]
    public static partial int Unlockpt(int fd);

    [LibraryImport("libc", EntryPoint = "ptsname_r", SetLastError = false)]
    public static unsafe partial int PtsnameR(int fd, byte* buffer, nuint length);

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    public static partial int Close(int fd);

    [LibraryImport("libc", EntryPoint = "tcgetattr", SetLastError = true)]
    public static unsafe partial int Tcgetattr(int fd, byte* termios);

    [LibraryImport("libc", EntryPoint = "tcsetattr", SetLastError = true)]
    public static unsafe partial int Tcsetattr(int fd, int optionalActions, byte* termios);

    [LibraryImport("libc", EntryPoint = "cfmakeraw")]
    public static unsafe partial void Cfmakeraw(byte* termios);

    [LibraryImport("libc", EntryPoint = "read", SetLastError = true)]
    public static unsafe partial nint Read(int fd, byte* buffer, nint count);

    [LibraryImport("libc", EntryPoint = "write", SetLastError = true)]
    public static unsafe partial nint Write(int fd, byte* buffer, nint count);

    [LibraryImport("libc", EntryPoint = "poll", SetLastError = true)]
    public static unsafe partial int Poll(PollFd* fds, nuint count, int timeoutMs);

    [LibraryImport("libc", EntryPoint = "pipe2", SetLastError = true)]
    public static unsafe partial int Pipe2(int* fds, int flags);

    [LibraryImport("libc", EntryPoint = "fcntl", SetLastError = true)]
    public static partial int Fcntl(int fd, int command, int argument);

    [LibraryImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    public static partial int Ioctl(int fd, nuint request, nint argument);

    public const int F_GETFL = 3;
    public const int F_SETFL = 4;

    public static IOException Error(string what, int errno) =>
        new($"{what} failed: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno.ToString(System.Globalization.CultureInfo.InvariantCulture)})");

    /// <summary>Owns one file descriptor; closing waits until no syscall holds a reference (SafeHandle ref counting).</summary>
    public sealed class FdHandle : SafeHandleMinusOneIsInvalid
    {
        public FdHandle(int fd)
            : base(ownsHandle: true) => SetHandle(fd);

        public int Fd => (int)handle;

        protected override bool ReleaseHandle() => LibC.Close((int)handle) == 0;
    }
}
