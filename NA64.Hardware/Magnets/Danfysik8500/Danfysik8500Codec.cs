using System.Globalization;
using System.Text;

namespace NA64.Hardware.Magnets.Danfysik8500;

/// <summary>One decoded <c>S1</c> reply: the active conditions and the raw 24 characters.</summary>
public sealed record Danfysik8500Status(Danfysik8500Conditions Conditions, string Raw)
{
    public bool PowerOn => !Conditions.HasFlag(Danfysik8500Conditions.MainPowerOff);

    /// <summary>Position 10: any interlock active or latched.</summary>
    public bool SumInterlock => Conditions.HasFlag(Danfysik8500Conditions.SumInterlock);

    /// <summary>Polarity from positions 2/3; null when neither or both are set.</summary>
    public MagnetPolarity? Polarity =>
        (Conditions.HasFlag(Danfysik8500Conditions.PolarityNormal), Conditions.HasFlag(Danfysik8500Conditions.PolarityReversed)) switch
        {
            (true, false) => MagnetPolarity.Normal,
            (false, true) => MagnetPolarity.Reversed,
            _ => null,
        };

    /// <summary>Names of the active conditions, in position order, e.g. "sum interlock, magnet water-flow failure".</summary>
    public string ActiveNames => string.Join(", ", Enumerable.Range(0, Danfysik8500Facts.StatusLength)
        .Where(i => ((int)Conditions & (1 << i)) != 0)
        .Select(i => Danfysik8500Protocol.ConditionNames[i]));
}

/// <summary>
/// Parses Danfysik 8500 replies (device-protocols.md §4.3, §4.4) apart from the driver: strict about what a value is,
/// tolerant of surrounding blanks. Every failure is a <see cref="Danfysik8500ReplyException"/> carrying the raw reply.
/// </summary>
public static class Danfysik8500Codec
{
    /// <summary>Conditions that are faults (latched by the unit, shown as <see cref="MagnetOutput.Fault"/> via the sum interlock).</summary>
    public const Danfysik8500Conditions FaultConditions =
        Danfysik8500Conditions.TransistorFault | Danfysik8500Conditions.SumInterlock | Danfysik8500Conditions.DcOverCurrent
        | Danfysik8500Conditions.DcOverload | Danfysik8500Conditions.RegulationModuleFailure | Danfysik8500Conditions.PreRegulatorFailure
        | Danfysik8500Conditions.PhaseFailure | Danfysik8500Conditions.MpsWaterFlowFailure | Danfysik8500Conditions.EarthLeakFailure
        | Danfysik8500Conditions.ThermalFailure | Danfysik8500Conditions.MpsOverTemperature | Danfysik8500Conditions.DoorSwitch
        | Danfysik8500Conditions.MagnetWaterFlowFailure | Danfysik8500Conditions.MagnetOverTemperature;

    /// <summary>Decodes the 24-character <c>S1</c> string position by position; any other length or character is a reply error.</summary>
    public static Danfysik8500Status DecodeStatus(string request, string reply)
    {
        ArgumentNullException.ThrowIfNull(reply);
        if (reply.Length != Danfysik8500Facts.StatusLength)
        {
            throw new Danfysik8500ReplyException(
                $"S1 status has {reply.Length} characters, expected {Danfysik8500Facts.StatusLength}", request, reply);
        }

        var conditions = Danfysik8500Conditions.None;
        for (var i = 0; i < reply.Length; i++)
        {
            switch (reply[i])
            {
                case Danfysik8500Facts.Active:
                    conditions |= (Danfysik8500Conditions)(1 << i);
                    break;
                case Danfysik8500Facts.Inactive:
                    break;
                default:
                    throw new Danfysik8500ReplyException(
                        $"S1 position {i + 1} is '{reply[i]}', expected '{Danfysik8500Facts.Active}' or '{Danfysik8500Facts.Inactive}'", request, reply);
            }
        }

        return new Danfysik8500Status(conditions, reply);
    }

