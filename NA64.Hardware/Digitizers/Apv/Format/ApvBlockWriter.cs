using System.Buffers.Binary;
using System.Globalization;
using NA64.Hardware.Digitizers.Msadc.Format;

namespace NA64.Hardware.Digitizers.Apv.Format;

/// <summary>Common-mode values of the three frames, as the CM word carries them (10 bits each, data-formats §7.6).</summary>
public readonly record struct ApvCommonMode(int Frame1, int Frame2, int Frame3);

/// <summary>Pipeline columns of the three frames (0..191, or <see cref="ApvPipelineAddress.Invalid"/> for a code outside the Gray image).</summary>
public readonly record struct ApvPipeline(int Column1, int Column2, int Column3)
{
    /// <summary>Three consecutive columns modulo 192 starting at <paramref name="column1"/>, what triple-frame readout produces.</summary>
    public static ApvPipeline Consecutive(int column1) =>
        new(column1, ApvPipelineAddress.Advance(column1, 1), ApvPipelineAddress.Advance(column1, 2));

    public bool AllValid => Column1 != ApvPipelineAddress.Invalid && Column2 != ApvPipelineAddress.Invalid && Column3 != ApvPipelineAddress.Invalid;

    public bool IsConsecutive => AllValid && Column2 == ApvPipelineAddress.Advance(Column1, 1) && Column3 == ApvPipelineAddress.Advance(Column2, 1);
}

/// <summary>One sparse hit: physical channel 0..127 (§7.9) and the amplitudes of the three frames.</summary>
public readonly record struct ApvHit(int Channel, int A0, int A1, int A2);

