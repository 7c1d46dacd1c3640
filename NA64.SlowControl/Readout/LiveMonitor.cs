using NA64.Hardware.Digitizers.Msadc.Format;
using NA64.Readout.Formats;
using NA64.Readout.Pipeline;
using NA64.Readout.Processing;
using NA64.SlowControl.Setup;

namespace NA64.SlowControl.Readout;

/// <summary>
/// The in-process live monitor: reads each built DATE event back (the same bytes the file gets), subtracts the
/// pedestal table from the kept channels' raw samples, extracts features (amplitude, peak, time, integral, energy =
/// calibration × amplitude) and sums ECAL and HCAL. Fills the ECAL+HCAL histogram, counts the signal box and keeps
/// the electron-peak moments and where in the window the largest ECAL pulse peaks (what a latency scan looks at). Runs on the sink's task; nothing is allocated per event once the buffers are sized.
/// </summary>
public sealed class LiveMonitor
{
    /// <summary>Histogram range and bin of E_ECAL + E_HCAL.</summary>
    public const double HistogramMaxGeV = 160;
    public const double BinGeV = 0.5;

    private readonly ReadoutChannelMap _map;
    private readonly PedestalTable[] _pedestals;
    private readonly FeatureExtractor _features;
    private readonly SignalBoxSetup _box;
    private readonly double _peakLow;
    private readonly double _peakHigh;
    private readonly DateEventView _view = new();
    private readonly SadcEventData _data = new();
    private readonly long[] _histogram = new long[(int)(HistogramMaxGeV / BinGeV) + 1];
    private readonly List<(uint Spill, uint Event)> _boxEvents = [];
    private byte[] _buffer = new byte[64 * 1024];
    private short[] _samples = new short[512];
    private long _events;
    private long _undecodable;
    private double _peakSum;
    private double _peakSum2;
    private long _peakCount;
    private double _peakSampleSum;
    private long _peakSampleCount;

    /// <param name="pedestals">One table per module, in <see cref="ReadoutChannelMap.Modules"/> order.</param>
    /// <param name="calibration">GeV per ADC count of amplitude, per detector-layout channel.</param>
    /// <param name="peakWindowGeV">Window around the beam energy in which the electron peak moments are taken.</param>
    public LiveMonitor(ReadoutChannelMap map, IReadOnlyList<PedestalTable> pedestals, ReadOnlySpan<double> calibration,
        SignalBoxSetup box, FeatureOptions features, double beamEnergyGeV = 100, double peakWindowGeV = 20)
    {
        ArgumentNullException.ThrowIfNull(map);
        ArgumentNullException.ThrowIfNull(pedestals);
        if (pedestals.Count != map.Modules.Count)
            throw new ArgumentException($"{pedestals.Count} pedestal tables for {map.Modules.Count} modules", nameof(pedestals));
        _map = map;
        _pedestals = [.. pedestals];
        _features = new FeatureExtractor(features, calibration);
        _box = box ?? throw new ArgumentNullException(nameof(box));
        _peakLow = beamEnergyGeV - peakWindowGeV;
        _peakHigh = beamEnergyGeV + peakWindowGeV;
    }

    public long Events => Interlocked.Read(ref _events);

    /// <summary>Events the monitor could not read back (should stay 0: they were built by the pipeline).</summary>
    public long Undecodable => Interlocked.Read(ref _undecodable);

    public SignalBoxSetup SignalBox => _box;

    /// <summary>Counts per <see cref="BinGeV"/> bin from 0; the last bin is overflow.</summary>
    public long[] Histogram()
    {
        lock (_histogram)
            return (long[])_histogram.Clone();
    }

    /// <summary>Events in the signal box (E_ECAL &lt; box, E_HCAL &lt; box) with their spill and event number.</summary>
    public IReadOnlyList<(uint Spill, uint Event)> SignalBoxEvents
    {
        get
        {
            lock (_boxEvents)
                return [.. _boxEvents];
        }
    }

