using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using NA64.Hardware.Digitizers.Msadc.Format;

namespace NA64.Hardware.Digitizers.Apv.Format;

/// <summary>
/// Decodes the S-Link block of a GeSiCA source in the COMPASS APV format into a reusable <see cref="ApvEventData"/>:
/// ADC blocks → APV blocks → per APV chip, event number, pipeline columns, CM values and either the 128 latch-all channel
/// triples or the sparse hit list, channels converted to physical channels (§7.9). Walks by counting words from the sizes,
/// applies every check of data-formats §7.10 and decoder-checks §2 plus ours, records each problem with its byte offset
/// (and word offset, ADC, chip in <see cref="ApvEventData.ProblemLocations"/>) and goes on where the rules allow: a bad APV
/// costs that APV, a bad APV block size the rest of its ADC block, a bad ADC block size or a wrong event number the rest of
/// the source; what was decoded before is kept. Never reads past the block; every step advances at least one word.
/// </summary>
[SkipLocalsInit]
public static class ApvDecoder
{
    /// <summary>Pass as expected event number to skip the comparison.</summary>
    public const int AnyEventNumber = -1;

    /// <summary>Decodes an S-Link block given as bytes (little-endian words); see <see cref="Decode(ReadOnlySpan{uint}, ApvEventData, ApvDecoderOptions?, int, long, int)"/>.</summary>
    public static ApvSourceResult Decode(ReadOnlySpan<byte> block, ApvEventData output, ApvDecoderOptions? options = null, int expectedEventNumber = AnyEventNumber, long baseOffset = 0, int expectedBurst = AnyEventNumber)
    {
        ArgumentNullException.ThrowIfNull(output);
        if ((block.Length & 3) != 0)
        {
            int sourceId = block.Length >= 4 ? (int)((BinaryPrimitives.ReadUInt32LittleEndian(block) >> 16) & 0x3FF) : -1;
            Problem(output, FormatProblemKind.SlinkSizeMismatch, baseOffset, 0, sourceId, -1, -1,
                string.Create(CultureInfo.InvariantCulture, $"S-Link block length {block.Length} bytes is not a multiple of 4; source discarded"));
            var discarded = new ApvSourceResult(default, true, false, 0, baseOffset);
            output.AddSource(discarded);
            return discarded;
        }

        if (BitConverter.IsLittleEndian)
        {
            return Decode(MemoryMarshal.Cast<byte, uint>(block), output, options, expectedEventNumber, baseOffset, expectedBurst);
        }

        uint[] words = new uint[block.Length / 4];
        for (int i = 0; i < words.Length; i++)
        {
            words[i] = BinaryPrimitives.ReadUInt32LittleEndian(block[(i * 4)..]);
        }

        return Decode(words, output, options, expectedEventNumber, baseOffset, expectedBurst);
    }

