namespace NA64.Simulators.Serving;

/// <summary>
/// A simulated device that talks in lines: one request line in, at most one reply line out. The
/// <see cref="LineDeviceServer"/> does framing, pacing and line faults; the device only knows its protocol.
/// </summary>
public interface ILineDevice
{
    /// <summary>Bytes that end a request, e.g. <c>"\r\n"</c> for CAEN.</summary>
    string RequestTerminator { get; }

    /// <summary>Bytes appended to every reply, e.g. <c>"\r\n"</c> for CAEN.</summary>
    string ReplyTerminator { get; }

    /// <summary>Handles one request (terminator removed); returns the reply without terminator, or null for silence.</summary>
    string? Respond(string request);
}
