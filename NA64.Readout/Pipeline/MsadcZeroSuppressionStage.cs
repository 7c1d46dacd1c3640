using System.Globalization;
using System.Runtime.InteropServices;
using NA64.Hardware.Digitizers.Msadc.Format;
using NA64.Readout.Processing;
using Serilog;

namespace NA64.Readout.Pipeline;

/// <summary>One MSADC module the stage reads: (S-Link source, HotLink port) and its 64-channel suppression table.</summary>
public sealed record MsadcStageModule(int SourceId, int Port, SuppressionTable Table);

/// <summary>
/// The <see cref="FragmentProcessor"/> for MSADC sources: decodes each latch-all S-Link fragment (SADC format 3,
/// <see cref="SadcDecoder"/>), looks at each module's 64 channels as one <see cref="MsadcBlock"/> ([channel][samples]),
/// runs the fused SIMD <see cref="ZeroSuppressor"/> (pedestal subtraction + n·σ threshold), and re-encodes the kept
/// channels as a sparse format-3 fragment that carries their <b>raw</b> 12-bit samples and the original channel sum
/// (NA64 decoders expect raw ADC values and subtract pedestals themselves). Every ADC block of the input is written
/// again in the same order (header only when nothing survives), and missing-module markers are kept.
/// A fragment with a problem that loses data (decoder-checks: wrong event, bad header, size mismatch ...) is rejected
/// with a <see cref="DropReason"/>, its problems logged with run/spill/event/source and byte offset; flags that lose
/// nothing (saturation, TCS bits) are only counted. Nothing is allocated per event on the good path.
/// One instance per pipeline: <see cref="Process"/> runs on the pipeline's processing task only.
/// </summary>
public sealed class MsadcZeroSuppressionStage : IFragmentStage
{
    private const int ModuleChannels = NA64.Hardware.Digitizers.Msadc.MsadcRegisters.ChannelsPerModule;
    private const int MaxSources = SlinkHeader.FirstMultiplexerSourceId;
    private const int Ports = Sadc3.MaxPort + 1;
    private const int KeptProblemLocations = 200;

    private readonly MsadcStageModule[] _modules;
    private readonly ZeroSuppressor[] _suppressors;
    private readonly int[] _moduleOf = new int[MaxSources * Ports];
    private readonly int _samples;
    private readonly ILogger _log;
    private readonly SadcEventData _data = new(initialChannels: 512, initialSamples: 512 * 32);
    private readonly short[] _scratch;
    private readonly short[] _zsOutput;
    private readonly int[] _channelIndex;     // [module*64 + chipChannel] -> index in _data.Channels
    private readonly int[] _channelStamp;     // valid when equal to _stamp
    private readonly int[] _moduleStamp;      // module suppressed in this fragment when equal to _stamp
    private readonly int[] _indexedStamp;     // module has channels in this fragment when equal to _stamp
    private readonly int[] _moduleFirstSample;
    private readonly int[] _moduleChannels;
    private readonly bool[] _moduleOrdered;
    private readonly ulong[] _moduleKept;
    private readonly int[] _blockChannels;    // channels per (module, adc) in this fragment
    private int _stamp;

    // Counters: written by the processing task, read by anyone (Interlocked).
    private long _fragments;
    private long _bytesIn;
    private long _bytesOut;
    private long _channelsIn;
    private long _channelsKept;
    private long _missingModules;
    private long _incompleteBlocks;
    private long _channelsDropped;
    private readonly long[] _rejected = new long[Enum.GetValues<DropReason>().Length];
    private readonly long[] _problems = new long[Enum.GetValues<FormatProblemKind>().Length];
    private readonly List<string> _locations = [];
    private int _notes;

