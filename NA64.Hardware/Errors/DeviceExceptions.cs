namespace NA64.Hardware.Errors;

/// <summary>Base of every error that comes from talking to a device.</summary>
public class DeviceException : Exception
{
    public DeviceException(string message, Exception? inner = null) : base(message, inner) { }
}

/// <summary>A device answered, but not with what the protocol allows, or with an error reply. Carries the raw line.</summary>
public class DeviceReplyException : DeviceException
{
    public DeviceReplyException(string message, string request, string rawReply, Exception? inner = null)
        : base(message, inner)
    {
        Request = request;
        RawReply = rawReply;
    }

    public string Request { get; }
    public string RawReply { get; }
}

/// <summary>No complete reply arrived within the per-request timeout.</summary>
public class DeviceTimeoutException : DeviceException
{
    public DeviceTimeoutException(string port, string request, TimeSpan timeout)
        : base($"No reply from {port} to '{request.TrimEnd('\r', '\n')}' within {timeout.TotalMilliseconds:0} ms")
    {
        Port = port;
        Request = request;
        Timeout = timeout;
    }

    public string Port { get; }
    public string Request { get; }
    public TimeSpan Timeout { get; }
}

/// <summary>The port is gone (cable, terminal server, simulator stopped). The transport reconnects on the next request.</summary>
public class TransportDisconnectedException : DeviceException
{
    public TransportDisconnectedException(string port, Exception? inner = null)
        : base($"Port {port} is disconnected", inner) => Port = port;

    public string Port { get; }
}

/// <summary>
/// A setpoint refused before any byte was sent: names the channel, the parameter, the value asked for and the limit.
/// </summary>
public class SetpointOutOfRangeException : DeviceException
{
    public SetpointOutOfRangeException(string channel, string parameter, double value, double limit, string limitName)
        : base($"{channel}: {parameter} = {value.ToString(System.Globalization.CultureInfo.InvariantCulture)} refused, " +
               $"{limitName} is {limit.ToString(System.Globalization.CultureInfo.InvariantCulture)}")
    {
        Channel = channel;
        Parameter = parameter;
        Value = value;
        Limit = limit;
        LimitName = limitName;
    }

    public string Channel { get; }
    public string Parameter { get; }
    public double Value { get; }
    public double Limit { get; }
    public string LimitName { get; }
}

/// <summary>Binary data that break their format: carries the byte offset where the problem was found.</summary>
public class FrameFormatException : Exception
{
    public FrameFormatException(string message, long byteOffset, Exception? inner = null)
        : base($"{message} (at byte offset {byteOffset})", inner) => ByteOffset = byteOffset;

    public long ByteOffset { get; }
}
