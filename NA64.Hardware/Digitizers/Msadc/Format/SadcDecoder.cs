using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace NA64.Hardware.Digitizers.Msadc.Format;

/// <summary>
/// Decodes one S-Link fragment of an MSADC source in data format 3 into a reusable <see cref="SadcEventData"/>.
/// Walks by counting words from the sizes (never classifies a word by its top bits, except key=3 of an ADC header),
/// applies every check of decoder-checks §2 and data-formats §6.10 plus ours, records each problem with its byte offset
/// and goes on where the rules allow: a bad block costs that block or that source, the rest of the event survives.
/// Never reads past the fragment; every step advances at least one word, so no input can make it loop.
/// </summary>
[SkipLocalsInit]
public static class SadcDecoder
{
    /// <summary>Pass as expected event number to skip the DATE nbInBurst comparison.</summary>
    public const int AnyEventNumber = -1;

    /// <summary>
    /// Decodes a fragment given as bytes (little-endian words). <paramref name="expectedEventNumber"/> is the DATE
    /// nbInBurst the S-Link event_number must equal; <paramref name="baseOffset"/> is added to every reported offset.
    /// </summary>
    public static SadcSourceResult Decode(ReadOnlySpan<byte> fragment, SadcEventData output, int expectedEventNumber = AnyEventNumber, long baseOffset = 0, int expectedBurst = AnyEventNumber)
    {
        ArgumentNullException.ThrowIfNull(output);
        if ((fragment.Length & 3) != 0)
        {
            int sourceId = fragment.Length >= 4 ? (int)((BinaryPrimitives.ReadUInt32LittleEndian(fragment) >> 16) & 0x3FF) : -1;
            output.AddProblem(new FormatProblem(FormatProblemKind.SlinkSizeMismatch, baseOffset, sourceId,
                string.Create(CultureInfo.InvariantCulture, $"S-Link block length {fragment.Length} bytes is not a multiple of 4")));
            var discarded = new SadcSourceResult(default, true, 0, baseOffset);
            output.AddSource(discarded);
            return discarded;
        }

        if (BitConverter.IsLittleEndian)
        {
            return Decode(MemoryMarshal.Cast<byte, uint>(fragment), output, expectedEventNumber, baseOffset, expectedBurst);
        }

        uint[] words = new uint[fragment.Length / 4];
        for (int i = 0; i < words.Length; i++)
        {
            words[i] = BinaryPrimitives.ReadUInt32LittleEndian(fragment[(i * 4)..]);
        }

        return Decode(words, output, expectedEventNumber, baseOffset, expectedBurst);
    }

    /// <summary>
    /// Decodes a fragment given as 32-bit words (host order). <paramref name="expectedBurst"/> is the DATE burst; the 11-bit
    /// S-Link spill_number is compared with it modulo 2048 (data-formats §9.3; DDD does not check it, so data are kept).
    /// </summary>
    public static SadcSourceResult Decode(ReadOnlySpan<uint> words, SadcEventData output, int expectedEventNumber = AnyEventNumber, long baseOffset = 0, int expectedBurst = AnyEventNumber)
    {
        ArgumentNullException.ThrowIfNull(output);
        int channelsBefore = output.ChannelCount;
        if (words.Length < SlinkHeader.Words)
        {
            int sourceId = words.Length > 0 ? (int)((words[0] >> 16) & 0x3FF) : -1;
            output.AddProblem(new FormatProblem(FormatProblemKind.SlinkTooShort, baseOffset, sourceId,
                string.Create(CultureInfo.InvariantCulture, $"S-Link block has {words.Length} words, the header alone needs {SlinkHeader.Words}")));
            return Done(output, default, true, channelsBefore, baseOffset);
        }

        var header = SlinkHeader.FromWords(words[0], words[1], words[2]);
        int src = header.SourceId;
        if (header.EventSize != words.Length)
        {
            output.AddProblem(new FormatProblem(FormatProblemKind.SlinkSizeMismatch, baseOffset, src,
                string.Create(CultureInfo.InvariantCulture, $"S-Link event_size = {header.EventSize} words, but the block holds {words.Length} words; source discarded")));
            return Done(output, header, true, channelsBefore, baseOffset);
        }

        if (header.IsMultiplexer)
        {
            output.AddProblem(new FormatProblem(FormatProblemKind.SlinkMultiplexerSource, baseOffset, src,
                string.Create(CultureInfo.InvariantCulture, $"source_id = {src} is in the S-Link multiplexer range {SlinkHeader.FirstMultiplexerSourceId}..{SlinkHeader.MaxSourceId}, not an SADC block; source discarded")));
            return Done(output, header, true, channelsBefore, baseOffset);
        }

        if (expectedEventNumber >= 0 && header.EventNumber != expectedEventNumber)
        {
            output.AddProblem(new FormatProblem(FormatProblemKind.SlinkEventNumber, baseOffset + 4, src,
                string.Create(CultureInfo.InvariantCulture, $"S-Link event_number = {header.EventNumber}, DATE nbInBurst = {expectedEventNumber}; source discarded")));
            return Done(output, header, true, channelsBefore, baseOffset);
        }

        if (expectedBurst >= 0 && header.SpillNumber != SlinkHeader.SpillFromBurst(expectedBurst))
        {
            output.AddProblem(new FormatProblem(FormatProblemKind.SlinkSpillNumber, baseOffset + 4, src,
                string.Create(CultureInfo.InvariantCulture, $"S-Link spill_number = {header.SpillNumber}, DATE burst = {expectedBurst} (mod 2048 = {SlinkHeader.SpillFromBurst(expectedBurst)}); data kept")));
        }

        CheckHeaderFlags(header, output, baseOffset);
        if (header.IsFirstEventOfRun)
        {
            output.AddProblem(new FormatProblem(FormatProblemKind.FirstEventOfRun, baseOffset + 8, src,
                string.Create(CultureInfo.InvariantCulture, $"format = 0x{header.Format:X2} has bit 7 set: first-event-of-run record, not data; payload of {words.Length - SlinkHeader.Words} words not decoded")));
            return Done(output, header, false, channelsBefore, baseOffset);
        }

        ScanPayload(words, header, output, baseOffset);
        return Done(output, header, false, channelsBefore, baseOffset);
    }

