using NA64.Hardware.Errors;

namespace NA64.Hardware.Hv.CaenN1470;

/// <summary>
/// The board answered <c>#BD:nn,&lt;FIELD&gt;:ERR</c> (device-protocols.md §1.3). Subclasses name the field; the request
/// and the raw reply are kept for the log and for replay.
/// </summary>
public abstract class CaenErrorReplyException : DeviceReplyException
{
    protected CaenErrorReplyException(string field, string meaning, string request, string rawReply)
        : base($"CAEN board refused '{request}' with {field}:ERR ({meaning}); reply '{rawReply}'", request, rawReply)
    {
        Field = field;
    }

    /// <summary>The field named in the error reply: CMD, CH, PAR, VAL or LOC.</summary>
    public string Field { get; }
}

/// <summary><c>CMD:ERR</c>: wrong format or unknown command.</summary>
public sealed class CaenCommandErrorException(string request, string rawReply)
    : CaenErrorReplyException("CMD", "wrong format or unknown command", request, rawReply);

/// <summary><c>CH:ERR</c>: channel field missing or wrong.</summary>
public sealed class CaenChannelErrorException(string request, string rawReply)
    : CaenErrorReplyException("CH", "channel field missing or wrong", request, rawReply);

/// <summary><c>PAR:ERR</c>: parameter missing or unknown, or not allowed with this command.</summary>
public sealed class CaenParameterErrorException(string request, string rawReply)
    : CaenErrorReplyException("PAR", "parameter field missing or unknown", request, rawReply);

/// <summary><c>VAL:ERR</c>: value missing, not a number, unknown keyword, or out of the board's range.</summary>
public sealed class CaenValueErrorException(string request, string rawReply)
    : CaenErrorReplyException("VAL", "value below the minimum or above the maximum", request, rawReply);

/// <summary><c>LOC:ERR</c>: SET refused because the board is in LOCAL mode (front panel).</summary>
public sealed class CaenLocalModeException(string request, string rawReply)
    : CaenErrorReplyException("LOC", "SET refused, the module is in LOCAL mode", request, rawReply);

/// <summary>
/// A SET got no reply and the read-back did not show the value sent (or could not be read). The board may or may not
/// have applied it; the read-back value, when there is one, says what it holds now.
/// </summary>
public sealed class CaenSetUnconfirmedException : DeviceException
{
    public CaenSetUnconfirmedException(string request, string? sentValue, string? readBack, Exception inner)
        : base(readBack is null
            ? $"No reply to '{request}' and the read-back failed: {inner.Message}"
            : $"No reply to '{request}' and the read-back shows '{readBack}', not '{sentValue}'", inner)
    {
        Request = request;
        SentValue = sentValue;
        ReadBack = readBack;
    }

    public string Request { get; }

    /// <summary>The VAL sent, or for ON/OFF the state asked for.</summary>
    public string? SentValue { get; }

    /// <summary>What the board reported afterwards; null when the read-back itself failed.</summary>
    public string? ReadBack { get; }
}
