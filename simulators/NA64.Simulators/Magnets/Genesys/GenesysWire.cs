using System.Globalization;
using System.Text;
using NA64.Hardware.Magnets.Genesys;
using NA64.Simulators.Serving;
using Serilog;

namespace NA64.Simulators.Magnets.Genesys;

/// <summary>
/// The byte side of an RS-485 line of Genesys units (device-protocols.md §3): CR framing, case-insensitive, silent
/// until a present unit is selected with <c>ADR n</c>, then every command gets <c>OK</c>, an error code or a value
/// from the selected unit; global commands act on every unit and get no reply. SRQ lines <c>!nn</c> of units whose
/// enabled status events went from 0 to non-zero go out just before the next reply on the line (the device speaks
/// only when spoken to, so an SRQ arrives in the middle of an exchange, which is what the host must survive).
/// Keeps its own parser and formatter; shares only facts and register bits with the driver.
/// </summary>
public sealed class GenesysWire : ILineDevice
{
    private const string Terminator = "\r";
    private readonly ILogger _log;
    private readonly Lock _gate = new();
    private readonly GenesysUnitModel[] _units;
    private GenesysUnitModel? _selected;
    private string? _lastCommand;
    private int _failChecksums;

    public GenesysWire(IEnumerable<GenesysUnitModel> units, ILogger? log = null)
    {
        ArgumentNullException.ThrowIfNull(units);
        _units = [.. units];
        if (_units.Length == 0)
        {
            throw new ArgumentException("units is empty; a Genesys line needs at least one unit.", nameof(units));
        }

        var duplicate = _units.GroupBy(u => u.Address).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
        {
            throw new ArgumentException($"units has address {duplicate.Key} {duplicate.Count()} times; each address on a line must be unique.", nameof(units));
        }

        _log = (log ?? Serilog.Core.Logger.None).ForContext<GenesysWire>();
    }

    public string RequestTerminator => Terminator;

    public string ReplyTerminator => Terminator;

    public IReadOnlyList<GenesysUnitModel> Units => _units;

    /// <summary>The unit at <paramref name="address"/>.</summary>
    public GenesysUnitModel this[int address] =>
        _units.FirstOrDefault(u => u.Address == address)
        ?? throw new ArgumentOutOfRangeException(nameof(address), address, $"no unit at address {address} on this line.");

    /// <summary>The unit the last <c>ADR</c> selected, or null.</summary>
    public int? SelectedAddress { get { lock (_gate) { return _selected?.Address; } } }

