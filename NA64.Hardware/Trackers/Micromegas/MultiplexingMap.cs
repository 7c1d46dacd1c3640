using System.Globalization;
using System.Text;

namespace NA64.Hardware.Trackers.Micromegas;

/// <summary>A map file (or generator call) that was refused: where and why, in one line.</summary>
public sealed class MultiplexingMapException(string source, int line, string reason)
    : FormatException($"{source}:{line}: {reason}")
{
    /// <summary>File name (or "generator" / "strip list") the map came from.</summary>
    public string MapSource { get; } = source;
    /// <summary>1-based line of the offending entry; 0 when the problem is not tied to one line.</summary>
    public int Line { get; } = line;
    public string Reason { get; } = reason;
}

/// <summary>
/// Figures of merit of a map, computed when it is built (na64-setup §8.1 "Properties").
/// <see cref="MinSameChannelSeparation"/> is the smallest distance (in strips) between two strips of one channel; the
/// first such pair in strip order is named. <see cref="RepeatedAdjacentPairs"/> lists the unordered channel pairs that
/// sit on more than one pair of neighbouring strips (empty for a good map: a real two-strip cluster then names its place).
/// </summary>
public sealed record MultiplexingMapProperties(
    int MinSameChannelSeparation,
    int MinSeparationChannel,
    int MinSeparationFirstStrip,
    int MinSeparationSecondStrip,
    IReadOnlyList<(int ChannelA, int ChannelB, int Times)> RepeatedAdjacentPairs)
{
    public bool EachChannelPairAdjacentAtMostOnce => RepeatedAdjacentPairs.Count == 0;

    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture,
            $"min same-channel separation {MinSameChannelSeparation} (channel {MinSeparationChannel} at strips {MinSeparationFirstStrip} and {MinSeparationSecondStrip}), {RepeatedAdjacentPairs.Count} channel pairs adjacent more than once");
}

/// <summary>
/// Genetic multiplexing of a micromegas plane (Procureur et al., NIMA 729 (2013) 888; na64-setup §8.1,
/// data-formats §7.13): <see cref="StripCount"/> = p·m strips read by p electronic channels, each channel driving
/// exactly m strips. A device fact of the chamber: the readout demultiplexes with it and simulators multiplex with it.
/// Every instance has passed the validator (uniform multiplicity); its figures of merit are in <see cref="Properties"/>.
/// </summary>
public sealed class MultiplexingMap
{
    /// <summary>NA64 2016-2018 series: strip 64i+j → channel (k_i·j) mod 64.</summary>
    public static IReadOnlyList<int> Na64SeriesK { get; } = [1, 7, 13, 19, 25];
    /// <summary>S. Procureur's improved series for the same 320 strips / 64 channels.</summary>
    public static IReadOnlyList<int> ImprovedSeriesK { get; } = [1, 13, 29, 17, 21];

    public const string Na64ResourceName = "na64-2016-2018.mux.txt";
    public const string ImprovedResourceName = "na64-improved.mux.txt";

    private static readonly Lazy<MultiplexingMap> s_na64 = new(() => LoadEmbedded(Na64ResourceName));
    private static readonly Lazy<MultiplexingMap> s_improved = new(() => LoadEmbedded(ImprovedResourceName));

    private readonly int[] _stripToChannel;
    private readonly int[] _channelStrips;   // channel-major, Multiplicity entries each, ascending strips
    private readonly int[]? _series;

