using NA64.Hardware.Transport;

namespace NA64.Hardware.Magnets.Genesys;

/// <summary>Status register bits (device-protocols.md §3.4): <c>STAT?</c>, <c>SENA</c>, <c>SEVE?</c>.</summary>
[Flags]
public enum GenesysStatus
{
    None = 0,
    ConstantVoltage = 0x01,
    ConstantCurrent = 0x02,
    NoFault = 0x04,
    Fault = 0x08,
    AutoRestart = 0x10,
    FoldbackEnabled = 0x20,
    Spare = 0x40,
    Local = 0x80,
}

/// <summary>Fault register bits (device-protocols.md §3.4): <c>FLT?</c>, <c>FENA</c>, <c>FEVE?</c>.</summary>
[Flags]
public enum GenesysFault
{
    None = 0,
    Spare = 0x01,
    AcFailure = 0x02,
    OverTemperature = 0x04,
    Foldback = 0x08,
    OverVoltage = 0x10,
    ShutOff = 0x20,
    FrontPanelOff = 0x40,
    EnableOpen = 0x80,
}

/// <summary>What a Genesys reports in <c>MODE?</c>.</summary>
public enum GenesysMode
{
    Off,
    ConstantVoltage,
    ConstantCurrent,
}

/// <summary>The form of the reply a command gets.</summary>
public enum GenesysReplyForm
{
    /// <summary><c>OK</c> or an error code.</summary>
    Ok,

    /// <summary>A decimal number (invariant culture, no exponent).</summary>
    Number,

    /// <summary>Two hex digits (a register).</summary>
    Hex,

    /// <summary>One word out of a fixed set (<c>MODE?</c>, <c>OUT?</c>, <c>RMT?</c>).</summary>
    Word,

    /// <summary>Text the driver does not interpret beyond <c>IDN?</c>.</summary>
    Text,

    /// <summary>Global commands: never answered.</summary>
    None,
}

/// <summary>One row of the command table: the mnemonic as sent and the reply it gets.</summary>
public sealed record GenesysCommand(string Mnemonic, GenesysReplyForm Reply, string Description)
{
    /// <summary>The request line, e.g. <c>PC 100</c> (argument already formatted) or <c>MC?</c>.</summary>
    public string Format(string? argument = null) => argument is null ? Mnemonic : Mnemonic + " " + argument;

    public override string ToString() => Mnemonic;
}

/// <summary>
/// The TDK-Lambda Genesys protocol as data (device-protocols.md §3): commands with their reply forms, the
/// framing, the timeouts, the SRQ form. The codec and the driver read it.
/// </summary>
public static class GenesysProtocol
{
    /// <summary>
    /// Default time to wait for one reply. Not from the manual: our choice. At 9600 baud a 10-byte reply takes
    /// 10 ms; the supply answers within tens of milliseconds.
    /// </summary>
    public static readonly TimeSpan DefaultReplyTimeout = TimeSpan.FromMilliseconds(500);

    /// <summary>The acknowledgement of a command that was accepted.</summary>
    public const string Ok = "OK";

    /// <summary>First character of an unsolicited service request line <c>!nn</c>.</summary>
    public const char SrqPrefix = '!';

    /// <summary>True for an SRQ line: <c>!</c> then the unit's two-digit address (assumed form, unverified).</summary>
    public static bool IsSrq(string line) => line.Length > 0 && line[0] == SrqPrefix;

    private static readonly Func<string, bool> SrqPredicate = IsSrq;

    /// <summary>CR on requests and replies; SRQ lines are routed out of the request/reply stream.</summary>
    public static LineFraming Framing { get; } = LineFraming.Cr with { IsUnsolicited = SrqPredicate };

