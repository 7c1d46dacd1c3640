using System.Globalization;
using Microsoft.Extensions.Time.Testing;
using NA64.Simulators.Serving;

namespace NA64.Integration.Tests.Magnets.Genesys;

/// <summary>
/// A second, independent TDK-Lambda Genesys, written only from device-protocols.md §3 (its own parser and formatter,
/// nothing shared with the project's simulator or driver), so that a test can show the driver does not lean on quirks
/// of its own simulator. It takes the liberties the manual leaves open:
/// <list type="bullet">
/// <item><c>OUT?</c> answers <c>1</c>/<c>0</c> (the <c>ON</c>/<c>OFF</c> form is unverified, §3.3);</item>
/// <item>other digit counts (unverified, §3.5): <c>PC?</c> with 3 decimals, <c>MC?</c> zero-padded to 4 integer digits
/// and 2 decimals, <c>MV?</c> with 4 decimals;</item>
/// <item>a GEN20-500 on a 10 mΩ magnet with no inductance: with the output on the current is PC at once (CC mode);</item>
/// <item>lower-case commands are accepted (§3.1: case-insensitive).</item>
/// <item>each reply <c>latency</c> after its request on the shared fake clock, counted against the driver's reply timeout;</item>
/// </list>
/// Every addressed command gets <c>OK</c>, an error code (§3.2) or the value; nothing is answered until <c>ADR 6</c>.
/// </summary>
internal sealed class ManualGenesysDevice(FakeTimeProvider? clock = null, TimeSpan latency = default) : ILineDevice
{
    public const int Address = 6;
    public const string Identity = "LAMBDA,GEN20-500";
    public const double RatedVolts = 20;
    public const double RatedAmps = 500;
    public const double Ohms = 0.01;

    private readonly Lock _gate = new();
    private int _answered;
    private readonly List<string> _received = [];
    private bool _selected;
    private bool _output;
    private bool _enableOpen;
    private string _pvText = "0";
    private double _pv;
    private double _pc;

    public string RequestTerminator => "\r";

    /// <summary>Requests answered so far (silence excluded).</summary>
    public int Answered => Volatile.Read(ref _answered);

    public string ReplyTerminator => "\r";

    /// <summary>Every request in order, as received (CR removed).</summary>
    public IReadOnlyList<string> Received
    {
        get
        {
            lock (_gate)
            {
                return [.. _received];
            }
        }
    }

    public bool OutputOn
    {
        get
        {
            lock (_gate)
            {
                return _output;
            }
        }
    }

    public double Pc
    {
        get
        {
            lock (_gate)
            {
                return _pc;
            }
        }
    }

    /// <summary>Backdoor: the rear-panel enable input opens (output off, fault ENA while open) or closes.</summary>
    public void SetEnableOpen(bool open)
    {
        lock (_gate)
        {
            _enableOpen = open;
            if (open)
            {
                _output = false;
            }
        }
    }

    /// <summary>
    /// Answers after <c>latency</c> of simulated time: the shared fake clock moves on while the unit works, so the
    /// driver's reply timeout (on the same clock) sees the delay, deterministically. Silence takes no time.
    /// </summary>
    public string? Respond(string request)
    {
        var reply = Handle(request);
        if (reply is not null)
        {
            Interlocked.Increment(ref _answered);
            if (latency > TimeSpan.Zero)
            {
                clock?.Advance(latency);
            }
        }

        return reply;
    }

    private string? Handle(string request)
    {
        lock (_gate)
        {
            _received.Add(request);
            var line = request.Trim().ToUpperInvariant();
            var space = line.IndexOf(' ', StringComparison.Ordinal);
            var command = space < 0 ? line : line[..space];
            var argument = space < 0 ? null : line[(space + 1)..].Trim();
            if (command == "ADR")
            {
                _selected = argument == Address.ToString(CultureInfo.InvariantCulture);
                return _selected ? "OK" : null;
            }

            if (!_selected)
            {
                return null;
            }

            return (command, argument) switch
            {
                ("", null) => "OK",
                ("IDN?", null) => Identity,
                ("PV", not null) => SetPv(argument),
                ("PV?", null) => _pvText,
                ("PC", not null) => SetPc(argument),
                ("PC?", null) => _pc.ToString("0.000", CultureInfo.InvariantCulture),
                ("MC?", null) => Amps().ToString("0000.00", CultureInfo.InvariantCulture),
                ("MV?", null) => (Amps() * Ohms).ToString("0.0000", CultureInfo.InvariantCulture),
                ("MODE?", null) => !_output ? "OFF" : _pc * Ohms <= _pv ? "CC" : "CV",
                ("OUT", "1" or "ON") => _enableOpen ? "E07" : Set(() => _output = true),
                ("OUT", "0" or "OFF") => Set(() => _output = false),
                ("OUT?", null) => _output ? "1" : "0",
                ("CLS", null) => "OK",
                // §3.4: CC 0x02 with the output on in CC, CV 0x01 in CV, NFLT 0x04 or FLT 0x08.
                ("STAT?", null) => ((!_output ? 0 : _pc * Ohms <= _pv ? 0x02 : 0x01) | (_enableOpen ? 0x08 : 0x04)).ToString("X2", CultureInfo.InvariantCulture),
                ("FLT?", null) => (_enableOpen ? 0x80 : 0).ToString("X2", CultureInfo.InvariantCulture),
                (_, null) when command.EndsWith('?') => "C01",
                (_, null) when command is "PV" or "PC" or "OUT" => "C02",
                _ => "C01",
            };
        }
    }

    private double Amps() => _output ? Math.Min(_pc, _pv / Ohms) : 0;

    private static string Set(Action apply)
    {
        apply();
        return "OK";
    }

    private string SetPv(string text)
    {
        if (!TryNumber(text, out var volts))
        {
            return "C03";
        }

        if (volts > RatedVolts * 1.05)
        {
            return "E01";
        }

        _pvText = text;
        _pv = volts;
        return "OK";
    }

    private string SetPc(string text)
    {
        if (!TryNumber(text, out var amps))
        {
            return "C03";
        }

        if (amps > RatedAmps * 1.05)
        {
            return "C05";
        }

        _pc = amps;
        return "OK";
    }

    /// <summary>A plain decimal of at most 12 characters (§3.1), invariant culture, no sign, no exponent.</summary>
    private static bool TryNumber(string text, out double value) =>
        double.TryParse(text, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out value) && text.Length <= 12;
}