    private static SadcSourceResult Done(SadcEventData output, SlinkHeader header, bool discarded, int channelsBefore, long offset)
    {
        var result = new SadcSourceResult(header, discarded, output.ChannelCount - channelsBefore, offset);
        output.AddSource(result);
        return result;
    }

    private static void CheckHeaderFlags(in SlinkHeader h, SadcEventData output, long baseOffset) =>
        h.ReportFlagProblems((output, baseOffset, h.SourceId),
            static (s, kind, word, message) => s.output.AddProblem(new FormatProblem(kind, s.baseOffset + (4 * word), s.Item3, message)));

    private static void ScanPayload(ReadOnlySpan<uint> words, in SlinkHeader header, SadcEventData output, long baseOffset)
    {
        int src = header.SourceId;
        int evn = header.EventNumber & Sadc3.EventMask;
        int end = words.Length;
        // 8 ports x 4 ADCs x 16 channels = 512 bits: duplicates within this source.
        Span<ulong> seen = stackalloc ulong[8];
        seen.Clear();
        int p = SlinkHeader.Words;
        while (p < end)
        {
            uint w = words[p];
            uint key = w >> Sadc3.KeyShift;
            int size = (int)((w >> Sadc3.SizeShift) & Sadc3.SizeMask);
            int port = (int)((w >> Sadc3.PortShift) & Sadc3.PortMask);
            int adcId = (int)((w >> Sadc3.AdcIdShift) & Sadc3.AdcIdMask);
            int blockEvent = (int)(w & Sadc3.EventMask);
            long at = baseOffset + (4L * p);
            bool missing = key == Sadc3.KeyMissingModule && size == 1;
            if (key != Sadc3.KeyAdcHeader && !missing)
            {
                output.AddProblem(new FormatProblem(FormatProblemKind.BadAdcHeader, at, src,
                    string.Create(CultureInfo.InvariantCulture, $"bad ADC header 0x{w:X8}: key = {key} (size {size}), expected key 3, or key 0 with size 1; rest of source ({end - p} words) not scanned")));
                return;
            }

            if (size == 0 || p + size > end)
            {
                output.AddProblem(new FormatProblem(FormatProblemKind.AdcBlockSize, at, src,
                    string.Create(CultureInfo.InvariantCulture, $"ADC block size = {size} words at word {p} (port {port}, adc_id {adcId}), only {end - p} words left in the S-Link block; rest of source not scanned")));
                return;
            }

            if (blockEvent != evn)
            {
                output.AddProblem(new FormatProblem(FormatProblemKind.WrongEvent, at, src,
                    string.Create(CultureInfo.InvariantCulture, $"wrong event: ADC header event = {blockEvent}, S-Link event_number & 4095 = {evn} (port {port}, adc_id {adcId}); rest of source not scanned")));
                return;
            }

            if (missing)
            {
                output.AddMissing(new SadcMissingModule(src, port, adcId, at));
                p += 1;
                continue;
            }

            bool errorBit = ((w >> Sadc3.ErrorShift) & 1) != 0;
            output.AddBlock(new SadcAdcBlock(src, port, adcId, errorBit, size, at));
            if (errorBit)
            {
                output.AddProblem(new FormatProblem(FormatProblemKind.AdcErrorBit, at, src,
                    string.Create(CultureInfo.InvariantCulture, $"ADC header error bit set (port {port}, adc_id {adcId}); channels kept and flagged")));
            }

            ScanBlock(words.Slice(p + 1, size - 1), src, port, adcId, errorBit, seen, output, at + 4);
            p += size;
        }
    }