    private MultiplexingMap(int[] stripToChannel, int channels, int[]? series, string source, int[]? lineOfStrip)
    {
        if (channels <= 0)
            throw new MultiplexingMapException(source, 0, $"channels = {channels}, must be > 0");
        if (stripToChannel.Length == 0 || stripToChannel.Length % channels != 0)
            throw new MultiplexingMapException(source, 0,
                $"strips = {stripToChannel.Length} is not a positive multiple of channels = {channels}");
        int m = stripToChannel.Length / channels;
        var counts = new int[channels];
        for (int s = 0; s < stripToChannel.Length; s++)
        {
            int c = stripToChannel[s];
            if ((uint)c >= (uint)channels)
                throw new MultiplexingMapException(source, lineOfStrip?[s] ?? 0,
                    $"strip {s} is on channel {c}, outside 0..{channels - 1}");
            counts[c]++;
        }
        for (int c = 0; c < channels; c++)
        {
            if (counts[c] == m) continue;
            // Name the line of the channel's first strip so the file can be fixed where the channel appears.
            int first = Array.IndexOf(stripToChannel, c);
            throw new MultiplexingMapException(source, first >= 0 && lineOfStrip is not null ? lineOfStrip[first] : 0,
                $"channel {c} drives {counts[c]} strips, every channel must drive {m} ({stripToChannel.Length} strips / {channels} channels)");
        }

        _stripToChannel = stripToChannel;
        _series = series;
        ChannelCount = channels;
        Multiplicity = m;
        _channelStrips = new int[stripToChannel.Length];
        var fill = new int[channels];
        for (int s = 0; s < stripToChannel.Length; s++)
        {
            int c = stripToChannel[s];
            _channelStrips[c * m + fill[c]++] = s;
        }
        Properties = ComputeProperties();
    }

    public int StripCount => _stripToChannel.Length;
    public int ChannelCount { get; }
    public int Multiplicity { get; }

    /// <summary>The generator series k when the map came from (or was verified against) the rule; null otherwise.</summary>
    public IReadOnlyList<int>? Series => _series;

    public MultiplexingMapProperties Properties { get; }

    /// <summary>Strip → channel, StripCount entries.</summary>
    public ReadOnlySpan<int> StripToChannel => _stripToChannel;

    public int ChannelOfStrip(int strip)
    {
        if ((uint)strip >= (uint)_stripToChannel.Length)
            throw new ArgumentOutOfRangeException(nameof(strip), strip, $"strip must be in 0..{_stripToChannel.Length - 1}");
        return _stripToChannel[strip];
    }

    /// <summary>The <see cref="Multiplicity"/> strips of a channel, ascending.</summary>
    public ReadOnlySpan<int> StripsOfChannel(int channel)
    {
        if ((uint)channel >= (uint)ChannelCount)
            throw new ArgumentOutOfRangeException(nameof(channel), channel, $"channel must be in 0..{ChannelCount - 1}");
        return _channelStrips.AsSpan(channel * Multiplicity, Multiplicity);
    }

    /// <summary>The NA64 2016-2018 map (series {1,7,13,19,25}, 320 strips, 64 channels), from the shipped file.</summary>
    public static MultiplexingMap Na64 => s_na64.Value;

    /// <summary>The improved map (series {1,13,29,17,21}), from the shipped file.</summary>
    public static MultiplexingMap Improved => s_improved.Value;

    /// <summary>
    /// The genetic rule: strip s = p·i + j (i = 0..m−1, j = 0..p−1) → channel (k_i·j) mod p.
    /// Each k_i must be coprime with p (for p = 64: odd), else one series would put two strips on one channel.
    /// </summary>
    public static MultiplexingMap Generate(IReadOnlyList<int> series, int channels, int multiplicity)
    {
        ArgumentNullException.ThrowIfNull(series);
        const string source = "generator";
        if (channels <= 0)
            throw new MultiplexingMapException(source, 0, $"channels p = {channels}, must be > 0");
        if (multiplicity <= 0)
            throw new MultiplexingMapException(source, 0, $"multiplicity m = {multiplicity}, must be > 0");
        if (series.Count != multiplicity)
            throw new MultiplexingMapException(source, 0, $"series has {series.Count} entries, multiplicity m = {multiplicity} needs exactly that many");
        for (int i = 0; i < series.Count; i++)
        {
            if (series[i] <= 0 || Gcd(series[i], channels) != 1)
                throw new MultiplexingMapException(source, 0,
                    $"series k[{i}] = {series[i]} must be positive and coprime with channels p = {channels}");
        }
        return new MultiplexingMap(Rule(series, channels), channels, series.ToArray(), source, null);
    }

    /// <summary>A map from an explicit strip → channel list (no generator), validated.</summary>
    public static MultiplexingMap FromStripChannels(IReadOnlyList<int> stripToChannel, int channels, string source = "strip list")
    {
        ArgumentNullException.ThrowIfNull(stripToChannel);
        return new MultiplexingMap(stripToChannel.ToArray(), channels, null, source, null);
    }

