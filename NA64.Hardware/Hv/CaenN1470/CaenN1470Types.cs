namespace NA64.Hardware.Hv.CaenN1470;

/// <summary>
/// The <c>STAT</c> word of one channel, bit values as in the manual (device-protocols.md §1.6). A device fact shared
/// with the simulator; the driver maps it onto the kind-neutral <see cref="HvChannelStatus"/> in
/// <see cref="CaenN1470Codec.DecodeStatus"/>.
/// </summary>
[Flags]
public enum CaenChannelStatus
{
    None = 0,

    /// <summary>ON.</summary>
    On = 0x0001,

    /// <summary>RUP.</summary>
    RampingUp = 0x0002,

    /// <summary>RDW.</summary>
    RampingDown = 0x0004,

    /// <summary>OVC: IMON at ISET.</summary>
    OverCurrent = 0x0008,

    /// <summary>OVV.</summary>
    OverVoltage = 0x0010,

    /// <summary>UNV.</summary>
    UnderVoltage = 0x0020,

    /// <summary>MAXV: output held at the hardware limit.</summary>
    MaxVoltage = 0x0040,

    /// <summary>TRIP: latched until ON or BDCLR.</summary>
    Tripped = 0x0080,

    /// <summary>OVP.</summary>
    OverPower = 0x0100,

    /// <summary>OVT.</summary>
    OverTemperature = 0x0200,

    /// <summary>DIS: channel switch on the front panel off.</summary>
    Disabled = 0x0400,

    /// <summary>KILL input active.</summary>
    Killed = 0x0800,

    /// <summary>ILK: interlock.</summary>
    Interlock = 0x1000,

    /// <summary>NOCAL: calibration error.</summary>
    CalibrationError = 0x2000,
}

/// <summary>The <c>BDALARM</c> word (device-protocols.md §1.7). Bits this driver does not know are kept as they come.</summary>
[Flags]
public enum CaenBoardAlarm
{
    None = 0,
    Channel0 = 0x01,
    Channel1 = 0x02,
    Channel2 = 0x04,
    Channel3 = 0x08,

    /// <summary>PWFAIL: power fail.</summary>
    PowerFail = 0x10,

    /// <summary>OVP: output power above maximum.</summary>
    OverPower = 0x20,

    /// <summary>HVCKFAIL: HV clock outside 200 +- 10 kHz.</summary>
    HvClockFail = 0x40,
}

/// <summary><c>PDWN</c>: what <c>OFF</c> (and a trip) does to the output.</summary>
public enum CaenPowerDownMode
{
    /// <summary><c>RAMP</c>: ramp down at RDW.</summary>
    Ramp,

    /// <summary><c>KILL</c>: drop to 0 V at once.</summary>
    Kill,
}

/// <summary><c>IMRANGE</c>: current monitor range (N1471).</summary>
public enum CaenCurrentMonitorRange
{
    High,
    Low,
}

/// <summary><c>BDILKM</c>: which state of the interlock input counts as active.</summary>
public enum CaenInterlockMode
{
    Open,
    Closed,
}

/// <summary><c>POL</c>: output polarity, fixed in hardware.</summary>
public enum CaenPolarity
{
    Positive,
    Negative,
}

/// <summary><c>BDCTR</c>: control mode, chosen on the front panel.</summary>
public enum CaenControlMode
{
    Local,
    Remote,
}

/// <summary>Whether replies carry the <c>BD:nn,</c> field.</summary>
public enum CaenReplyBoardField
{
    /// <summary>Every reply must carry <c>BD:nn,</c> with the address asked for (N1470 family on RS-485/USB/TCP).</summary>
    Required,

    /// <summary>Replies with and without <c>BD:nn,</c> are accepted. Only safe with one module on the line.</summary>
    Optional,

    /// <summary>Replies never carry a BD field (desktop DT547x/DT55xxE dialect); one that does is an error.</summary>
    Absent,
}

/// <summary>
/// The BD handling of one CAEN dialect (device-protocols.md §1.11). A setting chosen per installation, never
/// guessed per message.
/// </summary>
/// <param name="BoardFieldInRequest">Requests start with <c>$BD:nn,</c>.</param>
/// <param name="BoardFieldInReply">Whether replies carry <c>BD:nn,</c>.</param>
public sealed record CaenDialect(bool BoardFieldInRequest, CaenReplyBoardField BoardFieldInReply)
{
    /// <summary>N1470/N1471/NDT1470/DT1470ET: BD in every request and every reply.</summary>
    public static CaenDialect N1470 { get; } = new(true, CaenReplyBoardField.Required);

    /// <summary>N1470 requests, replies with or without BD (units reported to drop it; single module only).</summary>
    public static CaenDialect N1470LenientReply { get; } = new(true, CaenReplyBoardField.Optional);

    /// <summary>Desktop units (DT547x, DT55xxE): no BD field in either direction.</summary>
    public static CaenDialect Desktop { get; } = new(false, CaenReplyBoardField.Absent);
}

/// <summary>Settings of one CAEN N1470 board driver; defaults follow device-protocols.md §1.</summary>
public sealed record CaenN1470Options
{
    /// <summary>Time to wait for one reply line (our choice, not from the manual).</summary>
    public TimeSpan ReplyTimeout { get; init; } = CaenN1470Protocol.DefaultReplyTimeout;

    /// <summary>BD field handling; <see cref="CaenDialect.N1470"/> unless a unit is known to differ.</summary>
    public CaenDialect Dialect { get; init; } = CaenDialect.N1470;
}

/// <summary>Range and resolution of one SET parameter as the board reports it.</summary>
/// <param name="Min">Lowest accepted value (e.g. VMIN).</param>
/// <param name="Max">Highest accepted value (e.g. VMAX).</param>
/// <param name="Decimals">Decimals accepted on the wire (e.g. VDEC); from the wire format when the board has no DEC query in use.</param>
public readonly record struct CaenRange(double Min, double Max, int Decimals)
{
    /// <summary>Smallest step the board accepts, 10^-Decimals.</summary>
    public double Resolution => Math.Pow(10, -Decimals);

    public bool Contains(double value) => value >= Min && value <= Max;
}

/// <summary>Ranges of one channel, read by <c>CaenN1470Board.InitializeAsync</c>.</summary>
public sealed record ChannelRanges(
    int Channel,
    CaenRange Voltage,
    CaenRange Current,
    CaenRange RampUp,
    CaenRange RampDown,
    CaenRange TripTime,
    CaenRange MaxVoltage);

/// <summary>Identity and ranges of a board, read by <c>CaenN1470Board.InitializeAsync</c>.</summary>
public sealed record BoardInfo(
    string Name,
    int ChannelCount,
    string Firmware,
    string SerialNumber,
    IReadOnlyList<ChannelRanges> Channels);

/// <summary>One value read from the board, checked against the parameter's kind.</summary>
/// <param name="Parameter">The parameter read.</param>
/// <param name="Text">The value exactly as on the wire.</param>
/// <param name="Number">The value as a base-10 number for <see cref="CaenValueKind.Number"/> parameters, else null.</param>
public sealed record CaenReading(CaenParameter Parameter, string Text, double? Number);
