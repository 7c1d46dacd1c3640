using System.Globalization;
using NA64.Hardware.Magnets;
using NA64.Hardware.Magnets.Danfysik8500;
using NA64.Simulators.Serving;
using Serilog;

namespace NA64.Simulators.Magnets.Danfysik8500;

/// <summary>How the unit reports a command it did not take (<c>ERRT</c>, <c>ERRC</c>, <c>NERR</c>).</summary>
public enum Danfysik8500ErrorReporting
{
    Text,
    Codes,
    None,
}

/// <summary>
/// The byte side of one Danfysik 8500 (device-protocols.md §4): CR ends a request and LF in it is ignored, replies end
/// LF CR, directives are silent unless not taken (then an error message) or in <c>ASW</c> mode, status commands always
/// answer. Not selected by <c>ADR n</c>, the unit is silent. The error texts, the codes and the <c>ASW</c> acknowledgement
/// are our choice (the manual's wording is unverified); the driver depends on none of them.
/// Keeps its own parser and formatter; shares only facts and condition bits with the driver.
/// </summary>
public sealed class Danfysik8500Wire : ILineDevice
{
    /// <summary>Acknowledgement of a directive in <c>ASW</c> mode (our choice).</summary>
    public const string Acknowledge = "OK";

    private static readonly (string Text, string Code) UnknownCommand = ("ERROR: UNKNOWN COMMAND", "ERR 01");
    private static readonly (string Text, string Code) BadParameter = ("ERROR: ILLEGAL PARAMETER", "ERR 02");
    private static readonly (string Text, string Code) LocalMode = ("ERROR: LOCAL MODE", "ERR 03");
    private static readonly (string Text, string Code) InterlockActive = ("ERROR: INTERLOCK ACTIVE", "ERR 04");
    private static readonly (string Text, string Code) CurrentNotZero = ("ERROR: CURRENT NOT ZERO", "ERR 05");

    private readonly ILogger _log;
    private readonly Lock _faultGate = new();
    private int _ignoreDirectives;
    private bool _answerAlways;
    private Danfysik8500ErrorReporting _errors = Danfysik8500ErrorReporting.Text;
    private volatile bool _selected = true;

    public Danfysik8500Wire(Danfysik8500Model unit, ILogger? log = null)
    {
        ArgumentNullException.ThrowIfNull(unit);
        Unit = unit;
        _log = (log ?? Serilog.Core.Logger.None).ForContext<Danfysik8500Wire>().ForContext("Unit", unit.Address);
    }

    public Danfysik8500Model Unit { get; }

    public string RequestTerminator => "\r";

    public string ReplyTerminator => "\n\r";

    /// <summary>Selected by the last <c>ADR n</c> (true for a unit alone on its line until another address is selected).</summary>
    public bool Selected
    {
        get => _selected;
        set => _selected = value;
    }

    /// <summary><c>ASW</c> mode: every command answers.</summary>
    public bool AnswerAlways
    {
        get
        {
            lock (_faultGate)
            {
                return _answerAlways;
            }
        }
    }

    public Danfysik8500ErrorReporting ErrorReporting
    {
        get
        {
            lock (_faultGate)
            {
                return _errors;
            }
        }
    }

    /// <summary>Backdoor: the next directive that changes the output (N, F, RS, WA, DA, PO +/-) is received and ignored, silently.</summary>
    public void IgnoreNextDirective()
    {
        lock (_faultGate)
        {
            _ignoreDirectives++;
        }
    }

    /// <summary>Handles one request (CR removed); returns the reply without LF CR, or null for silence.</summary>
    public string? Respond(string request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var line = request.Replace("\n", string.Empty, StringComparison.Ordinal).Trim(' ');
        if (line.Length == 0)
        {
            return null;
        }

        var space = line.IndexOf(' ', StringComparison.Ordinal);
        var mnemonic = space < 0 ? line : line[..space];
        var argument = space < 0 ? null : line[(space + 1)..].Trim(' ');

        if (mnemonic is "ADR" or "ADRS" && argument is not null)
        {
            if (!TryParseCount(argument, Danfysik8500Facts.MaxAddress, out var address))
            {
                return _selected ? Error(BadParameter, line) : null;
            }

            _selected = address == Unit.Address;
            return !_selected ? null : mnemonic == "ADRS" ? FormatAddress() : Acknowledged();
        }

        if (!_selected)
        {
            return null;
        }

        lock (Unit.Gate)
        {
            return Execute(line, mnemonic, argument);
        }
    }