    private static int[] Rule(IReadOnlyList<int> series, int p)
    {
        var map = new int[p * series.Count];
        for (int i = 0; i < series.Count; i++)
            for (int j = 0; j < p; j++)
                map[p * i + j] = (int)((long)series[i] * j % p);
        return map;
    }

    private static int Gcd(int a, int b)
    {
        while (b != 0) (a, b) = (b, a % b);
        return Math.Abs(a);
    }

    private MultiplexingMapProperties ComputeProperties()
    {
        int best = int.MaxValue, bestChannel = -1, bestA = -1, bestB = -1;
        // Scan in strip order so that the first pair at the minimum (lowest first strip) is the one named.
        for (int s = 0; s < _stripToChannel.Length; s++)
        {
            var strips = StripsOfChannel(_stripToChannel[s]);
            int k = strips.IndexOf(s);
            if (k + 1 < strips.Length && strips[k + 1] - s < best)
            {
                best = strips[k + 1] - s;
                bestChannel = _stripToChannel[s];
                bestA = s;
                bestB = strips[k + 1];
            }
        }
        if (Multiplicity == 1) best = 0;

        var pairs = new Dictionary<(int, int), int>();
        for (int s = 0; s + 1 < _stripToChannel.Length; s++)
        {
            int a = _stripToChannel[s], b = _stripToChannel[s + 1];
            var key = a <= b ? (a, b) : (b, a);
            pairs[key] = pairs.GetValueOrDefault(key) + 1;
        }
        var repeated = pairs.Where(kv => kv.Value > 1)
            .OrderBy(kv => kv.Key.Item1).ThenBy(kv => kv.Key.Item2)
            .Select(kv => (kv.Key.Item1, kv.Key.Item2, kv.Value))
            .ToArray();
        return new MultiplexingMapProperties(best, bestChannel, bestA, bestB, repeated);
    }

    // ---------------------------------------------------------------- our setup format

    /// <summary>Loads our setup format (README.md in this folder): header lines, then one "strip channel" line per strip.</summary>
    public static MultiplexingMap Load(string path)
    {
        using var reader = new StreamReader(path);
        return Parse(reader, Path.GetFileName(path));
    }

    /// <summary>
    /// Parses our setup format. The header (<c>channels</c>, <c>multiplicity</c>, optional <c>series</c>) must come before
    /// the strip lines; strips are listed 0..p·m−1 in order. With a series the list is verified against the rule and
    /// the first strip that differs is refused.
    /// </summary>
    public static MultiplexingMap Parse(TextReader reader, string source)
    {
        ArgumentNullException.ThrowIfNull(reader);
        int channels = -1, multiplicity = -1;
        int[]? series = null;
        var strips = new List<int>();
        var lines = new List<int>();
        int lineNo = 0;
        for (string? raw; (raw = reader.ReadLine()) is not null;)
        {
            lineNo++;
            int hash = raw.IndexOf('#', StringComparison.Ordinal);
            string text = (hash >= 0 ? raw[..hash] : raw).Trim();
            if (text.Length == 0) continue;
            string[] f = text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            switch (f[0])
            {
                case "channels":
                    channels = HeaderInt(f, source, lineNo, strips.Count);
                    break;
                case "multiplicity":
                    multiplicity = HeaderInt(f, source, lineNo, strips.Count);
                    break;
                case "series":
                    if (strips.Count > 0)
                        throw new MultiplexingMapException(source, lineNo, "'series' after the first strip line; the header comes first");
                    if (f.Length < 2)
                        throw new MultiplexingMapException(source, lineNo, "'series' needs at least one value");
                    series = new int[f.Length - 1];
                    for (int i = 1; i < f.Length; i++)
                        series[i - 1] = ParseInt(f[i], $"series k[{i - 1}]", source, lineNo);
                    break;
                default:
                    if (channels <= 0 || multiplicity <= 0)
                        throw new MultiplexingMapException(source, lineNo,
                            $"strip line before 'channels' and 'multiplicity' (channels = {channels}, multiplicity = {multiplicity}); the header comes first");
                    if (f.Length != 2)
                        throw new MultiplexingMapException(source, lineNo, $"strip line has {f.Length} fields, expected 2: strip channel");
                    int strip = ParseInt(f[0], "strip", source, lineNo);
                    if (strip != strips.Count)
                        throw new MultiplexingMapException(source, lineNo, $"strip = {strip}, expected {strips.Count} (strips are listed in order from 0)");
                    if (strip >= channels * multiplicity)
                        throw new MultiplexingMapException(source, lineNo,
                            $"strip = {strip}, beyond the {channels * multiplicity} strips of channels × multiplicity");
                    int channel = ParseInt(f[1], "channel", source, lineNo);
                    if ((uint)channel >= (uint)channels)
                        throw new MultiplexingMapException(source, lineNo, $"channel = {channel}, outside 0..{channels - 1}");
                    strips.Add(channel);
                    lines.Add(lineNo);
                    break;
            }
        }
        if (channels <= 0 || multiplicity <= 0)
            throw new MultiplexingMapException(source, lineNo, $"missing header: channels = {channels}, multiplicity = {multiplicity}, both must be > 0");
        if (strips.Count != channels * multiplicity)
            throw new MultiplexingMapException(source, lineNo,
                $"{strips.Count} strip lines, channels {channels} × multiplicity {multiplicity} needs {channels * multiplicity}");

        var map = new MultiplexingMap(strips.ToArray(), channels, series, source, lines.ToArray());
        if (series is not null)
        {
            MultiplexingMap generated;
            try
            {
                generated = Generate(series, channels, multiplicity);
            }
            catch (MultiplexingMapException e)
            {
                // The generator's own complaint, re-located to this file's header.
                throw new MultiplexingMapException(source, 0, $"series: {e.Reason}");
            }
            for (int s = 0; s < strips.Count; s++)
            {
                if (strips[s] != generated._stripToChannel[s])
                    throw new MultiplexingMapException(source, lines[s],
                        $"strip {s} is on channel {strips[s]}, the series {string.Join(' ', series)} (p = {channels}) puts it on channel {generated._stripToChannel[s]}");
            }
        }
        return map;
    }

