using NA64.Hardware.Digitizers.Apv.Format;
using System.Globalization;

namespace NA64.Simulators.Trackers;

/// <summary>Which quantity of a channel is compared with n × σ (data-formats: the board's choice is not documented).</summary>
public enum ApvThresholdQuantity
{
    /// <summary>The largest of the three frames after pedestal and CM subtraction (na64-setup §9.12 default).</summary>
    MaxOfFrames,
    /// <summary>The middle frame a1 alone.</summary>
    A1,
}

/// <summary>On-board sparsification settings of one APV-ADC (na64-setup §9.3, §9.12; each undocumented choice is an option).</summary>
public sealed record ApvOnBoardOptions
{
    /// <summary>Threshold in units of the downloaded σ: 2 for micromegas, 3 for GEMs.</summary>
    public double ThresholdSigmas { get; init; } = 2;
    /// <summary>Common mode: channels above (pedestal + first-pass CM + k × σ) are excluded from the second pass.</summary>
    public double CommonModeExclusionSigmas { get; init; } = 3;
    /// <summary>Fewer channels left than this: the frame keeps the APV's last good CM (assumption).</summary>
    public int CommonModeMinimumChannels { get; init; } = 32;
    public ApvThresholdQuantity Quantity { get; init; } = ApvThresholdQuantity.MaxOfFrames;
    /// <summary>
    /// Mode register bit 7 "time cut" (its firmware meaning is not public): here it keeps only channels whose a1 is
    /// not below a0 nor a2 (a peaking pulse at the timed-in latency). Off by default.
    /// </summary>
    public bool TimeCut { get; init; }

    public static ApvOnBoardOptions Micromegas { get; } = new();
    public static ApvOnBoardOptions Gem { get; } = new() { ThresholdSigmas = 3 };

    internal void Validate()
    {
        TrackerOptions.NotNegative("ApvOnBoardOptions.ThresholdSigmas", ThresholdSigmas);
        TrackerOptions.Positive("ApvOnBoardOptions.CommonModeExclusionSigmas", CommonModeExclusionSigmas);
        TrackerOptions.Between("ApvOnBoardOptions.CommonModeMinimumChannels", CommonModeMinimumChannels, 1, ApvFacts.ChannelsPerApv);
    }
}

/// <summary>
/// The simulator's own emulation of the APV-ADC sparse mode for one APV (it deliberately shares no code with the
/// readout's processing): per frame, subtract the downloaded pedestals; common mode = two-pass truncated mean over
/// unmasked channels (pass 1 all, pass 2 without channels above pass-1 CM + k·σ, i.e. without the hits; too few left
/// keeps the last good CM); subtract it; keep a channel when its tested quantity exceeds n·σ from the downloaded
/// table (σ = 0: masked). Output: physical channel with its three amplitudes, plus the three CM values.
/// </summary>
public sealed class ApvOnBoardProcessor
{
    private readonly double[] _pedestal = new double[ApvFacts.ChannelsPerApv];
    private readonly double[] _sigma = new double[ApvFacts.ChannelsPerApv];
    private readonly double[] _threshold = new double[ApvFacts.ChannelsPerApv];
    private readonly double[] _corrected = new double[ApvFacts.Frames * ApvFacts.ChannelsPerApv];
    private readonly double[] _lastGoodCm = new double[ApvFacts.Frames];
    private ApvOnBoardOptions _options;

    public ApvOnBoardProcessor(ApvOnBoardOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
    }

    public ApvOnBoardOptions Options
    {
        get => _options;
        set
        {
            ArgumentNullException.ThrowIfNull(value);
            value.Validate();
            _options = value;
        }
    }

    public bool HasTable { get; private set; }
    /// <summary>Frames in which too few channels were left and the last good CM was used.</summary>
    public long CommonModeFallbacks { get; private set; }

    public void Download(ApvDownloadedTable table)
    {
        ArgumentNullException.ThrowIfNull(table);
        for (int c = 0; c < ApvFacts.ChannelsPerApv; c++)
        {
            _pedestal[c] = table.Pedestals[c];
            _sigma[c] = table.Sigmas[c];
            _threshold[c] = table.Thresholds?[c] ?? 0;
        }
        Array.Clear(_lastGoodCm);
        HasTable = true;
    }

    /// <summary>
    /// Processes one event's raw frames (<c>[frame × 128 + physicalChannel]</c>) into <paramref name="output"/>
    /// (cleared first, physical channels ascending) and returns the CM per frame.
    /// </summary>
    public ApvCommonMode Process(ReadOnlySpan<ushort> raw, List<ApvHit> output)
    {
        ArgumentNullException.ThrowIfNull(output);
        if (!HasTable)
            throw new InvalidOperationException("APV on-board processing needs a downloaded pedestal/sigma table first");
        if (raw.Length != ApvFacts.Frames * ApvFacts.ChannelsPerApv)
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                $"raw frames have {raw.Length} entries, need {ApvFacts.Frames * ApvFacts.ChannelsPerApv}"), nameof(raw));
        output.Clear();
        Span<int> cm = stackalloc int[ApvFacts.Frames];
        for (int f = 0; f < ApvFacts.Frames; f++)
        {
            int offset = f * ApvFacts.ChannelsPerApv;
            double sum = 0;
            int n = 0;
            for (int c = 0; c < ApvFacts.ChannelsPerApv; c++)
            {
                double d = raw[offset + c] - _pedestal[c];
                _corrected[offset + c] = d;
                if (_sigma[c] > 0)
                {
                    sum += d;
                    n++;
                }
            }
            double first = n > 0 ? sum / n : 0;
            sum = 0;
            n = 0;
            for (int c = 0; c < ApvFacts.ChannelsPerApv; c++)
            {
                double d = _corrected[offset + c];
                if (_sigma[c] > 0 && d - first <= _options.CommonModeExclusionSigmas * _sigma[c])
                {
                    sum += d;
                    n++;
                }
            }
            double common;
            if (n >= _options.CommonModeMinimumChannels)
            {
                common = sum / n;
                _lastGoodCm[f] = common;
            }
            else
            {
                common = _lastGoodCm[f];
                CommonModeFallbacks++;
            }
            for (int c = 0; c < ApvFacts.ChannelsPerApv; c++)
                _corrected[offset + c] -= common;
            cm[f] = (int)Math.Round(common);
        }

        for (int c = 0; c < ApvFacts.ChannelsPerApv; c++)
        {
            if (!(_sigma[c] > 0))
                continue;
            double a0 = _corrected[c];
            double a1 = _corrected[ApvFacts.ChannelsPerApv + c];
            double a2 = _corrected[2 * ApvFacts.ChannelsPerApv + c];
            double q = _options.Quantity == ApvThresholdQuantity.A1 ? a1 : Math.Max(a0, Math.Max(a1, a2));
            double limit = _threshold[c] > 0 ? _threshold[c] : _options.ThresholdSigmas * _sigma[c];
            if (q <= limit)
                continue;
            if (_options.TimeCut && (a1 < a0 || a1 < a2))
                continue;
            output.Add(new ApvHit(c, Clamp(a0), Clamp(a1), Clamp(a2)));
        }
        return new ApvCommonMode(cm[0], cm[1], cm[2]);
    }

    private static int Clamp(double value) => (int)Math.Clamp(Math.Round(value), 0, ApvFacts.MaxAmplitude);
}
