using System.Globalization;
using Microsoft.Extensions.Time.Testing;
using NA64.Simulators.Serving;

namespace NA64.Integration.Tests.Magnets.Danfysik8500;

/// <summary>
/// A second, independent Danfysik System 8500, written only from device-protocols.md §4 (and sharing nothing with the
/// project's simulator or driver: its own parser, formatter, status layout and scaling), so that a test can show the
/// driver does not lean on quirks of its own simulator. It takes the liberties the manual leaves open:
/// <list type="bullet">
/// <item>numbers zero-padded to 7 digits (<c>RA</c> → <c>0833333</c>, §0 rule 1: base 10, a leading 0 is no radix);</item>
/// <item><c>S1</c> shows the informational positions 4 (regulation transformer), 5 (DAC 16-bit mode) and the spares
/// 8 and 24 as set, and does not raise 23 (not ready) with the power off: the layout is unverified (§4.4);</item>
/// <item>no slewing (the ISIS emulator's "no ramp", §4.5): the current is the setpoint while the power is on;</item>
/// <item>its own scaling: 600 A full scale, 10 mA per <c>AD 8</c> count, 1 mV per <c>AD 2</c> count, a 20 mΩ magnet;</item>
/// <item>its own error wording (§4.2 leaves it open): <c>?</c> and the reason.</item>
/// <item>each reply <c>latency</c> after its request on the shared fake clock (§4.1 gives 5 ms for the 9100; an RS-485
/// converter or a busy unit may take longer), counted against the driver's reply timeout;</item>
/// </list>
/// Directives (N, F, RS, WA, PO ±, REM, LOC) are silent unless refused; status commands (S1, RA, AD n, PO) always answer.
/// </summary>
internal sealed class ManualDanfysikDevice(FakeTimeProvider? clock = null, TimeSpan latency = default) : ILineDevice
{
    public const double FullScaleAmps = 600;
    public const double AmpsPerCount = 0.01;
    public const double VoltsPerCount = 0.001;
    public const double Ohms = 0.02;

    private readonly Lock _gate = new();
    private int _answered;
    private bool _remote;
    private bool _powerOn;
    private bool _reversed;
    private int _ppm;
    private bool _interlock;
    private bool _interlockLatched;

    public string RequestTerminator => "\r";

    /// <summary>Requests answered so far (silence excluded).</summary>
    public int Answered => Volatile.Read(ref _answered);

    // §4.1: LF then CR.
    public string ReplyTerminator => "\n\r";

    public bool PowerOn
    {
        get
        {
            lock (_gate)
            {
                return _powerOn;
            }
        }
    }

    public int SetpointPpm
    {
        get
        {
            lock (_gate)
            {
                return _ppm;
            }
        }
    }

    private readonly List<string> _received = [];

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

    /// <summary>Backdoor: the door switch opens (true: power off, latched until RS) or closes (false).</summary>
    public void SetDoorOpen(bool open)
    {
        lock (_gate)
        {
            _interlock = open;
            if (open)
            {
                _interlockLatched = true;
                _powerOn = false;
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
            // §4.1: LF in a command is ignored.
            var words = request.Replace("\n", "", StringComparison.Ordinal).Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (words.Length == 0)
            {
                return null;
            }

            return (words[0].ToUpperInvariant(), words.Length) switch
            {
                ("S1", 1) => Status(),
                ("RA", 1) => Number(_ppm),
                ("AD", 2) when words[1] == "8" => Number((int)Math.Round(Amps() / AmpsPerCount)),
                ("AD", 2) when words[1] == "2" => Number((int)Math.Round(Amps() * Ohms / VoltsPerCount)),
                ("AD", 2) => Number(0),
                ("PO", 1) => _reversed ? "-" : "+",
                ("REM", 1) => Directive(() => _remote = true, needsRemote: false),
                ("LOC", 1) => Directive(() => _remote = false, needsRemote: false),
                ("N", 1) => _interlockLatched ? "?INTERLOCK" : Directive(() => _powerOn = true),
                ("F", 1) => Directive(() => _powerOn = false),
                ("RS", 1) => Directive(() => _interlockLatched = _interlock),
                ("WA", 2) => int.TryParse(words[1], NumberStyles.None, CultureInfo.InvariantCulture, out var ppm) && ppm <= 1_000_000
                    ? Directive(() => _ppm = ppm)
                    : "?PARAMETER",
                ("PO", 2) when words[1] is "+" or "-" => Amps() > 0 ? "?CURRENT" : Directive(() => _reversed = words[1] == "-"),
                _ => "?COMMAND",
            };
        }
    }

    private string? Directive(Action apply, bool needsRemote = true)
    {
        if (needsRemote && !_remote)
        {
            return "?LOCAL";
        }

        apply();
        return null;
    }

    private double Amps() => _powerOn ? _ppm / 1_000_000.0 * FullScaleAmps : 0;

    private static string Number(int value) => value.ToString("0000000", CultureInfo.InvariantCulture);

    /// <summary>24 characters, position n (1-based) is <c>!</c> when active (§4.4).</summary>
    private string Status()
    {
        var s = Enumerable.Repeat('.', 24).ToArray();
        void Set(int position, bool active)
        {
            if (active)
            {
                s[position - 1] = '!';
            }
        }

        Set(1, !_powerOn);
        Set(2, !_reversed);
        Set(3, _reversed);
        Set(4, true);
        Set(5, true);
        Set(8, true);
        Set(10, _interlockLatched);
        Set(20, _interlock);
        Set(24, true);
        return new string(s);
    }
}
