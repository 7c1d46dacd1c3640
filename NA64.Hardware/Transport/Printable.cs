using System.Text;

namespace NA64.Hardware.Transport;

/// <summary>Renders a Latin-1 wire line for logs and messages: control and non-ASCII bytes as escapes, so garbage stays visible.</summary>
public static class Printable
{
    public static string Escape(string line)
    {
        ArgumentNullException.ThrowIfNull(line);
        StringBuilder? sb = null;
        for (var i = 0; i < line.Length; i++)
        {
            var c = line[i];
            if (c is >= ' ' and <= '~' && c != '\\')
            {
                sb?.Append(c);
                continue;
            }

            sb ??= new StringBuilder(line.Length + 8).Append(line, 0, i);
            switch (c)
            {
                case '\r': sb.Append("\\r"); break;
                case '\n': sb.Append("\\n"); break;
                case '\\': sb.Append("\\\\"); break;
                default: sb.Append("\\x").Append(((int)c).ToString("X2", System.Globalization.CultureInfo.InvariantCulture)); break;
            }
        }

        return sb?.ToString() ?? line;
    }
}
