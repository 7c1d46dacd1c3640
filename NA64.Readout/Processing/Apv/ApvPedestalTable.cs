using System.Globalization;

namespace NA64.Readout.Processing.Apv;

[Flags]
public enum ApvChannelFlags
{
    None = 0,
    /// <summary>σ ≈ 0, or most samples stuck at 0 or at 1023.</summary>
    Dead = 1,
    /// <summary>σ above k × the median σ of the live channels of the same APV.</summary>
    Noisy = 2,
    /// <summary>No sample of this channel was seen.</summary>
    NoData = 4,
}

/// <summary>Detector behind an APV: selects the default threshold (na64-setup.md 8.1, 8.2).</summary>
public enum ApvDetectorKind
{
    Micromegas,
    Gem,
}

/// <summary>Pedestal and noise of one APV channel in quarter ADC counts (int16, 2 fractional bits).</summary>
public readonly record struct ApvChannelPedestal(short PedestalQ2, short SigmaQ2, ApvChannelFlags Flags)
{
    public double Pedestal => PedestalQ2 / (double)ApvLayout.Scale;
    public double Sigma => SigmaQ2 / (double)ApvLayout.Scale;
    /// <summary>Dead or without data: excluded from the common mode and never kept.</summary>
    public bool IsUnusable => (Flags & (ApvChannelFlags.Dead | ApvChannelFlags.NoData)) != 0;
}

/// <summary>
/// Per-channel pedestals and σ of a set of APVs (index = apv × 128 + physical channel), as the pedestal run measured
/// them and as the processing and the on-board sparse mode use them.
/// <para>Storage: int16 with 2 fractional bits (quarter ADC counts, ALICE-style), not float. A 10-bit amplitude times 4
/// is at most 4092, so raw × 4 − pedestal − common mode stays inside int16 and the whole kernel runs on 16 int16
/// lanes per Vector256 (float: 8) with integer sums, which are exact and independent of summation order, so every
/// SIMD width gives bit-identical results. A quarter count is ≤ 1/8 of any working APV's σ (2–5 counts).</para>
/// File (<see cref="Write"/>): CSV, comment lines start with '#', then the header line and one line per channel:
/// <code>apv,channel,pedestal,sigma,flags</code> with pedestal and σ in ADC counts as multiples of 0.25
/// (written exactly, e.g. 312.75) and flags the integer of <see cref="ApvChannelFlags"/>.
/// </summary>
public sealed class ApvPedestalTable
{
    public const string FileSuffix = ".apv-pedestals.csv";
    public const string Header = "apv,channel,pedestal,sigma,flags";
    private readonly ApvChannelPedestal[] _channels;

    public ApvPedestalTable(IEnumerable<ApvChannelPedestal> channels)
    {
        ArgumentNullException.ThrowIfNull(channels);
        _channels = channels.ToArray();
        if (_channels.Length % ApvLayout.ChannelsPerApv != 0)
            throw new ArgumentException($"table has {_channels.Length} channels, not a multiple of {ApvLayout.ChannelsPerApv}", nameof(channels));
        for (int i = 0; i < _channels.Length; i++)
        {
            var p = _channels[i];
            if (p.PedestalQ2 < 0 || p.PedestalQ2 > ApvLayout.MaxAmplitude * ApvLayout.Scale)
                throw new ArgumentOutOfRangeException(nameof(channels), p.PedestalQ2,
                    $"channel {i}: pedestal {p.Pedestal} is outside 0..{ApvLayout.MaxAmplitude}");
            if (p.SigmaQ2 < 0)
                throw new ArgumentOutOfRangeException(nameof(channels), p.SigmaQ2, $"channel {i}: sigma {p.Sigma} is negative");
        }
    }

    public int ChannelCount => _channels.Length;
    public int ApvCount => _channels.Length / ApvLayout.ChannelsPerApv;
    public IReadOnlyList<ApvChannelPedestal> Channels => _channels;
    public ApvChannelPedestal this[int apv, int channel] => _channels[apv * ApvLayout.ChannelsPerApv + channel];

    /// <summary>Default threshold in σ: 2 for micromegas, 3 for GEMs [THESIS].</summary>
    public static double DefaultNSigma(ApvDetectorKind kind) => kind switch
    {
        ApvDetectorKind.Micromegas => 2.0,
        ApvDetectorKind.Gem => 3.0,
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown detector kind"),
    };

