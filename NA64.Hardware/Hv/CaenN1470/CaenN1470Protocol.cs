using System.Globalization;

namespace NA64.Hardware.Hv.CaenN1470;

/// <summary>Whether a parameter addresses one channel (request carries <c>CH</c>) or the whole board (no <c>CH</c>).</summary>
public enum CaenScope
{
    Channel,
    Board,
}

/// <summary>What the <c>VAL</c> field of a parameter holds.</summary>
public enum CaenValueKind
{
    /// <summary>No value: SET-only commands such as <c>ON</c>, <c>OFF</c>, <c>BDCLR</c>.</summary>
    None,

    /// <summary>A base-10 decimal number, zero-padded on the wire.</summary>
    Number,

    /// <summary>One word out of a fixed set, e.g. <c>RAMP</c>/<c>KILL</c>.</summary>
    Keyword,

    /// <summary>Free text the driver does not interpret (model name, firmware, serial number).</summary>
    Text,
}

/// <summary>
/// One row of the CAEN N1470 parameter table (device-protocols.md §1.4, §1.5). The table is data: the codec and
/// the driver read it, and so can a simulator that speaks the same bytes.
/// </summary>
public sealed class CaenParameter
{
    internal CaenParameter(
        string mnemonic,
        CaenScope scope,
        bool canMonitor,
        bool canSet,
        CaenValueKind kind,
        string unit,
        string? wireFormat = null,
        IReadOnlyList<string>? keywords = null,
        string? minParameter = null,
        string? maxParameter = null,
        string? decimalsParameter = null,
        string description = "")
    {
        Mnemonic = mnemonic;
        Scope = scope;
        CanMonitor = canMonitor;
        CanSet = canSet;
        Kind = kind;
        Unit = unit;
        WireFormat = wireFormat;
        Keywords = keywords ?? [];
        MinParameter = minParameter;
        MaxParameter = maxParameter;
        DecimalsParameter = decimalsParameter;
        Description = description;
        WireDecimals = wireFormat is null ? 0 : DecimalsOf(wireFormat);
    }

    /// <summary>Upper-case mnemonic sent in the <c>PAR</c> field.</summary>
    public string Mnemonic { get; }

    public CaenScope Scope { get; }

    /// <summary><c>CMD:MON</c> allowed.</summary>
    public bool CanMonitor { get; }

    /// <summary><c>CMD:SET</c> allowed.</summary>
    public bool CanSet { get; }

    public CaenValueKind Kind { get; }

    /// <summary>Physical unit ("V", "uA", "V/s", "s"), "count" for decimal counts, "bits" for bit fields, "" otherwise.</summary>
    public string Unit { get; }

    /// <summary>.NET custom numeric format equivalent to the firmware's printf format in replies (numbers only).</summary>
    public string? WireFormat { get; }

    /// <summary>Decimals of <see cref="WireFormat"/>; the resolution assumed when the board does not report a DEC parameter.</summary>
    public int WireDecimals { get; }

    /// <summary>Allowed words for <see cref="CaenValueKind.Keyword"/> parameters, exactly as on the wire.</summary>
    public IReadOnlyList<string> Keywords { get; }

    /// <summary>Parameter that reports the lower limit of a SET value (e.g. <c>VMIN</c> for <c>VSET</c>).</summary>
    public string? MinParameter { get; }

    /// <summary>Parameter that reports the upper limit of a SET value (e.g. <c>VMAX</c> for <c>VSET</c>).</summary>
    public string? MaxParameter { get; }

    /// <summary>Parameter that reports the number of decimals of the value (e.g. <c>VDEC</c> for <c>VSET</c>).</summary>
    public string? DecimalsParameter { get; }

    public string Description { get; }

    /// <summary>Formats a number as the firmware does in a reply (what a byte-exact simulator must send).</summary>
    public string FormatWireValue(double value) =>
        Kind == CaenValueKind.Number && WireFormat is not null
            ? value.ToString(WireFormat, CultureInfo.InvariantCulture)
            : throw new InvalidOperationException($"{Mnemonic} is not a number parameter with a wire format");

    public override string ToString() => Mnemonic;

    private static int DecimalsOf(string format)
    {
        int dot = format.IndexOf('.', StringComparison.Ordinal);
        return dot < 0 ? 0 : format.Length - dot - 1;
    }
}

/// <summary>
/// The CAEN N1470/N1471/NDT1470/DT1470ET parameter table and protocol constants (device-protocols.md §1).
/// Wire formats are confirmed on a DT1470ET with firmware 1.08 only; formats of the range and DEC parameters are
/// assumed like their value parameter (unverified).
/// </summary>
public static class CaenN1470Protocol
{
    /// <summary>Highest module address on an RS-485 chain (32 modules, 0..31).</summary>
    public const int MaxBoardAddress = 31;