    private static void ScanBlock(ReadOnlySpan<uint> block, int src, int port, int adcId, bool errorBit, Span<ulong> seen, SadcEventData output, long blockOffset)
    {
        int q = 0;
        while (q < block.Length)
        {
            uint h = block[q];
            long at = blockOffset + (4L * q);
            uint id = h >> Sadc3.IdShift;
            int samples = (int)((h >> Sadc3.SamplesShift) & Sadc3.SamplesMask);
            int chanId = (int)((h >> Sadc3.ChanIdShift) & Sadc3.ChanIdMask);
            if (id != Sadc3.ChannelHeaderId)
            {
                output.AddProblem(new FormatProblem(FormatProblemKind.BadChannelHeader, at, src,
                    string.Create(CultureInfo.InvariantCulture, $"bad data header 0x{h:X8}: id = {id}, expected 1 (port {port}, adc_id {adcId}); rest of block ({block.Length - q} words) dropped")));
                return;
            }

            if (samples == 0)
            {
                output.AddProblem(new FormatProblem(FormatProblemKind.ZeroSamples, at, src,
                    string.Create(CultureInfo.InvariantCulture, $"channel header 0x{h:X8} has samples = 0 (port {port}, adc_id {adcId}, chan_id {chanId}); rest of block ({block.Length - q} words) dropped")));
                return;
            }

            int dataWords = Sadc3.DataWords(samples);
            if (q + 1 + dataWords > block.Length)
            {
                output.AddProblem(new FormatProblem(FormatProblemKind.DataOutside, at, src,
                    string.Create(CultureInfo.InvariantCulture, $"data outside: chan_id {chanId} (port {port}, adc_id {adcId}) has {samples} samples = {dataWords} data words, only {block.Length - q - 1} words left in the ADC block; rest of block dropped")));
                return;
            }

            var flags = errorBit ? SadcChannelFlags.AdcErrorBit : SadcChannelFlags.None;
            if (((h >> Sadc3.ZeroShift) & 1) != 0)
            {
                flags |= SadcChannelFlags.ZeroBitSet;
                output.AddProblem(new FormatProblem(FormatProblemKind.ZeroBitSet, at, src,
                    string.Create(CultureInfo.InvariantCulture, $"channel header 0x{h:X8} has its zero bit (25) set (port {port}, adc_id {adcId}, chan_id {chanId}); channel kept")));
            }

            int bit = (port << 6) | (adcId << 4) | chanId;
            ulong mask = 1UL << (bit & 63);
            if ((seen[bit >> 6] & mask) != 0)
            {
                flags |= SadcChannelFlags.Duplicate;
                output.AddProblem(new FormatProblem(FormatProblemKind.DuplicateChannel, at, src,
                    string.Create(CultureInfo.InvariantCulture, $"duplicate channel: port {port}, adc_id {adcId}, chan_id {chanId} already seen in this event; both kept")));
            }

            seen[bit >> 6] |= mask;

            Span<ushort> dest = output.ReserveSamples(samples, out int start);
            int got = UnpackSamples(block.Slice(q + 1, dataWords), samples, dest, out bool saturated, out int badWord);
            if (badWord >= 0)
            {
                uint d = block[q + 1 + badWord];
                uint want = badWord == 0 ? Sadc3.FirstDataWordTop : Sadc3.NextDataWordTop;
                flags |= SadcChannelFlags.Truncated;
                output.AddProblem(new FormatProblem(FormatProblemKind.BadDataWord, at + (4L * (1 + badWord)), src,
                    string.Create(CultureInfo.InvariantCulture, $"bad 'data' word 0x{d:X8}: id top bits = {d >> 30}, expected {want} (port {port}, adc_id {adcId}, chan_id {chanId}, data word {badWord}); channel truncated to {got} of {samples} samples")));
            }

            if (saturated)
            {
                flags |= SadcChannelFlags.Saturated;
                output.AddProblem(new FormatProblem(FormatProblemKind.SaturatedSample, at, src,
                    string.Create(CultureInfo.InvariantCulture, $"saturated sample (4095) in port {port}, adc_id {adcId}, chan_id {chanId}; channel kept and flagged")));
            }

            output.CommitChannel(new SadcChannel(new SadcChannelAddress(src, port, adcId, chanId), (int)(h & Sadc3.SumMask), start, got, flags));
            q += 1 + dataWords;
        }
    }

