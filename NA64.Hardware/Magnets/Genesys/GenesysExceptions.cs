using NA64.Hardware.Errors;

namespace NA64.Hardware.Magnets.Genesys;

/// <summary>
/// The supply answered with an error code <c>Cnn</c> or <c>Enn</c> (device-protocols.md §3.2). The request and the
/// raw reply are kept for the log and for replay.
/// </summary>
public abstract class GenesysErrorReplyException : DeviceReplyException
{
    protected GenesysErrorReplyException(string code, string meaning, string request, string rawReply)
        : base($"Genesys refused '{request}' with {code} ({meaning}); reply '{rawReply}'", request, rawReply)
    {
        Code = code;
        Meaning = meaning;
    }

    /// <summary>The code as on the wire, e.g. <c>C03</c> or <c>E07</c>.</summary>
    public string Code { get; }

    public string Meaning { get; }
}

/// <summary><c>C01</c>..<c>C05</c>: the command itself was wrong (unknown, missing or illegal parameter, checksum, out of range).</summary>
public sealed class GenesysCommandErrorException(string code, string meaning, string request, string rawReply)
    : GenesysErrorReplyException(code, meaning, request, rawReply);

/// <summary><c>E01</c>..<c>E06</c>: a well-formed setting the supply cannot carry out (PV/OVP/UVL relations).</summary>
public class GenesysExecutionErrorException(string code, string meaning, string request, string rawReply)
    : GenesysErrorReplyException(code, meaning, request, rawReply);

/// <summary><c>E07</c>: <c>OUT 1</c> refused because a fault shutdown (OTP, AC, enable open...) persists.</summary>
public sealed class GenesysFaultShutdownException(string request, string rawReply)
    : GenesysExecutionErrorException("E07", GenesysProtocol.ExecutionErrors["E07"], request, rawReply);
