using NA64.Hardware.Hv.CaenN1470;
using System.Collections.Frozen;
using System.Globalization;

namespace NA64.Simulators.Hv.CaenN1470;

/// <summary>What a SET of a parameter carries.</summary>
internal enum CaenSetKind
{
    /// <summary>MON only; a SET is <c>PAR:ERR</c>.</summary>
    MonOnly,

    /// <summary>SET without VAL (ON, OFF, BDCLR).</summary>
    NoValue,

    /// <summary>SET with a number, checked against a range and its decimals.</summary>
    Number,

    /// <summary>SET with one of a fixed set of keywords.</summary>
    Keyword,
}

/// <summary>
/// One row of the parameter table (device-protocols.md §1.4, §1.5): how the parameter is read, formatted and
/// written. The wire interprets the table; the model does the physics.
/// </summary>
internal sealed record CaenParameter(string Name, bool OnChannel, CaenSetKind Set)
{
    /// <summary>MON value of a channel parameter; null for SET-only parameters.</summary>
    public Func<CaenN1470Channel, string>? ReadChannel { get; init; }

    /// <summary>MON value of a board parameter; null for SET-only parameters.</summary>
    public Func<CaenN1470BoardModel, string>? ReadBoard { get; init; }

    /// <summary>The numeric setting a <see cref="CaenSetKind.Number"/> SET writes, and its range.</summary>
    public CaenSetting Setting { get; init; }

    public Func<CaenN1470Personality, CaenRange>? Range { get; init; }

    /// <summary>Keyword SET: keyword → action on the channel (or board, channel null).</summary>
    public FrozenDictionary<string, Action<CaenN1470BoardModel, CaenN1470Channel?>>? Keywords { get; init; }

    /// <summary>SET without VAL.</summary>
    public Action<CaenN1470BoardModel, CaenN1470Channel?>? Command { get; init; }

    public bool CanMon => ReadChannel is not null || ReadBoard is not null;
}

/// <summary>The CAEN N1470 protocol as data: reply formats and the parameter table.</summary>
internal static class CaenN1470Protocol
{
    public const string Terminator = "\r\n";

    // Reply formats of §1.4 (.NET custom formats equivalent to the C printf formats seen on the wire).
    public const string VoltageFormat = "0000.0";
    public const string CurrentFormat = "0000.00";
    public const string CurrentLowRangeFormat = "0000.000";
    public const string MaxVoltageFormat = "0000";
    public const string RampFormat = "000";
    public const string TripFormat = "0000.0";
    public const string StatusFormat = "00000";
    public const string AlarmFormat = "00000";

    public static FrozenDictionary<string, CaenParameter> Parameters { get; } = Build().ToFrozenDictionary(p => p.Name, StringComparer.Ordinal);

    public static string Format(double value, string format) => value.ToString(format, CultureInfo.InvariantCulture);

    private static string Count(int value) => value.ToString(CultureInfo.InvariantCulture);

