using System.Globalization;

namespace NA64.Readout.Processing;

[Flags]
public enum PedestalFlags
{
    None = 0,
    /// <summary>σ ≈ 0, or most samples stuck at 0 or at the 4095 overflow.</summary>
    Dead = 1,
    /// <summary>σ above k × the median σ of the table's live channels.</summary>
    Noisy = 2,
    /// <summary>No sample of this channel (or of one of its two ADC paths) was seen.</summary>
    NoData = 4,
}

/// <summary>Pedestal of one channel from a pedestal run, per ADC path (even and odd samples).</summary>
public readonly record struct ChannelPedestal(
    double PedestalEven, double PedestalOdd,
    double SigmaEven, double SigmaOdd,
    long EntriesEven, long EntriesOdd,
    PedestalFlags Flags)
{
    /// <summary>The larger of the two path σ: thresholds and noise flags use it.</summary>
    public double Sigma => Math.Max(SigmaEven, SigmaOdd);
}

/// <summary>
/// Per-channel pedestals of one module (one <see cref="MsadcBlock"/> layout), with a text file format
/// that is written beside the run:
/// <code>
/// # comment lines
/// channels N
/// channel pedestalEven pedestalOdd sigmaEven sigmaOdd entriesEven entriesOdd flags   (N lines, channel 0..N-1)
/// </code>
/// Numbers are invariant culture; doubles round-trip exactly ("R"); flags is the integer of <see cref="PedestalFlags"/>.
/// </summary>
public sealed class PedestalTable
{
    public const string FileSuffix = ".pedestals.txt";
    private readonly ChannelPedestal[] _channels;

    public PedestalTable(IEnumerable<ChannelPedestal> channels)
    {
        ArgumentNullException.ThrowIfNull(channels);
        _channels = channels.ToArray();
    }

    public int ChannelCount => _channels.Length;
    public ChannelPedestal this[int channel] => _channels[channel];
    public IReadOnlyList<ChannelPedestal> Channels => _channels;

    /// <summary>Per-channel threshold on max(sample − pedestal) in whole ADC counts: ceil(n·σ), at least
    /// <paramref name="minimum"/>. Dead and no-data channels (and noisy ones if asked) get
    /// <see cref="SuppressionTable.Masked"/>. This is also what is downloaded into a module for sparse mode.</summary>
    public short[] Thresholds(double nSigma, bool maskNoisy = true, short minimum = 1)
    {
        if (!double.IsFinite(nSigma) || nSigma <= 0)
            throw new ArgumentOutOfRangeException(nameof(nSigma), nSigma, "nSigma must be a finite number > 0");
        var result = new short[_channels.Length];
        for (int c = 0; c < _channels.Length; c++)
        {
            var p = _channels[c];
            bool masked = (p.Flags & (PedestalFlags.Dead | PedestalFlags.NoData)) != 0
                || (maskNoisy && (p.Flags & PedestalFlags.Noisy) != 0);
            result[c] = masked
                ? SuppressionTable.Masked
                : (short)Math.Clamp(Math.Ceiling(nSigma * p.Sigma), minimum, SuppressionTable.Masked);
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

    public static PedestalTable Load(string path)
    {
        using var reader = new StreamReader(path);
        return Read(reader);
    }

    public void Write(TextWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        var inv = CultureInfo.InvariantCulture;
        writer.WriteLine("# NA64.Hw MSADC pedestal table, format 1");
        writer.WriteLine("# flags: 1 = Dead, 2 = Noisy, 4 = NoData");
        writer.WriteLine("# channel pedestalEven pedestalOdd sigmaEven sigmaOdd entriesEven entriesOdd flags");
        writer.WriteLine(string.Create(inv, $"channels {_channels.Length}"));
        for (int c = 0; c < _channels.Length; c++)
        {
            var p = _channels[c];
            writer.WriteLine(string.Create(inv,
                $"{c} {p.PedestalEven:R} {p.PedestalOdd:R} {p.SigmaEven:R} {p.SigmaOdd:R} {p.EntriesEven} {p.EntriesOdd} {(int)p.Flags}"));
        }
    }

    public static PedestalTable Read(TextReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        int lineNumber = 0;
        int expected = -1;
        var channels = new List<ChannelPedestal>();
        string? line;
        while ((line = reader.ReadLine()) != null)
        {
            lineNumber++;
            var text = line.Trim();
            if (text.Length == 0 || text[0] == '#') continue;
            var f = text.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (expected < 0)
            {
                if (f.Length != 2 || f[0] != "channels")
                    throw new FormatException($"pedestal file line {lineNumber}: expected 'channels N', got '{text}'");
                expected = ParseInt(f[1], "channels", lineNumber);
                if (expected < 0)
                    throw new FormatException($"pedestal file line {lineNumber}: channels = {expected}, must be >= 0");
                continue;
            }
            if (f.Length != 8)
                throw new FormatException($"pedestal file line {lineNumber}: {f.Length} fields, expected 8 (channel pedestalEven pedestalOdd sigmaEven sigmaOdd entriesEven entriesOdd flags)");
            int channel = ParseInt(f[0], "channel", lineNumber);
            if (channel != channels.Count)
                throw new FormatException($"pedestal file line {lineNumber}: channel = {channel}, expected {channels.Count} (channels in order)");
            if (channel >= expected)
                throw new FormatException($"pedestal file line {lineNumber}: channel = {channel}, the header declares {expected} channels");
            int flags = ParseInt(f[7], "flags", lineNumber);
            if (flags < 0 || flags > 7)
                throw new FormatException($"pedestal file line {lineNumber}: flags = {flags}, must be 0..7");
            channels.Add(new ChannelPedestal(
                ParseDouble(f[1], "pedestalEven", lineNumber), ParseDouble(f[2], "pedestalOdd", lineNumber),
                ParseDouble(f[3], "sigmaEven", lineNumber), ParseDouble(f[4], "sigmaOdd", lineNumber),
                ParseLong(f[5], "entriesEven", lineNumber), ParseLong(f[6], "entriesOdd", lineNumber),
                (PedestalFlags)flags));
        }
        if (expected < 0)
            throw new FormatException("pedestal file has no 'channels N' line");
        if (channels.Count != expected)
            throw new FormatException($"pedestal file has {channels.Count} channel lines, the header declares {expected}");
        return new PedestalTable(channels);
    }

    private static int ParseInt(string s, string field, int line) =>
        int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v
        : throw new FormatException($"pedestal file line {line}: {field} = '{s}' is not a base-10 integer");

    private static long ParseLong(string s, string field, int line) =>
        long.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) && v >= 0 ? v
        : throw new FormatException($"pedestal file line {line}: {field} = '{s}' is not a base-10 integer >= 0");

    private static double ParseDouble(string s, string field, int line) =>
        double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v
        : throw new FormatException($"pedestal file line {line}: {field} = '{s}' is not a number");
}
