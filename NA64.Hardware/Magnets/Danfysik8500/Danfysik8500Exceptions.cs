using NA64.Hardware.Errors;
using NA64.Hardware.Transport;

namespace NA64.Hardware.Magnets.Danfysik8500;

/// <summary>
/// A reply that is not what the command allows: an <c>S1</c> not 24 characters of <c>!</c>/<c>.</c>, a number that is not
/// a base-10 integer, a polarity that is not <c>+</c>/<c>-</c>, or an error message of the unit. Carries the raw bytes.
/// </summary>
public sealed class Danfysik8500ReplyException(string message, string request, string rawReply)
    : DeviceReplyException($"Danfysik 8500: {message}; request '{request}', reply '{Printable.Escape(rawReply)}'", request, rawReply);

/// <summary>
/// A directive (which the unit never acknowledges) did not take effect: the read-back after it shows something else.
/// Names what was sent, the read-back request and what it returned.
/// </summary>
public sealed class Danfysik8500DirectiveNotTakenException(string supply, string sent, string readBackRequest, string readBack, string expected, Exception? inner = null)
    : DeviceException($"{supply}: Danfysik 8500 did not take '{sent}': '{readBackRequest}' reads back '{Printable.Escape(readBack)}', expected {expected}", inner)
{
    public string Supply { get; } = supply;

    public string Sent { get; } = sent;

    public string ReadBackRequest { get; } = readBackRequest;

    public string ReadBack { get; } = readBack;

    public string Expected { get; } = expected;
}

/// <summary>A request the driver refuses with nothing sent because of the supply's state (current flowing, no standby).</summary>
public sealed class Danfysik8500RefusedException(string supply, string request, string reason)
    : DeviceException($"{supply}: {request} refused, {reason}")
{
    public string Request { get; } = request;

    public string Reason { get; } = reason;
}