    /// <summary>
    /// Decodes an S-Link block given as 32-bit words (host order). <paramref name="expectedEventNumber"/> is the DATE
    /// nbInBurst the S-Link event_number must equal, <paramref name="expectedBurst"/> the DATE burst (spill compared mod 2048);
    /// <paramref name="baseOffset"/> is added to every byte offset. Word offsets count from the S-Link header word 0.
    /// </summary>
    public static ApvSourceResult Decode(ReadOnlySpan<uint> words, ApvEventData output, ApvDecoderOptions? options = null, int expectedEventNumber = AnyEventNumber, long baseOffset = 0, int expectedBurst = AnyEventNumber)
    {
        ArgumentNullException.ThrowIfNull(output);
        options ??= ApvDecoderOptions.Default;
        int chipsBefore = output.ChipCount;
        if (words.Length < SlinkHeader.Words)
        {
            int sourceId = words.Length > 0 ? (int)((words[0] >> 16) & 0x3FF) : -1;
            Problem(output, FormatProblemKind.SlinkTooShort, baseOffset, 0, sourceId, -1, -1,
                string.Create(CultureInfo.InvariantCulture, $"S-Link block has {words.Length} words, the header alone needs {SlinkHeader.Words}; source discarded"));
            return Done(output, default, true, false, chipsBefore, baseOffset);
        }

        var header = SlinkHeader.FromWords(words[0], words[1], words[2]);
        int src = header.SourceId;
        if (header.EventSize != words.Length)
        {
            Problem(output, FormatProblemKind.SlinkSizeMismatch, baseOffset, 0, src, -1, -1,
                string.Create(CultureInfo.InvariantCulture, $"S-Link event_size = {header.EventSize} words, but the block holds {words.Length} words; source discarded"));
            return Done(output, header, true, false, chipsBefore, baseOffset);
        }

        if (header.IsMultiplexer)
        {
            Problem(output, FormatProblemKind.SlinkMultiplexerSource, baseOffset, 0, src, -1, -1,
                string.Create(CultureInfo.InvariantCulture, $"source_id = {src} is in the S-Link multiplexer range {SlinkHeader.FirstMultiplexerSourceId}..{SlinkHeader.MaxSourceId}, not an APV block; source discarded"));
            return Done(output, header, true, false, chipsBefore, baseOffset);
        }

        if (expectedEventNumber >= 0 && header.EventNumber != expectedEventNumber)
        {
            Problem(output, FormatProblemKind.SlinkEventNumber, baseOffset + 4, 1, src, -1, -1,
                string.Create(CultureInfo.InvariantCulture, $"S-Link event_number = {header.EventNumber}, DATE nbInBurst = {expectedEventNumber}; source discarded"));
            return Done(output, header, true, false, chipsBefore, baseOffset);
        }

        if (expectedBurst >= 0 && header.SpillNumber != SlinkHeader.SpillFromBurst(expectedBurst))
        {
            Problem(output, FormatProblemKind.SlinkSpillNumber, baseOffset + 4, 1, src, -1, -1,
                string.Create(CultureInfo.InvariantCulture, $"S-Link spill_number = {header.SpillNumber}, DATE burst = {expectedBurst} (mod 2048 = {SlinkHeader.SpillFromBurst(expectedBurst)}); data kept"));
        }

        CheckHeaderFlags(header, output, baseOffset);
        if (header.IsFirstEventOfRun)
        {
            Problem(output, FormatProblemKind.FirstEventOfRun, baseOffset + 8, 2, src, -1, -1,
                string.Create(CultureInfo.InvariantCulture, $"format = 0x{header.Format:X2} has bit 7 set: first-event-of-run record, not data; payload of {words.Length - SlinkHeader.Words} words not decoded"));
            return Done(output, header, false, false, chipsBefore, baseOffset);
        }

        bool completed = Scan(words[SlinkHeader.Words..], SlinkHeader.Words, src, header.EventNumber, output, options, baseOffset);
        return Done(output, header, false, !completed, chipsBefore, baseOffset);
    }

    /// <summary>
    /// Decodes a bare front-end payload (the ADC blocks of one source, no S-Link header) for <paramref name="sourceId"/>;
    /// <paramref name="slinkEventNumber"/> is the S-Link event_number the APV headers must match (& 0xFFF), or
    /// <see cref="AnyEventNumber"/>. Word offsets count from the payload's first word. Returns false when the scan stopped early.
    /// </summary>
    public static bool DecodePayload(ReadOnlySpan<uint> payload, int sourceId, int slinkEventNumber, ApvEventData output, ApvDecoderOptions? options = null, long baseOffset = 0)
    {
        ArgumentNullException.ThrowIfNull(output);
        return Scan(payload, 0, sourceId, slinkEventNumber, output, options ?? ApvDecoderOptions.Default, baseOffset);
    }

    private static ApvSourceResult Done(ApvEventData output, SlinkHeader header, bool discarded, bool stopped, int chipsBefore, long offset)
    {
        var result = new ApvSourceResult(header, discarded, stopped, output.ChipCount - chipsBefore, offset);
        output.AddSource(result);
        return result;
    }