    /// <summary>Per-channel thresholds on the time-aggregated amplitude in quarter counts: ceil(n·σ·4), n per APV, at
    /// least 1; dead and no-data channels (and noisy ones unless told) get <see cref="ApvProcessingTable.Masked"/>.
    /// Divide by 4 and round up for the whole-count thresholds downloaded into an APV-ADC.</summary>
    public short[] Thresholds(ReadOnlySpan<double> nSigmaPerApv, bool maskNoisy = true)
    {
        if (nSigmaPerApv.Length != ApvCount)
            throw new ArgumentException($"{nSigmaPerApv.Length} thresholds given for {ApvCount} APVs", nameof(nSigmaPerApv));
        var result = new short[_channels.Length];
        for (int apv = 0; apv < ApvCount; apv++)
        {
            double n = nSigmaPerApv[apv];
            if (!double.IsFinite(n) || n <= 0)
                throw new ArgumentOutOfRangeException(nameof(nSigmaPerApv), n, $"nSigma of APV {apv} = {n}, must be a finite number > 0");
            for (int c = 0; c < ApvLayout.ChannelsPerApv; c++)
            {
                int i = apv * ApvLayout.ChannelsPerApv + c;
                var p = _channels[i];
                result[i] = p.IsUnusable || (maskNoisy && (p.Flags & ApvChannelFlags.Noisy) != 0)
                    ? ApvProcessingTable.Masked
                    : (short)Math.Clamp(Math.Ceiling(n * p.SigmaQ2), 1, ApvProcessingTable.Masked - 1);
            }
        }
        return result;
    }

    /// <summary>The pedestal file of a run: the run file's path with <see cref="FileSuffix"/> appended.</summary>
    public static string PathBesideRun(string runFilePath)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(runFilePath);
        return runFilePath + FileSuffix;
    }

    public void Save(string path)
    {
        using var writer = new StreamWriter(path, append: false, new System.Text.UTF8Encoding(false));
        Write(writer);
    }

    public static ApvPedestalTable Load(string path)
    {
        using var reader = new StreamReader(path);
        return Read(reader);
    }

    public void Write(TextWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        var inv = CultureInfo.InvariantCulture;
        writer.WriteLine("# NA64.Hw APV pedestal table, format 1; pedestal and sigma in ADC counts (multiples of 0.25)");
        writer.WriteLine("# flags: 1 = Dead, 2 = Noisy, 4 = NoData; channel = physical APV channel 0..127");
        writer.WriteLine(Header);
        for (int i = 0; i < _channels.Length; i++)
        {
            var p = _channels[i];
            writer.WriteLine(string.Create(inv,
                $"{i / ApvLayout.ChannelsPerApv},{i % ApvLayout.ChannelsPerApv},{p.Pedestal:0.##},{p.Sigma:0.##},{(int)p.Flags}"));
        }
    }

    public static ApvPedestalTable Read(TextReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        var channels = new List<ApvChannelPedestal>();
        bool header = false;
        int lineNumber = 0;
        for (string? line = reader.ReadLine(); line is not null; line = reader.ReadLine())
        {
            lineNumber++;
            var text = line.Trim();
            if (text.Length == 0 || text.StartsWith('#')) continue;
            if (!header)
            {
                if (text != Header)
                    throw new FormatException($"APV pedestal file line {lineNumber}: header is '{text}', expected '{Header}'");
                header = true;
                continue;
            }
            var f = text.Split(',');
            if (f.Length != 5)
                throw new FormatException($"APV pedestal file line {lineNumber}: {f.Length} fields, expected 5 ({Header})");
            int expectedApv = channels.Count / ApvLayout.ChannelsPerApv, expectedChannel = channels.Count % ApvLayout.ChannelsPerApv;
            int apv = ParseInt(f[0], "apv", lineNumber);
            int channel = ParseInt(f[1], "channel", lineNumber);
            if (apv != expectedApv || channel != expectedChannel)
                throw new FormatException($"APV pedestal file line {lineNumber}: apv,channel = {apv},{channel}, expected {expectedApv},{expectedChannel} (in order, 128 per APV)");
            short pedestal = ParseQuarter(f[2], "pedestal", lineNumber, ApvLayout.MaxAmplitude);
            short sigma = ParseQuarter(f[3], "sigma", lineNumber, ApvLayout.MaxAmplitude);
            int flags = ParseInt(f[4], "flags", lineNumber);
            if (flags < 0 || flags > 7)
                throw new FormatException($"APV pedestal file line {lineNumber}: flags = {flags}, must be 0..7");
            channels.Add(new ApvChannelPedestal(pedestal, sigma, (ApvChannelFlags)flags));
        }
        if (!header)
            throw new FormatException($"APV pedestal file has no header line '{Header}'");
        if (channels.Count % ApvLayout.ChannelsPerApv != 0)
            throw new FormatException($"APV pedestal file has {channels.Count} channel lines, not a multiple of {ApvLayout.ChannelsPerApv}");
        return new ApvPedestalTable(channels);
    }

    private static int ParseInt(string s, string field, int line) =>
        int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v
        : throw new FormatException($"APV pedestal file line {line}: {field} = '{s}' is not a base-10 integer");

    private static short ParseQuarter(string s, string field, int line, int max)
    {
        if (!decimal.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var v))
            throw new FormatException($"APV pedestal file line {line}: {field} = '{s}' is not a number");
        if (v < 0 || v > max)
            throw new FormatException($"APV pedestal file line {line}: {field} = {s} is outside 0..{max}");
        var q = v * ApvLayout.Scale;
        if (q != decimal.Truncate(q))
            throw new FormatException($"APV pedestal file line {line}: {field} = {s} is not a multiple of 0.25 (2 fractional bits)");
        return (short)q;
    }
}