    /// <summary>Our setup format: header with the generator parameters when known, then "strip channel" lines.</summary>
    public string ToSetupText(string? comment = null)
    {
        var sb = new StringBuilder();
        if (comment is not null)
            foreach (var line in comment.Split('\n'))
                sb.Append("# ").Append(line.TrimEnd('\r')).Append('\n');
        sb.Append(CultureInfo.InvariantCulture, $"# {Properties}\n");
        sb.Append(CultureInfo.InvariantCulture, $"channels {ChannelCount}\n");
        sb.Append(CultureInfo.InvariantCulture, $"multiplicity {Multiplicity}\n");
        if (_series is not null)
            sb.Append("series ").AppendJoin(' ', _series).Append('\n');
        for (int s = 0; s < _stripToChannel.Length; s++)
            sb.Append(CultureInfo.InvariantCulture, $"{s} {_stripToChannel[s]}\n");
        return sb.ToString();
    }

    // ---------------------------------------------------------------- public dense incidence format

    /// <summary>Loads the public dense format (data-formats §7.13): "channel TAB strip TAB connected" for every pair.</summary>
    public static MultiplexingMap LoadDense(string path)
    {
        using var reader = new StreamReader(path);
        return ParseDense(reader, Path.GetFileName(path));
    }

    /// <summary>
    /// Parses the dense incidence matrix: one line per (channel, strip) pair, connected 0 or 1. The sizes come from the
    /// largest channel and strip numbers; every pair must appear exactly once and every strip be connected to exactly
    /// one channel.
    /// </summary>
    public static MultiplexingMap ParseDense(TextReader reader, string source)
    {
        ArgumentNullException.ThrowIfNull(reader);
        var entries = new List<(int Channel, int Strip, bool Connected, int Line)>();
        int maxChannel = -1, maxStrip = -1, lineNo = 0;
        for (string? raw; (raw = reader.ReadLine()) is not null;)
        {
            lineNo++;
            string text = raw.Trim();
            if (text.Length == 0 || text[0] == '#') continue;
            string[] f = text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            if (f.Length != 3)
                throw new MultiplexingMapException(source, lineNo, $"{f.Length} fields, expected 3: channel<TAB>strip<TAB>connected");
            int c = ParseInt(f[0], "channel", source, lineNo);
            int s = ParseInt(f[1], "strip", source, lineNo);
            int k = ParseInt(f[2], "connected", source, lineNo);
            if (c < 0) throw new MultiplexingMapException(source, lineNo, $"channel = {c}, must be >= 0");
            if (s < 0) throw new MultiplexingMapException(source, lineNo, $"strip = {s}, must be >= 0");
            if (k is not (0 or 1)) throw new MultiplexingMapException(source, lineNo, $"connected = {k}, must be 0 or 1");
            entries.Add((c, s, k == 1, lineNo));
            maxChannel = Math.Max(maxChannel, c);
            maxStrip = Math.Max(maxStrip, s);
        }
        int channels = maxChannel + 1, stripCount = maxStrip + 1;
        if (entries.Count == 0)
            throw new MultiplexingMapException(source, lineNo, "no entries");
        var seen = new bool[channels * stripCount];
        var stripToChannel = new int[stripCount];
        var lineOfStrip = new int[stripCount];
        Array.Fill(stripToChannel, -1);
        foreach (var (c, s, connected, line) in entries)
        {
            if (seen[c * stripCount + s])
                throw new MultiplexingMapException(source, line, $"channel {c} strip {s} listed twice");
            seen[c * stripCount + s] = true;
            if (!connected) continue;
            if (stripToChannel[s] >= 0)
                throw new MultiplexingMapException(source, line,
                    $"strip {s} connected to channel {c} and already to channel {stripToChannel[s]} (line {lineOfStrip[s]}); a strip has one channel");
            stripToChannel[s] = c;
            lineOfStrip[s] = line;
        }
        if (entries.Count != channels * stripCount)
            throw new MultiplexingMapException(source, lineNo,
                $"{entries.Count} entries, {channels} channels × {stripCount} strips needs {channels * stripCount}");
        int unconnected = Array.IndexOf(stripToChannel, -1);
        if (unconnected >= 0)
            throw new MultiplexingMapException(source, lineNo, $"strip {unconnected} is connected to no channel");
        return new MultiplexingMap(stripToChannel, channels, null, source, lineOfStrip);
    }