    private static void Problem(ApvEventData output, FormatProblemKind kind, long byteOffset, int word, int src, int adc, int chip, string message) =>
        output.AddProblem(new FormatProblem(kind, byteOffset, src, message), new ApvProblemLocation(word, adc, chip));

    private static void CheckHeaderFlags(in SlinkHeader h, ApvEventData output, long baseOffset) =>
        h.ReportFlagProblems((output, baseOffset, h.SourceId), static (s, kind, word, message) =>
            Problem(s.output, kind, s.baseOffset + (4 * word), word, s.Item3, -1, -1,
                kind is FormatProblemKind.SlinkErrorFlag or FormatProblemKind.SlinkErrorsCounter ? message + "; data kept" : message));

    /// <summary>Walks the ADC blocks of a payload; <paramref name="wordBase"/> is the payload's word offset in the caller's block. False = stopped early.</summary>
    private static bool Scan(ReadOnlySpan<uint> payload, int wordBase, int src, int slinkEventNumber, ApvEventData output, ApvDecoderOptions options, long baseOffset)
    {
        int end = payload.Length;
        int firstTimeTag = -1;
        // 256 ADC ids: which were seen in this source.
        Span<ulong> seen = stackalloc ulong[4];
        seen.Clear();
        int p = 0;
        while (p < end)
        {
            int word = wordBase + p;
            long at = baseOffset + (4L * word);
            if (end - p < ApvWords.AdcHeaderWords)
            {
                Problem(output, FormatProblemKind.ApvAdcBlockSize, at, word, src, -1, -1,
                    string.Create(CultureInfo.InvariantCulture, $"ADC header at word {word} needs {ApvWords.AdcHeaderWords} words, only {end - p} left in the payload; rest of source not scanned"));
                return false;
            }

            uint w0 = payload[p];
            uint w1 = payload[p + 1];
            int size = (int)(w0 & ApvWords.AdcSizeMask);
            int adcId = (int)((w0 >> ApvWords.AdcIdShift) & ApvWords.AdcIdMask);
            byte formatOld = (byte)(w0 >> ApvWords.FormatShift);
            int timeTag = (int)(w1 & ApvWords.TimeTagMask);
            var format = (ApvFormatFlags)(byte)(w1 >> ApvWords.FormatShift);
            if (size < ApvWords.AdcHeaderWords || size > end - p)
            {
                Problem(output, FormatProblemKind.ApvAdcBlockSize, at, word, src, adcId, -1,
                    string.Create(CultureInfo.InvariantCulture, $"ADC block size = {size} words at word {word} (adc_id {adcId}), expected {ApvWords.AdcHeaderWords}..{end - p} (the block must end inside the payload, after its header); rest of source not scanned"));
                return false;
            }

            output.AddBlock(new ApvAdcBlock(src, adcId, format, formatOld, timeTag, size, 0, word, at));
            ulong bit = 1UL << (adcId & 63);
            if ((seen[adcId >> 6] & bit) != 0)
            {
                Problem(output, FormatProblemKind.ApvDuplicateAdc, at, word, src, adcId, -1,
                    string.Create(CultureInfo.InvariantCulture, $"adc_id {adcId} appears a second time in this source (word {word}); both kept"));
            }

            seen[adcId >> 6] |= bit;
            if (options.ExpectedAdcMask is { } expected && (expected[adcId >> 6] & bit) == 0)
            {
                Problem(output, FormatProblemKind.ApvUnexpectedAdc, at, word, src, adcId, -1,
                    string.Create(CultureInfo.InvariantCulture, $"adc_id {adcId} is not among the {options.ExpectedAdcIds!.Count} ADC ids expected for source {src}; data kept"));
            }

            if (options.CheckTimeTag)
            {
                if (firstTimeTag < 0)
                {
                    firstTimeTag = timeTag;
                }
                else if (timeTag != firstTimeTag)
                {
                    Problem(output, FormatProblemKind.ApvTimeTagMismatch, at + 4, word + 1, src, adcId, -1,
                        string.Create(CultureInfo.InvariantCulture, $"time_tag = {timeTag} (adc_id {adcId}) differs from the first ADC block's {firstTimeTag}; data kept"));
                }
            }

            if ((format & ApvFormatFlags.TripleFrame) == 0)
            {
                Problem(output, FormatProblemKind.ApvSingleFrame, at + 4, word + 1, src, adcId, -1,
                    string.Create(CultureInfo.InvariantCulture, $"format = 0x{(byte)format:X2} (adc_id {adcId}) has bit 0 (triple frame) clear: single frame cannot be decoded (DDD neither); {size - ApvWords.AdcHeaderWords} words of the ADC block dropped"));
                p += size;
                continue;
            }

            if ((format & ApvFormatFlags.DataSkipped) != 0)
            {
                Problem(output, FormatProblemKind.ApvDataSkipped, at + 4, word + 1, src, adcId, -1,
                    string.Create(CultureInfo.InvariantCulture, $"format = 0x{(byte)format:X2} (adc_id {adcId}) has bit 5 (data skipped) set: the ADC shipped APV headers only, this event's data of the ADC are lost"));
            }

            int chipsBefore = output.ChipCount;
            bool go = ScanAdc(payload.Slice(p + ApvWords.AdcHeaderWords, size - ApvWords.AdcHeaderWords), word + ApvWords.AdcHeaderWords, src, adcId, format, slinkEventNumber, output, options, baseOffset);
            output.SetLastBlockApvs(output.ChipCount - chipsBefore);
            if (!go)
            {
                return false;
            }

            p += size;
        }

        if (options.ExpectedAdcMask is { } want)
        {
            for (int k = 0; k < want.Length; k++)
            {
                for (ulong missing = want[k] & ~seen[k]; missing != 0; missing &= missing - 1)
                {
                    int id = (k << 6) | System.Numerics.BitOperations.TrailingZeroCount(missing);
                    Problem(output, FormatProblemKind.ApvMissingAdc, baseOffset + (4L * wordBase), wordBase, src, id, -1,
                        string.Create(CultureInfo.InvariantCulture, $"adc_id {id} expected for source {src} is missing from the event"));
                }
            }
        }

        return true;
    }

