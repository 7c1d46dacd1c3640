namespace NA64.Hardware.Digitizers.Msadc.Format;

/// <summary>What went wrong in a raw block. The DATE layer (NA64.Readout) shares this list so that one event carries one problem list.</summary>
public enum FormatProblemKind
{
    // S-Link level (data-formats §5, decoder-checks §2)
    SlinkTooShort,
    SlinkSizeMismatch,
    SlinkEventNumber,
    SlinkSpillNumber,
    SlinkMultiplexerSource,
    SlinkErrorFlag,
    SlinkErrorsCounter,
    TcsFifoError,
    TcsEccError,
    TcsSyncError,
    TcsUndefinedError,
    FirstEventOfRun,

    // SADC data format 3 (data-formats §6.10, plus ours)
    BadAdcHeader,
    AdcBlockSize,
    WrongEvent,
    BadChannelHeader,
    ZeroSamples,
    DataOutside,
    BadDataWord,
    ZeroBitSet,
    DuplicateChannel,
    SaturatedSample,
    AdcErrorBit,

    // DATE level (data-formats §3.7, §4.3)
    EquipmentTooShort,
    EquipmentSizeNotMultipleOf4,
    EquipmentOverrun,
    EquipmentSlinkSizeMismatch,
    UnknownEventType,
    SubEventHeaderDiffers,
    SubEventSize,

    // COMPASS APV (data-formats §7.10, plus ours); written by ApvDecoder in NA64.Hardware/Digitizers/Apv/Format
    ApvAdcBlockSize,
    ApvSingleFrame,
    ApvTimeTagMismatch,
    ApvWrongEvent,
    ApvBlockSize,
    ApvHeaderSampleError,
    ApvLatchAllTooFewWords,
    ApvLatchAllTooManyWords,
    ApvSparseChannelOrder,
    ApvPipelineAddressInvalid,
    ApvPipelineNotConsecutive,
    ApvPipelineDisagree,
    ApvCommonModeWord,
    ApvImpossibleAmplitude,
    ApvDataSkipped,
    ApvMissingAdc,
    ApvUnexpectedAdc,
    ApvDuplicateAdc,
    ApvDuplicateChip,
}

/// <summary>
/// One problem found while decoding: the kind, where (byte offset from the start of the buffer the caller gave, plus
/// the caller's base offset, e.g. the position in the file), which S-Link source (-1 if not known yet) and a message
/// that names the field, the value and what was expected.
/// </summary>
public readonly record struct FormatProblem(FormatProblemKind Kind, long ByteOffset, int SourceId, string Message)
{
    /// <summary>True when data were dropped or truncated because of this problem; false for flags on data that were kept.</summary>
    public bool DataLost => Kind switch
    {
        FormatProblemKind.SlinkSpillNumber or FormatProblemKind.SlinkErrorFlag or FormatProblemKind.SlinkErrorsCounter or FormatProblemKind.TcsFifoError
            or FormatProblemKind.TcsEccError or FormatProblemKind.TcsSyncError or FormatProblemKind.TcsUndefinedError
            or FormatProblemKind.ZeroBitSet or FormatProblemKind.DuplicateChannel or FormatProblemKind.SaturatedSample
            or FormatProblemKind.AdcErrorBit or FormatProblemKind.FirstEventOfRun => false,
        // APV flags on data that were kept (the APV kinds not listed lose data).
        FormatProblemKind.ApvTimeTagMismatch or FormatProblemKind.ApvLatchAllTooFewWords or FormatProblemKind.ApvSparseChannelOrder
            or FormatProblemKind.ApvPipelineAddressInvalid or FormatProblemKind.ApvPipelineNotConsecutive or FormatProblemKind.ApvPipelineDisagree
            or FormatProblemKind.ApvCommonModeWord or FormatProblemKind.ApvImpossibleAmplitude or FormatProblemKind.ApvUnexpectedAdc
            or FormatProblemKind.ApvDuplicateAdc or FormatProblemKind.ApvDuplicateChip => false,
        _ => true,
    };

    public override string ToString() =>
        string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{Kind} at byte {ByteOffset} (source {SourceId}): {Message}");
}