    /// <summary>The public dense format, channel-major, LF line ends.</summary>
    public string ToDenseText()
    {
        var sb = new StringBuilder(ChannelCount * StripCount * 10);
        for (int c = 0; c < ChannelCount; c++)
            for (int s = 0; s < StripCount; s++)
                sb.Append(CultureInfo.InvariantCulture, $"{c}\t{s}\t{(_stripToChannel[s] == c ? 1 : 0)}\n");
        return sb.ToString();
    }

    /// <summary>True when both maps put every strip on the same channel (the generator series is not compared).</summary>
    public bool SameWiring(MultiplexingMap other)
    {
        ArgumentNullException.ThrowIfNull(other);
        return ChannelCount == other.ChannelCount && _stripToChannel.AsSpan().SequenceEqual(other._stripToChannel);
    }

    private static MultiplexingMap LoadEmbedded(string name)
    {
        var assembly = typeof(MultiplexingMap).Assembly;
        string resource = $"{typeof(MultiplexingMap).Namespace}.{name}";
        using var stream = assembly.GetManifestResourceStream(resource)
            ?? throw new InvalidOperationException($"embedded map '{resource}' is missing from {assembly.GetName().Name}");
        using var reader = new StreamReader(stream);
        return Parse(reader, name);
    }

    private static int HeaderInt(string[] f, string source, int line, int stripsSoFar)
    {
        if (stripsSoFar > 0)
            throw new MultiplexingMapException(source, line, $"'{f[0]}' after the first strip line; the header comes first");
        if (f.Length != 2)
            throw new MultiplexingMapException(source, line, $"'{f[0]}' needs exactly one value, got {f.Length - 1}");
        int v = ParseInt(f[1], f[0], source, line);
        if (v <= 0)
            throw new MultiplexingMapException(source, line, $"{f[0]} = {v}, must be > 0");
        return v;
    }

    private static int ParseInt(string text, string field, string source, int line)
    {
        if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v))
            throw new MultiplexingMapException(source, line, $"{field} = '{text}' is not an integer");
        return v;
    }
}