    /// <summary>Walks the APV blocks of one ADC block. False = the source must stop (wrong event number).</summary>
    private static bool ScanAdc(ReadOnlySpan<uint> block, int wordBase, int src, int adcId, ApvFormatFlags format, int slinkEventNumber, ApvEventData output, ApvDecoderOptions options, long baseOffset)
    {
        bool skipped = (format & ApvFormatFlags.DataSkipped) != 0;
        bool sparse = (format & ApvFormatFlags.Sparse) != 0;
        bool cm = ((format & ApvFormatFlags.CommonMode) != 0 || options.CommonModeAlways) && !skipped;
        int minLen = ApvWords.ApvHeaderWords + (cm ? 1 : 0);
        int evn = slinkEventNumber & ApvWords.EventMask;
        int chipsSeen = 0;
        uint firstAddresses = 0;
        bool haveFirst = false;
        int q = 0;
        while (q < block.Length)
        {
            int word = wordBase + q;
            long at = baseOffset + (4L * word);
            if (block.Length - q < ApvWords.ApvHeaderWords)
            {
                Problem(output, FormatProblemKind.ApvBlockSize, at, word, src, adcId, -1,
                    string.Create(CultureInfo.InvariantCulture, $"APV header at word {word} (adc_id {adcId}) needs {ApvWords.ApvHeaderWords} words, only {block.Length - q} left in the ADC block; word dropped"));
                return true;
            }

            uint h0 = block[q];
            uint h1 = block[q + 1];
            int dataLen = (int)(h0 & ApvWords.DataLenMask);
            int apvEvent = (int)((h0 >> ApvWords.EventShift) & ApvWords.EventMask);
            int chip = (int)((h0 >> ApvWords.ChipIdShift) & ApvWords.ChipIdMask);
            if (slinkEventNumber >= 0 && apvEvent != evn)
            {
                Problem(output, FormatProblemKind.ApvWrongEvent, at, word, src, adcId, chip,
                    string.Create(CultureInfo.InvariantCulture, $"APV event_number = {apvEvent} (adc_id {adcId}, chip {chip}), S-Link event_number & 0xFFF = {evn}; rest of source not scanned"));
                return false;
            }

            if (dataLen < minLen || dataLen > block.Length - q)
            {
                Problem(output, FormatProblemKind.ApvBlockSize, at, word, src, adcId, chip,
                    string.Create(CultureInfo.InvariantCulture, $"APV data_len = {dataLen} words (adc_id {adcId}, chip {chip}), expected {minLen}..{block.Length - q} (2 header words{(cm ? " + CM word" : string.Empty)}, inside the ADC block); rest of the ADC block ({block.Length - q} words) dropped"));
                return true;
            }

            var flags = ApvChipFlags.None;
            if ((chipsSeen & (1 << chip)) != 0)
            {
                flags |= ApvChipFlags.Duplicate;
                Problem(output, FormatProblemKind.ApvDuplicateChip, at, word, src, adcId, chip,
                    string.Create(CultureInfo.InvariantCulture, $"chip_id {chip} appears a second time in adc_id {adcId}; both kept"));
            }

            chipsSeen |= 1 << chip;
            flags |= CheckPipeline(h1, ref firstAddresses, ref haveFirst, at + 4, word + 1, src, adcId, chip, output, out var columns);
            bool apvSync = ((h1 >> ApvWords.AsShift) & 1) != 0;
            bool globalSync = ((h1 >> ApvWords.GsShift) & 1) != 0;
            if (!apvSync || !globalSync)
            {
                flags |= ApvChipFlags.NoSync;
            }

            ApvCommonMode? commonMode = null;
            int dataWords = dataLen - minLen;
            if (cm)
            {
                int cmWord = q + dataLen - 1;
                uint c = block[cmWord];
                commonMode = new ApvCommonMode(ApvWords.Amplitude(c, 0), ApvWords.Amplitude(c, 1), ApvWords.Amplitude(c, 2));
                if ((c & ApvWords.CmOneBit) == 0 || (c & ApvWords.CmZeroBit) != 0)
                {
                    flags |= ApvChipFlags.CommonModeWord;
                    Problem(output, FormatProblemKind.ApvCommonModeWord, baseOffset + (4L * (wordBase + cmWord)), wordBase + cmWord, src, adcId, chip,
                        string.Create(CultureInfo.InvariantCulture, $"CM word 0x{c:X8} (adc_id {adcId}, chip {chip}) has bit 31 = {c >> 31} and bit 30 = {(c >> 30) & 1}, expected 1 and 0 (is the CM word missing?); values kept"));
                }
            }

            int dataStart = 0;
            int dataCount = 0;
            if (skipped)
            {
                flags |= ApvChipFlags.DataSkipped;
                dataWords = 0;
            }
            else if ((h1 & ApvWords.GoodBitsMask) != ApvWords.GoodBitsMask)
            {
                flags |= ApvChipFlags.HeaderSampleError;
                Problem(output, FormatProblemKind.ApvHeaderSampleError, at + 4, word + 1, src, adcId, chip,
                    string.Create(CultureInfo.InvariantCulture, $"APV header sample error (adc_id {adcId}, chip {chip}): frame good bits = {(h1 & 1)}/{(h1 >> 9) & 1}/{(h1 >> 18) & 1}, all must be 1; {dataWords} data words of the APV dropped"));
            }
            else
            {
                ReadOnlySpan<uint> data = block.Slice(q + ApvWords.ApvHeaderWords, dataWords);
                int dataWord = word + ApvWords.ApvHeaderWords;
                flags |= sparse
                    ? DecodeSparse(data, format, options.SparseVariant, output, dataWord, baseOffset, src, adcId, chip, out dataStart, out dataCount)
                    : DecodeLatchAll(data, output, dataWord, baseOffset, src, adcId, chip, out dataStart, out dataCount);
            }

            output.AddChip(new ApvChip(src, adcId, chip, apvEvent, columns, apvSync, globalSync, sparse, commonMode, dataWords, dataStart, dataCount, flags, word, at));
            q += dataLen;
        }

        return true;
    }

