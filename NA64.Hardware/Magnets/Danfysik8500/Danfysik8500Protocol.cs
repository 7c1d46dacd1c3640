using System.Globalization;

namespace NA64.Hardware.Magnets.Danfysik8500;

/// <summary>Whether a command gets a reply (device-protocols.md §4.2).</summary>
public enum Danfysik8500CommandClass
{
    /// <summary>No reply unless the unit did not understand it (then an error message); verified by read-back.</summary>
    Directive,

    /// <summary>Always answers one line.</summary>
    Status,
}

/// <summary>One row of the command table (§4.3): the mnemonic as on the wire and its class.</summary>
public sealed record Danfysik8500Command(string Mnemonic, Danfysik8500CommandClass Class, string Meaning)
{
    /// <summary>The request bytes (without the CR terminator, which the transport appends).</summary>
    public string Format() => Mnemonic;

    /// <summary>The request with one integer argument, base 10, invariant culture (e.g. <c>WA 250000</c>).</summary>
    public string Format(int argument) => Mnemonic + " " + argument.ToString(CultureInfo.InvariantCulture);

    public override string ToString() => Mnemonic;
}

/// <summary>
/// The conditions of the <c>S1</c> string, one bit per position (bit 0 = position 1). Positions as in the ISIS 8500
/// emulator (§4.4; the layout is unverified against the Danfysik manual).
/// </summary>
[Flags]
public enum Danfysik8500Conditions
{
    None = 0,
    MainPowerOff = 1 << 0,
    PolarityNormal = 1 << 1,
    PolarityReversed = 1 << 2,
    RegulationTransformer = 1 << 3,
    Dac16Bit = 1 << 4,
    Dac17Bit = 1 << 5,
    SetpointInPercent = 1 << 6,
    Spare8 = 1 << 7,
    TransistorFault = 1 << 8,
    SumInterlock = 1 << 9,
    DcOverCurrent = 1 << 10,
    DcOverload = 1 << 11,
    RegulationModuleFailure = 1 << 12,
    PreRegulatorFailure = 1 << 13,
    PhaseFailure = 1 << 14,
    MpsWaterFlowFailure = 1 << 15,
    EarthLeakFailure = 1 << 16,
    ThermalFailure = 1 << 17,
    MpsOverTemperature = 1 << 18,
    DoorSwitch = 1 << 19,
    MagnetWaterFlowFailure = 1 << 20,
    MagnetOverTemperature = 1 << 21,
    MpsNotReady = 1 << 22,
    Spare24 = 1 << 23,
}

/// <summary>The Danfysik 8500 command set as data (device-protocols.md §4.3) and its reply conventions.</summary>
public static class Danfysik8500Protocol
{
    public static Danfysik8500Command PowerOn { get; } = new("N", Danfysik8500CommandClass.Directive, "main power ON");
    public static Danfysik8500Command PowerOff { get; } = new("F", Danfysik8500CommandClass.Directive, "main power OFF");
    public static Danfysik8500Command Reset { get; } = new("RS", Danfysik8500CommandClass.Directive, "reset: clears latched interlocks");
    public static Danfysik8500Command WriteSetpoint { get; } = new("WA", Danfysik8500CommandClass.Directive, "write the setpoint DAC, ppm of full scale");
    public static Danfysik8500Command ReadSetpoint { get; } = new("RA", Danfysik8500CommandClass.Status, "read back the setpoint, ppm");
    public static Danfysik8500Command ReadAdc { get; } = new("AD", Danfysik8500CommandClass.Status, "read an ADC channel, raw counts");
    public static Danfysik8500Command Status1 { get; } = new("S1", Danfysik8500CommandClass.Status, "24-character status string");
    public static Danfysik8500Command Polarity { get; } = new("PO", Danfysik8500CommandClass.Status, "read the polarity (+ or -); with + or - a directive selecting it");
    public static Danfysik8500Command Remote { get; } = new("REM", Danfysik8500CommandClass.Directive, "remote control");
    public static Danfysik8500Command Local { get; } = new("LOC", Danfysik8500CommandClass.Directive, "local control");
    public static Danfysik8500Command Address { get; } = new("ADR", Danfysik8500CommandClass.Directive, "with n: select the unit at address n on a multi-drop line");

    /// <summary>The commands in table order.</summary>
    public static IReadOnlyList<Danfysik8500Command> Commands { get; } =
        [PowerOn, PowerOff, Reset, WriteSetpoint, ReadSetpoint, ReadAdc, Status1, Polarity, Remote, Local, Address];

    /// <summary><c>AD 8</c>: the output-current ADC.</summary>
    public const int CurrentAdcChannel = 8;

    /// <summary><c>AD 2</c>: the output-voltage ADC.</summary>
    public const int VoltageAdcChannel = 2;

    /// <summary>Polarity characters of <c>PO</c> replies and of the <c>PO +</c>/<c>PO -</c> directive.</summary>
    public const char PlusSign = '+';

    public const char MinusSign = '-';

    /// <summary>The request selecting a polarity: <c>PO +</c> or <c>PO -</c>.</summary>
    public static string SelectPolarity(MagnetPolarity polarity) =>
        Polarity.Mnemonic + " " + (polarity == MagnetPolarity.Normal ? PlusSign : MinusSign);

    /// <summary>The request of one ADC channel, e.g. <c>AD 8</c>.</summary>
    public static string ReadAdcChannel(int channel) => ReadAdc.Format(channel);

    /// <summary>Human name of each <c>S1</c> position 1..24 (index = position - 1).</summary>
    public static IReadOnlyList<string> ConditionNames { get; } =
    [
        "main power off", "polarity normal", "polarity reversed", "regulation transformer", "DAC 16-bit mode",
        "DAC 17-bit mode", "setpoint in percent", "spare 8", "transistor fault", "sum interlock", "DC over-current",
        "DC overload", "regulation module failure", "pre-regulator failure", "phase failure", "MPS water-flow failure",
        "earth-leak failure", "thermal failure", "MPS over-temperature", "door switch", "magnet water-flow failure",
        "magnet over-temperature", "MPS not ready", "spare 24",
    ];
}
