using System.Globalization;
using System.Net;

namespace NA64.Hardware.Digitizers.Msadc;

/// <summary>
/// Where a datagram transport goes, as written in the setup file: <c>sim</c> (an in-process simulator over an in-memory
/// pair) or <c>udp:HOST:PORT</c> (HOST an IPv4/IPv6 address or a name; an IPv6 address in brackets, <c>udp:[::1]:5000</c>).
/// </summary>
public sealed record DatagramEndpoint(string Host, int Port)
{
    public const string Simulated = "sim";

    /// <summary>Null for <c>sim</c>; else the parsed endpoint. A bad text is refused with the rule it broke.</summary>
    public static bool TryParse(string text, out DatagramEndpoint? endpoint, out string rule)
    {
        ArgumentNullException.ThrowIfNull(text);
        endpoint = null;
        rule = "";
        if (text == Simulated)
            return true;
        if (!text.StartsWith("udp:", StringComparison.Ordinal))
        {
            rule = "must be 'sim' or 'udp:HOST:PORT'";
            return false;
        }

        string rest = text[4..];
        int colon = rest.LastIndexOf(':');
        string host = colon < 0 ? "" : rest[..colon];
        if (host.StartsWith('[') && host.EndsWith(']'))
            host = host[1..^1];
        if (host.Length == 0)
        {
            rule = "must be 'udp:HOST:PORT' (HOST missing)";
            return false;
        }

        if (!int.TryParse(rest[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out int port) || port is < 1 or > 65535)
        {
            rule = "must be 'udp:HOST:PORT' with PORT in 1..65535";
            return false;
        }

        endpoint = new DatagramEndpoint(host, port);
        return true;
    }

    /// <summary>The address to bind or connect: HOST parsed as an address, else its first DNS address.</summary>
    public IPEndPoint Resolve()
    {
        var address = IPAddress.TryParse(Host, out var parsed) ? parsed : Dns.GetHostAddresses(Host).FirstOrDefault()
            ?? throw new InvalidOperationException($"udp:{Host}:{Port.ToString(CultureInfo.InvariantCulture)}: host '{Host}' has no address");
        return new IPEndPoint(address, Port);
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"udp:{Host}:{Port}");
}
