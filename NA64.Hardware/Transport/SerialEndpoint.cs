using System.Globalization;
using System.IO.Ports;

namespace NA64.Hardware.Transport;

/// <summary>Line settings of one serial port. Defaults are the common 9600 8N1 without flow control; every field is a setting.</summary>
public sealed record SerialSettings(
    string PortName,
    int BaudRate = 9600,
    Parity Parity = Parity.None,
    int DataBits = 8,
    StopBits StopBits = StopBits.One,
    Handshake Handshake = Handshake.None)
{
    /// <summary>Throws <see cref="ArgumentException"/> naming the field, its value and what is allowed.</summary>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(PortName))
        {
            throw new ArgumentException("Serial PortName is empty; give a device path such as /dev/ttyUSB0", nameof(PortName));
        }

        if (BaudRate <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(BaudRate), BaudRate, $"Serial BaudRate = {BaudRate.ToString(CultureInfo.InvariantCulture)} refused; it must be positive (e.g. 9600, 115200)");
        }

        if (DataBits is < 5 or > 8)
        {
            throw new ArgumentOutOfRangeException(nameof(DataBits), DataBits, $"Serial DataBits = {DataBits.ToString(CultureInfo.InvariantCulture)} refused; allowed 5..8");
        }

        if (StopBits == StopBits.None || !Enum.IsDefined(StopBits))
        {
            throw new ArgumentOutOfRangeException(nameof(StopBits), StopBits, $"Serial StopBits = {StopBits} refused; allowed One, OnePointFive, Two");
        }

        if (!Enum.IsDefined(Parity))
        {
            throw new ArgumentOutOfRangeException(nameof(Parity), Parity, $"Serial Parity = {Parity} refused; allowed None, Odd, Even, Mark, Space");
        }

        if (!Enum.IsDefined(Handshake))
        {
            throw new ArgumentOutOfRangeException(nameof(Handshake), Handshake, $"Serial Handshake = {Handshake} refused; allowed None, XOnXOff, RequestToSend, RequestToSendXOnXOff");
        }
    }

    /// <summary>The address in setup-file syntax, e.g. <c>serial:/dev/ttyUSB0?baud=9600&amp;parity=none&amp;databits=8&amp;stopbits=1&amp;flow=none</c>.</summary>
    public override string ToString() => EndpointAddress.FormatSerial(this);
}

/// <summary>
/// A serial port through System.IO.Ports (USB-serial adapters, on-board UARTs, CDC-ACM virtual COM ports, and the
/// slave side of a <see cref="PseudoTerminal"/>). Each open creates a fresh <see cref="SerialPort"/>; disposing the
/// returned stream closes the port.
/// </summary>
public sealed class SerialEndpoint : IStreamEndpoint
{
    public SerialEndpoint(SerialSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        settings.Validate();
        Settings = settings;
    }

    public SerialSettings Settings { get; }

    public string Address => Settings.ToString();

    public ValueTask<Stream> OpenAsync(CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var port = new SerialPort(Settings.PortName, Settings.BaudRate, Settings.Parity, Settings.DataBits, Settings.StopBits)
        {
            Handshake = Settings.Handshake,
            ReadTimeout = SerialPort.InfiniteTimeout,
            WriteTimeout = SerialPort.InfiniteTimeout,
        };
        try
        {
            port.Open();
            // Whatever arrived while nobody listened belongs to no request of ours.
            port.DiscardInBuffer();
            return ValueTask.FromResult<Stream>(new PortStream(port));
        }
        catch
        {
            port.Dispose();
            throw;
        }
    }

    /// <summary>The port's BaseStream, owning the port so that disposing the stream closes it.</summary>
    private sealed class PortStream(SerialPort port) : Stream
    {
        private readonly Stream _inner = port.BaseStream;

        public override bool CanRead => _inner.CanRead;

        public override bool CanWrite => _inner.CanWrite;

        /// <summary>How long closing a port may take before it is abandoned (real time: it is the OS's I/O, not physics).</summary>
        private static readonly TimeSpan CloseTimeout = TimeSpan.FromSeconds(2);

        public override bool CanSeek => false;

        public override long Length => throw new NotSupportedException("A serial port has no length");

        public override long Position
        {
            get => throw new NotSupportedException("A serial port has no position");
            set => throw new NotSupportedException("A serial port has no position");
        }

        public override int Read(byte[] buffer, int offset, int count) => _inner.Read(buffer, offset, count);

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            _inner.ReadAsync(buffer, offset, count, cancellationToken);

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            _inner.ReadAsync(buffer, cancellationToken);

        public override void Write(byte[] buffer, int offset, int count) => _inner.Write(buffer, offset, count);

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            _inner.WriteAsync(buffer, offset, count, cancellationToken);

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) =>
            _inner.WriteAsync(buffer, cancellationToken);

        public override void Flush() => _inner.Flush();

        public override Task FlushAsync(CancellationToken cancellationToken) => _inner.FlushAsync(cancellationToken);

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException("A serial port cannot seek");

        public override void SetLength(long value) => throw new NotSupportedException("A serial port has no length");

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                CloseBounded(port);
            }

            base.Dispose(disposing);
        }

        /// <summary>
        /// System.IO.Ports on Unix drains its managed write queue in Dispose and can spin there for ever when its
        /// I/O loop has already stopped (seen after a pty hang-up and re-open: SerialStream.Flush never returns).
        /// Closing a port must never hang the host, so the close gets <see cref="CloseTimeout"/> on a background
        /// thread of its own; after that the port object is abandoned (its descriptor goes with the process).
        /// </summary>
        private static void CloseBounded(SerialPort port)
        {
            var closer = new Thread(port.Dispose) { IsBackground = true, Name = "serial close " + port.PortName };
            closer.Start();
            if (!closer.Join(CloseTimeout))
            {
                Serilog.Log.ForContext<SerialEndpoint>().Warning(
                    "Serial port {Port} did not close within {Timeout} (System.IO.Ports write queue stuck); abandoned",
                    port.PortName, CloseTimeout);
            }
        }
    }
}