    private static ApvChipFlags CheckPipeline(uint h1, ref uint firstAddresses, ref bool haveFirst, long at, int word, int src, int adcId, int chip, ApvEventData output, out ApvPipeline columns)
    {
        int a1 = ApvWords.Address(h1, 0);
        int a2 = ApvWords.Address(h1, 1);
        int a3 = ApvWords.Address(h1, 2);
        columns = new ApvPipeline(ApvPipelineAddress.Decode(a1), ApvPipelineAddress.Decode(a2), ApvPipelineAddress.Decode(a3));
        var flags = ApvChipFlags.None;
        if (!columns.AllValid)
        {
            flags |= ApvChipFlags.PipelineInvalid;
            Problem(output, FormatProblemKind.ApvPipelineAddressInvalid, at, word, src, adcId, chip,
                string.Create(CultureInfo.InvariantCulture, $"pipeline addresses 0x{a1:X2}/0x{a2:X2}/0x{a3:X2} (adc_id {adcId}, chip {chip}) decode to columns {columns.Column1}/{columns.Column2}/{columns.Column3}: a code outside the Gray image of 32..223 (-1); data kept"));
        }
        else if (!columns.IsConsecutive)
        {
            flags |= ApvChipFlags.PipelineNotConsecutive;
            Problem(output, FormatProblemKind.ApvPipelineNotConsecutive, at, word, src, adcId, chip,
                string.Create(CultureInfo.InvariantCulture, $"pipeline columns {columns.Column1}/{columns.Column2}/{columns.Column3} (adc_id {adcId}, chip {chip}) are not consecutive modulo {ApvFacts.PipelineColumns}; data kept"));
        }

        // The APVs of one ADC are triggered together, so their columns must agree with the first APV's.
        uint addresses = (uint)(a1 | (a2 << 8) | (a3 << 16));
        if (!haveFirst)
        {
            firstAddresses = addresses;
            haveFirst = true;
        }
        else if (addresses != firstAddresses)
        {
            flags |= ApvChipFlags.PipelineDisagree;
            Problem(output, FormatProblemKind.ApvPipelineDisagree, at, word, src, adcId, chip,
                string.Create(CultureInfo.InvariantCulture, $"pipeline addresses 0x{a1:X2}/0x{a2:X2}/0x{a3:X2} (adc_id {adcId}, chip {chip}) differ from the ADC's first APV 0x{firstAddresses & 0xFF:X2}/0x{(firstAddresses >> 8) & 0xFF:X2}/0x{firstAddresses >> 16:X2}; data kept"));
        }

        return flags;
    }

