using System.Globalization;
using System.Text;
using NA64.Hardware.Digitizers.Msadc.Format;

namespace NA64.Readout.Formats;

/// <summary>One map line: a detector cell (NAME, x, y) on an MSADC channel.</summary>
public readonly record struct SadcMapEntry(string Detector, int SourceId, int Port, int AdcId, int ChanId, int X, int Y)
{
    public SadcChannelAddress Address => new(SourceId, Port, AdcId, ChanId);
}

/// <summary>
/// Writes the ChipSADC map (version 2) that makes DDD decode our SADC sources (decoder-checks §1): one ChipsCreation
/// rule per source id (without it DDD picks the chip type from the S-Link format byte and format 0 gives ChipAPV),
/// then one line <c>NAME srcID port chip_channel x y</c> per channel, chip_channel = adc_id*16 + chan_id in hex.
/// </summary>
public static class SadcMapWriter
{
    public static void Write(TextWriter writer, IEnumerable<SadcMapEntry> entries, int firstRun, int lastRun)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(entries);
        if (firstRun < 1 || lastRun < firstRun)
        {
            throw new ArgumentOutOfRangeException(nameof(firstRun), firstRun,
                string.Create(CultureInfo.InvariantCulture, $"map runs=\"{firstRun}-{lastRun}\" refused: runs start at 1 (DDD loads no map for run 0) and first ≤ last"));
        }

        var list = entries.ToList();
        var seen = new HashSet<SadcChannelAddress>();
        foreach (var e in list)
        {
            Validate(e);
            if (!seen.Add(e.Address))
            {
                throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                    $"map entry {e.Detector} ({e.X},{e.Y}) refused: channel srcID {e.SourceId} port {e.Port} adc_id {e.AdcId} chan_id {e.ChanId} is already mapped (DDD rejects duplicate data ids)"), nameof(entries));
            }
        }

        var inv = CultureInfo.InvariantCulture;
        writer.Write("<Maps>\n  <DaqOptions>\n    <ChipsCreation>\n");
        foreach (int src in list.Select(e => e.SourceId).Distinct().Order())
        {
            writer.Write(string.Create(inv, $"      -1 -1 -1 {src} -1 ChipSADC s\n"));
        }

        writer.Write("    </ChipsCreation>\n  </DaqOptions>\n");
        writer.Write(string.Create(inv, $"  <ChipSADC version=\"2\" options=\"xy data_format3\" runs=\"{firstRun}-{lastRun}\">\n"));
        foreach (var e in list)
        {
            writer.Write(string.Create(inv, $"    {e.Detector} {e.SourceId} {e.Port} 0x{e.Address.ChipChannel:x2} {e.X} {e.Y}\n"));
        }

        writer.Write("  </ChipSADC>\n</Maps>\n");
    }

    public static string ToXml(IEnumerable<SadcMapEntry> entries, int firstRun, int lastRun)
    {
        var sb = new StringBuilder();
        using (var w = new StringWriter(sb, CultureInfo.InvariantCulture))
        {
            Write(w, entries, firstRun, lastRun);
        }

        return sb.ToString();
    }

    private static void Validate(SadcMapEntry e)
    {
        if (string.IsNullOrEmpty(e.Detector) || !e.Detector.All(c => char.IsAsciiLetterOrDigit(c) || c == '_' || c == '-'))
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                $"map detector name '{e.Detector}' refused: one word of ASCII letters, digits, '_' or '-' (the map line is whitespace-separated XML text)"), "entries");
        }

        SlinkHeader.ValidateSourceId(e.SourceId);
        Check("port", e.Port, Sadc3.MaxPort);
        Check("adc_id", e.AdcId, Sadc3.MaxAdcId);
        Check("chan_id", e.ChanId, Sadc3.MaxChanId);
    }

    private static void Check(string field, int value, int max)
    {
        if (value < 0 || value > max)
        {
            throw new ArgumentOutOfRangeException(field, value,
                string.Create(CultureInfo.InvariantCulture, $"map {field} = {value} refused: the field holds 0..{max}"));
        }
    }
}