    /// <summary>Backdoor: the next <paramref name="count"/> addressed requests arrive with a broken checksum (line noise): <c>C04</c>, not executed.</summary>
    public void FailNextChecksums(int count = 1)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        lock (_gate)
        {
            _failChecksums += count;
        }
    }

    public string? Respond(string request)
    {
        ArgumentNullException.ThrowIfNull(request);
        string? reply;
        lock (_gate)
        {
            reply = Handle(ApplyBackspaces(request));
        }

        if (reply is null)
        {
            return null;
        }

        // SRQs waiting on any unit go out ahead of this reply.
        var srq = new StringBuilder();
        foreach (var unit in _units)
        {
            if (unit.TakeServiceRequest())
            {
                srq.Append('!').Append(unit.Address.ToString("00", CultureInfo.InvariantCulture)).Append(Terminator);
            }
        }

        return srq.Length == 0 ? reply : srq.Append(reply).ToString();
    }

    private string? Handle(string line)
    {
        var text = line.Trim();
        if (text == "\\")
        {
            if (_lastCommand is null)
            {
                return _selected is null ? null : "C01";
            }

            text = _lastCommand;
        }

        // Optional checksum "$hh": the sum of the message bytes modulo 256, upper-case hex (rule unverified).
        bool checksumBad = false;
        var dollar = text.LastIndexOf('$');
        if (dollar >= 0 && dollar == text.Length - 3)
        {
            var sum = 0;
            foreach (var c in text.AsSpan(0, dollar))
            {
                sum += c;
            }

            checksumBad = !int.TryParse(text.AsSpan(dollar + 1), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var given)
                || given != (sum & 0xFF);
            text = text[..dollar];
        }

        var space = text.IndexOf(' ', StringComparison.Ordinal);
        var command = (space < 0 ? text : text[..space]).ToUpperInvariant();
        var argument = space < 0 ? null : text[(space + 1)..].Trim();
        if (argument is { Length: 0 })
        {
            argument = null;
        }

        if (command.Length > 0 && command[0] == 'G' && IsGlobal(command))
        {
            Global(command, argument);
            return null;
        }

        if (command == "ADR")
        {
            return Select(argument);
        }

        var unit = _selected;
        if (unit is null)
        {
            return null;
        }

        if (text.Length == 0)
        {
            return "OK";
        }

        if (_failChecksums > 0)
        {
            _failChecksums--;
            return "C04";
        }

        if (checksumBad)
        {
            return "C04";
        }

        _lastCommand = text;
        return Execute(unit, command, argument);
    }

    private string? Select(string? argument)
    {
        if (argument is null)
        {
            return _selected is null ? null : "C02";
        }

        if (!int.TryParse(argument, NumberStyles.None, CultureInfo.InvariantCulture, out var address)
            || address is < GenesysFacts.MinAddress or > GenesysFacts.MaxAddress)
        {
            return _selected is null ? null : "C03";
        }

        _selected = _units.FirstOrDefault(u => u.Address == address);
        _lastCommand = null;
        return _selected is null ? null : "OK";
    }

    private static bool IsGlobal(string command) => command is "GRST" or "GPV" or "GPC" or "GOUT" or "GSAV" or "GRCL";

    private void Global(string command, string? argument)
    {
        _log.Debug("Global command {Command} {Argument}", command, argument);
        foreach (var unit in _units)
        {
            switch (command)
            {
                case "GRST":
                    unit.Reset();
                    break;
                case "GPV" when TryNumber(argument, out var v):
                    unit.SetPv(argument!, v);
                    break;
                case "GPC" when TryNumber(argument, out var a):
                    unit.SetPc(a);
                    break;
                case "GOUT" when TryBoolean(argument, out var on):
                    unit.SetOutput(on);
                    break;
                case "GSAV":
                    unit.Save();
                    break;
                case "GRCL":
                    unit.Recall();
                    break;
                default:
                    // A global command with a bad argument is ignored: it has no way to answer.
                    break;
            }
        }
    }

    private static string Execute(GenesysUnitModel unit, string command, string? argument)
    {
        switch (command)
        {
            case "IDN?":
                return GenesysFacts.Manufacturer + "," + unit.Model.Name;
            case "REV?":
                return "1U:4.2";
            case "SN?":
                return "SIM" + unit.Address.ToString("000000", CultureInfo.InvariantCulture);
            case "DATE?":
                return "01/06/2026";
            case "MDAV?":
                return "1";
            case "CLS":
                unit.ClearEvents();
                return "OK";
            case "RST":
                return Setting(unit, () => { unit.Reset(); return null; });
            case "RMT":
                return argument?.ToUpperInvariant() switch
                {
                    null => "C02",
                    "0" or "LOC" => unit.SetRemote(GenesysRemoteMode.Local) ?? "OK",
                    "1" or "REM" => unit.SetRemote(GenesysRemoteMode.Remote) ?? "OK",
                    "2" or "LLO" => unit.SetRemote(GenesysRemoteMode.LocalLockout) ?? "OK",
                    _ => "C03",
                };
            case "RMT?":
                return unit.StatusCondition.HasFlag(GenesysStatus.Local) ? "LOC"
                    : unit.RemoteMode == GenesysRemoteMode.LocalLockout ? "LLO" : "REM";
            case "PV":
                return NumberSetting(unit, argument, v => unit.SetPv(argument!, v));
            case "PV?":
                return unit.PvText;
            case "PC":
                return NumberSetting(unit, argument, unit.SetPc);
            case "PC?":
                return Format(unit.Pc, "0.00");
            case "MV?":
                return Format(unit.MeasuredVolts, "0.000");
            case "MC?":
                return Format(unit.MeasuredAmps, "0.00");
            case "MODE?":
                return unit.Mode switch
                {
                    GenesysMode.ConstantCurrent => "CC",
                    GenesysMode.ConstantVoltage => "CV",
                    _ => "OFF",
                };
            case "OUT":
                return BooleanSetting(unit, argument, unit.SetOutput);
            case "OUT?":
                return unit.OutputOn ? "ON" : "OFF";
            case "FLD":
                return BooleanSetting(unit, argument, on => { unit.SetFoldback(on); return null; });
            case "FLD?":
                return unit.Foldback ? "ON" : "OFF";
            case "AST":
                return BooleanSetting(unit, argument, on => { unit.SetAutoRestart(on); return null; });
            case "AST?":
                return unit.AutoRestart ? "ON" : "OFF";
            case "OVP":
                return NumberSetting(unit, argument, unit.SetOvp);
            case "OVP?":
                return Format(unit.Ovp, "0.00");
            case "OVM":
                return Setting(unit, () => { unit.SetOvpMaximum(); return null; });
            case "UVL":
                return NumberSetting(unit, argument, unit.SetUvl);
            case "UVL?":
                return Format(unit.Uvl, "0.00");
            case "SAV":
                unit.Save();
                return "OK";
            case "RCL":
                return Setting(unit, () => { unit.Recall(); return null; });
            case "STT?":
                return string.Create(CultureInfo.InvariantCulture,
                    $"MV({Format(unit.MeasuredVolts, "0.000")}),PV({unit.PvText}),MC({Format(unit.MeasuredAmps, "0.00")}),PC({Format(unit.Pc, "0.00")}),SR({(int)unit.StatusCondition:X2}),FR({(int)unit.FaultCondition:X2})");
            case "STAT?":
                return Hex((int)unit.StatusCondition);
            case "SEVE?":
                return Hex((int)unit.TakeStatusEvents());
            case "SENA":
                return HexSetting(argument, unit.SetStatusEnable);
            case "SENA?":
                return Hex(unit.StatusEnable);
            case "FLT?":
                return Hex((int)unit.FaultCondition);
            case "FEVE?":
                return Hex((int)unit.TakeFaultEvents());
            case "FENA":
                return HexSetting(argument, unit.SetFaultEnable);
            case "FENA?":
                return Hex(unit.FaultEnable);
            default:
                return "C01";
        }
    }

    /// <summary>A setting, refused with <c>C03</c> while the unit is local (our choice: the manual gives no code).</summary>
    private static string Setting(GenesysUnitModel unit, Func<string?> apply) =>
        !unit.AcceptsSettings ? "C03" : apply() ?? "OK";

    private static string NumberSetting(GenesysUnitModel unit, string? argument, Func<double, string?> apply)
    {
        if (argument is null)
        {
            return "C02";
        }

        if (!TryNumber(argument, out var value))
        {
            return "C03";
        }

        return Setting(unit, () => apply(value));
    }

    private static string BooleanSetting(GenesysUnitModel unit, string? argument, Func<bool, string?> apply)
    {
        if (argument is null)
        {
            return "C02";
        }

        return TryBoolean(argument, out var on) ? Setting(unit, () => apply(on)) : "C03";
    }

    private static string HexSetting(string? argument, Action<int> apply)
    {
        if (argument is null)
        {
            return "C02";
        }

        if (argument.Length is < 1 or > 2 || !int.TryParse(argument, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var mask))
        {
            return "C03";
        }

        apply(mask);
        return "OK";
    }

    /// <summary>Plain decimal, base 10, invariant culture, at most 12 characters (a leading zero is not octal).</summary>
    private static bool TryNumber(string? text, out double value)
    {
        value = 0;
        return text is { Length: > 0 and <= GenesysFacts.MaxNumericArgumentLength }
            && double.TryParse(text, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out value)
            && double.IsFinite(value);
    }

    private static bool TryBoolean(string? text, out bool on)
    {
        switch (text?.ToUpperInvariant())
        {
            case "1" or "ON":
                on = true;
                return true;
            case "0" or "OFF":
                on = false;
                return true;
            default:
                on = false;
                return false;
        }
    }

    private static string Format(double value, string format) => value.ToString(format, CultureInfo.InvariantCulture);

    private static string Hex(int value) => value.ToString("X2", CultureInfo.InvariantCulture);

    /// <summary>Backspace (0x08) deletes the character before it (a terminal convenience, §3.1).</summary>
    private static string ApplyBackspaces(string line)
    {
        if (!line.Contains('\b', StringComparison.Ordinal))
        {
            return line;
        }

        var kept = new StringBuilder(line.Length);
        foreach (var c in line)
        {
            if (c == '\b')
            {
                if (kept.Length > 0)
                {
                    kept.Length--;
                }
            }
            else
            {
                kept.Append(c);
            }
        }

        return kept.ToString();
    }
}