    public static readonly GenesysCommand Adr = new("ADR", GenesysReplyForm.Ok, "select the unit (0..30)");
    public static readonly GenesysCommand Cls = new("CLS", GenesysReplyForm.Ok, "clear the status and fault event registers");
    public static readonly GenesysCommand Rst = new("RST", GenesysReplyForm.Ok, "safe state: output off, 0 V, 0 A, OVP max (the driver never sends it)");
    public static readonly GenesysCommand Rmt = new("RMT", GenesysReplyForm.Ok, "0 local, 1 remote, 2 local lockout");
    public static readonly GenesysCommand RmtQuery = new("RMT?", GenesysReplyForm.Word, "LOC, REM or LLO");
    public static readonly GenesysCommand Idn = new("IDN?", GenesysReplyForm.Text, "LAMBDA,GEN<V>-<I>");
    public static readonly GenesysCommand Rev = new("REV?", GenesysReplyForm.Text, "firmware revision");
    public static readonly GenesysCommand Sn = new("SN?", GenesysReplyForm.Text, "serial number");
    public static readonly GenesysCommand Pv = new("PV", GenesysReplyForm.Ok, "voltage setpoint (the compliance for a magnet)");
    public static readonly GenesysCommand PvQuery = new("PV?", GenesysReplyForm.Number, "voltage setpoint, the string as sent");
    public static readonly GenesysCommand Pc = new("PC", GenesysReplyForm.Ok, "current setpoint");
    public static readonly GenesysCommand PcQuery = new("PC?", GenesysReplyForm.Number, "current setpoint");
    public static readonly GenesysCommand MvQuery = new("MV?", GenesysReplyForm.Number, "measured voltage");
    public static readonly GenesysCommand McQuery = new("MC?", GenesysReplyForm.Number, "measured current");
    public static readonly GenesysCommand ModeQuery = new("MODE?", GenesysReplyForm.Word, "CV, CC or OFF");
    public static readonly GenesysCommand Out = new("OUT", GenesysReplyForm.Ok, "output enable 1|0");
    public static readonly GenesysCommand OutQuery = new("OUT?", GenesysReplyForm.Word, "ON or OFF");
    public static readonly GenesysCommand StatQuery = new("STAT?", GenesysReplyForm.Hex, "status condition register");
    public static readonly GenesysCommand SeveQuery = new("SEVE?", GenesysReplyForm.Hex, "status event register (cleared on read)");
    public static readonly GenesysCommand FltQuery = new("FLT?", GenesysReplyForm.Hex, "fault condition register");
    public static readonly GenesysCommand FeveQuery = new("FEVE?", GenesysReplyForm.Hex, "fault event register (cleared on read)");
    public static readonly GenesysCommand Sena = new("SENA", GenesysReplyForm.Ok, "status enable mask");
    public static readonly GenesysCommand Fena = new("FENA", GenesysReplyForm.Ok, "fault enable mask");

    /// <summary>Words of <c>MODE?</c>, indexed by <see cref="GenesysMode"/>.</summary>
    public static IReadOnlyList<string> ModeWords { get; } = ["OFF", "CV", "CC"];

    /// <summary>Words of <c>OUT?</c>: off, on (the form is unverified; <c>0</c>/<c>1</c> are accepted too).</summary>
    public static IReadOnlyList<string> OutWords { get; } = ["OFF", "ON"];

    /// <summary>Meaning of each command error code (§3.2).</summary>
    public static IReadOnlyDictionary<string, string> CommandErrors { get; } = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["C01"] = "illegal command or query",
        ["C02"] = "missing parameter",
        ["C03"] = "illegal parameter",
        ["C04"] = "checksum error",
        ["C05"] = "setting out of range",
    };

    /// <summary>Meaning of each execution error code (§3.2).</summary>
    public static IReadOnlyDictionary<string, string> ExecutionErrors { get; } = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["E01"] = "PV above range (above 105 % of the rating or 95 % of OVP)",
        ["E02"] = "PV below the UVL setting",
        ["E04"] = "OVP programmed below the margin above PV",
        ["E06"] = "UVL programmed above PV",
        ["E07"] = "output ON refused during a fault shutdown",
    };

    /// <summary>Faults that shut the output down and make <c>OUT 1</c> answer E07 while they persist.</summary>
    public const GenesysFault ShutdownFaults =
        GenesysFault.AcFailure | GenesysFault.OverTemperature | GenesysFault.Foldback | GenesysFault.OverVoltage
        | GenesysFault.ShutOff | GenesysFault.EnableOpen;
}