    private static ApvChipFlags DecodeLatchAll(ReadOnlySpan<uint> data, ApvEventData output, int dataWord, long baseOffset, int src, int adcId, int chip, out int start, out int count)
    {
        var flags = ApvChipFlags.None;
        int n = data.Length;
        if (n < ApvFacts.ChannelsPerApv)
        {
            flags |= ApvChipFlags.LatchAllIncomplete;
            Problem(output, FormatProblemKind.ApvLatchAllTooFewWords, baseOffset + (4L * dataWord), dataWord, src, adcId, chip,
                string.Create(CultureInfo.InvariantCulture, $"latch-all APV (adc_id {adcId}, chip {chip}) has {n} data words, expected {ApvFacts.ChannelsPerApv}; the {n} channels kept (as DDD), the other {ApvFacts.ChannelsPerApv - n} read 0"));
        }
        else if (n > ApvFacts.ChannelsPerApv)
        {
            flags |= ApvChipFlags.LatchAllTruncated;
            n = ApvFacts.ChannelsPerApv;
            Problem(output, FormatProblemKind.ApvLatchAllTooManyWords, baseOffset + (4L * (dataWord + n)), dataWord + n, src, adcId, chip,
                string.Create(CultureInfo.InvariantCulture, $"latch-all APV (adc_id {adcId}, chip {chip}) has {data.Length} data words, expected {ApvFacts.ChannelsPerApv}; the {data.Length - n} extra words dropped"));
        }

        Span<ushort> dest = output.ReserveLatchAll(out start);
        count = ApvEventData.LatchAllValues;
        ReadOnlySpan<byte> order = ApvOutputOrder.PhysicalByPosition;
        ref ushort f1 = ref MemoryMarshal.GetReference(dest);
        ref ushort f2 = ref Unsafe.Add(ref f1, ApvFacts.ChannelsPerApv);
        ref ushort f3 = ref Unsafe.Add(ref f1, 2 * ApvFacts.ChannelsPerApv);
        for (int r = 0; r < n; r++)
        {
            uint w = data[r];
            int p = order[r];
            Unsafe.Add(ref f1, p) = (ushort)(w & ApvWords.AmplitudeMask);
            Unsafe.Add(ref f2, p) = (ushort)((w >> ApvWords.AmplitudeBits) & ApvWords.AmplitudeMask);
            Unsafe.Add(ref f3, p) = (ushort)((w >> (2 * ApvWords.AmplitudeBits)) & ApvWords.AmplitudeMask);
        }

        return flags;
    }