    /// <summary>The <c>S1</c> string of a set of conditions (for tests and replay fixtures).</summary>
    public static string EncodeStatus(Danfysik8500Conditions conditions)
    {
        var sb = new StringBuilder(Danfysik8500Facts.StatusLength);
        for (var i = 0; i < Danfysik8500Facts.StatusLength; i++)
        {
            sb.Append(((int)conditions & (1 << i)) != 0 ? Danfysik8500Facts.Active : Danfysik8500Facts.Inactive);
        }

        return sb.ToString();
    }

    /// <summary>A base-10 integer reply (<c>RA</c>, <c>AD n</c>): optional sign, digits only; leading zeros are decimal, never octal.</summary>
    public static int ParseInteger(string request, string reply)
    {
        ArgumentNullException.ThrowIfNull(reply);
        var text = reply.Trim(' ');
        var digits = text.StartsWith('-') || text.StartsWith('+') ? text.AsSpan(1) : text.AsSpan();
        if (digits.IsEmpty || digits.ContainsAnyExceptInRange('0', '9')
            || !int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value))
        {
            throw new Danfysik8500ReplyException("expected a base-10 integer", request, reply);
        }

        return value;
    }

    /// <summary>A <c>PO</c> reply: <c>+</c> (normal) or <c>-</c> (reversed).</summary>
    public static MagnetPolarity ParsePolarity(string request, string reply)
    {
        ArgumentNullException.ThrowIfNull(reply);
        return reply.Trim(' ') switch
        {
            "+" => MagnetPolarity.Normal,
            "-" => MagnetPolarity.Reversed,
            _ => throw new Danfysik8500ReplyException("expected polarity '+' or '-'", request, reply),
        };
    }

    /// <summary>The detector's conditions for a decoded <c>S1</c>.</summary>
    public static MagnetConditions MapConditions(Danfysik8500Conditions s1)
    {
        var c = MagnetConditions.None;
        if (s1.HasFlag(Danfysik8500Conditions.SumInterlock))
        {
            c |= MagnetConditions.Interlock;
        }

        if ((s1 & (Danfysik8500Conditions.MpsWaterFlowFailure | Danfysik8500Conditions.MagnetWaterFlowFailure)) != 0)
        {
            c |= MagnetConditions.WaterFlow;
        }

        if ((s1 & (Danfysik8500Conditions.ThermalFailure | Danfysik8500Conditions.MpsOverTemperature | Danfysik8500Conditions.MagnetOverTemperature)) != 0)
        {
            c |= MagnetConditions.OverTemperature;
        }

        if (s1.HasFlag(Danfysik8500Conditions.DoorSwitch))
        {
            c |= MagnetConditions.Door;
        }

        if (s1.HasFlag(Danfysik8500Conditions.PhaseFailure))
        {
            c |= MagnetConditions.AcFailure;
        }

        if (s1.HasFlag(Danfysik8500Conditions.MpsNotReady))
        {
            c |= MagnetConditions.NotReady;
        }

        if ((s1 & (Danfysik8500Conditions.TransistorFault | Danfysik8500Conditions.DcOverCurrent | Danfysik8500Conditions.DcOverload
                   | Danfysik8500Conditions.RegulationModuleFailure | Danfysik8500Conditions.PreRegulatorFailure
                   | Danfysik8500Conditions.EarthLeakFailure)) != 0)
        {
            c |= MagnetConditions.OtherFault;
        }

        return c;
    }

    /// <summary>Output: a fault while any fault condition is shown, else Off with main power off, else On.</summary>
    public static MagnetOutput MapOutput(Danfysik8500Conditions s1) =>
        (s1 & FaultConditions) != 0 ? MagnetOutput.Fault
        : s1.HasFlag(Danfysik8500Conditions.MainPowerOff) ? MagnetOutput.Off
        : MagnetOutput.On;
}
