using System.Globalization;
using System.Text.RegularExpressions;
using NA64.Simulators.Serving;
using Serilog;

namespace NA64.Simulators.Hv.CaenN1470;

/// <summary>
/// The byte side of one CAEN N1470 board: parses request lines (device-protocols.md §1.2), applies them to a
/// <see cref="CaenN1470BoardModel"/> and formats the replies (§1.3, §1.4). Lines for another BD get no reply.
/// Error precedence (our choice, §1.3): CMD → CH → PAR → LOC → VAL, first failure wins.
/// Protocol quirks of the firmware (dropped SET reply, trailing ';') are injected here; line faults
/// (latency, garbling, silence, disconnect) belong to <see cref="LineFaults"/> in the server.
/// </summary>
public sealed partial class CaenN1470Wire : ILineDevice
{
    private readonly ILogger _log;
    private readonly Lock _faultGate = new();
    private int _dropSetReplies;
    private bool _trailingSemicolon;

    public CaenN1470Wire(CaenN1470BoardModel board, ILogger? log = null)
    {
        ArgumentNullException.ThrowIfNull(board);
        Board = board;
        _log = (log ?? Serilog.Core.Logger.None).ForContext<CaenN1470Wire>().ForContext("Board", board.Address);
    }

    public CaenN1470BoardModel Board { get; }

    public string RequestTerminator => CaenN1470Protocol.Terminator;

    public string ReplyTerminator => CaenN1470Protocol.Terminator;

    /// <summary>Backdoor: MON replies end with a ';' after the value (seen on some units).</summary>
    public bool TrailingSemicolonOnMon
    {
        get
        {
            lock (_faultGate)
            {
                return _trailingSemicolon;
            }
        }

        set
        {
            lock (_faultGate)
            {
                _trailingSemicolon = value;
            }
        }
    }

    /// <summary>Backdoor: the next SET addressed to this board gets no reply; the change still applies.</summary>
    public void DropNextSetReply()
    {
        lock (_faultGate)
        {
            _dropSetReplies++;
        }
    }

    /// <summary>Handles one request line (without "\r\n"); returns the reply without "\r\n", or null for silence.</summary>
    public string? Respond(string request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var head = HeadPattern().Match(request);
        if (!head.Success || int.Parse(head.Groups["bd"].ValueSpan, NumberStyles.None, CultureInfo.InvariantCulture) != Board.Address)
        {
            return null;
        }

        string reply;
        bool isSet;
        lock (Board.Gate)
        {
            reply = Execute(head, out isSet);
        }

        if (isSet)
        {
            lock (_faultGate)
            {
                if (_dropSetReplies > 0)
                {
                    _dropSetReplies--;
                    _log.Information("Fault: reply {Reply} to {Request} dropped", reply, request);
                    return null;
                }
            }
        }

        return reply;
    }

    /// <summary>
    /// Start character, address and the separator after it. 1- or 2-digit BD and a ':' after the address are
    /// accepted like the lenient firmware parser (unverified); any start character other than '$' is CMD:ERR.
    /// </summary>
    [GeneratedRegex(@"^(?<start>[^B]?)BD:(?<bd>[0-9]{1,2})[,:](?<rest>.*)$", RegexOptions.CultureInvariant | RegexOptions.Singleline)]
    private static partial Regex HeadPattern();

    [GeneratedRegex(@"^[0-9]{1,2}$", RegexOptions.CultureInvariant)]
    private static partial Regex ChannelPattern();

    /// <summary>Unsigned decimal number; the fraction digits are counted against the resolution.</summary>
    [GeneratedRegex(@"^[0-9]+(\.(?<fraction>[0-9]+))?$", RegexOptions.CultureInvariant)]
    private static partial Regex NumberPattern();

