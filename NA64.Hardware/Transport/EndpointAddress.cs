using System.Globalization;
using System.IO.Ports;

namespace NA64.Hardware.Transport;

/// <summary>What kind of port an address names.</summary>
public enum EndpointKind
{
    /// <summary>A serial device through System.IO.Ports.</summary>
    Serial,

    /// <summary>A TCP connection.</summary>
    Tcp,

    /// <summary>An in-process simulator on an in-memory duplex (wired by the host).</summary>
    Sim,

    /// <summary>An in-process simulator behind a pseudo-terminal; the driver opens the slave as a serial port.</summary>
    Pty,
}

/// <summary>
/// A port address as written in the setup file, parsed:
/// <c>serial:/dev/ttyUSB0?baud=9600&amp;parity=none&amp;databits=8&amp;stopbits=1&amp;flow=none</c>,
/// <c>tcp:host:1470</c>, <c>sim</c>, <c>pty?baud=9600</c>. Invalid text raises a <see cref="FormatException"/>
/// naming the field, the value and what is allowed.
/// </summary>
public sealed record EndpointAddress
{
    private const string SerialKeys = "baud, parity, databits, stopbits, flow";

    private EndpointAddress(EndpointKind kind) => Kind = kind;

    public EndpointKind Kind { get; }

    /// <summary>Line settings for <see cref="EndpointKind.Serial"/>; for <see cref="EndpointKind.Pty"/> the same with an empty PortName (the slave path is known only once the pty is open).</summary>
    public SerialSettings? Serial { get; private init; }

    /// <summary>Host for <see cref="EndpointKind.Tcp"/>.</summary>
    public string? Host { get; private init; }

    /// <summary>TCP port for <see cref="EndpointKind.Tcp"/>.</summary>
    public int Port { get; private init; }

