using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.InteropServices;
using NA64.Hardware.Digitizers.Apv;
using NA64.Hardware.Digitizers.Apv.Format;
using NA64.Hardware.Digitizers.Msadc;
using NA64.Hardware.Digitizers.Msadc.Format;
using NA64.Simulators.Physics;
using NA64.Simulators.Trackers;
using Serilog;

namespace NA64.Simulators.Digitizers.Apv;

/// <summary>Faults the simulated GeSiCA can put into its next fragments (data-formats §7.10, decoder-checks: what the decoder must survive).</summary>
public enum GesicaDataFault
{
    None,
    /// <summary>The target ADC sends no block although it runs (decoder: ApvMissingAdc when the ADC is expected).</summary>
    MissingAdc,
    /// <summary>The target ADC writes format bit 5 and APV headers only (decoder: ApvDataSkipped).</summary>
    DataSkipped,
    /// <summary>The target APV's pipeline columns are one ahead of the others of its ADC (decoder: ApvPipelineDisagree).</summary>
    PipelineAddressMismatch,
    /// <summary>One word XOR-ed with a mask (default: the first APV header's data_len gets bit 15: decoder ApvBlockSize).</summary>
    CorruptWord,
    /// <summary>The fragment is cut short by a few words while the S-Link event_size still claims the full length (SlinkSizeMismatch).</summary>
    TruncatedFragment,
    /// <summary>The first APV header's 12-bit event field is one off the S-Link event number (decoder: ApvWrongEvent).</summary>
    WrongEventNumber,
    /// <summary>The target APV delivers no digital header: frames flagged bad, no sync, no data (decoder: ApvHeaderSampleError).</summary>
    DeadApv,
    /// <summary>A channel of the target APV with a large noise σ (not a format problem: seen in the data).</summary>
    NoisyChannel,
    /// <summary>Every frame of the target APV offset by an amount (not a format problem: seen in the CM word and the data).</summary>
    CommonModeJump,
}

/// <summary>
/// The GeSiCA of the trackers as one simulated S-Link source (default 622): its APV-ADC modules as the control side sees
/// them (<see cref="ApvAdcDevice"/>: mode register, run state, downloaded tables) and the tracker response
/// (<see cref="TrackerSimulator"/>). Per trigger every running ADC writes its block in the COMPASS APV format
/// (<see cref="ApvBlockWriter"/>): latch-all raw frames, or the on-board sparse emulation with the tables downloaded to
/// that device. Faults from <see cref="InjectFault"/> apply to the next fragments. Not thread-safe: the crate's trigger
/// task is its only caller (the devices it reads are thread-safe).
/// </summary>
public sealed class GesicaSourceSimulator : ISimulatedSource
{
    private const int Channels = ApvFacts.ChannelsPerApv;
    private const int Slots = ApvFacts.ApvsPerAdc;
    private const int FormatFromModeMask = 0x5F; // b0..b6 mirrored (§7.11) except b5, which here says "was skipped"
    private const ApvHeaderFault DeadHeader = ApvHeaderFault.Frame1Bad | ApvHeaderFault.Frame2Bad | ApvHeaderFault.Frame3Bad | ApvHeaderFault.NoApvSync;

    /// <summary>Triggers whose truth is kept for <see cref="TryGetTruth"/>: more than the host's queues hold between this source and the event builder.</summary>
    public const int TruthCapacity = 16384;

    private readonly AdcState[] _adcs;
    private readonly Lock _truthGate = new();
    private readonly long[] _truthKeys = new long[TruthCapacity];
    private double[] _truth = [];
    private long _truthSerial;
    private readonly TrackerSimulator _tracker;
    private readonly TimeSpan _spillCycle;
    private readonly ILogger _log;
    private readonly ushort[] _zeros = new ushort[ApvFacts.Frames * Channels];
    private readonly int[] _pedestal = new int[Slots * Channels];
    private readonly int[] _sigma = new int[Slots * Channels];
    private readonly int[] _threshold = new int[Slots * Channels];
    // Set by InjectFault/ClearFault from any thread (the service's `sim inject`); the tracker-side part of a fault is
    // applied and undone only on the trigger task, between two events, so Simulate never sees a half-changed tracker.
    private const int UntilCleared = -1;
    private volatile FaultRequest? _request;
    private FaultRequest? _applied;
    private Action? _undo;
    private long _faultsInjected;
    private TimeSpan _noBeamTriggerPeriod = TimeSpan.FromMilliseconds(1);