    /// <summary>Default time to wait for one reply line. Not from the manual: our choice, a setting in <see cref="CaenN1470Options"/>.</summary>
    public static readonly TimeSpan DefaultReplyTimeout = TimeSpan.FromMilliseconds(500);

    /// <summary>TCP port of the NDT1470 raw socket interface.</summary>
    public const int NdtTcpPort = 1470;

    /// <summary>
    /// Smallest VSET step: VSET has one decimal on the wire (format <c>0000.0</c>, VDEC 1 on every N1470-family
    /// model). Used before <c>InitializeAsync</c> has read VDEC.
    /// </summary>
    public const double VoltageResolution = 0.1;

    private const CaenScope Ch = CaenScope.Channel;
    private const CaenScope Bd = CaenScope.Board;
    private const CaenValueKind Num = CaenValueKind.Number;
    private const CaenValueKind Key = CaenValueKind.Keyword;

    // Channel parameters, §1.4.
    public static readonly CaenParameter VSet = new("VSET", Ch, true, true, Num, "V", "0000.0", null, "VMIN", "VMAX", "VDEC", "voltage setpoint (magnitude; polarity is a hardware setting)");
    public static readonly CaenParameter VMin = new("VMIN", Ch, true, false, Num, "V", "0000.0", description: "lowest VSET");
    public static readonly CaenParameter VMax = new("VMAX", Ch, true, false, Num, "V", "0000.0", description: "highest VSET");
    public static readonly CaenParameter VDec = new("VDEC", Ch, true, false, Num, "count", "0", description: "decimals of VSET");
    public static readonly CaenParameter VMon = new("VMON", Ch, true, false, Num, "V", "0000.0", description: "measured voltage");
    public static readonly CaenParameter ISet = new("ISET", Ch, true, true, Num, "uA", "0000.00", null, "IMIN", "IMAX", "ISDEC", "current limit");
    public static readonly CaenParameter IMin = new("IMIN", Ch, true, false, Num, "uA", "0000.00", description: "lowest ISET");
    public static readonly CaenParameter IMax = new("IMAX", Ch, true, false, Num, "uA", "0000.00", description: "highest ISET");
    public static readonly CaenParameter ISDec = new("ISDEC", Ch, true, false, Num, "count", "0", description: "decimals of ISET");
    public static readonly CaenParameter IMon = new("IMON", Ch, true, false, Num, "uA", "0000.00", null, null, null, "IMDEC", "measured current (3 decimals in the LOW range)");
    public static readonly CaenParameter IMRange = new("IMRANGE", Ch, true, true, Key, "", null, ["HIGH", "LOW"], description: "current monitor range");
    public static readonly CaenParameter IMDec = new("IMDEC", Ch, true, false, Num, "count", "0", description: "decimals of IMON: 2 in HIGH, 3 in LOW");
    public static readonly CaenParameter MaxV = new("MAXV", Ch, true, true, Num, "V", "0000", null, "MVMIN", "MVMAX", "MVDEC", "voltage limit");
    public static readonly CaenParameter MVMin = new("MVMIN", Ch, true, false, Num, "V", "0000", description: "lowest MAXV");
    public static readonly CaenParameter MVMax = new("MVMAX", Ch, true, false, Num, "V", "0000", description: "highest MAXV");
    public static readonly CaenParameter MVDec = new("MVDEC", Ch, true, false, Num, "count", "0", description: "decimals of MAXV");
    public static readonly CaenParameter RUp = new("RUP", Ch, true, true, Num, "V/s", "000", null, "RUPMIN", "RUPMAX", "RUPDEC", "ramp-up rate");
    public static readonly CaenParameter RUpMin = new("RUPMIN", Ch, true, false, Num, "V/s", "000", description: "lowest RUP");
    public static readonly CaenParameter RUpMax = new("RUPMAX", Ch, true, false, Num, "V/s", "000", description: "highest RUP");
    public static readonly CaenParameter RUpDec = new("RUPDEC", Ch, true, false, Num, "count", "0", description: "decimals of RUP");
    public static readonly CaenParameter RDw = new("RDW", Ch, true, true, Num, "V/s", "000", null, "RDWMIN", "RDWMAX", "RDWDEC", "ramp-down rate");
    public static readonly CaenParameter RDwMin = new("RDWMIN", Ch, true, false, Num, "V/s", "000", description: "lowest RDW");
    public static readonly CaenParameter RDwMax = new("RDWMAX", Ch, true, false, Num, "V/s", "000", description: "highest RDW");
    public static readonly CaenParameter RDwDec = new("RDWDEC", Ch, true, false, Num, "count", "0", description: "decimals of RDW");
    public static readonly CaenParameter Trip = new("TRIP", Ch, true, true, Num, "s", "0000.0", null, "TRIPMIN", "TRIPMAX", "TRIPDEC", "over-current time before trip");
    public static readonly CaenParameter TripMin = new("TRIPMIN", Ch, true, false, Num, "s", "0000.0", description: "lowest TRIP");
    public static readonly CaenParameter TripMax = new("TRIPMAX", Ch, true, false, Num, "s", "0000.0", description: "highest TRIP");
    public static readonly CaenParameter TripDec = new("TRIPDEC", Ch, true, false, Num, "count", "0", description: "decimals of TRIP");
    public static readonly CaenParameter PDwn = new("PDWN", Ch, true, true, Key, "", null, ["RAMP", "KILL"], description: "power-down mode");
    public static readonly CaenParameter Pol = new("POL", Ch, true, false, Key, "", null, ["+", "-"], description: "polarity (hardware)");
    public static readonly CaenParameter Stat = new("STAT", Ch, true, false, Num, "bits", "00000", description: "channel status word");
    public static readonly CaenParameter On = new("ON", Ch, false, true, CaenValueKind.None, "", description: "switch on (also clears a latched TRIP)");
    public static readonly CaenParameter Off = new("OFF", Ch, false, true, CaenValueKind.None, "", description: "switch off following PDWN");

