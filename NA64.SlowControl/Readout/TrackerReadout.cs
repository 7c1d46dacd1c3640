using System.Globalization;
using NA64.Hardware.Digitizers.Apv;
using NA64.Hardware.Digitizers.Apv.Format;
using NA64.Readout.Processing.Apv;
using NA64.Readout.Trackers;
using NA64.SlowControl.Setup;
using Serilog;

namespace NA64.SlowControl.Readout;

/// <summary>
/// The tracker side of a readout run: the APV-ADC drivers of the setup's APV sources, the index of every APV of the
/// layout (one pedestal table row block each), the latch-all pedestal run and the sparse configuration downloaded from
/// its tables. Pedestal runs read the APVs in latch-all mode (no beam); physics runs read them sparse, the on-board
/// pedestal and common-mode subtraction and n·σ threshold working from the downloaded tables (na64-setup.md §8.1 Modes,
/// §10.3 run-start practice).
/// </summary>
public sealed class TrackerReadout
{
    /// <summary>Latch-all, triple frame: pedestal runs (data-formats.md 7.11: b0, nothing else).</summary>
    public const ApvAdcMode LatchAllMode = ApvAdcMode.TripleFrame;

    /// <summary>
    /// Sparse with on-board pedestal and common-mode subtraction: the typical 0x8F without the time cut, whose meaning is
    /// not public (na64-setup.md §9.3); ours, marked as such.
    /// </summary>
    public const ApvAdcMode SparseMode = ApvAdcMode.TripleFrame | ApvAdcMode.Sparse | ApvAdcMode.PedestalSubtraction | ApvAdcMode.CommonModeSubtraction;

    /// <summary>APV trigger latency in 25 ns columns written to every APV-ADC (the simulated installation's timed-in value; assumption).</summary>
    public const int DefaultLatency = 100;

    /// <summary>Where the latest tracker pedestal tables live in the data directory (one file for every APV of the layout).</summary>
    public const string PedestalFileName = "trackers" + ApvPedestalTable.FileSuffix;

    private readonly Dictionary<(int Source, int Adc, int Chip), int> _apvIndex = [];
    private readonly ILogger _log;
    private ApvPedestalAccumulator? _accumulator;
    private short[] _block = [];

    public TrackerReadout(TrackerSetup trackers, IReadOnlyList<ApvAdcModule> drivers, ILogger? log = null)
    {
        ArgumentNullException.ThrowIfNull(trackers);
        ArgumentNullException.ThrowIfNull(drivers);
        Layout = trackers.Layout;
        Drivers = drivers;
        _log = (log ?? Serilog.Core.Logger.None).ForContext<TrackerReadout>();
        var apvs = new List<(int, int, int, TrackerDetectorLayout)>();
        foreach (var chip in Layout.Chips)
        {
            _apvIndex[(chip.SourceId, chip.AdcId, chip.ChipId)] = apvs.Count;
            apvs.Add(chip);
        }

        Apvs = apvs;
        NSigma = [.. apvs.Select(a => a.Item4.ThresholdSigmas)];
    }

    public TrackerLayout Layout { get; }

    /// <summary>Host-side drivers of the APV-ADCs, in setup order.</summary>
    public IReadOnlyList<ApvAdcModule> Drivers { get; }

    /// <summary>Every APV of the layout in table order: (source, ADC, chip, detector).</summary>
    public IReadOnlyList<(int SourceId, int AdcId, int ChipId, TrackerDetectorLayout Detector)> Apvs { get; }

    /// <summary>Zero-suppression level of each APV (its detector's), in table order.</summary>
    public double[] NSigma { get; }

    /// <summary>The tables in use (a pedestal run's or loaded); null before either.</summary>
    public ApvPedestalTable? Pedestals { get; private set; }

    /// <summary>Index of an APV in the tables, or -1 for a chip the layout does not read.</summary>
    public int ApvIndex(int sourceId, int adcId, int chipId) => _apvIndex.GetValueOrDefault((sourceId, adcId, chipId), -1);

    public static string PedestalFile(string dataDirectory) => Path.Combine(dataDirectory, ReadoutRun.PedestalDirectory, PedestalFileName);

    /// <summary>Loads the latest tables of the data directory; false when there are none or they do not fit the layout.</summary>
    public bool TryLoadPedestals(string dataDirectory)
    {
        string file = PedestalFile(dataDirectory);
        if (!File.Exists(file))
            return false;
        var table = ApvPedestalTable.Load(file);
        if (table.ApvCount != Apvs.Count)
        {
            _log.Warning("Tracker pedestal tables {File} hold {Tables} APVs, the layout has {Apvs}: a new pedestal run is needed", file, table.ApvCount, Apvs.Count);
            return false;
        }

        Pedestals = table;
        return true;
    }

    /// <summary>Every APV-ADC to latch-all with the given latency (pedestal run); tables left as they are.</summary>
    public async Task ConfigureLatchAllAsync(int latency, CancellationToken ct)
    {
        foreach (var driver in Drivers)
            await driver.ConfigureAsync(ApvAdcConfiguration.Uniform(LatchAllMode, latency, new ApvChannelSettings(0, 0, 0)), ct).ConfigureAwait(false);
    }

