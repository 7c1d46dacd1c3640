using System.Globalization;
using System.Text;
using NA64.Hardware.Errors;

namespace NA64.Hardware.Hv.CaenN1470;

/// <summary>The <c>CMD</c> field of a request.</summary>
public enum CaenCommand
{
    Mon,
    Set,
}

/// <summary>A reply that parsed as <c>CMD:OK</c>, with its values (empty for an acknowledged SET).</summary>
/// <param name="Board">Address in the reply, or null when the dialect (or the unit) left the BD field out.</param>
/// <param name="Values">The <c>VAL</c> items in order: one for a single channel or a board parameter, N for <c>CH:N</c>.</param>
/// <param name="RawLine">The reply line as received, without terminator.</param>
public sealed record CaenReply(int? Board, IReadOnlyList<string> Values, string RawLine);

/// <summary>
/// Builds CAEN N1470 request lines and parses reply lines (device-protocols.md §1.2, §1.3). Strict writer: emits only
/// the documented bytes. Tolerant reader: accepts a trailing ';' and, when the dialect says so, a missing BD field.
/// Every reply it cannot accept becomes a <see cref="DeviceReplyException"/> (or a subclass for error replies) that
/// carries the request and the raw line; no other exception type leaves the parser.
/// Lines are handled without the CR LF terminator, which belongs to the transport.
/// </summary>
public sealed class CaenN1470Codec
{
    private static readonly string[] ErrorFields = ["CMD", "CH", "PAR", "VAL", "LOC"];

    public CaenN1470Codec(CaenDialect dialect)
    {
        ArgumentNullException.ThrowIfNull(dialect);
        Dialect = dialect;
    }

    public CaenDialect Dialect { get; }

    /// <summary>
    /// Request for a board parameter: <c>$BD:nn,CMD:MON|SET,PAR:P[,VAL:v]</c> (no terminator).
    /// </summary>
    public string FormatBoardRequest(int board, CaenCommand command, CaenParameter parameter, string? value = null)
    {
        ArgumentNullException.ThrowIfNull(parameter);
        if (parameter.Scope != CaenScope.Board)
        {
            throw new ArgumentException($"{parameter.Mnemonic} is a channel parameter and needs a CH field", nameof(parameter));
        }

        return Format(board, command, parameter, channel: null, value);
    }

    /// <summary>
    /// Request for a channel parameter: <c>$BD:nn,CMD:MON|SET,CH:c,PAR:P[,VAL:v]</c> (no terminator).
    /// <paramref name="channel"/> is 0..<paramref name="channelCount"/>; the value equal to the channel count means all channels.
    /// </summary>
    public string FormatChannelRequest(int board, CaenCommand command, CaenParameter parameter, int channel, int channelCount, string? value = null)
    {
        ArgumentNullException.ThrowIfNull(parameter);
        if (parameter.Scope != CaenScope.Channel)
        {
            throw new ArgumentException($"{parameter.Mnemonic} is a board parameter and takes no CH field", nameof(parameter));
        }

        if (channelCount < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(channelCount), channelCount, "channel count must be at least 1");
        }

        if (channel < 0 || channel > channelCount)
        {
            throw new ArgumentOutOfRangeException(
                nameof(channel), channel, $"channel must be 0..{channelCount - 1}, or {channelCount} for all channels");
        }

