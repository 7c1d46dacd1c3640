using System.Globalization;
using NA64.Hardware.Magnets.BeamLine;
using NA64.Simulators.Serving;
using Serilog;

namespace NA64.Simulators.Magnets.BeamLine;

/// <summary>
/// Our gateway line protocol (not a CERN one) on the simulator side: its own parser and formatter, sharing only the
/// facts and enums with the driver. One request line in, one reply line out, CR LF both ways. A line that breaks the
/// grammar, or names an unknown circuit, gets <c>ERR</c> and one reason; it is not logged as a request.
/// </summary>
public sealed class BeamLineGatewayWire(BeamLineGatewayModel model, ILogger? log = null) : ILineDevice
{
    private const int MaxNameLength = 64;
    private const int MaxReasonLength = 200;
    private readonly BeamLineGatewayModel _model = model ?? throw new ArgumentNullException(nameof(model));
    private readonly ILogger _log = (log ?? Serilog.Core.Logger.None).ForContext<BeamLineGatewayWire>();

    public string RequestTerminator => "\r\n";

    public string ReplyTerminator => "\r\n";

    public BeamLineGatewayModel Model => _model;

    public string? Respond(string request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var reply = Handle(request);
        _log.Debug("Beam-line gateway {Request} -> {Reply}", request, reply);
        return reply;
    }

    private string Handle(string line)
    {
        var fields = line.Split(' ', 4);
        var verb = fields[0];
        if (verb == "READ")
        {
            return fields.Length == 2 && _model.Circuit(fields[1]) is { } read ? FormatRead(read)
                : fields.Length == 2 ? $"ERR unknown circuit {Safe(fields[1])}" : "ERR READ takes one circuit";
        }

        var operation = verb switch
        {
            "SET" => BeamLineOperation.SetCurrent,
            "STANDBY" => BeamLineOperation.Standby,
            "ON" => BeamLineOperation.On,
            "OFF" => BeamLineOperation.Off,
            "RESET" => BeamLineOperation.Reset,
            "LOAD" => BeamLineOperation.LoadBeamFile,
            _ => (BeamLineOperation?)null,
        };
        if (operation is not { } op)
        {
            return $"ERR unknown request {Safe(verb)}";
        }

        // SET has one field more (the amperes) before user and reason.
        double? amps = null;
        if (op == BeamLineOperation.SetCurrent)
        {
            if (fields.Length < 4)
            {
                return "ERR SET takes circuit, amps, user and reason";
            }

            var tail = fields[3].Split(' ', 2);
            if (!TryAmps(fields[2], out var a))
            {
                return $"ERR amps '{Safe(fields[2])}' is not a plain decimal";
            }

            amps = a;
            fields = [fields[0], fields[1], tail[0], tail.Length > 1 ? tail[1] : ""];
        }
        else if (fields.Length < 4)
        {
            return $"ERR {verb} takes {(op == BeamLineOperation.LoadBeamFile ? "beam file" : "circuit")}, user and reason";
        }

        var (target, user, reason) = (fields[1], fields[2], fields[3]);
        if (!IsName(target) || !IsName(user))
        {
            return "ERR names are 1 to 64 of A-Z a-z 0-9 . _ -";
        }

        if (!IsReason(reason))
        {
            return "ERR reason must be 1 to 200 printable characters";
        }

        if (op != BeamLineOperation.LoadBeamFile && _model.Circuit(target) is null)
        {
            return $"ERR unknown circuit {target}";
        }

        var outcome = _model.Submit(new BeamLineRequest(op, target, amps, user, reason));
        return outcome.Kind switch
        {
            BeamLineOutcomeKind.Accepted => "ACCEPTED",
            BeamLineOutcomeKind.PendingOperator => $"PENDING {outcome.Ticket}",
            _ => $"DENIED {outcome.Reason}",
        };
    }

    private static string FormatRead(BeamLineCircuitModel circuit)
    {
        var s = circuit.Published;
        var state = s.State switch
        {
            BeamLineState.Off => "OFF",
            BeamLineState.Standby => "STANDBY",
            BeamLineState.On => "ON",
            _ => "FAULT",
        };
        return string.Create(CultureInfo.InvariantCulture,
            $"OK {circuit.Name} STATE={state} IREF={s.RefAmps:0.000} IMEAS={s.MeasuredAmps:0.000} INREF={(s.InReference ? 1 : 0)} " +
            $"CYCLE={s.Cycle} TIME={s.Timestamp.UtcDateTime:yyyy-MM-dd'T'HH:mm:ss.fff'Z'} FILE={s.BeamFile ?? "-"} CAUSE={s.FaultCause ?? "-"} " +
            $"ELEMENTS={string.Join(",", circuit.Options.Elements)}");
    }

    private static bool TryAmps(string text, out double amps)
    {
        amps = 0;
        var dot = text.IndexOf('.', StringComparison.Ordinal);
        var whole = dot < 0 ? text : text[..dot];
        var fraction = dot < 0 ? "0" : text[(dot + 1)..];
        return whole.Length is > 0 and <= 7 && fraction.Length is > 0 and <= 6
            && whole.All(char.IsAsciiDigit) && fraction.All(char.IsAsciiDigit)
            && double.TryParse(text, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out amps);
    }

    private static bool IsName(string text) =>
        text.Length is > 0 and <= MaxNameLength && text != "-" && text.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-');

    private static bool IsReason(string text) =>
        text.Length is > 0 and <= MaxReasonLength && !string.IsNullOrWhiteSpace(text) && text.All(c => c is >= ' ' and <= '~');

    // An ERR echoes at most a short, printable piece of what it got, so the reply stays one clean line.
    private static string Safe(string text) =>
        new(text.Take(32).Select(c => c is >= '!' and <= '~' ? c : '?').ToArray());
}