    private string Execute(Match head, out bool isSet)
    {
        isSet = false;
        if (head.Groups["start"].Value != "$")
        {
            return Error("CMD");
        }

        // (1) CMD: fields in the fixed order CMD, [CH], PAR, [VAL]; anything else is malformed.
        var fields = head.Groups["rest"].Value.Split(',');
        var index = 0;
        var cmd = Field(fields, ref index, "CMD");
        if (cmd is not ("MON" or "SET"))
        {
            return Error("CMD");
        }

        isSet = cmd == "SET";
        var ch = Field(fields, ref index, "CH");
        var par = Field(fields, ref index, "PAR");
        var val = Field(fields, ref index, "VAL");
        if (index != fields.Length)
        {
            return Error("CMD");
        }

        CaenN1470Protocol.Parameters.TryGetValue(par ?? string.Empty, out var parameter);

        // (2) CH: a channel parameter needs 0..N (N = all channels); a board parameter takes none.
        var channelCount = Board.Channels.Count;
        int? channel = null;
        if (ch is not null)
        {
            if (!ChannelPattern().IsMatch(ch) || parameter is { OnChannel: false })
            {
                return Error("CH");
            }

            channel = int.Parse(ch, NumberStyles.None, CultureInfo.InvariantCulture);
            if (channel > channelCount)
            {
                return Error("CH");
            }
        }
        else if (parameter is { OnChannel: true })
        {
            return Error("CH");
        }

        // (3) PAR: known, and readable for MON / writable for SET.
        if (parameter is null || (isSet ? parameter.Set == CaenSetKind.MonOnly : !parameter.CanMon))
        {
            return Error("PAR");
        }

        // (4) LOC: the front panel owns the module.
        if (isSet && Board.IsLocal)
        {
            return Error("LOC");
        }

        var channels = channel is null
            ? []
            : channel == channelCount ? Board.Channels : [Board.Channels[channel.Value]];

        // (5) VAL, then execute.
        return isSet ? ExecuteSet(parameter, channels, val) : ExecuteMon(parameter, channels, val);
    }

    private string ExecuteMon(CaenParameter parameter, IReadOnlyList<CaenN1470Channel> channels, string? val)
    {
        if (val is not null)
        {
            return Error("VAL");
        }

        var value = parameter.OnChannel
            ? string.Join(';', channels.Select(parameter.ReadChannel!))
            : parameter.ReadBoard!(Board);
        return TrailingSemicolonOnMon ? $"{Prefix}CMD:OK,VAL:{value};" : $"{Prefix}CMD:OK,VAL:{value}";
    }

    private string ExecuteSet(CaenParameter parameter, IReadOnlyList<CaenN1470Channel> channels, string? val)
    {
        var targets = parameter.OnChannel ? channels.Cast<CaenN1470Channel?>().ToArray() : [null];
        switch (parameter.Set)
        {
            case CaenSetKind.NoValue:
                if (val is not null)
                {
                    return Error("VAL");
                }

                foreach (var c in targets)
                {
                    parameter.Command!(Board, c);
                }

                break;

            case CaenSetKind.Keyword:
                if (val is null || !parameter.Keywords!.TryGetValue(val, out var apply))
                {
                    return Error("VAL");
                }

                foreach (var c in targets)
                {
                    apply(Board, c);
                }

                break;

            case CaenSetKind.Number:
                if (val is null || NumberPattern().Match(val) is not { Success: true } number
                    || number.Groups["fraction"].Length > parameter.Range!(Board.Personality).Decimals)
                {
                    return Error("VAL");
                }

                var value = double.Parse(val, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture);

                // All or nothing on CH = N: check every channel before changing any.
                if (!channels.All(c => c.Accepts(parameter.Setting, value)))
                {
                    return Error("VAL");
                }

                foreach (var c in channels)
                {
                    c.TrySet(parameter.Setting, value);
                }

                break;

            default:
                return Error("PAR");
        }

        return $"{Prefix}CMD:OK";
    }

    /// <summary>Takes fields[index] if it is "<paramref name="name"/>:value"; null if the field is absent.</summary>
    private static string? Field(string[] fields, ref int index, string name)
    {
        if (index >= fields.Length)
        {
            return null;
        }

        var field = fields[index];
        if (field.Length <= name.Length || !field.StartsWith(name, StringComparison.Ordinal) || field[name.Length] != ':')
        {
            return null;
        }

        index++;
        return field[(name.Length + 1)..];
    }

    private string Prefix => string.Create(CultureInfo.InvariantCulture, $"#BD:{Board.Address:00},");

    private string Error(string field) => $"{Prefix}{field}:ERR";
}
