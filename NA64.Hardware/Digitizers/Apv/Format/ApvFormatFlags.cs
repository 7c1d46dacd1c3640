namespace NA64.Hardware.Digitizers.Apv.Format;

/// <summary>
/// The APV-ADC format byte (ADC header word 1 bits 31:24, data-formats §7.3). The APV-ADC mode register 0x1001 mirrors
/// it except at bit 7 (§7.11).
/// </summary>
[Flags]
public enum ApvFormatFlags : byte
{
    None = 0,

    /// <summary>Bit 0: triple-frame readout (3 samples per channel). DDD cannot decode single frame, so it is always written.</summary>
    TripleFrame = 0x01,

    /// <summary>Bit 1: sparse (zero-suppressed); clear = latch-all.</summary>
    Sparse = 0x02,

    /// <summary>Bit 2: pedestals subtracted on board.</summary>
    PedestalSubtracted = 0x04,

    /// <summary>Bit 3: common-mode correction applied; every APV block ends with a CM word.</summary>
    CommonMode = 0x08,

    /// <summary>Bit 4: channel reordering on.</summary>
    ChannelReordering = 0x10,

    /// <summary>Bit 5: too much data, only headers are present ("data skipped").</summary>
    DataSkipped = 0x20,

    /// <summary>Bit 6: ADC version 2, "standard sparse": v = 1 in the GEM/Si amplitude decoding (§7.8).</summary>
    AdcVersion2 = 0x40,

    /// <summary>Bit 7: not defined in DDD; carried through unchanged.</summary>
    Undefined7 = 0x80,
}