        return Format(board, command, parameter, channel, value);
    }

    /// <summary>
    /// Formats a setpoint with invariant culture and exactly <paramref name="decimals"/> decimals (rounded half away
    /// from zero). Callers check <see cref="FitsResolution"/> first so that rounding never changes what was asked for.
    /// </summary>
    public static string FormatNumber(double value, int decimals)
    {
        if (!double.IsFinite(value))
        {
            throw new ArgumentOutOfRangeException(nameof(value), value, "value must be a finite number");
        }

        if (decimals is < 0 or > 6)
        {
            throw new ArgumentOutOfRangeException(nameof(decimals), decimals, "decimals must be 0..6");
        }

        double rounded = Math.Round(value, decimals, MidpointRounding.AwayFromZero);
        if (rounded == 0)
        {
            rounded = 0; // -0.0 would print as "-0.0"
        }

        return rounded.ToString("F" + decimals.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// True when <paramref name="value"/> has no more decimals than <paramref name="decimals"/> allows, up to binary
    /// floating-point noise (1500.1 fits one decimal even though it is not exact in binary).
    /// </summary>
    public static bool FitsResolution(double value, int decimals)
    {
        if (!double.IsFinite(value) || decimals < 0)
        {
            return false;
        }

        double rounded = Math.Round(value, Math.Min(decimals, 15), MidpointRounding.AwayFromZero);
        return Math.Abs(value - rounded) <= 1e-9 * Math.Max(1.0, Math.Abs(value));
    }

    /// <summary>Parses one reply line given as bytes (each byte one character, so nothing is lost in decoding).</summary>
    public CaenReply ParseReply(string request, int board, ReadOnlySpan<byte> line) =>
        ParseReply(request, board, Encoding.Latin1.GetString(line));

    /// <summary>
    /// Parses one reply line: <c>#BD:nn,CMD:OK[,VAL:v[;v...][;]]</c>, or throws. Error replies become the typed
    /// <see cref="CaenErrorReplyException"/> subclasses, a reply for another address and anything malformed a
    /// <see cref="DeviceReplyException"/> that names what was expected and shows the raw bytes.
    /// </summary>
    public CaenReply ParseReply(string request, int board, string line)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(line);

        string s = line;
        if (s.EndsWith('\n'))
        {
            s = s[..^1];
        }

        if (s.EndsWith('\r'))
        {
            s = s[..^1];
        }

        for (int i = 0; i < s.Length; i++)
        {
            char c = s[i];
            if (c < 0x20 || c > 0x7E)
            {
                throw Malformed(request, board, line, $"character {Hex(c)} at position {i} is not printable ASCII");
            }
        }

        if (s.Length == 0)
        {
            throw Malformed(request, board, line, "the line is empty");
        }

        if (s[0] != '#')
        {
            throw Malformed(request, board, line, "a reply starts with '#'");
        }

        int pos = 1;
        int? replyBoard = null;
        if (string.CompareOrdinal(s, pos, "BD:", 0, 3) == 0)
        {
            if (Dialect.BoardFieldInReply == CaenReplyBoardField.Absent)
            {
                throw Malformed(request, board, line, "the reply carries a BD field, which this dialect does not have");
            }

            if (s.Length < pos + 6 || !char.IsAsciiDigit(s[pos + 3]) || !char.IsAsciiDigit(s[pos + 4]) || s[pos + 5] != ',')
            {
                throw Malformed(request, board, line, "the BD field must be two digits followed by ','");
            }

            replyBoard = ((s[pos + 3] - '0') * 10) + (s[pos + 4] - '0');
            if (replyBoard != board)
            {
                throw new DeviceReplyException(
                    $"Reply to '{request}' is for board {replyBoard.Value:00}, the request was for board {board:00}; reply '{line}'",
                    request,
                    line);
            }

            pos += 6;
        }
        else if (Dialect.BoardFieldInReply == CaenReplyBoardField.Required)
        {
            throw Malformed(request, board, line, "the reply lacks the BD:nn field");
        }

        string rest = s[pos..];
        if (rest == "CMD:OK")
        {
            return new CaenReply(replyBoard, [], line);
        }

        const string okWithValue = "CMD:OK,VAL:";
        if (rest.StartsWith(okWithValue, StringComparison.Ordinal))
        {
            return new CaenReply(replyBoard, SplitValues(request, board, line, rest[okWithValue.Length..]), line);
        }

        if (rest.EndsWith(":ERR", StringComparison.Ordinal))
        {
            string field = rest[..^4];
            CaenErrorReplyException? error = field switch
            {
                "CMD" => new CaenCommandErrorException(request, line),
                "CH" => new CaenChannelErrorException(request, line),
                "PAR" => new CaenParameterErrorException(request, line),
                "VAL" => new CaenValueErrorException(request, line),
                "LOC" => new CaenLocalModeException(request, line),
                _ => null,
            };
            if (error is not null)
            {
                throw error;
            }

            throw Malformed(request, board, line, $"'{field}' is not an error field ({string.Join(", ", ErrorFields)})");
        }

        throw Malformed(request, board, line, "after the address comes CMD:OK, CMD:OK,VAL:... or <FIELD>:ERR");
    }

    private static void CheckValueCount(string request, CaenParameter parameter, CaenReply reply, int expectedCount)
    {
        ArgumentNullException.ThrowIfNull(parameter);
        ArgumentNullException.ThrowIfNull(reply);
        if (reply.Values.Count != expectedCount)
        {
            throw new DeviceReplyException(
                $"Reply to '{request}' has {reply.Values.Count} value(s) of {parameter.Mnemonic}, expected {expectedCount}; reply '{reply.RawLine}'",
                request,
                reply.RawLine);
        }
    }

    /// <summary>Checks a reply's values against a parameter's kind and the number of values expected.</summary>
    public static IReadOnlyList<CaenReading> DecodeValues(string request, CaenParameter parameter, CaenReply reply, int expectedCount)
    {
        CheckValueCount(request, parameter, reply, expectedCount);

        var readings = new CaenReading[expectedCount];
        for (int i = 0; i < expectedCount; i++)
        {
            readings[i] = DecodeValue(request, parameter, reply.Values[i], reply.RawLine);
        }

        return readings;
    }

    /// <summary>
    /// Parses a reply's values as base-10 integers 0..<paramref name="max"/> (STAT, BDALARM, BDNCH, DEC counts),
    /// checking their number.
    /// </summary>
    public static int[] DecodeIntegers(string request, CaenParameter parameter, CaenReply reply, int expectedCount, int max = int.MaxValue)
    {
        CheckValueCount(request, parameter, reply, expectedCount);

        var values = new int[expectedCount];
        for (int i = 0; i < expectedCount; i++)
        {
            values[i] = ParseInteger(request, parameter, reply.Values[i], reply.RawLine);
            if (values[i] > max)
            {
                throw new DeviceReplyException(
                    $"Reply to '{request}': {parameter.Mnemonic} = {values[i]} is above {max}; reply '{reply.RawLine}'",
                    request,
                    reply.RawLine);
            }
        }

        return values;
    }

    /// <summary>Checks one value against a parameter's kind: a base-10 number, one of its keywords, or text.</summary>
    public static CaenReading DecodeValue(string request, CaenParameter parameter, string text, string rawReply)
    {
        ArgumentNullException.ThrowIfNull(parameter);
        return parameter.Kind switch
        {
            CaenValueKind.Number => new CaenReading(parameter, text, ParseNumber(request, parameter, text, rawReply)),
            CaenValueKind.Keyword => new CaenReading(parameter, parameter.Keywords[KeywordIndex(request, parameter, text, rawReply)], null),
            CaenValueKind.Text => new CaenReading(parameter, text, null),
            _ => throw new DeviceReplyException(
                $"Reply to '{request}' carries a value for {parameter.Mnemonic}, which has none; reply '{rawReply}'", request, rawReply),
        };
    }

    /// <summary>
    /// Parses a wire number in base 10 whatever its leading zeros (<c>00011</c> is 11, <c>0010.0</c> is 10): optional
    /// sign, digits, optional '.' and digits. Anything else, or a value too large for a double, is a reply error.
    /// </summary>
    public static double ParseNumber(string request, CaenParameter parameter, string text, string rawReply)
    {
        ArgumentNullException.ThrowIfNull(parameter);
        ArgumentNullException.ThrowIfNull(text);
        if (!IsDecimalNumber(text)
            || !double.TryParse(text, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out double value)
            || !double.IsFinite(value))
        {
            throw new DeviceReplyException(
                $"Reply to '{request}': {parameter.Mnemonic} value '{text}' is not a base-10 number; reply '{rawReply}'",
                request,
                rawReply);
        }

        return value;
    }

    /// <summary>Parses a non-negative base-10 integer (STAT, BDALARM, BDNCH, DEC counts); leading zeros never mean octal.</summary>
    public static int ParseInteger(string request, CaenParameter parameter, string text, string rawReply)
    {
        ArgumentNullException.ThrowIfNull(parameter);
        ArgumentNullException.ThrowIfNull(text);
        if (text.Length == 0
            || !text.All(char.IsAsciiDigit)
            || !int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int value))
        {
            throw new DeviceReplyException(
                $"Reply to '{request}': {parameter.Mnemonic} value '{text}' is not a base-10 integer 0..{int.MaxValue}; reply '{rawReply}'",
                request,
                rawReply);
        }

        return value;
    }

    /// <summary>Index of a keyword in the parameter's keyword list (the enums of this folder follow the same order).</summary>
    public static int KeywordIndex(string request, CaenParameter parameter, string text, string rawReply)
    {
        ArgumentNullException.ThrowIfNull(parameter);
        for (int i = 0; i < parameter.Keywords.Count; i++)
        {
            if (string.Equals(parameter.Keywords[i], text, StringComparison.Ordinal))
            {
                return i;
            }
        }

        throw new DeviceReplyException(
            $"Reply to '{request}': {parameter.Mnemonic} value '{text}' is not one of {string.Join("/", parameter.Keywords)}; reply '{rawReply}'",
            request,
            rawReply);
    }

    /// <summary>
    /// STAT word (§1.6) to the kind-neutral channel status, bit by bit. Bits the manual does not define have no
    /// meaning to map and are dropped (they still show in the raw STAT of a log line).
    /// </summary>
    public static HvChannelStatus DecodeStatus(int stat)
    {
        var caen = (CaenChannelStatus)stat;
        var status = HvChannelStatus.None;
        foreach (var (bit, neutral) in StatusMap)
        {
            if ((caen & bit) != 0)
            {
                status |= neutral;
            }
        }

        return status;
    }

    /// <summary>Each STAT bit and the kind-neutral flag it means.</summary>
    private static readonly (CaenChannelStatus Bit, HvChannelStatus Status)[] StatusMap =
    [
        (CaenChannelStatus.On, HvChannelStatus.On),
        (CaenChannelStatus.RampingUp, HvChannelStatus.RampingUp),
        (CaenChannelStatus.RampingDown, HvChannelStatus.RampingDown),
        (CaenChannelStatus.OverCurrent, HvChannelStatus.OverCurrent),
        (CaenChannelStatus.OverVoltage, HvChannelStatus.OverVoltage),
        (CaenChannelStatus.UnderVoltage, HvChannelStatus.UnderVoltage),
        (CaenChannelStatus.MaxVoltage, HvChannelStatus.MaxVoltage),
        (CaenChannelStatus.Tripped, HvChannelStatus.Tripped),
        (CaenChannelStatus.OverPower, HvChannelStatus.OverPower),
        (CaenChannelStatus.OverTemperature, HvChannelStatus.OverTemperature),
        (CaenChannelStatus.Disabled, HvChannelStatus.Disabled),
        (CaenChannelStatus.Killed, HvChannelStatus.Killed),
        (CaenChannelStatus.Interlock, HvChannelStatus.Interlock),
        (CaenChannelStatus.CalibrationError, HvChannelStatus.CalibrationError),
    ];

    /// <summary>BDALARM word to board alarm flags (§1.7), unknown bits are kept.</summary>
    public static CaenBoardAlarm DecodeAlarm(int alarm) => (CaenBoardAlarm)alarm;

    private string Format(int board, CaenCommand command, CaenParameter parameter, int? channel, string? value)
    {
        if (board is < 0 or > CaenN1470Protocol.MaxBoardAddress)
        {
            throw new ArgumentOutOfRangeException(nameof(board), board, $"board address must be 0..{CaenN1470Protocol.MaxBoardAddress}");
        }

        CheckCommand(command, parameter, value);

        var sb = new StringBuilder(48);
        sb.Append('$');
        if (Dialect.BoardFieldInRequest)
        {
            sb.Append("BD:").Append(board.ToString("00", CultureInfo.InvariantCulture)).Append(',');
        }

        sb.Append(command == CaenCommand.Mon ? "CMD:MON" : "CMD:SET");
        if (channel is int ch)
        {
            sb.Append(",CH:").Append(ch.ToString(CultureInfo.InvariantCulture));
        }

        sb.Append(",PAR:").Append(parameter.Mnemonic);
        if (value is not null)
        {
            sb.Append(",VAL:").Append(value);
        }

        return sb.ToString();
    }

    private static void CheckCommand(CaenCommand command, CaenParameter parameter, string? value)
    {
        switch (command)
        {
            case CaenCommand.Mon:
                if (!parameter.CanMonitor)
                {
                    throw new ArgumentException($"{parameter.Mnemonic} cannot be read (SET only)", nameof(parameter));
                }

                if (value is not null)
                {
                    throw new ArgumentException($"a MON of {parameter.Mnemonic} takes no VAL, got '{value}'", nameof(value));
                }

                return;
            case CaenCommand.Set:
                if (!parameter.CanSet)
                {
                    throw new ArgumentException($"{parameter.Mnemonic} cannot be set (MON only)", nameof(parameter));
                }

                if (parameter.Kind == CaenValueKind.None)
                {
                    if (value is not null)
                    {
                        throw new ArgumentException($"{parameter.Mnemonic} takes no VAL, got '{value}'", nameof(value));
                    }

                    return;
                }

                if (value is null)
                {
                    throw new ArgumentException($"a SET of {parameter.Mnemonic} needs a VAL", nameof(value));
                }

                if (parameter.Kind == CaenValueKind.Number && !IsDecimalNumber(value))
                {
                    throw new ArgumentException(
                        $"VAL for {parameter.Mnemonic} must be a base-10 number like 1500.0, got '{value}'", nameof(value));
                }

                if (parameter.Kind == CaenValueKind.Keyword && !parameter.Keywords.Contains(value, StringComparer.Ordinal))
                {
                    throw new ArgumentException(
                        $"VAL for {parameter.Mnemonic} must be one of {string.Join("/", parameter.Keywords)}, got '{value}'", nameof(value));
                }

                return;
            default:
                throw new ArgumentOutOfRangeException(nameof(command), command, "command must be MON or SET");
        }
    }

    private static bool IsDecimalNumber(string text)
    {
        int i = 0;
        if (i < text.Length && (text[i] == '+' || text[i] == '-'))
        {
            i++;
        }

        int intDigits = 0;
        while (i < text.Length && char.IsAsciiDigit(text[i]))
        {
            i++;
            intDigits++;
        }

        if (intDigits == 0)
        {
            return false;
        }

        if (i < text.Length && text[i] == '.')
        {
            i++;
            while (i < text.Length && char.IsAsciiDigit(text[i]))
            {
                i++;
            }
        }

        return i == text.Length;
    }

    private string[] SplitValues(string request, int board, string line, string list)
    {
        // Some units end the list with ';' (§1.3): tolerated once.
        if (list.EndsWith(';'))
        {
            list = list[..^1];
        }

        if (list.Length == 0)
        {
            throw Malformed(request, board, line, "VAL is empty");
        }

        string[] values = list.Split(';');
        for (int i = 0; i < values.Length; i++)
        {
            if (values[i].Length == 0)
            {
                throw Malformed(request, board, line, $"value {i} of the VAL list is empty");
            }

            if (values[i].Contains(',', StringComparison.Ordinal))
            {
                throw Malformed(request, board, line, $"value {i} of the VAL list contains ','");
            }
        }

        return values;
    }

    private DeviceReplyException Malformed(string request, int board, string line, string reason)
    {
        string bd = Dialect.BoardFieldInReply switch
        {
            CaenReplyBoardField.Required => "BD:" + board.ToString("00", CultureInfo.InvariantCulture) + ",",
            CaenReplyBoardField.Optional => "[BD:" + board.ToString("00", CultureInfo.InvariantCulture) + ",]",
            _ => "",
        };
        return new DeviceReplyException(
            $"Unexpected reply to '{request}': {reason}. Expected '#{bd}CMD:OK[,VAL:v[;v...]]' or " +
            $"'#{bd}<CMD|CH|PAR|VAL|LOC>:ERR'; got '{Printable(line)}' (bytes {HexDump(line)})",
            request,
            line);
    }

    private static string Printable(string line)
    {
        var sb = new StringBuilder(line.Length);
        foreach (char c in line)
        {
            sb.Append(c is >= (char)0x20 and <= (char)0x7E ? c : '.');
        }

        return sb.ToString();
    }

    private static string HexDump(string line)
    {
        var sb = new StringBuilder(line.Length * 3);
        foreach (char c in line)
        {
            if (sb.Length > 0)
            {
                sb.Append(' ');
            }

            sb.Append(c <= 0xFF ? ((int)c).ToString("X2", CultureInfo.InvariantCulture) : Hex(c));
        }

        return sb.ToString();
    }

    private static string Hex(char c) =>
        c <= 0xFF
            ? "0x" + ((int)c).ToString("X2", CultureInfo.InvariantCulture)
            : "U+" + ((int)c).ToString("X4", CultureInfo.InvariantCulture);
}
