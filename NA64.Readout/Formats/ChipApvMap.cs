using System.Globalization;
using System.Text;
using System.Xml;
using System.Xml.Linq;
using NA64.Hardware.Digitizers.Apv.Format;
using NA64.Hardware.Digitizers.Msadc.Format;

namespace NA64.Readout.Formats;

/// <summary>
/// One ChipAPV map line (data-formats §7.12): for n = 0 .. ChanN−1, APV channel ChanF + n·ChanS of (srcID, adcID, chipID)
/// is detector channel (wire/strip) WireF + n·WireS of plane <see cref="Detector"/>; WireL is the last wire. The chip
/// channel is the **physical** channel p of §7.9 (DDD converts output positions before the lookup).
/// <see cref="WirePosition"/> (−1/0/+1) is for split strips; <see cref="AmplitudeFactor"/> (version 3) scales amplitudes,
/// e.g. for APV cards with 50 Ω instead of 100 Ω caps.
/// </summary>
public readonly record struct ChipApvMapEntry(
    string Detector,
    int SourceId,
    int AdcId,
    int ChipId,
    int ChanF,
    int ChanS,
    int ChanN,
    int WireF,
    int WireL,
    int WireS,
    int WirePosition = 0,
    double? AmplitudeFactor = null)
{
    /// <summary>A line mapping <paramref name="count"/> consecutive channels from <paramref name="firstChannel"/> onto wires from <paramref name="firstWire"/> in steps of <paramref name="wireStep"/>.</summary>
    public static ChipApvMapEntry Range(string detector, int sourceId, int adcId, int chipId, int firstChannel, int count, int firstWire, int wireStep = 1) =>
        new(detector, sourceId, adcId, chipId, firstChannel, 1, count, firstWire, firstWire + ((count - 1) * wireStep), wireStep);

    /// <summary>(chip channel, wire) of every channel the line maps, n = 0 .. ChanN−1.</summary>
    public IEnumerable<(int Channel, int Wire)> Channels()
    {
        for (int n = 0; n < ChanN; n++)
        {
            yield return (ChanF + (n * ChanS), WireF + (n * WireS));
        }
    }
}

/// <summary>Options of a ChipAPV element (data-formats §7.12).</summary>
[Flags]
public enum ChipApvMapOptions
{
    None = 0,

    /// <summary><c>CMC_always</c>: every APV block ends with a CM word, whatever format bit 3 says.</summary>
    CmcAlways = 1,

    /// <summary><c>rich_adc</c>: two-slope sparse amplitude decoding.</summary>
    RichAdc = 2,

    /// <summary><c>bad_data_accept</c>: DDD keeps digits of APVs with bad good bits (flagged); our decoder still drops them.</summary>
    BadDataAccept = 4,

    /// <summary><c>multi_digit</c>: a chip channel may appear on more than one line.</summary>
    MultiDigit = 8,
}

/// <summary>One parsed <c>&lt;ChipAPV&gt;</c> element: version, runs, options and its lines (with their line numbers in the file).</summary>
public sealed record ChipApvMapSection(int Version, int FirstRun, int LastRun, ChipApvMapOptions Options, IReadOnlyList<ChipApvMapEntry> Entries, IReadOnlyList<int> LineNumbers)
{
    /// <summary>The decoder options this section implies for its sources (sparse variant, forced CM word).</summary>
    public ApvDecoderOptions DecoderOptions(ApvDecoderOptions? baseOptions = null) => (baseOptions ?? ApvDecoderOptions.Default) with
    {
        SparseVariant = (Options & ChipApvMapOptions.RichAdc) != 0 ? ApvSparseVariant.TwoSlope : ApvSparseVariant.GemSi,
        CommonModeAlways = (Options & ChipApvMapOptions.CmcAlways) != 0,
    };
}

/// <summary>A map file that cannot be read: the message names the line, the field, the value and the rule.</summary>
public sealed class ChipApvMapException(int line, string message) : FormatException(string.Create(CultureInfo.InvariantCulture, $"line {line}: {message}"))
{
    /// <summary>1-based line in the map text (0 when the text is not XML at all).</summary>
    public int Line { get; } = line;
}

/// <summary>
/// Writes and reads the ChipAPV strip map (versions 1-3, data-formats §7.12, decoder-checks §1), the APV counterpart of
/// <see cref="SadcMapWriter"/>: a ChipsCreation rule per source id (optional for APV, since S-Link format 0 already gives
/// ChipAPV, but explicit) and one <c>&lt;ChipAPV&gt;</c> element whose body has one line per (detector, chip, channel range):
/// <c>[detN] NAME srcID adcID chipID chanF chanS chanN wireF wireL wireS [wire_position] [amplfact]</c>.
/// The writer emits version 3 (amplfact only where given); the parser reads all three versions and checks what DDD checks
/// (chanN &gt; 0, the derived last wire equals wireL) plus the field ranges and duplicate channels.
/// </summary>
public static class ChipApvMap
{
    public const int WrittenVersion = 3;