    private static ApvChipFlags DecodeSparse(ReadOnlySpan<uint> data, ApvFormatFlags format, ApvSparseVariant variant, ApvEventData output, int dataWord, long baseOffset, int src, int adcId, int chip, out int start, out int count)
    {
        var flags = ApvChipFlags.None;
        start = output.HitCount;
        count = data.Length;
        ReadOnlySpan<byte> order = ApvOutputOrder.PhysicalByPosition;
        int last = -1;
        for (int i = 0; i < data.Length; i++)
        {
            uint w = data[i];
            int r = (int)((w >> ApvWords.SparseChannelShift) & ApvWords.SparseChannelMask);
            int raw1 = (int)(w & ApvWords.SparseRaw12Mask);
            int raw2 = (int)((w >> ApvWords.SparseRaw2Shift) & ApvWords.SparseRaw12Mask);
            int raw3 = (int)((w >> ApvWords.SparseRaw3Shift) & ApvWords.SparseRaw3Mask);
            int word = dataWord + i;
            if (r <= last && (flags & ApvChipFlags.ChannelOrder) == 0)
            {
                // Reported once per APV: one bad order usually drags many words with it.
                flags |= ApvChipFlags.ChannelOrder;
                Problem(output, FormatProblemKind.ApvSparseChannelOrder, baseOffset + (4L * word), word, src, adcId, chip,
                    string.Create(CultureInfo.InvariantCulture, $"sparse channel {r} (adc_id {adcId}, chip {chip}, data word {i}) after channel {last}: channels must be strictly increasing; all words kept"));
            }

            if ((raw1 | raw2 | raw3) == 0 && (flags & ApvChipFlags.ImpossibleAmplitude) == 0)
            {
                flags |= ApvChipFlags.ImpossibleAmplitude;
                Problem(output, FormatProblemKind.ApvImpossibleAmplitude, baseOffset + (4L * word), word, src, adcId, chip,
                    string.Create(CultureInfo.InvariantCulture, $"sparse word 0x{w:X8} (adc_id {adcId}, chip {chip}, channel {r}) has amplitudes 0/0/0: a channel with no signal cannot pass zero suppression; kept"));
            }

            last = Math.Max(last, r);
            output.AddHit(new ApvHit(
                order[r],
                ApvSparseAmplitude.Decode(variant, format, 0, raw1),
                ApvSparseAmplitude.Decode(variant, format, 1, raw2),
                ApvSparseAmplitude.Decode(variant, format, 2, raw3)));
        }

        return flags;
    }
}