    public static EndpointAddress Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var trimmed = text.Trim();
        var colon = trimmed.IndexOf(':', StringComparison.Ordinal);
        var question = trimmed.IndexOf('?', StringComparison.Ordinal);
        var schemeEnd = colon >= 0 && (question < 0 || colon < question) ? colon : question >= 0 ? question : trimmed.Length;
        var scheme = trimmed[..schemeEnd].ToLowerInvariant();
        switch (scheme)
        {
            case "serial":
                return ParseSerial(text, trimmed, colon);
            case "tcp":
                return ParseTcp(text, trimmed[(colon + 1)..]);
            case "sim":
                if (trimmed.Length != 3)
                {
                    throw Error(text, "sim", trimmed[3..], "nothing after 'sim'");
                }

                return new EndpointAddress(EndpointKind.Sim);
            case "pty":
                if (trimmed.Length == 3)
                {
                    return new EndpointAddress(EndpointKind.Pty) { Serial = new SerialSettings("") };
                }

                if (trimmed[3] != '?')
                {
                    throw Error(text, "pty", trimmed[3..], "nothing, or options after '?' (" + SerialKeys + ")");
                }

                return new EndpointAddress(EndpointKind.Pty) { Serial = ParseOptions(text, new SerialSettings(""), trimmed[4..]) };
            default:
                throw Error(text, "kind", scheme, "serial:<device>?<options>, tcp:<host>:<port>, sim, pty?<options>");
        }
    }

    /// <summary>Opens a real port: serial or TCP. A pty address needs the slave path of the pseudo-terminal the host opened.</summary>
    public IStreamEndpoint CreateEndpoint(string? ptySlavePath = null) => Kind switch
    {
        EndpointKind.Serial => new SerialEndpoint(Serial!),
        EndpointKind.Tcp => new TcpEndpoint(Host!, Port),
        EndpointKind.Pty when !string.IsNullOrEmpty(ptySlavePath) => new SerialEndpoint(Serial! with { PortName = ptySlavePath }),
        EndpointKind.Pty => throw new InvalidOperationException("A pty address needs the slave path of the opened PseudoTerminal"),
        _ => throw new InvalidOperationException("A 'sim' address has no port: the host attaches the simulator through an InMemoryEndpoint"),
    };

    public override string ToString() => Kind switch
    {
        EndpointKind.Serial => FormatSerial(Serial!),
        EndpointKind.Tcp => FormatTcp(Host!, Port),
        EndpointKind.Pty => "pty" + FormatOptions(Serial!),
        _ => "sim",
    };

    internal static string FormatSerial(SerialSettings settings) => "serial:" + settings.PortName + FormatOptions(settings);

    internal static string FormatTcp(string host, int port) =>
        "tcp:" + (host.Contains(':', StringComparison.Ordinal) ? "[" + host + "]" : host) + ":" + port.ToString(CultureInfo.InvariantCulture);

    private static string FormatOptions(SerialSettings s)
    {
        var parity = s.Parity.ToString().ToLowerInvariant();
        var stop = s.StopBits switch
        {
            StopBits.OnePointFive => "1.5",
            StopBits.Two => "2",
            _ => "1",
        };
        var flow = s.Handshake switch
        {
            Handshake.XOnXOff => "xonxoff",
            Handshake.RequestToSend => "rtscts",
            Handshake.RequestToSendXOnXOff => "rtscts+xonxoff",
            _ => "none",
        };
        return FormattableString.Invariant($"?baud={s.BaudRate}&parity={parity}&databits={s.DataBits}&stopbits={stop}&flow={flow}");
    }

    private static EndpointAddress ParseSerial(string text, string trimmed, int colon)
    {
        if (colon < 0)
        {
            throw Error(text, "device", "", "serial:<device path>, e.g. serial:/dev/ttyUSB0");
        }

        var rest = trimmed[(colon + 1)..];
        var question = rest.IndexOf('?', StringComparison.Ordinal);
        var path = question >= 0 ? rest[..question] : rest;
        if (path.Length == 0 || path.Any(char.IsWhiteSpace))
        {
            throw Error(text, "device", path, "a device path without spaces, e.g. /dev/ttyUSB0");
        }

        var settings = new SerialSettings(path);
        if (question >= 0)
        {
            settings = ParseOptions(text, settings, rest[(question + 1)..]);
        }

        return new EndpointAddress(EndpointKind.Serial) { Serial = settings };
    }

    private static SerialSettings ParseOptions(string text, SerialSettings settings, string options)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var option in options.Split('&'))
        {
            var eq = option.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
            {
                throw Error(text, "option", option, "key=value with key one of " + SerialKeys);
            }

            var key = option[..eq].ToLowerInvariant();
            var value = option[(eq + 1)..];
            if (!seen.Add(key))
            {
                throw Error(text, key, value, "each option once");
            }

            var lower = value.ToLowerInvariant();
            settings = key switch
            {
                "baud" => settings with { BaudRate = ParseInt(text, key, value, 1, 10_000_000, "a positive integer, e.g. 9600 or 115200") },
                "databits" => settings with { DataBits = ParseInt(text, key, value, 5, 8, "5, 6, 7 or 8") },
                "parity" => settings with
                {
                    Parity = lower switch
                    {
                        "none" => Parity.None,
                        "odd" => Parity.Odd,
                        "even" => Parity.Even,
                        "mark" => Parity.Mark,
                        "space" => Parity.Space,
                        _ => throw Error(text, key, value, "none, odd, even, mark or space"),
                    },
                },
                "stopbits" => settings with
                {
                    StopBits = lower switch
                    {
                        "1" => StopBits.One,
                        "1.5" => StopBits.OnePointFive,
                        "2" => StopBits.Two,
                        _ => throw Error(text, key, value, "1, 1.5 or 2"),
                    },
                },
                "flow" => settings with
                {
                    Handshake = lower switch
                    {
                        "none" => Handshake.None,
                        "xonxoff" => Handshake.XOnXOff,
                        "rtscts" => Handshake.RequestToSend,
                        "rtscts+xonxoff" => Handshake.RequestToSendXOnXOff,
                        _ => throw Error(text, key, value, "none, xonxoff, rtscts or rtscts+xonxoff"),
                    },
                },
                _ => throw Error(text, "option", key, SerialKeys),
            };
        }

        return settings;
    }

    private static EndpointAddress ParseTcp(string text, string rest)
    {
        string host;
        string portText;
        if (rest.StartsWith('['))
        {
            var close = rest.IndexOf(']', StringComparison.Ordinal);
            if (close < 0 || close + 1 >= rest.Length || rest[close + 1] != ':')
            {
                throw Error(text, "host", rest, "tcp:[<IPv6 address>]:<port>, e.g. tcp:[::1]:1470");
            }

            host = rest[1..close];
            portText = rest[(close + 2)..];
        }
        else
        {
            var colon = rest.LastIndexOf(':');
            if (colon < 0)
            {
                throw Error(text, "port", "", "tcp:<host>:<port>, e.g. tcp:ndt1470.cern.ch:1470");
            }

            host = rest[..colon];
            portText = rest[(colon + 1)..];
            if (host.Contains(':', StringComparison.Ordinal))
            {
                throw Error(text, "host", host, "a host name or IPv4 address; IPv6 in brackets, e.g. [::1]");
            }
        }

        if (host.Length == 0 || host.Any(char.IsWhiteSpace) || host.Contains('?', StringComparison.Ordinal))
        {
            throw Error(text, "host", host, "a host name or IP address without spaces");
        }

        var port = ParseInt(text, "port", portText, 1, 65535, "1..65535 (NDT1470: 1470)");
        return new EndpointAddress(EndpointKind.Tcp) { Host = host, Port = port };
    }

    private static int ParseInt(string text, string field, string value, int min, int max, string allowed)
    {
        if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n < min || n > max)
        {
            throw Error(text, field, value, allowed);
        }

        return n;
    }

    private static FormatException Error(string text, string field, string value, string allowed) =>
        new($"Endpoint address '{text}': {field} = '{value}' is not valid; allowed: {allowed}");
}