    public static void Write(TextWriter writer, IEnumerable<ChipApvMapEntry> entries, int firstRun, int lastRun, ChipApvMapOptions options = ChipApvMapOptions.None)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(entries);
        if (firstRun < 1 || lastRun < firstRun)
        {
            throw new ArgumentOutOfRangeException(nameof(firstRun), firstRun,
                string.Create(CultureInfo.InvariantCulture, $"map runs=\"{firstRun}-{lastRun}\" refused: runs start at 1 (DDD loads no map for run 0) and first ≤ last"));
        }

        var list = entries.ToList();
        var seen = new Dictionary<(int, int, int, int), ChipApvMapEntry>();
        foreach (var e in list)
        {
            string? error = Validate(e, WrittenVersion);
            if (error is not null)
            {
                throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"map entry {e.Detector} refused: {error}"), nameof(entries));
            }

            if ((options & ChipApvMapOptions.MultiDigit) == 0)
            {
                foreach (var (channel, _) in e.Channels())
                {
                    if (!seen.TryAdd((e.SourceId, e.AdcId, e.ChipId, channel), e))
                    {
                        throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                            $"map entry {e.Detector} refused: srcID {e.SourceId} adcID {e.AdcId} chipID {e.ChipId} channel {channel} is already mapped by {seen[(e.SourceId, e.AdcId, e.ChipId, channel)].Detector} (DDD rejects duplicate data ids without multi_digit)"), nameof(entries));
                    }
                }
            }
        }

        var inv = CultureInfo.InvariantCulture;
        writer.Write("<Maps>\n  <DaqOptions>\n    <ChipsCreation>\n");
        foreach (int src in list.Select(e => e.SourceId).Distinct().Order())
        {
            writer.Write(string.Create(inv, $"      -1 -1 -1 {src} -1 ChipAPV s\n"));
        }

        writer.Write("    </ChipsCreation>\n  </DaqOptions>\n");
        string opts = OptionsText(options);
        writer.Write(string.Create(inv, $"  <ChipAPV version=\"{WrittenVersion}\" runs=\"{firstRun}-{lastRun}\"{(opts.Length > 0 ? $" options=\"{opts}\"" : string.Empty)}>\n"));
        foreach (var e in list)
        {
            writer.Write(string.Create(inv, $"    {e.Detector} {e.SourceId} {e.AdcId} {e.ChipId} {e.ChanF} {e.ChanS} {e.ChanN} {e.WireF} {e.WireL} {e.WireS}"));
            if (e.WirePosition != 0 || e.AmplitudeFactor is not null)
            {
                writer.Write(string.Create(inv, $" {e.WirePosition}"));
            }

            if (e.AmplitudeFactor is { } f)
            {
                writer.Write(' ');
                writer.Write(f.ToString("R", inv));
            }

            writer.Write('\n');
        }

        writer.Write("  </ChipAPV>\n</Maps>\n");
    }

    public static string ToXml(IEnumerable<ChipApvMapEntry> entries, int firstRun, int lastRun, ChipApvMapOptions options = ChipApvMapOptions.None)
    {
        var sb = new StringBuilder();
        using (var w = new StringWriter(sb, CultureInfo.InvariantCulture))
        {
            Write(w, entries, firstRun, lastRun, options);
        }

        return sb.ToString();
    }

    /// <summary>
    /// Reads every <c>&lt;ChipAPV&gt;</c> element of a map file (other elements, e.g. ChipSADC, are skipped). Throws
    /// <see cref="ChipApvMapException"/> naming the line, the field, the value and the rule at the first error.
    /// </summary>
    public static IReadOnlyList<ChipApvMapSection> Parse(string xml)
    {
        ArgumentNullException.ThrowIfNull(xml);
        XDocument doc;
        try
        {
            doc = XDocument.Parse(xml, LoadOptions.SetLineInfo);
        }
        catch (XmlException e)
        {
            throw new ChipApvMapException(e.LineNumber, "not well-formed XML: " + e.Message);
        }

        var sections = new List<ChipApvMapSection>();
        foreach (var element in doc.Descendants("ChipAPV"))
        {
            sections.Add(ParseSection(element));
        }

        return sections;
    }

    private static ChipApvMapSection ParseSection(XElement element)
    {
        int elementLine = ((IXmlLineInfo)element).LineNumber;
        string versionText = (string?)element.Attribute("version") ?? "1";
        if (!int.TryParse(versionText, NumberStyles.None, CultureInfo.InvariantCulture, out int version) || version < 1 || version > 3)
        {
            throw new ChipApvMapException(elementLine, $"ChipAPV version = \"{versionText}\" refused: versions 1..3 exist");
        }

        string runsText = (string?)element.Attribute("runs")
            ?? throw new ChipApvMapException(elementLine, "ChipAPV has no runs=\"first-last\" attribute (DDD ignores a section without runs)");
        var (firstRun, lastRun) = ParseRuns(runsText, elementLine);
        var options = ParseOptions((string?)element.Attribute("options") ?? string.Empty, elementLine);

        var entries = new List<ChipApvMapEntry>();
        var lines = new List<int>();
        var seen = new Dictionary<(int, int, int, int), int>();
        foreach (var text in element.Nodes().OfType<XText>())
        {
            int line = ((IXmlLineInfo)text).LineNumber;
            foreach (string raw in text.Value.Split('\n'))
            {
                string body = raw.Trim();
                if (body.Length > 0)
                {
                    var e = ParseLine(body, version, line);
                    string? error = Validate(e, version);
                    if (error is not null)
                    {
                        throw new ChipApvMapException(line, error);
                    }

                    if ((options & ChipApvMapOptions.MultiDigit) == 0)
                    {
                        foreach (var (channel, _) in e.Channels())
                        {
                            if (!seen.TryAdd((e.SourceId, e.AdcId, e.ChipId, channel), line))
                            {
                                throw new ChipApvMapException(line, string.Create(CultureInfo.InvariantCulture,
                                    $"srcID {e.SourceId} adcID {e.AdcId} chipID {e.ChipId} channel {channel} is already mapped on line {seen[(e.SourceId, e.AdcId, e.ChipId, channel)]} (duplicates need options=\"multi_digit\")"));
                            }
                        }
                    }

                    entries.Add(e);
                    lines.Add(line);
                }

                line++;
            }
        }

        return new ChipApvMapSection(version, firstRun, lastRun, options, entries, lines);
    }

    private static ChipApvMapEntry ParseLine(string body, int version, int line)
    {
        string[] t = body.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        int lead = version == 1 ? 1 : 0;
        int min = lead + 10;
        int max = lead + (version == 3 ? 12 : 11);
        if (t.Length < min || t.Length > max)
        {
            string shape = version == 1
                ? "detN NAME srcID adcID chipID chanF chanS chanN wireF wireL wireS [wire_position]"
                : version == 2
                    ? "NAME srcID adcID chipID chanF chanS chanN wireF wireL wireS [wire_position]"
                    : "NAME srcID adcID chipID chanF chanS chanN wireF wireL wireS [wire_position] [amplfact]";
            throw new ChipApvMapException(line, string.Create(CultureInfo.InvariantCulture,
                $"{t.Length} fields refused: a version {version} line has {min}..{max}: {shape}"));
        }

        if (lead == 1)
        {
            _ = Int(t[0], "detN", line);
        }

        double? ampl = null;
        if (t.Length == lead + 12)
        {
            if (!double.TryParse(t[lead + 11], NumberStyles.Float, CultureInfo.InvariantCulture, out double f))
            {
                throw new ChipApvMapException(line, $"amplfact = '{t[lead + 11]}' refused: not a number");
            }

            ampl = f;
        }

        return new ChipApvMapEntry(
            t[lead],
            Int(t[lead + 1], "srcID", line),
            Int(t[lead + 2], "adcID", line),
            Int(t[lead + 3], "chipID", line),
            Int(t[lead + 4], "chanF", line),
            Int(t[lead + 5], "chanS", line),
            Int(t[lead + 6], "chanN", line),
            Int(t[lead + 7], "wireF", line),
            Int(t[lead + 8], "wireL", line),
            Int(t[lead + 9], "wireS", line),
            t.Length > lead + 10 ? Int(t[lead + 10], "wire_position", line) : 0,
            ampl);
    }

    /// <summary>Null when the entry is valid, else one sentence naming the field, the value and the rule.</summary>
    private static string? Validate(ChipApvMapEntry e, int version)
    {
        var inv = CultureInfo.InvariantCulture;
        if (string.IsNullOrEmpty(e.Detector) || !e.Detector.All(c => char.IsAsciiLetterOrDigit(c) || c == '_' || c == '-'))
        {
            return string.Create(inv, $"NAME = '{e.Detector}' refused: one word of ASCII letters, digits, '_' or '-'");
        }

        if (e.SourceId < 0 || e.SourceId >= SlinkHeader.FirstMultiplexerSourceId)
        {
            return string.Create(inv, $"srcID = {e.SourceId} refused: 0..{SlinkHeader.FirstMultiplexerSourceId - 1} (896..1023 are S-Link multiplexers)");
        }

        if (e.AdcId < 0 || e.AdcId > ApvWords.MaxAdcId)
        {
            return string.Create(inv, $"adcID = {e.AdcId} refused: the ADC header field holds 0..{ApvWords.MaxAdcId}");
        }

        if (e.ChipId < 0 || e.ChipId > ApvWords.MaxChipId)
        {
            return string.Create(inv, $"chipID = {e.ChipId} refused: the APV header field holds 0..{ApvWords.MaxChipId}");
        }

        if (e.ChanN <= 0)
        {
            return string.Create(inv, $"chanN = {e.ChanN} refused: a line maps at least 1 channel (DDD requires chanN > 0)");
        }

        int lastChannel = e.ChanF + ((e.ChanN - 1) * e.ChanS);
        if (e.ChanF < 0 || e.ChanF >= ApvFacts.ChannelsPerApv || lastChannel < 0 || lastChannel >= ApvFacts.ChannelsPerApv)
        {
            return string.Create(inv, $"chanF = {e.ChanF}, chanS = {e.ChanS}, chanN = {e.ChanN} refused: the channels run {e.ChanF}..{lastChannel}, an APV has 0..{ApvFacts.ChannelsPerApv - 1}");
        }

        if (e.ChanN > 1 && e.ChanS == 0)
        {
            return string.Create(inv, $"chanS = 0 refused with chanN = {e.ChanN}: every channel of the line would be channel {e.ChanF}");
        }

        int lastWire = e.WireF + ((e.ChanN - 1) * e.WireS);
        if (lastWire != e.WireL)
        {
            return string.Create(inv, $"wireL = {e.WireL} refused: wireF + (chanN - 1) x wireS = {e.WireF} + {e.ChanN - 1} x {e.WireS} = {lastWire}");
        }

        if (e.WireF < 0 || e.WireL < 0)
        {
            return string.Create(inv, $"wires {e.WireF}..{e.WireL} refused: wire numbers are ≥ 0");
        }

        if (e.WirePosition < -1 || e.WirePosition > 1)
        {
            return string.Create(inv, $"wire_position = {e.WirePosition} refused: -1, 0 or +1");
        }

        if (e.AmplitudeFactor is { } f)
        {
            if (version < 3)
            {
                return string.Create(inv, $"amplfact = {f} refused: only version 3 lines carry it (this is version {version})");
            }

            if (!double.IsFinite(f) || f <= 0)
            {
                return string.Create(inv, $"amplfact = {f} refused: a finite factor > 0");
            }
        }

        return null;
    }

    private static int Int(string token, string field, int line)
    {
        bool ok = token.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
            ? int.TryParse(token.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out int value)
            : int.TryParse(token, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out value);
        if (!ok)
        {
            throw new ChipApvMapException(line, $"{field} = '{token}' refused: not an integer");
        }

        return value;
    }

    private static (int First, int Last) ParseRuns(string text, int line)
    {
        int dash = text.IndexOf('-', StringComparison.Ordinal);
        if (dash <= 0
            || !int.TryParse(text.AsSpan(0, dash), NumberStyles.None, CultureInfo.InvariantCulture, out int first)
            || !int.TryParse(text.AsSpan(dash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out int last)
            || first < 1 || last < first)
        {
            throw new ChipApvMapException(line, $"runs = \"{text}\" refused: \"first-last\" with 1 ≤ first ≤ last");
        }

        return (first, last);
    }

    private static ChipApvMapOptions ParseOptions(string text, int line)
    {
        var options = ChipApvMapOptions.None;
        foreach (string word in text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries))
        {
            options |= word switch
            {
                "CMC_always" => ChipApvMapOptions.CmcAlways,
                "rich_adc" => ChipApvMapOptions.RichAdc,
                "bad_data_accept" => ChipApvMapOptions.BadDataAccept,
                "multi_digit" => ChipApvMapOptions.MultiDigit,
                _ => throw new ChipApvMapException(line, $"option '{word}' refused: known are CMC_always, rich_adc, bad_data_accept, multi_digit"),
            };
        }

        return options;
    }

    private static string OptionsText(ChipApvMapOptions options)
    {
        var words = new List<string>();
        if ((options & ChipApvMapOptions.CmcAlways) != 0)
            words.Add("CMC_always");
        if ((options & ChipApvMapOptions.RichAdc) != 0)
            words.Add("rich_adc");
        if ((options & ChipApvMapOptions.BadDataAccept) != 0)
            words.Add("bad_data_accept");
        if ((options & ChipApvMapOptions.MultiDigit) != 0)
            words.Add("multi_digit");
        return string.Join(' ', words);
    }
}