    /// <param name="sourceId">S-Link source id (0..895).</param>
    /// <param name="adcs">The APV-ADC devices of this GeSiCA (distinct ADC ids, each with APVs in the tracker geometry).</param>
    /// <param name="tracker">The tracker response; its ADC ids/chips address the devices (chip id = table slot 0..3).</param>
    /// <param name="beam">The physics generator's beam options: the spill cycle for the time tag.</param>
    public GesicaSourceSimulator(int sourceId, IReadOnlyList<ApvAdcDevice> adcs, TrackerSimulator tracker, BeamOptions beam, ILogger? log = null)
    {
        ArgumentNullException.ThrowIfNull(adcs);
        ArgumentNullException.ThrowIfNull(tracker);
        ArgumentNullException.ThrowIfNull(beam);
        if (sourceId < 0 || sourceId >= SlinkHeader.FirstMultiplexerSourceId)
            throw new ArgumentOutOfRangeException(nameof(sourceId), sourceId, string.Create(CultureInfo.InvariantCulture,
                $"source id = {sourceId} refused: a GeSiCA source is 0..{SlinkHeader.FirstMultiplexerSourceId - 1}"));
        if (adcs.Count == 0)
            throw new ArgumentException("a GeSiCA needs at least one APV-ADC", nameof(adcs));
        var states = new List<AdcState>();
        foreach (var device in adcs.OrderBy(d => d.AdcId))
        {
            if (device.SourceId != sourceId)
                throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                    $"APV-ADC {device.Name} is source {device.SourceId}, not {sourceId}"), nameof(adcs));
            if (states.Any(s => s.Device.AdcId == device.AdcId))
                throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                    $"two APV-ADCs with adc id {device.AdcId} in source {sourceId}"), nameof(adcs));
            var apvs = new List<(int Chip, int Index)>();
            for (int i = 0; i < tracker.Apvs.Count; i++)
            {
                var a = tracker.Apvs[i];
                if (a.AdcId != device.AdcId)
                    continue;
                if (a.ChipId >= Slots)
                    throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                        $"APV {a.Name} is chip {a.ChipId} of ADC {a.AdcId}: the APV-ADC tables hold chips 0..{Slots - 1}"), nameof(tracker));
                apvs.Add((a.ChipId, i));
            }
            if (apvs.Count == 0)
                throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                    $"APV-ADC {device.Name} (adc id {device.AdcId}) has no APV in the tracker geometry"), nameof(adcs));
            states.Add(new AdcState(device, [.. apvs.OrderBy(a => a.Chip)]));
        }
        SourceId = sourceId;
        _adcs = [.. states];
        _tracker = tracker;
        _spillCycle = beam.SpillLength + beam.OffSpillLength;
        _log = log ?? Serilog.Core.Logger.None;
    }

    public int SourceId { get; }
    public IReadOnlyList<ApvAdcDevice> Adcs => [.. _adcs.Select(a => a.Device)];
    public TrackerSimulator Tracker => _tracker;

    /// <summary>The tracker side of the last trigger written (truth for tests); null before the first.</summary>
    public TrackerEvent? LastEvent { get; private set; }

    /// <summary>Time between two triggers with no beam, for their time tag and pipeline columns (a random trigger has no physics time).</summary>
    public TimeSpan NoBeamTriggerPeriod
    {
        get => _noBeamTriggerPeriod;
        set
        {
            if (value <= TimeSpan.Zero)
                throw new ArgumentOutOfRangeException(nameof(value), value, string.Create(CultureInfo.InvariantCulture,
                    $"NoBeamTriggerPeriod = {value.TotalMilliseconds} ms refused: it must be > 0"));
            _noBeamTriggerPeriod = value;
        }
    }

    /// <summary>Faults written so far (each faulty fragment counts once).</summary>
    public long FaultsInjected => Interlocked.Read(ref _faultsInjected);

    /// <summary>The fault in force, None when none.</summary>
    public GesicaDataFault ActiveFault => _request is { Fault: not GesicaDataFault.None, Left: UntilCleared or > 0 } request ? request.Fault : GesicaDataFault.None;

    /// <summary>Largest fragment: every ADC latch-all with CM words.</summary>
    public int MaxFragmentBytes => 4 * (SlinkHeader.Words + _adcs.Sum(a => ApvBlockWriter.LatchAllAdcWords(a.Apvs.Length, commonMode: true)));

    /// <summary>
    /// Puts <paramref name="fault"/> into the next <paramref name="triggers"/> fragments (null: until <see cref="ClearFault"/>).
    /// Target: <paramref name="adcId"/> (−1: the first ADC), <paramref name="chipId"/> (−1: the ADC's second APV for a pipeline
    /// mismatch, so that the first sets the reference, else its first), <paramref name="channel"/> (physical, noisy channel),
    /// <paramref name="amount"/> (noise σ, default 50 ADC; CM jump, default 100 ADC).
    /// </summary>
    public void InjectFault(GesicaDataFault fault, int? triggers = 1, int adcId = -1, int chipId = -1, int channel = 0, double amount = 0,
        int corruptWordIndex = -1, uint corruptMask = 0x0000_8000, int truncateWords = 2)
    {
        if (triggers is < 0)
            throw new ArgumentOutOfRangeException(nameof(triggers), triggers, "triggers must be 0 or more (null: until cleared)");
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(truncateWords);
        var adc = adcId < 0 ? _adcs[0] : _adcs.FirstOrDefault(a => a.Device.AdcId == adcId) ?? throw new ArgumentOutOfRangeException(
            nameof(adcId), adcId, string.Create(CultureInfo.InvariantCulture, $"source {SourceId} has no APV-ADC {adcId}"));
        int apv;
        if (chipId < 0)
            apv = fault == GesicaDataFault.PipelineAddressMismatch && adc.Apvs.Length > 1 ? adc.Apvs[1].Index : adc.Apvs[0].Index;
        else
        {
            int slot = Array.FindIndex(adc.Apvs, a => a.Chip == chipId);
            if (slot < 0)
                throw new ArgumentOutOfRangeException(nameof(chipId), chipId, string.Create(CultureInfo.InvariantCulture,
                    $"APV-ADC {adc.Device.AdcId} has no APV at chip {chipId}"));
            apv = adc.Apvs[slot].Index;
        }
        if (channel is < 0 or >= Channels)
            throw new ArgumentOutOfRangeException(nameof(channel), channel, string.Create(CultureInfo.InvariantCulture,
                $"channel = {channel} refused: physical channels are 0..{Channels - 1}"));
        if (!double.IsFinite(amount) || amount < 0)
            throw new ArgumentOutOfRangeException(nameof(amount), amount, "amount must be finite and 0 or more (0: the default)");
        _request = new FaultRequest(fault, adc.Device.AdcId, apv, channel, amount > 0 ? amount : fault == GesicaDataFault.NoisyChannel ? 50 : 100,
            corruptWordIndex, corruptMask, truncateWords) { Left = triggers ?? UntilCleared };
    }

    /// <summary>Ends the fault in force; its tracker-side part (dead APV, noisy channel, ...) is undone before the next event.</summary>
    public void ClearFault() => _request = null;

    /// <summary>
    /// Writes the fragment of one trigger: the event <paramref name="truth"/>, or with no beam (null) noise only. Returns its
    /// length in bytes, 0 when no ADC runs. <paramref name="eventNumber"/> is the event number in the spill.
    /// </summary>
    /// <summary>
    /// The truth of a recent trigger (by S-Link spill and event number): per plane, in the tracker simulator's plane order
    /// (detector order, X then Y), the beam electron's position in the plane in mm from the plane's first strip edge
    /// (<see cref="PlaneHitTruth.LocalMm"/>), NaN where it left no charge (missed, outside the plane, or no beam). False when the trigger is not among the last <see cref="TruthCapacity"/>.
    /// </summary>
    public bool TryGetTruth(int spillNumber, int eventNumber, Span<double> localMm)
    {
        long key = TruthKey(spillNumber, eventNumber);
        lock (_truthGate)
        {
            int planes = _truth.Length / TruthCapacity;
            for (long serial = _truthSerial - 1; serial >= 0 && serial >= _truthSerial - TruthCapacity; serial--)
            {
                int slot = (int)(serial % TruthCapacity);
                if (_truthKeys[slot] != key)
                    continue;
                _truth.AsSpan(slot * planes, Math.Min(planes, localMm.Length)).CopyTo(localMm);
                return true;
            }
        }

        return false;
    }

    private static long TruthKey(int spillNumber, int eventNumber) => ((long)(spillNumber & 0x7FF) << 32) | (uint)eventNumber;

    private void KeepTruth(TrackerEvent ev, int spillNumber, int eventNumber)
    {
        lock (_truthGate)
        {
            int planes = ev.Planes.Count;
            if (_truth.Length != planes * TruthCapacity)
                _truth = new double[planes * TruthCapacity];
            int slot = (int)(_truthSerial % TruthCapacity);
            _truthKeys[slot] = TruthKey(spillNumber, eventNumber);
            for (int p = 0; p < planes; p++)
            {
                double centre = double.NaN;   // the first beam (not pile-up) hit
                foreach (var hit in ev.Planes[p].Hits)
                {
                    if (!hit.PileUp && hit.Detected && hit.InAcceptance)
                    {
                        centre = hit.LocalMm;
                        break;
                    }
                }

                _truth[(slot * planes) + p] = centre;
            }

            _truthSerial++;
        }
    }

    public int WriteFragment(EventTruth? truth, int eventNumber, int spillNumber, Span<byte> destination)
    {
        int running = 0;
        foreach (var adc in _adcs)
        {
            adc.Running = adc.Device.AcceptTrigger();
            if (!adc.Running)
                continue;
            running++;
            adc.Mode = adc.Device.Mode;
            if ((adc.Mode & ApvAdcMode.Sparse) != 0)
                SyncTables(adc);
        }
        if (running == 0)
            return 0;

        var request = _request;
        var active = request is { Fault: not GesicaDataFault.None, Left: UntilCleared or > 0 } ? request : null;
        var fault = active?.Fault ?? GesicaDataFault.None;
        if (_applied is not null && !ReferenceEquals(_applied, active))
            UndoTrackerFault();
        if (active is not null && _applied is null)
        {
            _undo = ApplyTrackerFault(active);
            _applied = active;
        }

        TimeSpan time;
        int timeTag;
        if (truth is { } t)
        {
            time = t.Time;
            var sinceSpill = t.Time - (_spillCycle * (t.Spill - 1));
            timeTag = (int)((long)Math.Max(0, sinceSpill.TotalMicroseconds) & ApvWords.TimeTagMask);
        }
        else
        {
            time = NoBeamTriggerPeriod * eventNumber;
            timeTag = (int)((long)time.TotalMicroseconds & ApvWords.TimeTagMask);
        }

        var ev = truth is { } beam ? _tracker.Simulate(beam) : _tracker.SimulateNoise(eventNumber, time);
        LastEvent = ev;
        KeepTruth(ev, spillNumber, eventNumber);

        var writer = new ApvBlockWriter(destination, SourceId, eventNumber, spillNumber);
        foreach (var adc in _adcs)
        {
            if (!adc.Running || (fault == GesicaDataFault.MissingAdc && adc.Device.AdcId == active!.AdcId))
                continue;
            bool skipped = fault == GesicaDataFault.DataSkipped && adc.Device.AdcId == active!.AdcId;
            foreach (var (_, index) in adc.Apvs)
                skipped |= ev.Apvs[index].DataSkipped;
            var format = (ApvFormatFlags)((uint)adc.Mode & FormatFromModeMask);
            if (skipped)
                format |= ApvFormatFlags.DataSkipped;
            bool sparse = (format & ApvFormatFlags.Sparse) != 0;
            writer.BeginAdc(adc.Device.AdcId, format, timeTag);
            foreach (var (chip, index) in adc.Apvs)
            {
                var r = ev.Apvs[index];
                var header = r.Present ? ApvHeaderFault.None : DeadHeader;
                var cm = CommonModeWord(r.CommonMode);
                if (sparse)
                    writer.AddApvSparse(chip, r.Columns, r.Present && r.HasSparse ? CollectionsMarshal.AsSpan(r.SparseBuffer) : [], cm, header);
                else
                    writer.AddApvLatchAll(chip, r.Columns, r.Present ? r.Raw : _zeros, cm, header);
            }
        }
        int length = writer.Finish();
        if (active is not null)
        {
            length = ApplyFormatFault(active, destination, length);
            if (active.Left > 0 && --active.Left == 0)
                UndoTrackerFault(); // the fault's last trigger: the tracker is itself again at once
            Interlocked.Increment(ref _faultsInjected);
            _log.Information("GeSiCA sim source {Source} event {Event}: injected {Fault}", SourceId, eventNumber, fault);
        }
        return length;
    }

    int ISimulatedSource.WriteFragment(EventTruth? truth, ReadOnlySpan<short> generatorBlock, int generatorSamples, int eventNumber,
        int spillNumber, Span<byte> destination) =>
        WriteFragment(truth, eventNumber, spillNumber, destination);

    /// <summary>The CM word carries the correction as a 10-bit two's complement (the unit/offset convention is uncertain, data-formats §7.6).</summary>
    private static ApvCommonMode CommonModeWord(ApvCommonMode cm) =>
        new(cm.Frame1 & ApvWords.AmplitudeMask, cm.Frame2 & ApvWords.AmplitudeMask, cm.Frame3 & ApvWords.AmplitudeMask);

    /// <summary>
    /// Downloads the device's tables to the on-board emulation of its APVs when they changed: pedestal in ADC counts,
    /// σ = register / 4 (quarter counts), threshold in ADC counts above pedestal and CM; a threshold of 0 means n × σ
    /// of the emulation's options, σ = 0 masks the channel. Mode b7 (time cut) switches the emulation's time cut.
    /// </summary>
    private void SyncTables(AdcState adc)
    {
        adc.Device.CopyTables(_pedestal, _sigma, _threshold);
        bool timeCut = (adc.Mode & ApvAdcMode.TimeCut) != 0;
        bool same = adc.Downloaded && adc.TimeCut == timeCut && _pedestal.AsSpan().SequenceEqual(adc.Pedestal)
            && _sigma.AsSpan().SequenceEqual(adc.Sigma) && _threshold.AsSpan().SequenceEqual(adc.Threshold);
        if (same)
            return;
        _pedestal.CopyTo(adc.Pedestal, 0);
        _sigma.CopyTo(adc.Sigma, 0);
        _threshold.CopyTo(adc.Threshold, 0);
        foreach (var (chip, index) in adc.Apvs)
        {
            int at = chip * Channels;
            var table = new ApvDownloadedTable(
                [.. adc.Pedestal.AsSpan(at, Channels).ToArray().Select(v => (double)v)],
                [.. adc.Sigma.AsSpan(at, Channels).ToArray().Select(v => v / 4.0)],
                [.. adc.Threshold.AsSpan(at, Channels).ToArray().Select(v => (double)v)]);
            var processor = _tracker.Processor(index);
            processor.Download(table);
            if (processor.Options.TimeCut != timeCut)
                processor.Options = processor.Options with { TimeCut = timeCut };
        }
        adc.Downloaded = true;
        adc.TimeCut = timeCut;
        _log.Information("GeSiCA sim source {Source}: tables of APV-ADC {Adc} loaded into the on-board emulation", SourceId, adc.Device.AdcId);
    }

    private void UndoTrackerFault()
    {
        _undo?.Invoke();
        _undo = null;
        _applied = null;
    }

    /// <summary>Sets the tracker-side part of a fault (until undone); returns what puts the tracker back, null when there is none.</summary>
    private Action? ApplyTrackerFault(FaultRequest request)
    {
        int apv = request.Apv;
        switch (request.Fault)
        {
            case GesicaDataFault.DeadApv:
                _tracker.SetApvDead(apv, true);
                return () => _tracker.SetApvDead(apv, false);
            case GesicaDataFault.PipelineAddressMismatch:
                _tracker.SetPipelineAddressMismatch(apv, true);
                return () => _tracker.SetPipelineAddressMismatch(apv, false);
            case GesicaDataFault.CommonModeJump:
                _tracker.SetCommonModeJump(apv, request.Amount);
                return () => _tracker.SetCommonModeJump(apv, 0);
            case GesicaDataFault.NoisyChannel:
            {
                var address = _tracker.Apvs[apv];
                var channel = new ApvChannelAddress(address.AdcId, address.ChipId, request.Channel);
                double sigma = _tracker.Sigmas(apv)[request.Channel];
                _tracker.SetChannelNoisy(channel, request.Amount);
                // A dead channel has σ = 0: putting σ back to 0 through SetChannelDead keeps it dead.
                return sigma > 0 ? () => _tracker.SetChannelNoisy(channel, sigma) : () => _tracker.SetChannelDead(channel);
            }
            default:
                return null;
        }
    }

    private static int ApplyFormatFault(FaultRequest request, Span<byte> fragment, int length)
    {
        var fault = request.Fault;
        int words = length / 4;
        int firstApvHeader = SlinkHeader.Words + ApvWords.AdcHeaderWords;
        switch (fault)
        {
            case GesicaDataFault.CorruptWord:
            {
                int index = request.CorruptWordIndex >= 0 ? request.CorruptWordIndex : Math.Min(firstApvHeader, words - 1);
                if (index >= words)
                    throw new ArgumentOutOfRangeException(nameof(fault), index, string.Create(CultureInfo.InvariantCulture,
                        $"corrupt word index {index} is past the {words}-word fragment"));
                var at = fragment.Slice(index * 4, 4);
                BinaryPrimitives.WriteUInt32LittleEndian(at, BinaryPrimitives.ReadUInt32LittleEndian(at) ^ request.CorruptMask);
                return length;
            }
            case GesicaDataFault.WrongEventNumber:
            {
                if (firstApvHeader >= words)
                    return length; // no APV block in this fragment: nothing to make wrong
                var at = fragment.Slice(firstApvHeader * 4, 4);
                uint header = BinaryPrimitives.ReadUInt32LittleEndian(at);
                uint mask = (uint)ApvWords.EventMask << ApvWords.EventShift;
                uint wrong = (header + (1u << ApvWords.EventShift)) & mask;
                BinaryPrimitives.WriteUInt32LittleEndian(at, (header & ~mask) | wrong);
                return length;
            }
            case GesicaDataFault.TruncatedFragment:
                return Math.Max(4 * SlinkHeader.Words, length - (4 * request.TruncateWords));
            case GesicaDataFault.MissingAdc or GesicaDataFault.DataSkipped or GesicaDataFault.PipelineAddressMismatch
                or GesicaDataFault.DeadApv or GesicaDataFault.NoisyChannel or GesicaDataFault.CommonModeJump:
                return length; // already in the data
            default:
                throw new ArgumentOutOfRangeException(nameof(fault), fault, "unknown GeSiCA data fault");
        }
    }

    /// <summary>One injected fault and its target; <see cref="Left"/> counts down on the trigger task (an int: read whole by other threads).</summary>
    private sealed record FaultRequest(GesicaDataFault Fault, int AdcId, int Apv, int Channel, double Amount, int CorruptWordIndex,
        uint CorruptMask, int TruncateWords)
    {
        public int Left { get; set; }
    }

    private sealed class AdcState(ApvAdcDevice device, (int Chip, int Index)[] apvs)
    {
        public ApvAdcDevice Device { get; } = device;
        public (int Chip, int Index)[] Apvs { get; } = apvs;
        public int[] Pedestal { get; } = new int[Slots * Channels];
        public int[] Sigma { get; } = new int[Slots * Channels];
        public int[] Threshold { get; } = new int[Slots * Channels];
        public bool Downloaded { get; set; }
        public bool TimeCut { get; set; }
        public bool Running { get; set; }
        public ApvAdcMode Mode { get; set; }
    }
}