    public MsadcZeroSuppressionStage(IReadOnlyList<MsadcStageModule> modules, int samplesPerChannel, ZsOptions? zsOptions = null,
        ZsImplementation implementation = ZsImplementation.Best, ILogger? log = null)
    {
        ArgumentNullException.ThrowIfNull(modules);
        if (modules.Count == 0)
            throw new ArgumentException("the stage needs at least one MSADC module", nameof(modules));
        if (samplesPerChannel < 1 || samplesPerChannel > Sadc3.MaxSamples)
            throw new ArgumentOutOfRangeException(nameof(samplesPerChannel), samplesPerChannel,
                string.Create(CultureInfo.InvariantCulture, $"samplesPerChannel = {samplesPerChannel} refused: 1..{Sadc3.MaxSamples}"));
        _modules = [.. modules];
        _samples = samplesPerChannel;
        _log = log ?? Serilog.Core.Logger.None;
        Array.Fill(_moduleOf, -1);
        var options = (zsOptions ?? new ZsOptions()) with { ChannelsPerChip = Sadc3.ChannelsPerAdc };
        _suppressors = new ZeroSuppressor[_modules.Length];
        for (int m = 0; m < _modules.Length; m++)
        {
            var module = _modules[m] ?? throw new ArgumentException("a module in the list is null", nameof(modules));
            SlinkHeader.ValidateSourceId(module.SourceId);
            if (module.Port < 0 || module.Port > Sadc3.MaxPort)
                throw new ArgumentOutOfRangeException(nameof(modules), module.Port,
                    string.Create(CultureInfo.InvariantCulture, $"module of source {module.SourceId}: port = {module.Port} refused, 0..{Sadc3.MaxPort}"));
            if (module.Table.ChannelCount != ModuleChannels)
                throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                    $"module {module.SourceId}/{module.Port}: suppression table has {module.Table.ChannelCount} channels, an MSADC module has {ModuleChannels}"), nameof(modules));
            ref int slot = ref _moduleOf[(module.SourceId * Ports) + module.Port];
            if (slot >= 0)
                throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                    $"module {module.SourceId}/{module.Port} listed twice"), nameof(modules));
            slot = m;
            _suppressors[m] = new ZeroSuppressor(module.Table, options, implementation);
        }

        _scratch = new short[ModuleChannels * _samples];
        _zsOutput = new short[ZsOutput.MaxLength(ModuleChannels, _samples)];
        _channelIndex = new int[_modules.Length * ModuleChannels];
        _channelStamp = new int[_modules.Length * ModuleChannels];
        _moduleStamp = new int[_modules.Length];
        _indexedStamp = new int[_modules.Length];
        _moduleFirstSample = new int[_modules.Length];
        _moduleChannels = new int[_modules.Length];
        _moduleOrdered = new bool[_modules.Length];
        _moduleKept = new ulong[_modules.Length];
        _blockChannels = new int[_modules.Length * (Sadc3.MaxAdcId + 1)];
    }

    public int SamplesPerChannel => _samples;

    /// <summary>The kernel the suppressors run.</summary>
    public ZsImplementation Implementation => _suppressors[0].Implementation;

    public long Fragments => Interlocked.Read(ref _fragments);
    public long BytesIn => Interlocked.Read(ref _bytesIn);
    public long BytesOut => Interlocked.Read(ref _bytesOut);
    public long ChannelsIn => Interlocked.Read(ref _channelsIn);
    public long ChannelsKept => Interlocked.Read(ref _channelsKept);

    /// <summary>Missing-module markers seen (and passed on).</summary>
    public long MissingModuleMarkers => Interlocked.Read(ref _missingModules);

    /// <summary>ADC blocks of a latch-all stream with fewer than 16 channels (e.g. everything suppressed upstream): kept, counted.</summary>
    public long IncompleteBlocks => Interlocked.Read(ref _incompleteBlocks);

    public long GetRejected(DropReason reason) => Interlocked.Read(ref _rejected[(int)reason]);

    /// <summary>Channels dropped alone (cut short by a bad data word, or a sample count the run is not set up for).</summary>
    public long ChannelsDropped => Interlocked.Read(ref _channelsDropped);

    public long GetProblems(FormatProblemKind kind) => Interlocked.Read(ref _problems[(int)kind]);

    /// <summary>Problem counts by kind (only kinds seen).</summary>
    public IReadOnlyDictionary<FormatProblemKind, long> ProblemCounts()
    {
        var result = new SortedDictionary<FormatProblemKind, long>();
        foreach (var kind in Enum.GetValues<FormatProblemKind>())
        {
            long n = GetProblems(kind);
            if (n > 0)
                result[kind] = n;
        }

        return result;
    }

    /// <summary>The first problems of the run with their location (run, spill, event, source, byte offset), at most 200 (then one line saying so).</summary>
    public IReadOnlyList<string> ProblemLocations()
    {
        lock (_locations)
            return [.. _locations];
    }

    /// <summary>Matches <see cref="FragmentProcessor"/>: pass <c>stage.Process</c> to the pipeline.</summary>
    /// <summary>True for a source that has a module of this stage.</summary>
    public bool Handles(int sourceId) => Array.Exists(_modules, m => m.SourceId == sourceId);

    public EventBatch Process(EventBatch fragments, EventBatch spare)
    {
        ArgumentNullException.ThrowIfNull(fragments);
        ArgumentNullException.ThrowIfNull(spare);
        for (int i = 0; i < fragments.Count; i++)
        {
            ref readonly var meta = ref fragments.GetMetadata(i);
            var input = fragments.GetBytes(i);
            // Output is never longer than the input (a subset of its channels), so this always fits an empty batch
            // and, since the batches share one capacity, every later record too.
            if (!spare.TryBeginAdd(input.Length, out var destination))
                throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture,
                    $"no room for fragment {i} ({input.Length} bytes) in the output batch ({spare.ByteCount} of {spare.ByteCapacity} bytes used)"));
            var status = fragments.GetStatus(i);
            int length;
            DropReason reason;
            if (status != DropReason.None)
            {
                input.CopyTo(destination);
                length = input.Length;
                reason = status;
            }
            else
            {
                length = ProcessFragment(input, meta, destination, out reason);
                if (reason != DropReason.None)
                {
                    input.CopyTo(destination);
                    length = input.Length;
                }
            }

            spare.CommitAdd(meta, length);
            if (reason != DropReason.None)
                spare.Reject(spare.Count - 1, reason);
        }

        return spare;
    }

    /// <summary>
    /// Processes one fragment into <paramref name="destination"/> (at least as long as the input) and returns the bytes
    /// written; <paramref name="reason"/> is <see cref="DropReason.None"/>, or why the fragment is rejected (then the
    /// return value is 0 and nothing useful was written).
    /// </summary>
    public int ProcessFragment(ReadOnlySpan<byte> fragment, in EventMetadata metadata, Span<byte> destination, out DropReason reason)
    {
        Interlocked.Increment(ref _fragments);
        Interlocked.Add(ref _bytesIn, fragment.Length);
        _data.Clear();
        var result = SadcDecoder.Decode(fragment, _data, (int)metadata.EventInSpill, 0, (int)metadata.Spill);
        reason = CheckProblems(metadata, result);
        if (reason != DropReason.None)
            return Reject(reason);

        unchecked { _stamp++; }
        if (_stamp == 0)
        {
            Array.Clear(_channelStamp);
            Array.Clear(_moduleStamp);
            Array.Clear(_indexedStamp);
            _stamp = 1;
        }

        int src = result.Header.SourceId;
        if (!IndexChannels(metadata, src, out reason))
            return Reject(reason);

        // Modules of this source that sent ADC blocks: suppress each as one block.
        var blocks = _data.AdcBlocks;
        foreach (ref readonly var b in blocks)
        {
            int m = ModuleOf(src, b.Port);
            if (m < 0)
            {
                Note(metadata, src, b.ByteOffset, string.Create(CultureInfo.InvariantCulture,
                    $"ADC block for port {b.Port} (adc_id {b.AdcId}), which is not a configured module of source {src}"));
                return Reject(reason = DropReason.DecodeError);
            }

            if (_moduleStamp[m] != _stamp)
            {
                _moduleStamp[m] = _stamp;
                _moduleKept[m] = Suppress(m);
            }
        }

        var writer = new SadcBlockWriter(destination, src, result.Header.EventNumber, result.Header.SpillNumber, result.Header.EventType, result.Header.Format);
        var missing = _data.MissingModules;
        int bi = 0, mi = 0;
        long kept = 0;
        // Same order as the input: merge blocks and missing markers by their position.
        while (bi < blocks.Length || mi < missing.Length)
        {
            if (mi < missing.Length && (bi >= blocks.Length || missing[mi].ByteOffset < blocks[bi].ByteOffset))
            {
                writer.AddMissingModule(missing[mi].Port, missing[mi].AdcId);
                mi++;
                continue;
            }

            ref readonly var b = ref blocks[bi++];
            int m = ModuleOf(src, b.Port);
            writer.BeginAdc(b.Port, b.AdcId, b.ErrorBit);
            uint bits = (uint)(_moduleKept[m] >> (b.AdcId * Sadc3.ChannelsPerAdc)) & 0xFFFF;
            while (bits != 0)
            {
                int chan = System.Numerics.BitOperations.TrailingZeroCount(bits);
                bits &= bits - 1;
                int slot = (m * ModuleChannels) + (b.AdcId * Sadc3.ChannelsPerAdc) + chan;
                ref readonly var channel = ref _data.Channels[_channelIndex[slot]];
                writer.AddChannel(chan, _data.Samples(channel), channel.Sum);
                kept++;
            }
        }

        int length = writer.Finish();
        Interlocked.Add(ref _channelsKept, kept);
        Interlocked.Add(ref _bytesOut, length);
        if (missing.Length > 0)
        {
            Interlocked.Add(ref _missingModules, missing.Length);
            if (!NotesFull)
                Note(metadata, src, missing[0].ByteOffset, string.Create(CultureInfo.InvariantCulture,
                $"{missing.Length} missing-module marker(s), first port {missing[0].Port} adc_id {missing[0].AdcId}; kept"));
        }

        return length;
    }

    private int Reject(DropReason reason)
    {
        Interlocked.Increment(ref _rejected[(int)reason]);
        return 0;
    }

    private int ModuleOf(int src, int port) => src < MaxSources ? _moduleOf[(src * Ports) + port] : -1;

    /// <summary>
    /// Counts and notes every problem. Only a fragment that belongs to another trigger (S-Link event number) or whose
    /// S-Link framing the decoder could not trust (size disagreeing with the header, unreadable header) is rejected,
    /// which drops its event; a bad ADC block or channel loses its own data and everything else the decoder read goes
    /// on (decoder-checks: DDD drops the digits of a bad block, not the event).
    /// </summary>
    private DropReason CheckProblems(in EventMetadata metadata, in SadcSourceResult result)
    {
        var reason = DropReason.None;
        var problems = _data.Problems;
        for (int p = 0; p < problems.Count; p++)
        {
            var problem = problems[p];
            Interlocked.Increment(ref _problems[(int)problem.Kind]);
            if (!problem.DataLost)
                continue;
            if (reason == DropReason.None && problem.Kind == FormatProblemKind.SlinkEventNumber)
                reason = DropReason.EventNumberMismatch;
            Note(metadata, problem.SourceId, problem.ByteOffset, problem.ToString() +
                (problem.Kind == FormatProblemKind.SlinkEventNumber || result.Discarded ? "" : "; the rest of the fragment is kept"));
        }

        if (reason == DropReason.None && result.Discarded)
        {
            reason = DropReason.DecodeError;
            Note(metadata, result.Header.SourceId, result.ByteOffset, "source discarded by the decoder");
        }

        return reason;
    }

    /// <summary>Finds each decoded channel's module and slot; checks the sample count.</summary>
    private bool IndexChannels(in EventMetadata metadata, int src, out DropReason reason)
    {
        reason = DropReason.None;
        Array.Clear(_blockChannels);
        var channels = _data.Channels;
        Interlocked.Add(ref _channelsIn, channels.Length);
        // Channels come module by module: the current module's bookkeeping lives in locals and is written back to the
        // per-module arrays when the port changes (a module seen again later in the fragment continues where it was).
        int stamp = _stamp;
        int port = -1, m = -1;
        Span<int> stamps = default, index = default, perAdc = default;
        bool indexed = false, ordered = false;
        int count = 0, firstSample = 0;
        for (int c = 0; c < channels.Length; c++)
        {
            ref readonly var ch = ref channels[c];
            if (ch.Address.Port != port)
            {
                if (m >= 0)
                    SaveModule(m, indexed, count, firstSample, ordered);
                port = ch.Address.Port;
                m = ModuleOf(src, port);
                if (m < 0)
                {
                    Note(metadata, src, -1, string.Create(CultureInfo.InvariantCulture,
                        $"channel on port {ch.Address.Port} (adc_id {ch.Address.AdcId}, chan_id {ch.Address.ChanId}): no module configured there"));
                    reason = DropReason.DecodeError;
                    return false;
                }

                stamps = _channelStamp.AsSpan(m * ModuleChannels, ModuleChannels);
                index = _channelIndex.AsSpan(m * ModuleChannels, ModuleChannels);
                perAdc = _blockChannels.AsSpan(m * (Sadc3.MaxAdcId + 1), Sadc3.MaxAdcId + 1);
                indexed = _indexedStamp[m] == stamp;
                (count, firstSample, ordered) = indexed ? (_moduleChannels[m], _moduleFirstSample[m], _moduleOrdered[m]) : (0, 0, false);
            }

            if (ch.SampleCount != _samples)
            {
                // A channel cut short by a bad data word (or sent with another sample count) loses itself only.
                Interlocked.Increment(ref _channelsDropped);
                if (!NotesFull)
                    Note(metadata, src, -1, string.Create(CultureInfo.InvariantCulture,
                        $"port {ch.Address.Port} adc_id {ch.Address.AdcId} chan_id {ch.Address.ChanId} has {ch.SampleCount} samples, the run is configured for {_samples}; channel dropped"));
                continue;
            }

            int chipChannel = ch.Address.ChipChannel;
            if (stamps[chipChannel] == stamp)
            {
                // Duplicate (flagged by the decoder): the first one is what the block carries.
                continue;
            }

            if (!indexed)
            {
                (indexed, count, firstSample, ordered) = (true, 0, ch.SampleStart, true);
            }

            ordered &= chipChannel == count && ch.SampleStart == firstSample + (count * _samples);
            count++;
            stamps[chipChannel] = stamp;
            index[chipChannel] = c;
            perAdc[ch.Address.AdcId]++;
        }

        if (m >= 0)
            SaveModule(m, indexed, count, firstSample, ordered);

        foreach (ref readonly var b in _data.AdcBlocks)
        {
            int bm = ModuleOf(src, b.Port);
            if (bm >= 0 && _blockChannels[(bm * (Sadc3.MaxAdcId + 1)) + b.AdcId] != Sadc3.ChannelsPerAdc)
            {
                Interlocked.Increment(ref _incompleteBlocks);
                if (!NotesFull)
                    Note(metadata, src, b.ByteOffset, string.Create(CultureInfo.InvariantCulture,
                    $"latch-all ADC block port {b.Port} adc_id {b.AdcId} carries {_blockChannels[(bm * (Sadc3.MaxAdcId + 1)) + b.AdcId]} of 16 channels; kept"));
            }
        }

        return true;
    }

    private void SaveModule(int m, bool indexed, int count, int firstSample, bool ordered)
    {
        if (!indexed)
            return;
        _indexedStamp[m] = _stamp;
        _moduleChannels[m] = count;
        _moduleFirstSample[m] = firstSample;
        _moduleOrdered[m] = ordered;
    }

    /// <summary>Zero-suppresses module <paramref name="m"/>; returns the kept chip channels as a 64-bit mask.</summary>
    private ulong Suppress(int m)
    {
        ReadOnlySpan<short> samples;
        bool any = _indexedStamp[m] == _stamp;
        if (any && _moduleChannels[m] == ModuleChannels && _moduleOrdered[m])
        {
            // Latch-all in chip order: the decoder's sample buffer already is the [channel][samples] block.
            samples = MemoryMarshal.Cast<ushort, short>(_data.AllSamples.Slice(_moduleFirstSample[m], ModuleChannels * _samples));
        }
        else
        {
            // Partial or reordered input: assemble the block; absent channels read 0, below any pedestal, never kept.
            Array.Clear(_scratch);
            for (int cc = 0; any && cc < ModuleChannels; cc++)
            {
                int slot = (m * ModuleChannels) + cc;
                if (_channelStamp[slot] != _stamp)
                    continue;
                var from = MemoryMarshal.Cast<ushort, short>(_data.Samples(_data.Channels[_channelIndex[slot]]));
                from.CopyTo(_scratch.AsSpan(cc * _samples, _samples));
            }

            samples = _scratch;
        }

        var zs = _suppressors[m].Suppress(new MsadcBlock(samples, _samples), _zsOutput);
        ulong mask = 0;
        int pos = ZsOutput.HeaderLength;
        for (int k = 0; k < zs.Kept; k++)
        {
            int channel = (ushort)_zsOutput[pos] | (_zsOutput[pos + 1] << 16);
            mask |= 1UL << channel;
            pos += ZsOutput.RecordOverhead + _samples;
        }

        return mask;
    }

    // Checked before formatting a message for conditions that can repeat every event (a missing module).
    private bool NotesFull => Volatile.Read(ref _notes) > KeptProblemLocations;

    /// <summary>Logs a problem with its location and keeps it, for the first 200 of the run; later ones are only counted
    /// (a module missing for a whole run would otherwise log every event).</summary>
    private void Note(in EventMetadata metadata, int sourceId, long byteOffset, string problem)
    {
        lock (_locations)
        {
            if (_locations.Count > KeptProblemLocations)
                return;
            if (_locations.Count == KeptProblemLocations)
            {
                _locations.Add("... further problems are counted, not listed");
                Volatile.Write(ref _notes, _locations.Count);
                _log.Warning("MSADC stage: {Count} problems listed; further ones are counted only", KeptProblemLocations);
                return;
            }

            Volatile.Write(ref _notes, _locations.Count + 1);
            _locations.Add(string.Create(CultureInfo.InvariantCulture,
                $"run {metadata.Run} spill {metadata.Spill} event {metadata.EventInSpill} source {sourceId}{(byteOffset >= 0 ? $" byte {byteOffset}" : "")}: {problem}"));
        }

        _log.Warning("MSADC stage: run {Run} spill {Spill} event {Event} source {Source} byte {Offset}: {Problem}",
            metadata.Run, metadata.Spill, metadata.EventInSpill, sourceId, byteOffset, problem);
    }
}