    private static IEnumerable<CaenParameter> Build()
    {
        // Channel parameters, §1.4.
        yield return Numeric("VSET", CaenSetting.VSet, p => p.Voltage, c => Format(c.VSet, VoltageFormat));
        yield return Numeric("ISET", CaenSetting.ISet, p => p.Current, c => Format(c.ISet, CurrentFormat));
        yield return Numeric("MAXV", CaenSetting.MaxV, p => p.MaxVoltage, c => Format(c.MaxV, MaxVoltageFormat));
        yield return Numeric("RUP", CaenSetting.RampUp, p => p.RampUp, c => Format(c.RampUp, RampFormat));
        yield return Numeric("RDW", CaenSetting.RampDown, p => p.RampDown, c => Format(c.RampDown, RampFormat));
        yield return Numeric("TRIP", CaenSetting.Trip, p => p.Trip, c => Format(c.TripTime, TripFormat));
        foreach (var p in RangeRows("V", "VDEC", p => p.Voltage, VoltageFormat))
        {
            yield return p;
        }

        foreach (var p in RangeRows("I", "ISDEC", p => p.Current, CurrentFormat))
        {
            yield return p;
        }

        foreach (var p in RangeRows("MV", "MVDEC", p => p.MaxVoltage, MaxVoltageFormat))
        {
            yield return p;
        }

        foreach (var p in RangeRows("RUP", "RUPDEC", p => p.RampUp, RampFormat))
        {
            yield return p;
        }

        foreach (var p in RangeRows("RDW", "RDWDEC", p => p.RampDown, RampFormat))
        {
            yield return p;
        }

        foreach (var p in RangeRows("TRIP", "TRIPDEC", p => p.Trip, TripFormat))
        {
            yield return p;
        }

        yield return ChannelMon("VMON", c => Format(c.VMon, VoltageFormat));
        yield return ChannelMon("IMON", c => c.CurrentRange == CaenCurrentMonitorRange.High
            ? Format(c.IMon, CurrentFormat)
            : Format(c.IMon, CurrentLowRangeFormat));
        yield return ChannelMon("IMDEC", c => Count(c.CurrentRange == CaenCurrentMonitorRange.High
            ? BoardOf(c).Personality.MonitorDecimalsHigh
            : BoardOf(c).Personality.MonitorDecimalsLow));
        yield return ChannelMon("POL", c => c.Polarity == '+' ? "+" : "-");
        yield return ChannelMon("STAT", c => Format((int)c.Status, StatusFormat));
        yield return new CaenParameter("IMRANGE", true, CaenSetKind.Keyword)
        {
            ReadChannel = c => c.CurrentRange == CaenCurrentMonitorRange.High ? "HIGH" : "LOW",
            Keywords = Keywords(
                ("HIGH", (_, c) => c!.SetCurrentRange(CaenCurrentMonitorRange.High)),
                ("LOW", (_, c) => c!.SetCurrentRange(CaenCurrentMonitorRange.Low))),
        };
        yield return new CaenParameter("PDWN", true, CaenSetKind.Keyword)
        {
            ReadChannel = c => c.PowerDown == CaenPowerDownMode.Ramp ? "RAMP" : "KILL",
            Keywords = Keywords(
                ("RAMP", (_, c) => c!.SetPowerDown(CaenPowerDownMode.Ramp)),
                ("KILL", (_, c) => c!.SetPowerDown(CaenPowerDownMode.Kill))),
        };
        yield return new CaenParameter("ON", true, CaenSetKind.NoValue) { Command = (_, c) => c!.SwitchOn() };
        yield return new CaenParameter("OFF", true, CaenSetKind.NoValue) { Command = (_, c) => c!.SwitchOff() };

        // Board parameters, §1.5.
        yield return BoardMon("BDNAME", b => b.Personality.BoardName);
        yield return BoardMon("BDNCH", b => Count(b.Personality.ChannelCount));
        yield return BoardMon("BDFREL", b => b.Personality.FirmwareRelease);
        yield return BoardMon("BDSNUM", b => b.Personality.SerialNumber);
        yield return BoardMon("BDILK", b => b.InterlockActive ? "YES" : "NO");
        yield return BoardMon("BDCTR", b => b.IsLocal ? "LOCAL" : "REMOTE");
        yield return BoardMon("BDTERM", b => b.Personality.Terminated ? "ON" : "OFF");
        yield return BoardMon("BDALARM", b => Format((int)b.Alarm, AlarmFormat));
        yield return new CaenParameter("BDILKM", false, CaenSetKind.Keyword)
        {
            ReadBoard = b => b.InterlockMode == CaenInterlockState.Open ? "OPEN" : "CLOSED",
            Keywords = Keywords(
                ("OPEN", (b, _) => b.SetInterlockMode(CaenInterlockState.Open)),
                ("CLOSED", (b, _) => b.SetInterlockMode(CaenInterlockState.Closed))),
        };
        yield return new CaenParameter("BDCLR", false, CaenSetKind.NoValue) { Command = (b, _) => b.ClearAlarms() };
    }

    private static CaenParameter Numeric(string name, CaenSetting setting, Func<CaenN1470Personality, CaenRange> range, Func<CaenN1470Channel, string> read) =>
        new(name, true, CaenSetKind.Number) { Setting = setting, Range = range, ReadChannel = read };

    /// <summary>The *MIN, *MAX and *DEC rows of one setting (MIN/MAX in the setting's format, DEC as a count).</summary>
    private static IEnumerable<CaenParameter> RangeRows(string prefix, string decName, Func<CaenN1470Personality, CaenRange> range, string format)
    {
        yield return ChannelMon(prefix + "MIN", c => Format(range(BoardOf(c).Personality).Min, format));
        yield return ChannelMon(prefix + "MAX", c => Format(range(BoardOf(c).Personality).Max, format));
        yield return ChannelMon(decName, c => Count(range(BoardOf(c).Personality).Decimals));
    }

    private static CaenParameter ChannelMon(string name, Func<CaenN1470Channel, string> read) =>
        new(name, true, CaenSetKind.MonOnly) { ReadChannel = read };

    private static CaenParameter BoardMon(string name, Func<CaenN1470BoardModel, string> read) =>
        new(name, false, CaenSetKind.MonOnly) { ReadBoard = read };

    private static FrozenDictionary<string, Action<CaenN1470BoardModel, CaenN1470Channel?>> Keywords(
        params (string Keyword, Action<CaenN1470BoardModel, CaenN1470Channel?> Apply)[] rows) =>
        rows.ToFrozenDictionary(r => r.Keyword, r => r.Apply, StringComparer.Ordinal);

    private static CaenN1470BoardModel BoardOf(CaenN1470Channel channel) => channel.Board;
}
