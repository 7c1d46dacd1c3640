namespace NA64.Hardware.Magnets.Danfysik8500;

/// <summary>What every Danfysik System 8500 is, written once (device-protocols.md §4): driver, simulator and setup refer to these.</summary>
public static class Danfysik8500Facts
{
    /// <summary>Characters of the <c>S1</c> status string, one per condition, terminator excluded (§4.4).</summary>
    public const int StatusLength = 24;

    /// <summary><c>WA</c>/<c>RA</c> are in ppm of the unit's full-scale current: 0..1000000 (§4.3).</summary>
    public const int FullScalePpm = 1_000_000;

    /// <summary>Multi-drop addresses <c>ADR n</c>; the ISIS emulator answers <c>ADR</c> with 3 digits (unverified), so 0..999.</summary>
    public const int MinAddress = 0;

    public const int MaxAddress = 999;

    /// <summary>An <c>S1</c> character for an active condition.</summary>
    public const char Active = '!';

    /// <summary>An <c>S1</c> character for an inactive condition.</summary>
    public const char Inactive = '.';
}
