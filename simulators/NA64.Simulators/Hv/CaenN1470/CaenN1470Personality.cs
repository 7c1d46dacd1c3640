using NA64.Hardware.Hv.CaenN1470;

namespace NA64.Simulators.Hv.CaenN1470;

/// <summary>BDILKM (which interlock input state counts as active) and the interlock input state itself.</summary>
public enum CaenInterlockState
{
    Open,
    Closed,
}

/// <summary>What the firmware does with VSET &gt; MAXV; firmware variants differ (§1.9).</summary>
public enum CaenMaxVoltageBehaviour
{
    /// <summary>SET VSET above MAXV is refused with <c>VAL:ERR</c>.</summary>
    RejectSetpoint,

    /// <summary>VSET above MAXV is accepted; the output is held at MAXV and STAT shows the MAXV bit.</summary>
    ClipOutput,
}

/// <summary>
/// What makes a board an N1470 rather than another member of the family: identity strings, channel count,
/// setpoint ranges and firmware quirks. All values are configuration; the defaults follow the N1470 class
/// (8 kV, 3 mA) and are unverified against a real unit where §1 says so.
/// </summary>
public sealed record CaenN1470Personality
{
    /// <summary>BDNAME.</summary>
    public string BoardName { get; init; } = "N1470";

    /// <summary>BDNCH, 1..4.</summary>
    public int ChannelCount { get; init; } = 4;

    /// <summary>BDFREL (format unverified).</summary>
    public string FirmwareRelease { get; init; } = "1.08";

    /// <summary>BDSNUM (format unverified).</summary>
    public string SerialNumber { get; init; } = "0147";

    /// <summary>BDTERM: RS-485 termination switch.</summary>
    public bool Terminated { get; init; } = true;

    /// <summary>POL per channel, '+' or '-' (hardware setting, read-only on the wire).</summary>
    public IReadOnlyList<char> Polarities { get; init; } = ['+', '+', '+', '+'];

    /// <summary>VMIN/VMAX/VDEC.</summary>
    public CaenRange Voltage { get; init; } = new(0, 8000, 1);

    /// <summary>IMIN/IMAX/ISDEC, µA.</summary>
    public CaenRange Current { get; init; } = new(0, 3000, 2);

    /// <summary>IMDEC in HIGH and LOW range.</summary>
    public int MonitorDecimalsHigh { get; init; } = 2;

    public int MonitorDecimalsLow { get; init; } = 3;

    /// <summary>MVMIN/MVMAX/MVDEC.</summary>
    public CaenRange MaxVoltage { get; init; } = new(0, 8100, 0);

    /// <summary>RUPMIN/RUPMAX/RUPDEC, V/s.</summary>
    public CaenRange RampUp { get; init; } = new(1, 500, 0);

    /// <summary>RDWMIN/RDWMAX/RDWDEC, V/s.</summary>
    public CaenRange RampDown { get; init; } = new(1, 500, 0);

    /// <summary>TRIPMIN/TRIPMAX/TRIPDEC, s.</summary>
    public CaenRange Trip { get; init; } = new(0, 1000, 1);

    /// <summary>VSET &gt; MAXV handling (firmware variant).</summary>
    public CaenMaxVoltageBehaviour MaxVoltageBehaviour { get; init; } = CaenMaxVoltageBehaviour.RejectSetpoint;

    /// <summary>OVV/UNV window around the target voltage, V.</summary>
    public double VoltageWindow { get; init; } = 2.5;

    /// <summary>PDWN used when the interlock becomes active (unverified; default: drop at once).</summary>
    public CaenPowerDownMode InterlockPowerDown { get; init; } = CaenPowerDownMode.Kill;

    /// <summary>Power-on values of the channel settings.</summary>
    public double InitialRampUp { get; init; } = 50;

    public double InitialRampDown { get; init; } = 50;

    public double InitialTrip { get; init; } = 10;

    public double InitialCurrentLimit { get; init; } = 3000;

    /// <summary>Largest integration step; ramp ends, spill edges and trip expiry are hit exactly regardless.</summary>
    public TimeSpan MaxIntegrationStep { get; init; } = TimeSpan.FromMilliseconds(10);

    /// <summary>The N1470 NIM module (serial/USB).</summary>
    public static CaenN1470Personality N1470 { get; } = new();

    /// <summary>The NDT1470 desktop unit with Ethernet (TCP port 1470); same ranges assumed (unverified).</summary>
    public static CaenN1470Personality Ndt1470 { get; } = new() { BoardName = "NDT1470" };

    internal void Validate()
    {
        if (ChannelCount is < 1 or > 4)
        {
            throw new ArgumentOutOfRangeException(nameof(ChannelCount), ChannelCount, $"ChannelCount is {ChannelCount}; an N1470 board has 1 to 4 channels.");
        }

        if (Polarities.Count < ChannelCount)
        {
            throw new ArgumentException($"Polarities has {Polarities.Count} entries; ChannelCount {ChannelCount} needs one per channel.", nameof(Polarities));
        }

        foreach (var p in Polarities)
        {
            if (p is not ('+' or '-'))
            {
                throw new ArgumentException($"Polarities contains '{p}'; each entry must be '+' or '-'.", nameof(Polarities));
            }
        }

        if (MaxIntegrationStep <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxIntegrationStep), MaxIntegrationStep, "MaxIntegrationStep must be greater than 0.");
        }
    }
}

/// <summary>
/// The load a channel drives: what turns VMON into IMON. IMON = leakage + V/R + C·dV/dt (while ramping)
/// + beam current (during a spill, scaled by VMON/VSET) + backdoor-injected current. Units: µA, MΩ, nF.
/// Defaults give a few nA at a Micromegas voltage (na64-setup.md §10.1: 0–5 nA off-spill).
/// </summary>
public sealed record CaenN1470Load
{
    /// <summary>Constant leakage while the output is above 0 V, µA.</summary>
    public double LeakageMicroamps { get; init; } = 0.002;

    /// <summary>Load resistance, MΩ (V/R in µA = volts / megaohms).</summary>
    public double ResistanceMegaohms { get; init; } = 500_000;

    /// <summary>Load capacitance, nF (C·dV/dt in µA = nF × V/s / 1000).</summary>
    public double CapacitanceNanofarads { get; init; } = 1.0;

    /// <summary>Extra current during beam at VMON = VSET, µA (a Micromegas strip channel draws ~0.7 µA).</summary>
    public double BeamMicroamps { get; init; }

    public static CaenN1470Load Default { get; } = new();
}
