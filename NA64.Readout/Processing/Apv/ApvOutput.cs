namespace NA64.Readout.Processing.Apv;

/// <summary>
/// One channel kept by the zero suppression: physical channel 0..127 of its APV and the three frames after pedestal
/// and common-mode subtraction, in quarter ADC counts (divide by 4 for counts; signed, not clipped). 8 bytes.
/// </summary>
public readonly record struct ApvKeptChannel(short Channel, short A0, short A1, short A2)
{
    /// <summary>Frame <paramref name="frame"/> (0..2) in quarter ADC counts.</summary>
    public short this[int frame] => frame switch
    {
        0 => A0,
        1 => A1,
        2 => A2,
        _ => throw new ArgumentOutOfRangeException(nameof(frame), frame, "frame must be 0..2"),
    };

    /// <summary>max(a0, a1, a2) in ADC counts.</summary>
    public double MaxAmplitude => Math.Max(A0, Math.Max(A1, A2)) / (double)ApvLayout.Scale;
}

/// <summary>How the common mode of each frame was found.</summary>
[Flags]
public enum ApvCommonModeFlags : short
{
    None = 0,
    /// <summary>Frame 0 had fewer than MinChannels channels left: the APV's last good value of that frame was used.</summary>
    Frame0Fallback = 1,
    Frame1Fallback = 2,
    Frame2Fallback = 4,
    /// <summary>A fallback found no good value yet for this APV and frame since the start (or a reset): 0 was used.</summary>
    NoHistory = 8,
}

/// <summary>
/// Result of one APV in one event: its hits are <c>hits[FirstHit .. FirstHit + HitCount)</c>, in increasing channel
/// order; the common mode subtracted per frame in quarter ADC counts (shipped with the data, as the APV-ADC's CM word).
/// </summary>
public readonly record struct ApvChipResult(int FirstHit, int HitCount, short CommonMode0, short CommonMode1, short CommonMode2, ApvCommonModeFlags Flags)
{
    public short CommonMode(int frame) => frame switch
    {
        0 => CommonMode0,
        1 => CommonMode1,
        2 => CommonMode2,
        _ => throw new ArgumentOutOfRangeException(nameof(frame), frame, "frame must be 0..2"),
    };
}
