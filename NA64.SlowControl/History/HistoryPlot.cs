using System.Globalization;
using System.Text;

namespace NA64.SlowControl.History;

/// <summary>
/// A compact terminal plot of one signal (<c>na64hw history</c>): one column per time slice, eighth-block characters,
/// a few rows high, with the value scale on the left and the time span below. A column shows the slice's min..max, so
/// a trip or a spike stays visible however long the range; a slice without samples carries the last value on (a
/// deadband stores only changes), and before the first known value it stays blank.
/// </summary>
public static class HistoryPlot
{
    private const string Eighths = " ▁▂▃▄▅▆▇█";

    public static IReadOnlyList<string> Render(HistoryRange range, int width = 60, int height = 6)
    {
        ArgumentNullException.ThrowIfNull(range);
        if (width < 4) throw new ArgumentOutOfRangeException(nameof(width), width, $"width = {width}, must be >= 4");
        if (height < 1) throw new ArgumentOutOfRangeException(nameof(height), height, $"height = {height}, must be >= 1");
        var inv = CultureInfo.InvariantCulture;
        var lo = new double[width];
        var hi = new double[width];
        var known = new bool[width];
        double span = (range.To - range.From).Ticks;
        foreach (var p in range.Points)
        {
            int c = (int)Math.Clamp((p.Time - range.From).Ticks / span * width, 0, width - 1);
            lo[c] = known[c] ? Math.Min(lo[c], p.Min) : p.Min;
            hi[c] = known[c] ? Math.Max(hi[c], p.Max) : p.Max;
            known[c] = true;
        }
        // Carry the last value into empty slices: between stored points the signal stayed within the deadband.
        double? carry = range.Before?.Mean;
        for (int c = 0; c < width; c++)
        {
            if (known[c])
            {
                // The slice also holds the value it started from, so a step is drawn as a bar, not a jump.
                if (carry is { } v)
                {
                    lo[c] = Math.Min(lo[c], v);
                    hi[c] = Math.Max(hi[c], v);
                }
                carry = range.Points.Count > 0 ? LastIn(range, c, width) : carry;
            }
            else if (carry is { } v)
            {
                lo[c] = hi[c] = v;
                known[c] = true;
            }
        }

        var lines = new List<string>();
        if (!known.Any(k => k))
        {
            lines.Add($"{range.Signal}: no samples between {range.From.ToString("u", inv)} and {range.To.ToString("u", inv)}");
            return lines;
        }
        double min = double.MaxValue, max = double.MinValue;
        for (int c = 0; c < width; c++)
        {
            if (!known[c]) continue;
            min = Math.Min(min, lo[c]);
            max = Math.Max(max, hi[c]);
        }
        // A flat signal is drawn half high, not as a full block.
        double bottom = max > min ? min : min - 1, top = max > min ? max : max + 1;
        string topLabel = Format(max), bottomLabel = Format(min);
        int labelWidth = Math.Max(topLabel.Length, bottomLabel.Length);
        for (int row = height - 1; row >= 0; row--)
        {
            var sb = new StringBuilder();
            string label = row == height - 1 ? topLabel : row == 0 ? bottomLabel : "";
            sb.Append(label.PadLeft(labelWidth)).Append(" │");
            for (int c = 0; c < width; c++)
                sb.Append(known[c] ? Cell(Level(lo[c]) - row * 8, Level(hi[c]) - row * 8, row == 0) : ' ');
            lines.Add(sb.ToString());
        }

        // Height in eighths of a row above the plot's bottom.
        double Level(double v) => (v - bottom) / (top - bottom) * height * 8;
        string axis = new string(' ', labelWidth) + " └" + new string('─', width);
        lines.Add(axis);
        string left = range.From.ToString("yyyy-MM-dd HH:mm:ss", inv), right = range.To.ToString("HH:mm:ss", inv);
        lines.Add(new string(' ', labelWidth + 2) + (width >= left.Length + right.Length + 1
            ? left + right.PadLeft(width - left.Length)
            : left + " .. " + right));
        lines.Add(string.Create(inv, $"{range.Signal} [{range.Unit}]: {range.StoredSamples} stored samples, min {Format(min)}, max {Format(max)}"));
        return lines;
    }

    /// <summary>
    /// One cell of a column, from the column's min and max in eighths above the cell's bottom: solid up to the min (the
    /// value the slice never went below), shaded from there to the max (where it went within the slice: a ramp, a
    /// trip and its recovery), so a dip shows however long the slice. The bottom row marks every slice that has a value.
    /// </summary>
    private static char Cell(double solid, double shaded, bool bottomRow)
    {
        if (solid >= 8) return '█';
        int k = (int)Math.Round(solid);
        if (k >= 1) return Eighths[Math.Min(k, 8)];
        if (shaded > 0.5) return '░';
        return bottomRow ? Eighths[1] : ' ';
    }

    private static double LastIn(HistoryRange range, int column, int width)
    {
        double span = (range.To - range.From).Ticks;
        double last = double.NaN;
        foreach (var p in range.Points)
        {
            int c = (int)Math.Clamp((p.Time - range.From).Ticks / span * width, 0, width - 1);
            if (c == column) last = p.Mean;
        }
        return last;
    }

    private static string Format(double v) => v.ToString(Math.Abs(v) >= 1000 || v == Math.Round(v) ? "0.#" : "0.###", CultureInfo.InvariantCulture);
}
