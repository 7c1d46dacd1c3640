using System.Globalization;
using NA64.Hardware.Transport;
using P = NA64.Hardware.Magnets.BeamLine.BeamLineProtocol;

namespace NA64.Hardware.Magnets.BeamLine;

/// <summary>
/// Host side of our gateway protocol: formats requests (refusing a bad field before anything is sent) and parses
/// replies. Strict writer, tolerant reader: keys of a read-back may come in any order and unknown keys are ignored,
/// but every number must be a plain invariant decimal. A reply that does not parse throws
/// <see cref="BeamLineReplyException"/> carrying the request and the raw line.
/// </summary>
public static class BeamLineCodec
{
    public static string FormatRead(string circuit) => $"{P.Read} {Name("circuit", circuit)}";

    public static string FormatSet(string circuit, double amps, string user, string reason)
    {
        if (!double.IsFinite(amps) || amps < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(amps), amps,
                $"amps is {amps.ToString(CultureInfo.InvariantCulture)}; it must be a finite number of 0 or more");
        }

        return $"{P.Set} {Name("circuit", circuit)} {P.FormatAmps(amps)} {Name("user", user)} {Reason(reason)}";
    }

    /// <summary>STANDBY, ON, OFF or RESET of a circuit.</summary>
    public static string FormatCommand(string verb, string circuit, string user, string reason)
    {
        if (verb is not (P.Standby or P.On or P.Off or P.Reset))
        {
            throw new ArgumentException($"verb is '{verb}'; it must be one of {P.Standby}, {P.On}, {P.Off}, {P.Reset}", nameof(verb));
        }

        return $"{verb} {Name("circuit", circuit)} {Name("user", user)} {Reason(reason)}";
    }

    public static string FormatLoad(string beamFile, string user, string reason) =>
        $"{P.Load} {Name("beam file", beamFile)} {Name("user", user)} {Reason(reason)}";

    /// <summary>Parses <c>OK circuit KEY=value ...</c>; the circuit must be the one asked for.</summary>
    public static BeamLineStatus ParseStatus(string request, string line, string circuit)
    {
        ArgumentNullException.ThrowIfNull(line);
        var fields = line.Split(' ');
        if (fields[0] == P.ReplyError)
        {
            throw Bad(request, line, $"gateway error: {Rest(line)}");
        }

        if (fields.Length < 2 || fields[0] != P.ReplyOk)
        {
            throw Bad(request, line, $"read-back does not start with '{P.ReplyOk} <circuit>'");
        }

        if (fields[1] != circuit)
        {
            throw Bad(request, line, $"read-back is for circuit '{fields[1]}', asked for '{circuit}'");
        }

        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 2; i < fields.Length; i++)
        {
            var eq = fields[i].IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
            {
                throw Bad(request, line, $"field '{fields[i]}' is not KEY=value");
            }

            if (!values.TryAdd(fields[i][..eq], fields[i][(eq + 1)..]))
            {
                throw Bad(request, line, $"key {fields[i][..eq]} appears twice");
            }
        }

        string Need(string key) => values.TryGetValue(key, out var v) ? v : throw Bad(request, line, $"key {key} missing");

        var state = Need(P.KeyState) switch
        {
            "OFF" => BeamLineState.Off,
            "STANDBY" => BeamLineState.Standby,
            "ON" => BeamLineState.On,
            "FAULT" => BeamLineState.Fault,
            var s => throw Bad(request, line, $"{P.KeyState} is '{s}'; expected OFF, STANDBY, ON or FAULT"),
        };
        var inRef = Need(P.KeyInRef) switch
        {
            "0" => false,
            "1" => true,
            var s => throw Bad(request, line, $"{P.KeyInRef} is '{s}'; expected 0 or 1"),
        };
        var cycleText = Need(P.KeyCycle);
        if (!IsDigits(cycleText, 18) || !long.TryParse(cycleText, NumberStyles.None, CultureInfo.InvariantCulture, out var cycle))
        {
            throw Bad(request, line, $"{P.KeyCycle} is '{cycleText}'; expected a decimal integer of 0 or more");
        }

        var timeText = Need(P.KeyTime);
        if (!DateTimeOffset.TryParseExact(timeText, P.TimeFormat, CultureInfo.InvariantCulture,
                DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var time))
        {
            throw Bad(request, line, $"{P.KeyTime} is '{timeText}'; expected {P.TimeFormat}");
        }

        var file = values.TryGetValue(P.KeyFile, out var f) && f != P.None ? f : null;
        var cause = values.TryGetValue(P.KeyCause, out var c) && c != P.None ? c : null;
        if (file is not null && !P.IsName(file))
        {
            throw Bad(request, line, $"{P.KeyFile} is '{file}', not a name");
        }

        IReadOnlyList<string> elements = values.TryGetValue(P.KeyElements, out var e) && e != P.None ? e.Split(',') : [];
        if (elements.Any(x => !P.IsName(x)))
        {
            throw Bad(request, line, $"{P.KeyElements} is '{e}', not a comma-separated list of names");
        }

        return new BeamLineStatus(circuit, state, Amps(request, line, P.KeyRef, Need(P.KeyRef)),
            Amps(request, line, P.KeyMeas, Need(P.KeyMeas)), inRef, cycle, time, file, cause, elements);
    }

    /// <summary>Parses <c>ACCEPTED</c>, <c>PENDING ticket</c> or <c>DENIED reason</c>.</summary>
    public static BeamLineOutcome ParseOutcome(string request, string line)
    {
        ArgumentNullException.ThrowIfNull(line);
        var space = line.IndexOf(' ', StringComparison.Ordinal);
        var head = space < 0 ? line : line[..space];
        var rest = space < 0 ? "" : line[(space + 1)..];
        switch (head)
        {
            case P.ReplyAccepted when space < 0:
                return BeamLineOutcome.Accepted;
            case P.ReplyPending when P.IsName(rest):
                return new BeamLineOutcome(BeamLineOutcomeKind.PendingOperator, Ticket: rest);
            case P.ReplyDenied when P.IsReason(rest):
                return new BeamLineOutcome(BeamLineOutcomeKind.Denied, Reason: rest);
            case P.ReplyError:
                throw Bad(request, line, $"gateway error: {rest}");
            default:
                throw Bad(request, line, $"expected {P.ReplyAccepted}, {P.ReplyPending} <ticket> or {P.ReplyDenied} <reason>");
        }
    }

    private static double Amps(string request, string line, string key, string text)
    {
        // Plain decimal only: no exponent, no leading '+', no thousands separator, no comma (a de-CH gateway would send one).
        var digits = text.StartsWith('-') ? text[1..] : text;
        var dot = digits.IndexOf('.', StringComparison.Ordinal);
        var whole = dot < 0 ? digits : digits[..dot];
        var fraction = dot < 0 ? "0" : digits[(dot + 1)..];
        if (!IsDigits(whole, 7) || !IsDigits(fraction, 6)
            || !double.TryParse(text, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var amps))
        {
            throw Bad(request, line, $"{key} is '{text}'; expected a plain decimal number of amperes");
        }

        return amps;
    }

    private static bool IsDigits(string text, int maxLength) =>
        text.Length > 0 && text.Length <= maxLength && text.All(char.IsAsciiDigit);

    private static string Rest(string line) => line.Length > 4 ? line[4..] : "";

    private static string Name(string field, string value) => P.IsName(value) ? value
        : throw new ArgumentException($"{field} is '{value}'; it must be 1 to {P.MaxNameLength} of A-Z a-z 0-9 . _ -", field);

    private static string Reason(string value) => P.IsReason(value) ? value
        : throw new ArgumentException($"reason is '{value}'; it must be 1 to {P.MaxReasonLength} printable ASCII characters", nameof(value));

    private static BeamLineReplyException Bad(string request, string line, string why) =>
        new($"Beam-line gateway reply '{Printable.Escape(line)}' to '{request}': {Printable.Escape(why)}", request, line);
}