    /// <summary>
    /// Pedestal, σ and n·σ threshold of every channel into its APV-ADC, verified by read-back (the driver's), then sparse
    /// mode. A masked channel (dead, noisy) gets σ 0 and the largest threshold: never sent. Returns the registers verified.
    /// </summary>
    public async Task<int> DownloadSparseAsync(int latency, CancellationToken ct)
    {
        var table = Pedestals ?? throw new InvalidOperationException("no tracker pedestal tables: take a pedestal run first");
        var thresholds = table.Thresholds(NSigma);
        int verified = 0;
        foreach (var driver in Drivers)
        {
            var channels = new ApvChannelSettings[ApvAdcRegisters.ChannelsPerAdc];
            for (int i = 0; i < channels.Length; i++)
                channels[i] = new ApvChannelSettings(0, 0, ApvFacts.MaxAmplitude);
            foreach (var (source, adc, chip, _) in Apvs.Where(a => a.SourceId == driver.SourceId && a.AdcId == driver.AdcId))
            {
                int apv = ApvIndex(source, adc, chip);
                // Tables have room for ApvsPerAdc APVs per ADC: chip ids beyond that cannot be configured on this module.
                if (chip >= ApvAdcRegisters.ApvsPerAdc)
                    throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture,
                        $"APV-ADC {driver.Name}: chip {chip} has no table (the module holds {ApvAdcRegisters.ApvsPerAdc} APVs)"));
                for (int c = 0; c < ApvFacts.ChannelsPerApv; c++)
                {
                    var p = table[apv, c];
                    int threshold = (int)Math.Ceiling(thresholds[(apv * ApvFacts.ChannelsPerApv) + c] / (double)ApvLayout.Scale);
                    bool masked = p.IsUnusable || (p.Flags & ApvChannelFlags.Noisy) != 0;
                    channels[ApvAdcConfiguration.ChannelIndex(chip, c)] = masked
                        ? new ApvChannelSettings((int)Math.Round(p.Pedestal), 0, ApvFacts.MaxAmplitude)
                        : new ApvChannelSettings((int)Math.Round(p.Pedestal), p.SigmaQ2, Math.Clamp(threshold, 0, ApvFacts.MaxAmplitude));
                }
            }

            await driver.ConfigureAsync(new ApvAdcConfiguration(SparseMode, latency, channels), ct).ConfigureAwait(false);
            verified += 2 + (3 * channels.Length);
        }

        _log.Information("Tracker tables downloaded to {Modules} APV-ADCs, {Registers} registers verified; sparse mode", Drivers.Count, verified);
        return verified;
    }

    public async Task StartAsync(CancellationToken ct)
    {
        foreach (var driver in Drivers)
        {
            // As the MSADC modules: stopped first, so that a module left running by an earlier run starts clean.
            await driver.StopAsync(ct).ConfigureAwait(false);
            await driver.ArmAsync(ct).ConfigureAwait(false);
            await driver.StartAsync(ct).ConfigureAwait(false);
        }
    }

    public async Task StopAsync(CancellationToken ct)
    {
        foreach (var driver in Drivers)
            await driver.StopAsync(ct).ConfigureAwait(false);
    }

    /// <summary>Starts a pedestal accumulation over every APV of the layout.</summary>
    public void BeginPedestals(ApvPedestalOptions? options = null)
    {
        _accumulator = new ApvPedestalAccumulator(Apvs.Count, options, _log);
        _block = new short[Apvs.Count * ApvLayout.SamplesPerApv];
    }

    /// <summary>
    /// Adds one event's latch-all APVs (all APV sources of the event decoded into <paramref name="data"/>). An APV of the
    /// layout missing from the event, or sent sparse, makes the event unusable for the tables: false, nothing added.
    /// </summary>
    public bool AddPedestalEvent(ApvEventData data)
    {
        ArgumentNullException.ThrowIfNull(data);
        var accumulator = _accumulator ?? throw new InvalidOperationException("BeginPedestals first");
        int found = 0;
        foreach (ref readonly var chip in data.Chips)
        {
            int apv = ApvIndex(chip.SourceId, chip.AdcId, chip.ChipId);
            if (apv < 0 || chip.Sparse || !chip.HasData)
                continue;
            var samples = data.LatchAll(chip);
            if (samples.Length != ApvLayout.SamplesPerApv)
                continue;
            var into = _block.AsSpan(apv * ApvLayout.SamplesPerApv, ApvLayout.SamplesPerApv);
            for (int i = 0; i < samples.Length; i++)
                into[i] = (short)samples[i];
            found++;
        }

        if (found != Apvs.Count)
            return false;
        accumulator.Add(new ApvBlock(_block));
        return true;
    }

    /// <summary>Builds the tables of the accumulated events and makes them the ones in use.</summary>
    public ApvPedestalTable FinishPedestals()
    {
        var accumulator = _accumulator ?? throw new InvalidOperationException("BeginPedestals first");
        Pedestals = accumulator.Build();
        _accumulator = null;
        return Pedestals;
    }
}