/// <summary>
/// Writes the data of one GeSiCA source in the COMPASS APV format straight into a caller's buffer (data-formats §7.1-7.8):
/// optionally the 3-word S-Link header, then per APV-ADC module a 2-word ADC header with its APV blocks. Each APV block is
/// a 2-word APV header, its data words (128 in latch-all, one per hit in sparse, both in APV output order) and the CM word
/// when format bit 3 is set or the CM word is forced (map option CMC_always). Sizes are back-patched when a block closes.
/// With format bit 5 (data skipped) every APV block is written as its headers only. Nothing is allocated per word.
/// </summary>
/// <example>
/// <code>
/// var w = new ApvBlockWriter(buffer, sourceId: 622, eventNumber: 1234, spillNumber: 17);
/// w.BeginAdc(adcId: 0, format: (ApvFormatFlags)0x4F, timeTag: 2_345_678);
/// w.AddApvSparse(chipId: 2, ApvPipeline.Consecutive(100), hits, new ApvCommonMode(5, 5, 5));
/// int bytes = w.Finish();
/// </code>
/// </example>
public ref struct ApvBlockWriter
{
    private readonly Span<byte> _destination;
    private readonly bool _withSlink;
    private readonly int _sourceId;
    private readonly int _eventNumber;
    private readonly int _spillNumber;
    private readonly int _eventType;
    private readonly byte _slinkFormat;
    private int _words;
    private int _adcStart;
    private ApvFormatFlags _format;
    private ApvSparseVariant _variant;
    private bool _commonMode;
    private bool _finished;

    /// <summary>Starts a full S-Link block (header patched in <see cref="Finish"/>). Refuses source ids ≥ 896, event numbers ≥ 2^20, spills ≥ 2048.</summary>
    public ApvBlockWriter(Span<byte> destination, int sourceId, int eventNumber, int spillNumber, int eventType = 0, byte slinkFormat = 0)
        : this(destination, true, sourceId, eventNumber, spillNumber, eventType, slinkFormat)
    {
    }

    private ApvBlockWriter(Span<byte> destination, bool withSlink, int sourceId, int eventNumber, int spillNumber, int eventType, byte slinkFormat)
    {
        if (withSlink)
        {
            // Validates every field once, up front, with the real size patched in Finish.
            _ = SlinkHeader.ForData(sourceId, eventNumber, spillNumber, SlinkHeader.Words, eventType, slinkFormat);
        }
        else
        {
            CheckRange("event_number", eventNumber, SlinkHeader.MaxEventNumber);
        }

        _destination = destination;
        _withSlink = withSlink;
        _sourceId = sourceId;
        _eventNumber = eventNumber;
        _spillNumber = spillNumber;
        _eventType = eventType;
        _slinkFormat = slinkFormat;
        _adcStart = -1;
        _words = 0;
        int header = withSlink ? SlinkHeader.Words : 0;
        EnsureRoom(header);
        _words = header;
    }

    /// <summary>A writer of the front-end payload only (ADC blocks, no S-Link header), e.g. for a GeSiCA emulation that frames it itself.</summary>
    public static ApvBlockWriter PayloadOnly(Span<byte> destination, int eventNumber) =>
        new(destination, false, -1, eventNumber, 0, 0, 0);

    /// <summary>Words written so far, the S-Link header included.</summary>
    public readonly int WordsWritten => _words;

    /// <summary>
    /// Opens the ADC block of module <paramref name="adcId"/> (0..255); closes the previous one. <paramref name="timeTag"/> is µs since
    /// the TCS reset (24 bits, the caller wraps it). <paramref name="formatOld"/> defaults to the format byte.
    /// <paramref name="variant"/> chooses the sparse amplitude compression; <paramref name="forceCommonMode"/> writes CM words
    /// without format bit 3 (map option CMC_always).
    /// </summary>
    public void BeginAdc(int adcId, ApvFormatFlags format, int timeTag, ApvSparseVariant variant = ApvSparseVariant.GemSi, bool forceCommonMode = false, byte? formatOld = null)
    {
        ThrowIfFinished();
        CheckRange("adc_id", adcId, ApvWords.MaxAdcId);
        CheckRange("time_tag", timeTag, ApvWords.TimeTagMask);
        EndAdc();
        EnsureRoom(ApvWords.AdcHeaderWords);
        _adcStart = _words;
        // Size is back-patched in EndAdc; the rest of the header is final now.
        WriteWord(_words++, ApvWords.AdcHeader0(0, adcId, formatOld ?? (byte)format));
        WriteWord(_words++, ApvWords.AdcHeader1(timeTag, (byte)format));
        _format = format;
        _variant = variant;
        _commonMode = (format & ApvFormatFlags.CommonMode) != 0 || forceCommonMode;
    }

    /// <summary>
    /// Adds a latch-all APV block: <paramref name="amplitudes"/> holds 3 × 128 values 0..1023, frame-major by physical
    /// channel (frame f of channel p at f·128 + p); they are written in APV output order. Needs an ADC without format bit 1.
    /// </summary>
    public void AddApvLatchAll(int chipId, ApvPipeline columns, scoped ReadOnlySpan<ushort> amplitudes, ApvCommonMode commonMode = default, ApvHeaderFault fault = ApvHeaderFault.None)
    {
        RequireAdc(sparse: false);
        if (amplitudes.Length != ApvFacts.Frames * ApvFacts.ChannelsPerApv)
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                $"latch-all amplitudes = {amplitudes.Length} values refused: an APV block carries {ApvFacts.Frames} x {ApvFacts.ChannelsPerApv} = {ApvFacts.Frames * ApvFacts.ChannelsPerApv}"), nameof(amplitudes));
        }

        int bad = amplitudes.IndexOfAnyExceptInRange((ushort)0, (ushort)ApvFacts.MaxAmplitude);
        if (bad >= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(amplitudes), amplitudes[bad],
                string.Create(CultureInfo.InvariantCulture, $"amplitude[{bad}] (frame {bad / ApvFacts.ChannelsPerApv}, channel {bad % ApvFacts.ChannelsPerApv}) = {amplitudes[bad]} refused: latch-all amplitudes are 10 bits, 0..{ApvFacts.MaxAmplitude}"));
        }

        int data = Skipped ? 0 : ApvFacts.ChannelsPerApv;
        int at = BeginApv(chipId, columns, data, commonMode, fault);
        if (data == 0)
        {
            return;
        }

        ReadOnlySpan<byte> order = ApvOutputOrder.PhysicalByPosition;
        Span<byte> dst = _destination.Slice(at * 4, ApvFacts.ChannelsPerApv * 4);
        ReadOnlySpan<ushort> f1 = amplitudes[..ApvFacts.ChannelsPerApv];
        ReadOnlySpan<ushort> f2 = amplitudes.Slice(ApvFacts.ChannelsPerApv, ApvFacts.ChannelsPerApv);
        ReadOnlySpan<ushort> f3 = amplitudes.Slice(2 * ApvFacts.ChannelsPerApv, ApvFacts.ChannelsPerApv);
        for (int r = 0; r < ApvFacts.ChannelsPerApv; r++)
        {
            int p = order[r];
            BinaryPrimitives.WriteUInt32LittleEndian(dst.Slice(r * 4, 4), ApvWords.LatchWord(f1[p], f2[p], f3[p]));
        }
    }

    /// <summary>
    /// Adds a sparse APV block: one word per hit (physical channels distinct, any order; written in increasing output
    /// position). Amplitudes 0..1023 are compressed with the ADC's variant by truncation and clamped (data-formats §7.8).
    /// An APV with no hit is still written (header, and CM word when due: data-formats §9.1). Needs an ADC with format bit 1.
    /// </summary>
    public void AddApvSparse(int chipId, ApvPipeline columns, scoped ReadOnlySpan<ApvHit> hits, ApvCommonMode commonMode = default, ApvHeaderFault fault = ApvHeaderFault.None)
    {
        RequireAdc(sparse: true);
        Span<short> byPosition = stackalloc short[ApvFacts.ChannelsPerApv];
        byPosition.Fill(-1);
        for (int i = 0; i < hits.Length; i++)
        {
            var h = hits[i];
            CheckRange("hit channel", h.Channel, ApvFacts.ChannelsPerApv - 1);
            CheckRange("hit a0", h.A0, ApvFacts.MaxAmplitude);
            CheckRange("hit a1", h.A1, ApvFacts.MaxAmplitude);
            CheckRange("hit a2", h.A2, ApvFacts.MaxAmplitude);
            int r = ApvOutputOrder.PositionByPhysical[h.Channel];
            if (byPosition[r] >= 0)
            {
                throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                    $"hit channel = {h.Channel} refused: physical channel given twice for chip {chipId}"), nameof(hits));
            }

            byPosition[r] = (short)i;
        }

        int data = Skipped ? 0 : hits.Length;
        int at = BeginApv(chipId, columns, data, commonMode, fault);
        if (data == 0)
        {
            return;
        }

        for (int r = 0; r < ApvFacts.ChannelsPerApv; r++)
        {
            if (byPosition[r] < 0)
            {
                continue;
            }

            var h = hits[byPosition[r]];
            uint word = ApvWords.SparseWord(
                ApvSparseAmplitude.Encode(_variant, _format, 0, h.A0),
                ApvSparseAmplitude.Encode(_variant, _format, 1, h.A1),
                ApvSparseAmplitude.Encode(_variant, _format, 2, h.A2),
                r);
            WriteWord(at++, word);
        }
    }

    /// <summary>Closes the open ADC block, writing its size. Does nothing when no block is open.</summary>
    public void EndAdc()
    {
        if (_adcStart < 0)
        {
            return;
        }

        int size = _words - _adcStart;
        if (size > ApvWords.MaxAdcBlockWords)
        {
            throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture,
                $"APV-ADC block size would be {size} words, the 16-bit size field holds at most {ApvWords.MaxAdcBlockWords}"));
        }

        int offset = _adcStart * 4;
        uint header = BinaryPrimitives.ReadUInt32LittleEndian(_destination[offset..]);
        BinaryPrimitives.WriteUInt32LittleEndian(_destination[offset..], header | (uint)size);
        _adcStart = -1;
    }

    /// <summary>Closes the open block and, for a full S-Link block, writes its header with the final size. Returns the length in bytes.</summary>
    public int Finish()
    {
        ThrowIfFinished();
        EndAdc();
        if (_withSlink)
        {
            if (_words > SlinkHeader.MaxEventSize)
            {
                throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture,
                    $"S-Link event_size would be {_words} words, the 16-bit field holds at most {SlinkHeader.MaxEventSize}"));
            }

            new SlinkHeader(_words, _sourceId, _eventType, false, _eventNumber, _spillNumber, false, 0, SlinkHeader.TcsNoError, 0, _slinkFormat)
                .WriteTo(_destination);
        }

        _finished = true;
        return _words * 4;
    }

    /// <summary>Words of a latch-all ADC block with <paramref name="apvs"/> APVs (2 + apvs × (130, +1 with CM)).</summary>
    public static int LatchAllAdcWords(int apvs, bool commonMode) => ApvWords.AdcHeaderWords + (apvs * ApvWords.LatchAllBlockWords(commonMode));

    /// <summary>Words of a sparse ADC block with <paramref name="apvs"/> APVs and <paramref name="hits"/> hits in total.</summary>
    public static int SparseAdcWords(int apvs, int hits, bool commonMode) =>
        ApvWords.AdcHeaderWords + (apvs * (ApvWords.ApvHeaderWords + (commonMode ? 1 : 0))) + hits;

    private readonly bool Skipped => (_format & ApvFormatFlags.DataSkipped) != 0;

    /// <summary>Writes the APV header and the CM word, returns the word index where <paramref name="dataWords"/> data words go.</summary>
    private int BeginApv(int chipId, ApvPipeline columns, int dataWords, ApvCommonMode cm, ApvHeaderFault fault)
    {
        CheckRange("chip_id", chipId, ApvWords.MaxChipId);
        bool writeCm = _commonMode && !Skipped;
        if (writeCm)
        {
            CheckRange("common mode frame 1", cm.Frame1, ApvWords.AmplitudeMask);
            CheckRange("common mode frame 2", cm.Frame2, ApvWords.AmplitudeMask);
            CheckRange("common mode frame 3", cm.Frame3, ApvWords.AmplitudeMask);
        }

        int dataLen = ApvWords.ApvHeaderWords + dataWords + (writeCm ? 1 : 0);
        EnsureRoom(dataLen);
        int at = _words;
        WriteWord(at, ApvWords.ApvHeader0(dataLen, _eventNumber, chipId));
        WriteWord(at + 1, ApvWords.ApvHeader1(
            ApvPipelineAddress.Encode(columns.Column1), ApvPipelineAddress.Encode(columns.Column2), ApvPipelineAddress.Encode(columns.Column3),
            (fault & ApvHeaderFault.Frame1Bad) == 0, (fault & ApvHeaderFault.Frame2Bad) == 0, (fault & ApvHeaderFault.Frame3Bad) == 0,
            (fault & ApvHeaderFault.NoApvSync) == 0, (fault & ApvHeaderFault.NoGlobalSync) == 0));
        if (writeCm)
        {
            WriteWord(at + dataLen - 1, ApvWords.CommonModeWord(cm.Frame1, cm.Frame2, cm.Frame3));
        }

        _words = at + dataLen;
        return at + ApvWords.ApvHeaderWords;
    }

    private readonly void RequireAdc(bool sparse)
    {
        ThrowIfFinished();
        if (_adcStart < 0)
        {
            throw new InvalidOperationException("An APV block needs an open ADC block: call BeginAdc(adcId, format, timeTag) first");
        }

        if (((_format & ApvFormatFlags.Sparse) != 0) != sparse)
        {
            throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture,
                $"format = 0x{(byte)_format:X2} has bit 1 (sparse) {(sparse ? "clear" : "set")}: use {(sparse ? "AddApvLatchAll" : "AddApvSparse")} for this ADC"));
        }
    }

    private readonly void WriteWord(int wordIndex, uint value) =>
        BinaryPrimitives.WriteUInt32LittleEndian(_destination.Slice(wordIndex * 4, 4), value);

    private readonly void EnsureRoom(int words)
    {
        long need = 4L * (_words + words);
        if (need > _destination.Length)
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                $"APV block of source {_sourceId} needs at least {need} bytes, the destination has {_destination.Length}"), "destination");
        }
    }

    private readonly void ThrowIfFinished()
    {
        if (_finished)
        {
            throw new InvalidOperationException("The APV block is already finished");
        }
    }

    private static void CheckRange(string field, int value, int max)
    {
        if (value < 0 || value > max)
        {
            throw new ArgumentOutOfRangeException(field, value,
                string.Create(CultureInfo.InvariantCulture, $"{field} = {value} refused: the field holds 0..{max}"));
        }
    }
}

/// <summary>Header faults the encoder can inject on purpose (simulators, tests): a frame whose digital header was not recognised, missing sync bits.</summary>
[Flags]
public enum ApvHeaderFault
{
    None = 0,
    Frame1Bad = 1,
    Frame2Bad = 2,
    Frame3Bad = 4,
    NoApvSync = 8,
    NoGlobalSync = 16,
}
