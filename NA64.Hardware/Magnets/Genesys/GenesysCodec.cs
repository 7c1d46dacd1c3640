using System.Globalization;
using NA64.Hardware.Errors;
using NA64.Hardware.Transport;

namespace NA64.Hardware.Magnets.Genesys;

/// <summary>
/// Formats Genesys requests and parses replies (device-protocols.md §3), apart from the driver. Strict writer:
/// plain invariant decimals, no exponent, at most 12 characters. Tolerant reader: surrounding spaces and lower case
/// are accepted. Every failure names the request and carries the raw reply.
/// </summary>
public static class GenesysCodec
{
    /// <summary>
    /// Formats a setting as a plain decimal with at most <paramref name="decimals"/> decimals, in the invariant culture
    /// (a PC set to de-CH must not send <c>100,5</c>). Throws when the text would exceed the supply's 12 characters.
    /// </summary>
    public static string FormatNumber(double value, int decimals = 3)
    {
        if (!double.IsFinite(value))
        {
            throw new ArgumentOutOfRangeException(nameof(value), value, "A Genesys setting must be a finite number");
        }

        ArgumentOutOfRangeException.ThrowIfNegative(decimals);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(decimals, 6);
        var text = Math.Round(value, decimals, MidpointRounding.AwayFromZero)
            .ToString("0." + new string('#', decimals), CultureInfo.InvariantCulture);
        if (text == "-0")
        {
            text = "0";
        }

        if (text.Length > GenesysFacts.MaxNumericArgumentLength)
        {
            throw new ArgumentOutOfRangeException(
                nameof(value), value, $"'{text}' has {text.Length} characters; a Genesys numeric argument has at most {GenesysFacts.MaxNumericArgumentLength}");
        }

        return text;
    }

    /// <summary>Throws the typed exception when <paramref name="reply"/> is an error code <c>Cnn</c>/<c>Enn</c>.</summary>
    public static void ThrowIfError(string request, string reply)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(reply);
        var code = reply.Trim().ToUpperInvariant();
        if (code.Length != 3 || (code[0] != 'C' && code[0] != 'E') || !char.IsAsciiDigit(code[1]) || !char.IsAsciiDigit(code[2]))
        {
            return;
        }

        if (code[0] == 'C')
        {
            throw new GenesysCommandErrorException(
                code, GenesysProtocol.CommandErrors.GetValueOrDefault(code, "command error not in the manual's table"), request, reply);
        }

        if (code == "E07")
        {
            throw new GenesysFaultShutdownException(request, reply);
        }

        throw new GenesysExecutionErrorException(
            code, GenesysProtocol.ExecutionErrors.GetValueOrDefault(code, "execution error not in the manual's table"), request, reply);
    }

    /// <summary>A setting's reply: <c>OK</c>, else the typed error, else a <see cref="DeviceReplyException"/> with the raw line.</summary>
    public static void ParseOk(string request, string reply)
    {
        ThrowIfError(request, reply);
        if (!string.Equals(reply.Trim(), GenesysProtocol.Ok, StringComparison.OrdinalIgnoreCase))
        {
            throw Unexpected(request, reply, "OK");
        }
    }

    /// <summary>A decimal reading (<c>MC?</c>, <c>MV?</c>, <c>PC?</c>, <c>PV?</c>), base 10 in the invariant culture.</summary>
    public static double ParseNumber(string request, string reply)
    {
        ThrowIfError(request, reply);
        var text = reply.Trim();
        if (text.Length == 0
            || !double.TryParse(text, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var value)
            || !double.IsFinite(value))
        {
            throw Unexpected(request, reply, "a decimal number");
        }

        return value;
    }

    /// <summary>A register: two hex digits (one or more accepted), 0..FF.</summary>
    public static int ParseHex(string request, string reply)
    {
        ThrowIfError(request, reply);
        var text = reply.Trim();
        if (text.Length is < 1 or > 2
            || !int.TryParse(text, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var value))
        {
            throw Unexpected(request, reply, "a register of two hex digits");
        }

        return value;
    }

    /// <summary><c>MODE?</c>: <c>CV</c>, <c>CC</c> or <c>OFF</c>.</summary>
    public static GenesysMode ParseMode(string request, string reply)
    {
        ThrowIfError(request, reply);
        var word = reply.Trim().ToUpperInvariant();
        for (var i = 0; i < GenesysProtocol.ModeWords.Count; i++)
        {
            if (word == GenesysProtocol.ModeWords[i])
            {
                return (GenesysMode)i;
            }
        }

        throw Unexpected(request, reply, string.Join(", ", GenesysProtocol.ModeWords));
    }

    /// <summary><c>OUT?</c>: <c>ON</c>/<c>OFF</c>, or <c>1</c>/<c>0</c> (the reply form is unverified; both are accepted).</summary>
    public static bool ParseOutput(string request, string reply)
    {
        ThrowIfError(request, reply);
        return reply.Trim().ToUpperInvariant() switch
        {
            "ON" or "1" => true,
            "OFF" or "0" => false,
            _ => throw Unexpected(request, reply, "ON, OFF, 1 or 0"),
        };
    }

    /// <summary><c>IDN?</c>: <c>LAMBDA,GEN&lt;V&gt;-&lt;I&gt;</c>; the ratings of the model.</summary>
    public static GenesysModel ParseIdentity(string request, string reply)
    {
        ThrowIfError(request, reply);
        var parts = reply.Trim().Split(',');
        if (parts.Length < 2
            || !string.Equals(parts[0].Trim(), GenesysFacts.Manufacturer, StringComparison.OrdinalIgnoreCase)
            || GenesysFacts.TryParseModel(parts[1]) is not { } model)
        {
            throw Unexpected(request, reply, "LAMBDA,GEN<volts>-<amps>");
        }

        return model;
    }

    /// <summary>The unit address of an SRQ line <c>!nn</c>; null when the line is not of that form.</summary>
    public static int? ParseSrq(string line)
    {
        ArgumentNullException.ThrowIfNull(line);
        var text = line.Trim();
        if (text.Length is < 2 or > 3 || text[0] != GenesysProtocol.SrqPrefix
            || !int.TryParse(text.AsSpan(1), NumberStyles.None, CultureInfo.InvariantCulture, out var address)
            || address is < GenesysFacts.MinAddress or > GenesysFacts.MaxAddress)
        {
            return null;
        }

        return address;
    }

    private static DeviceReplyException Unexpected(string request, string reply, string expected) =>
        new($"Genesys reply to '{request}' is '{Printable.Escape(reply)}', expected {expected}", request, reply);
}
