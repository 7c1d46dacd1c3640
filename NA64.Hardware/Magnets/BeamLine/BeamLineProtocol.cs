using System.Globalization;

namespace NA64.Hardware.Magnets.BeamLine;

/// <summary>
/// Our gateway protocol, not a CERN one (device-protocols.md §5.4 has no wire form): text lines ending CR LF, one
/// request and one reply at a time, fields separated by one space. The README has it as tables. Written once as data
/// here; the simulator keeps its own copy of the grammar.
/// </summary>
public static class BeamLineProtocol
{
    public const string Read = "READ";
    public const string Set = "SET";
    public const string Standby = "STANDBY";
    public const string On = "ON";
    public const string Off = "OFF";
    public const string Reset = "RESET";
    public const string Load = "LOAD";

    public const string ReplyOk = "OK";
    public const string ReplyAccepted = "ACCEPTED";
    public const string ReplyPending = "PENDING";
    public const string ReplyDenied = "DENIED";
    public const string ReplyError = "ERR";

    public const string KeyState = "STATE";
    public const string KeyRef = "IREF";
    public const string KeyMeas = "IMEAS";
    public const string KeyInRef = "INREF";
    public const string KeyCycle = "CYCLE";
    public const string KeyTime = "TIME";
    public const string KeyFile = "FILE";
    public const string KeyCause = "CAUSE";
    public const string KeyElements = "ELEMENTS";

    /// <summary>Written in place of an absent beam file or fault cause.</summary>
    public const string None = "-";

    /// <summary>Longest circuit, user or beam-file name.</summary>
    public const int MaxNameLength = 64;

    /// <summary>Longest reason text.</summary>
    public const int MaxReasonLength = 200;

    /// <summary>Timestamps: UTC, milliseconds, always this shape.</summary>
    public const string TimeFormat = "yyyy-MM-dd'T'HH:mm:ss.fff'Z'";

    /// <summary>Amperes on the wire: plain decimal, point, three decimals (no exponent, no sign for zero or more).</summary>
    public static string FormatAmps(double amps) => amps.ToString("0.000", CultureInfo.InvariantCulture);

    public static string State(BeamLineState state) => state switch
    {
        BeamLineState.Off => "OFF",
        BeamLineState.Standby => "STANDBY",
        BeamLineState.On => "ON",
        BeamLineState.Fault => "FAULT",
        _ => throw new ArgumentOutOfRangeException(nameof(state), state, "not a beam-line state"),
    };

    /// <summary>Names (circuit, user, beam file): 1..64 of A-Z a-z 0-9 . _ -, so that a space always separates fields.</summary>
    public static bool IsName(string? text)
    {
        if (string.IsNullOrEmpty(text) || text.Length > MaxNameLength || text == None)
        {
            return false;
        }

        foreach (var c in text)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-'))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Reasons: 1..200 printable ASCII characters, not all blank.</summary>
    public static bool IsReason(string? text)
    {
        if (string.IsNullOrWhiteSpace(text) || text.Length > MaxReasonLength)
        {
            return false;
        }

        foreach (var c in text)
        {
            if (c is < ' ' or > '~')
            {
                return false;
            }
        }

        return true;
    }
}