    // Board parameters, §1.5.
    public static readonly CaenParameter BdName = new("BDNAME", Bd, true, false, CaenValueKind.Text, "", description: "model name");
    public static readonly CaenParameter BdNch = new("BDNCH", Bd, true, false, Num, "count", "0", description: "number of channels");
    public static readonly CaenParameter BdFrel = new("BDFREL", Bd, true, false, CaenValueKind.Text, "", description: "firmware release");
    public static readonly CaenParameter BdSnum = new("BDSNUM", Bd, true, false, CaenValueKind.Text, "", description: "serial number");
    public static readonly CaenParameter BdIlk = new("BDILK", Bd, true, false, Key, "", null, ["YES", "NO"], description: "interlock active");
    public static readonly CaenParameter BdIlkm = new("BDILKM", Bd, true, true, Key, "", null, ["OPEN", "CLOSED"], description: "interlock mode");
    public static readonly CaenParameter BdCtr = new("BDCTR", Bd, true, false, Key, "", null, ["LOCAL", "REMOTE"], description: "control mode (front panel)");
    public static readonly CaenParameter BdTerm = new("BDTERM", Bd, true, false, Key, "", null, ["ON", "OFF"], description: "RS-485 termination");
    public static readonly CaenParameter BdAlarm = new("BDALARM", Bd, true, false, Num, "bits", "0", description: "board alarm word (padding unverified)");
    public static readonly CaenParameter BdClr = new("BDCLR", Bd, false, true, CaenValueKind.None, "", description: "clear alarms");

    /// <summary>Every parameter of §1.4 and §1.5, channel parameters first.</summary>
    public static IReadOnlyList<CaenParameter> All { get; } =
    [
        VSet, VMin, VMax, VDec, VMon, ISet, IMin, IMax, ISDec, IMon, IMRange, IMDec,
        MaxV, MVMin, MVMax, MVDec, RUp, RUpMin, RUpMax, RUpDec, RDw, RDwMin, RDwMax, RDwDec,
        Trip, TripMin, TripMax, TripDec, PDwn, Pol, Stat, On, Off,
        BdName, BdNch, BdFrel, BdSnum, BdIlk, BdIlkm, BdCtr, BdTerm, BdAlarm, BdClr,
    ];

    private static readonly Dictionary<string, CaenParameter> ByMnemonic =
        All.ToDictionary(p => p.Mnemonic, StringComparer.Ordinal);

    /// <summary>Looks a parameter up by its exact upper-case mnemonic.</summary>
    public static bool TryFind(string mnemonic, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out CaenParameter? parameter) =>
        ByMnemonic.TryGetValue(mnemonic, out parameter);

    /// <summary>Looks a parameter up by its exact upper-case mnemonic; unknown names throw, naming the known ones.</summary>
    public static CaenParameter Find(string mnemonic) =>
        TryFind(mnemonic, out var parameter)
            ? parameter
            : throw new ArgumentException(
                $"Unknown CAEN N1470 parameter '{mnemonic}'; known: {string.Join(", ", All.Select(p => p.Mnemonic))}",
                nameof(mnemonic));
}