    /// <summary>
    /// The hot loop: two 12-bit samples per data word, stored as one 32-bit write (data1 low, data2 high, little-endian
    /// ushort pair). Stops at the first word whose top bits are not 01 (first word) / 10 (others) and returns the
    /// samples kept so far; <paramref name="badWord"/> is its index, or -1.
    /// </summary>
    private static int UnpackSamples(ReadOnlySpan<uint> data, int samples, Span<ushort> dest, out bool saturated, out int badWord)
    {
        ref uint src = ref MemoryMarshal.GetReference(data);
        ref byte dst = ref Unsafe.As<ushort, byte>(ref MemoryMarshal.GetReference(dest));
        int fullWords = samples >> 1;
        uint sat = 0;
        badWord = -1;
        uint want = Sadc3.FirstDataWordTop;
        int k = 0;
        if (Vector256.IsHardwareAccelerated && fullWords >= 9)
        {
            k = UnpackVector256(ref src, ref dst, fullWords, ref sat);
            if (k > 0)
                want = Sadc3.NextDataWordTop;
        }

        for (; k < fullWords; k++)
        {
            uint d = Unsafe.Add(ref src, k);
            if ((d >> 30) != want)
            {
                badWord = k;
                saturated = sat != 0;
                return 2 * k;
            }

            want = Sadc3.NextDataWordTop;
            uint lo = d & Sadc3.SampleMask;
            uint hi = (d >> Sadc3.Data2Shift) & Sadc3.SampleMask;
            // 4095 + 1 carries into bit 12: a branch-free saturation test.
            sat |= ((lo + 1) | (hi + 1)) & 0x1000;
            Unsafe.WriteUnaligned(ref Unsafe.Add(ref dst, 4 * k), lo | (hi << 16));
        }

        if ((samples & 1) != 0)
        {
            uint d = Unsafe.Add(ref src, k);
            if ((d >> 30) != want)
            {
                badWord = k;
                saturated = sat != 0;
                return 2 * k;
            }

            uint lo = d & Sadc3.SampleMask;
            sat |= (lo + 1) & 0x1000;
            Unsafe.WriteUnaligned(ref Unsafe.Add(ref dst, 4 * k), (ushort)lo);
        }

        saturated = sat != 0;
        return samples;
    }

    /// <summary>
    /// Vector part of <see cref="UnpackSamples"/> for channels of 18+ samples: word 0 (id 01) scalar, then 8 words per
    /// step (id 10), the last step overlapping the previous one (rewriting a word gives the same values). Stops at the
    /// first step holding a bad id and returns the index the scalar loop goes on from (it finds the exact word);
    /// 0 when word 0 itself is bad. Same output and saturation flag as the scalar loop (property-tested through the decoder).
    /// </summary>
    private static int UnpackVector256(ref uint src, ref byte dst, int fullWords, ref uint sat)
    {
        uint d0 = src;
        if ((d0 >> 30) != Sadc3.FirstDataWordTop)
            return 0;
        uint lo0 = d0 & Sadc3.SampleMask;
        uint hi0 = (d0 >> Sadc3.Data2Shift) & Sadc3.SampleMask;
        sat |= ((lo0 + 1) | (hi0 + 1)) & 0x1000;
        Unsafe.WriteUnaligned(ref dst, lo0 | (hi0 << 16));

        var mask = Vector256.Create((uint)Sadc3.SampleMask);
        var next = Vector256.Create(Sadc3.NextDataWordTop);
        var one = Vector256.Create(1u);
        var acc = Vector256<uint>.Zero;
        ref uint out32 = ref Unsafe.As<byte, uint>(ref dst);
        int k = 1;
        bool bad = false;
        for (; k + 8 <= fullWords; k += 8)
        {
            if (!Step(ref src, ref out32, k, mask, next, one, ref acc))
            {
                bad = true;
                break;
            }
        }

        if (!bad && k < fullWords && Step(ref src, ref out32, fullWords - 8, mask, next, one, ref acc))
            k = fullWords;
        if ((acc & Vector256.Create(0x1000u)) != Vector256<uint>.Zero)
            sat |= 0x1000;
        return k;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        static bool Step(ref uint src, ref uint out32, int at, Vector256<uint> mask, Vector256<uint> next, Vector256<uint> one, ref Vector256<uint> acc)
        {
            var v = Vector256.LoadUnsafe(ref src, (nuint)at);
            if (Vector256.ShiftRightLogical(v, 30) != next)
                return false;
            var lo = v & mask;
            var hi = Vector256.ShiftRightLogical(v, Sadc3.Data2Shift) & mask;
            acc |= (lo + one) | (hi + one);
            (lo | Vector256.ShiftLeft(hi, 16)).StoreUnsafe(ref out32, (nuint)at);
            return true;
        }
    }
}
