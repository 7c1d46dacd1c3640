using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace NA64.Hardware.Digitizers.Msadc.Format;

/// <summary>
/// Writes one S-Link fragment of an MSADC source in data format 3 straight into a caller's buffer: S-Link header,
/// then per (port, adc_id) an ADC block with its channels in increasing chan_id, and missing-module markers.
/// Sizes are back-patched when a block closes and in <see cref="Finish"/>, so nothing is copied twice.
/// Latch-all and sparse differ only in which channels the caller adds; an ADC block with no channel is still written
/// (header only, size 1), because every header must be present in every event (data-formats §9.1).
/// </summary>
/// <example>
/// <code>
/// var w = new SadcBlockWriter(buffer, sourceId: 623, eventNumber: 1234, spillNumber: 17);
/// w.BeginAdc(port: 5, adcId: 1);
/// w.AddChannel(3, samples, SadcSumMode.PedestalSubtracted, 212f, 212f);
/// w.AddMissingModule(port: 6, adcId: 0);
/// int bytes = w.Finish();
/// </code>
/// </example>
public ref struct SadcBlockWriter
{
    private readonly Span<byte> _destination;
    private readonly int _sourceId;
    private readonly int _eventNumber;
    private readonly int _spillNumber;
    private readonly int _eventType;
    private readonly byte _format;
    private int _words;
    private int _blockStart;
    private int _lastChanId;
    private bool _finished;

    /// <summary>Starts a fragment. Refuses source ids ≥ 896 (multiplexer range and beyond), event numbers ≥ 2^20, spills ≥ 2048.</summary>
    public SadcBlockWriter(Span<byte> destination, int sourceId, int eventNumber, int spillNumber, int eventType = 0, byte format = 0)
    {
        // Validates every field once, up front, with the real size patched in Finish.
        _ = SlinkHeader.ForData(sourceId, eventNumber, spillNumber, SlinkHeader.Words, eventType, format);
        _destination = destination;
        _sourceId = sourceId;
        _eventNumber = eventNumber;
        _spillNumber = spillNumber;
        _eventType = eventType;
        _format = format;
        _blockStart = -1;
        _lastChanId = -1;
        EnsureRoom(SlinkHeader.Words);
        _words = SlinkHeader.Words;
    }

    /// <summary>Words written so far, the S-Link header included.</summary>
    public readonly int WordsWritten => _words;

    /// <summary>Opens an ADC block for (port, adc_id); closes the previous one if still open.</summary>
    public void BeginAdc(int port, int adcId, bool errorBit = false)
    {
        ThrowIfFinished();
        CheckRange("hl_port", port, Sadc3.MaxPort);
        CheckRange("adc_id", adcId, Sadc3.MaxAdcId);
        EndAdc();
        EnsureRoom(1);
        _blockStart = _words;
        // Size is back-patched in EndAdc; the rest of the header is final now.
        WriteWord(_words++, Sadc3.AdcHeader(_eventNumber, 0, errorBit, adcId, port));
        _lastChanId = -1;
    }

    /// <summary>Adds one channel with an explicit 16-bit sum (0..65535).</summary>
    public void AddChannel(int chanId, ReadOnlySpan<ushort> samples, int sum)
    {
        ThrowIfFinished();
        if (_blockStart < 0)
        {
            throw new InvalidOperationException("AddChannel needs an open ADC block: call BeginAdc(port, adcId) first");
        }

        CheckRange("chan_id", chanId, Sadc3.MaxChanId);
        CheckRange("sum", sum, Sadc3.SumMask);
        if (chanId <= _lastChanId)
        {
            throw new ArgumentOutOfRangeException(nameof(chanId), chanId,
                string.Create(CultureInfo.InvariantCulture, $"chan_id = {chanId} refused: channels of an ADC block are written in increasing chan_id, the previous one was {_lastChanId}"));
        }

        if (samples.Length < 1 || samples.Length > Sadc3.MaxSamples)
        {
            throw new ArgumentOutOfRangeException(nameof(samples), samples.Length,
                string.Create(CultureInfo.InvariantCulture, $"samples = {samples.Length} refused: a channel carries 1..{Sadc3.MaxSamples} samples"));
        }

        int dataWords = Sadc3.DataWords(samples.Length);
        int blockWords = _words - _blockStart + 1 + dataWords;
        if (blockWords > Sadc3.MaxBlockWords)
        {
            throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture,
                $"ADC block size would be {blockWords} words, the 12-bit size field holds at most {Sadc3.MaxBlockWords}"));
        }

        EnsureRoom(1 + dataWords);
        CheckSamples(samples);
        int at = _words;
        WriteWord(at++, Sadc3.ChannelHeader(sum, samples.Length, chanId));
        // Hot loop: one little-endian word per sample pair, no per-word slicing; sizes were checked by EnsureRoom.
        ref ushort s = ref MemoryMarshal.GetReference(samples);
        Span<byte> words = _destination.Slice(at * 4, dataWords * 4);
        ref byte dst = ref MemoryMarshal.GetReference(words);
        int pairs = samples.Length >> 1;
        uint id = Sadc3.FirstDataWordId << 24;
        int k = 0;
        if (Vector256.IsHardwareAccelerated && BitConverter.IsLittleEndian && pairs >= 8)
        {
            // Eight pairs per step, read as uint (data1 | data2 << 16) and moved to data1 | data2 << 12 | id; the last
            // step overlaps the one before when the pairs are not a multiple of 8. Word 0 then gets its own id.
            ref uint pair = ref Unsafe.As<ushort, uint>(ref s);
            var low = Vector256.Create((uint)Sadc3.SampleMask);
            var next = Vector256.Create(Sadc3.NextDataWordId << 24);
            for (int at8 = 0; ; at8 = Math.Min(at8 + 8, pairs - 8))
            {
                var v = Vector256.LoadUnsafe(ref pair, (nuint)at8);
                ((v & low) | (Vector256.ShiftRightLogical(v, 16) << Sadc3.Data2Shift) | next).StoreUnsafe(ref Unsafe.As<byte, uint>(ref dst), (nuint)at8);
                if (at8 + 8 >= pairs)
                    break;
            }

            Unsafe.WriteUnaligned(ref dst, (Unsafe.ReadUnaligned<uint>(ref dst) & 0x00FF_FFFFu) | id);
            k = pairs;
            id = Sadc3.NextDataWordId << 24;
        }

        for (; k < pairs; k++)
        {
            uint w = Unsafe.Add(ref s, 2 * k) | ((uint)Unsafe.Add(ref s, (2 * k) + 1) << Sadc3.Data2Shift) | id;
            Unsafe.WriteUnaligned(ref Unsafe.Add(ref dst, 4 * k), BitConverter.IsLittleEndian ? w : BinaryPrimitives.ReverseEndianness(w));
            id = Sadc3.NextDataWordId << 24;
        }

        if ((samples.Length & 1) != 0)
        {
            uint w = Unsafe.Add(ref s, samples.Length - 1) | id;
            Unsafe.WriteUnaligned(ref Unsafe.Add(ref dst, 4 * pairs), BitConverter.IsLittleEndian ? w : BinaryPrimitives.ReverseEndianness(w));
        }

        at += dataWords;
        _words = at;
        _lastChanId = chanId;
    }

    /// <summary>Adds one channel, the sum computed as configured: 0, or Σ(s − pedestal) over the even/odd paths, clamped to 0..65535.</summary>
    public void AddChannel(int chanId, ReadOnlySpan<ushort> samples, SadcSumMode sumMode, float pedestalEven = 0f, float pedestalOdd = 0f)
    {
        int sum = sumMode == SadcSumMode.PedestalSubtracted ? Sadc3.PedestalSubtractedSum(samples, pedestalEven, pedestalOdd) : 0;
        AddChannel(chanId, samples, sum);
    }

    /// <summary>Closes the open ADC block, writing its size. Does nothing when no block is open.</summary>
    public void EndAdc()
    {
        if (_blockStart < 0)
        {
            return;
        }

        int offset = _blockStart * 4;
        uint header = BinaryPrimitives.ReadUInt32LittleEndian(_destination[offset..]);
        header |= (uint)(_words - _blockStart) << Sadc3.SizeShift;
        BinaryPrimitives.WriteUInt32LittleEndian(_destination[offset..], header);
        _blockStart = -1;
    }

    /// <summary>Writes the 1-word missing-module marker for (port, adc_id), event field filled.</summary>
    public void AddMissingModule(int port, int adcId)
    {
        ThrowIfFinished();
        CheckRange("hl_port", port, Sadc3.MaxPort);
        CheckRange("adc_id", adcId, Sadc3.MaxAdcId);
        EndAdc();
        EnsureRoom(1);
        WriteWord(_words++, Sadc3.MissingModule(_eventNumber, adcId, port));
    }

    /// <summary>Closes the open block and writes the S-Link header with the final size. Returns the fragment length in bytes.</summary>
    public int Finish()
    {
        ThrowIfFinished();
        EndAdc();
        if (_words > SlinkHeader.MaxEventSize)
        {
            throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture,
                $"S-Link event_size would be {_words} words, the 16-bit field holds at most {SlinkHeader.MaxEventSize}"));
        }

        new SlinkHeader(_words, _sourceId, _eventType, false, _eventNumber, _spillNumber, false, 0, SlinkHeader.TcsNoError, 0, _format)
            .WriteTo(_destination);
        _finished = true;
        return _words * 4;
    }

    /// <summary>Bytes of a fragment with <paramref name="adcBlocks"/> latch-all ADC blocks (16 channels each) and the given samples per channel.</summary>
    public static int LatchAllBytes(int adcBlocks, int samplesPerChannel, int missingModules = 0) =>
        4 * (SlinkHeader.Words + (adcBlocks * Sadc3.BlockWords(Sadc3.ChannelsPerAdc, samplesPerChannel)) + missingModules);

    private readonly void WriteWord(int wordIndex, uint value) =>
        BinaryPrimitives.WriteUInt32LittleEndian(_destination.Slice(wordIndex * 4, 4), value);

    private readonly void EnsureRoom(int words)
    {
        long need = 4L * (_words + words);
        if (need > _destination.Length)
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                $"SADC fragment of source {_sourceId} needs at least {need} bytes, the destination has {_destination.Length}"), "destination");
        }
    }

    private readonly void ThrowIfFinished()
    {
        if (_finished)
        {
            throw new InvalidOperationException("The SADC fragment is already finished");
        }
    }

    private static void CheckSamples(ReadOnlySpan<ushort> samples)
    {
        int i = samples.IndexOfAnyExceptInRange((ushort)0, (ushort)Sadc3.SampleMask);
        if (i >= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(samples), samples[i],
                string.Create(CultureInfo.InvariantCulture, $"sample[{i}] = {samples[i]} refused: MSADC samples are 12 bits, 0..{Sadc3.SampleMask}"));
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