    private string? Execute(string line, string mnemonic, string? argument)
    {
        switch (mnemonic, argument)
        {
            case ("S1", null):
                return FormatStatus(Unit.ConditionsLocked);
            case ("RA", null):
                Unit.AdvanceLocked();
                return Unit.SetpointPpmLocked.ToString(CultureInfo.InvariantCulture);
            case ("AD", not null):
                if (!TryParseCount(argument, 15, out var channel))
                {
                    return Error(BadParameter, line);
                }

                // Channels other than current and voltage are unit-specific (§4.3): this unit wires nothing to them.
                var counts = channel switch
                {
                    Danfysik8500Protocol.CurrentAdcChannel => Unit.CurrentCountsLocked(),
                    Danfysik8500Protocol.VoltageAdcChannel => Unit.VoltageCountsLocked(),
                    _ => 0,
                };
                return counts.ToString(CultureInfo.InvariantCulture);
            case ("PO", null):
                Unit.AdvanceLocked();
                return Unit.PolarityLocked == MagnetPolarity.Normal ? "+" : "-";
            case ("ADR", null):
                return FormatAddress();
            case ("ASW", null):
                SetAnswerAlways(true);
                return Acknowledged();
            case ("NASW", null):
                SetAnswerAlways(false);
                return null;
            case ("ERRT", null):
                SetErrors(Danfysik8500ErrorReporting.Text);
                return Acknowledged();
            case ("ERRC", null):
                SetErrors(Danfysik8500ErrorReporting.Codes);
                return Acknowledged();
            case ("NERR", null):
                SetErrors(Danfysik8500ErrorReporting.None);
                return Acknowledged();
            case ("REM", null):
                if (Unit.LockedLocalLocked)
                {
                    return Error(LocalMode, line);
                }

                Unit.SetRemoteLocked(true);
                return Acknowledged();
            case ("LOC", null):
                Unit.SetRemoteLocked(false);
                return Acknowledged();
            case ("LOCK", null):
                Unit.SetRemoteLocked(false);
                Unit.SetLockedLocal(true);
                return Acknowledged();
            case ("UNLOCK", null):
                // The ISIS emulator takes UNLOCK as a way into remote as well as out of the lock.
                Unit.SetLockedLocal(false);
                Unit.SetRemoteLocked(true);
                return Acknowledged();
            case ("N", null):
            case ("F", null):
            case ("RS", null):
            case ("WA", not null):
            case ("DA", not null):
            case ("PO", "+" or "-"):
                return OutputDirective(line, mnemonic, argument);
            case ("WA" or "DA" or "PO" or "AD", _):
                return Error(BadParameter, line);
            default:
                return Error(UnknownCommand, line);
        }
    }

    private string? OutputDirective(string line, string mnemonic, string? argument)
    {
        int ppm = 0;
        if (mnemonic == "WA" && !TryParseCount(argument!, Danfysik8500Facts.FullScalePpm, out ppm))
        {
            return Error(BadParameter, line);
        }

        if (mnemonic == "DA" && !TryParseDac(argument!, out ppm))
        {
            return Error(BadParameter, line);
        }

        if (!Unit.RemoteLocked)
        {
            return Error(LocalMode, line);
        }

        lock (_faultGate)
        {
            if (_ignoreDirectives > 0)
            {
                _ignoreDirectives--;
                _log.Information("Danfysik 8500 {Unit} ignores {Request} (injected)", Unit.Address, line);
                return null;
            }
        }

        switch (mnemonic)
        {
            case "N":
                return Unit.TryPowerOnLocked() ? Acknowledged() : Error(InterlockActive, line);
            case "F":
                Unit.PowerOffLocked();
                return Acknowledged();
            case "RS":
                Unit.ResetLocked();
                return Acknowledged();
            case "WA":
            case "DA":
                Unit.SetSetpointLocked(ppm);
                return Acknowledged();
            default:
                return Unit.TrySetPolarityLocked(argument == "+" ? MagnetPolarity.Normal : MagnetPolarity.Reversed)
                    ? Acknowledged()
                    : Error(CurrentNotZero, line);
        }
    }

    /// <summary><c>DA 0,x[,y]</c>: DAC 0 only, <c>y</c> a hardware register 0 or 1 (accepted, not modelled).</summary>
    private static bool TryParseDac(string argument, out int ppm)
    {
        ppm = 0;
        var parts = argument.Split(',');
        return parts.Length is 2 or 3
            && parts[0].Trim(' ') == "0"
            && TryParseCount(parts[1].Trim(' '), Danfysik8500Facts.FullScalePpm, out ppm)
            && (parts.Length == 2 || parts[2].Trim(' ') is "0" or "1");
    }

    /// <summary>A base-10 count 0..max, digits only (no sign, no radix from a leading zero).</summary>
    private static bool TryParseCount(string text, int max, out int value)
    {
        value = 0;
        return text.Length is > 0 and <= 9
            && !text.AsSpan().ContainsAnyExceptInRange('0', '9')
            && int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value)
            && value <= max;
    }

    private static string FormatStatus(Danfysik8500Conditions conditions)
    {
        Span<char> s1 = stackalloc char[Danfysik8500Facts.StatusLength];
        for (var i = 0; i < s1.Length; i++)
        {
            s1[i] = ((int)conditions & (1 << i)) != 0 ? Danfysik8500Facts.Active : Danfysik8500Facts.Inactive;
        }

        return new string(s1);
    }

    private string FormatAddress() => Unit.Address.ToString("000", CultureInfo.InvariantCulture);

    private string? Acknowledged() => AnswerAlways ? Acknowledge : null;

    private string? Error((string Text, string Code) error, string line)
    {
        _log.Debug("Danfysik 8500 {Unit} refuses {Request}: {Error}", Unit.Address, line, error.Text);
        return ErrorReporting switch
        {
            Danfysik8500ErrorReporting.Text => error.Text,
            Danfysik8500ErrorReporting.Codes => error.Code,
            _ => AnswerAlways ? error.Code : null,
        };
    }

    private void SetAnswerAlways(bool on)
    {
        lock (_faultGate)
        {
            _answerAlways = on;
        }
    }

    private void SetErrors(Danfysik8500ErrorReporting mode)
    {
        lock (_faultGate)
        {
            _errors = mode;
        }
    }
}