    /// <summary>Mean, RMS and count of E_ECAL + E_HCAL within the window around the beam energy.</summary>
    public (double Mean, double Rms, long Count) ElectronPeak()
    {
        lock (_histogram)
        {
            if (_peakCount == 0)
                return (double.NaN, double.NaN, 0);
            double mean = _peakSum / _peakCount;
            return (mean, Math.Sqrt(Math.Max(0, (_peakSum2 / _peakCount) - (mean * mean))), _peakCount);
        }
    }

    /// <summary>Mean sample index at which the event's largest ECAL pulse peaks (NaN before any), and the events counted:
    /// the window position a latency scan tunes.</summary>
    public (double MeanPeakSample, long Count) EcalPeakPosition()
    {
        lock (_histogram)
            return (_peakSampleCount == 0 ? double.NaN : _peakSampleSum / _peakSampleCount, _peakSampleCount);
    }

    /// <summary>Matches <see cref="NA64.Readout.Sinks.EventCallback"/>.</summary>
    public void OnEvent(in EventMetadata metadata, ReadOnlySpan<byte> dateEvent)
    {
        if (_buffer.Length < dateEvent.Length)
            _buffer = new byte[Math.Max(dateEvent.Length, _buffer.Length * 2)];
        dateEvent.CopyTo(_buffer);
        EventSums sums;
        try
        {
            _view.Load(_buffer.AsMemory(0, dateEvent.Length));
            sums = Reconstruct();
        }
        catch (NA64.Hardware.Errors.FrameFormatException)
        {
            Interlocked.Increment(ref _undecodable);
            return;
        }

        double total = sums.Ecal + sums.Hcal;
        lock (_histogram)
        {
            int bin = total < 0 ? 0 : (int)Math.Min(_histogram.Length - 1, total / BinGeV);
            _histogram[bin]++;
            if (sums.EcalPeakSample >= 0)
            {
                _peakSampleSum += sums.EcalPeakSample;
                _peakSampleCount++;
            }

            if (total >= _peakLow && total <= _peakHigh)
            {
                _peakSum += total;
                _peakSum2 += total * total;
                _peakCount++;
            }
        }

        if (sums.Ecal < _box.EcalMaxGeV && sums.Hcal < _box.HcalMaxGeV)
        {
            lock (_boxEvents)
                _boxEvents.Add((metadata.Spill, metadata.EventInSpill));
        }

        Interlocked.Increment(ref _events);
    }

    /// <summary>ECAL and HCAL sums of the loaded event.</summary>
    private EventSums Reconstruct()
    {
        _data.Clear();
        foreach (var equipment in _view.Equipments)
            SadcDecoder.Decode(_view.Payload(equipment), _data, _view.Header.NbInBurst, equipment.ByteOffset + DateEquipmentHeader.Bytes);
        double ecal = 0, hcal = 0, largest = 0;
        int peakSample = -1;
        foreach (ref readonly var channel in _data.Channels)
        {
            var module = _map.Find(channel.Address.SourceId, channel.Address.Port);
            if (module is null)
                continue;
            int index = _map.LayoutChannel(module, channel.Address.ChipChannel);
            if (index < 0)
                continue;
            var kind = _map.Calorimeter[index];
            if (kind == NA64.Readout.Processing.CalorimeterKind.None)
                continue;
            var raw = _data.Samples(channel);
            if (_samples.Length < raw.Length)
                _samples = new short[raw.Length];
            var pedestal = _pedestals[module.Index][channel.Address.ChipChannel];
            var subtracted = _samples.AsSpan(0, raw.Length);
            for (int s = 0; s < raw.Length; s++)
                subtracted[s] = (short)Math.Round(raw[s] - ((s & 1) == 0 ? pedestal.PedestalEven : pedestal.PedestalOdd));
            var f = _features.Extract(index, subtracted);
            if (kind == NA64.Readout.Processing.CalorimeterKind.Ecal)
            {
                ecal += f.Energy;
                if (f.Amplitude > largest)
                    (largest, peakSample) = (f.Amplitude, f.PeakSample);
            }
            else
            {
                hcal += f.Energy;
            }
        }

        return new EventSums(ecal, hcal, peakSample);
    }
}

/// <summary>ECAL and HCAL energy of one event, and the peak sample of its largest ECAL pulse (-1: none).</summary>
internal readonly record struct EventSums(double Ecal, double Hcal, int EcalPeakSample);
