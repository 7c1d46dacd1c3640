using System.Globalization;
using NA64.Hardware.Errors;

namespace NA64.Hardware.Magnets.BeamLine;

/// <summary>The gateway answered a line that our gateway protocol does not allow, or with <c>ERR</c>.</summary>
public sealed class BeamLineReplyException : DeviceReplyException
{
    public BeamLineReplyException(string message, string request, string rawReply, Exception? inner = null)
        : base(message, request, rawReply, inner) { }
}

/// <summary>
/// The gateway's read-back has not advanced (same SPS cycle number) for longer than the configured number of cycles:
/// the values are old and must not be taken as the magnet's state (communication loss behind the gateway).
/// Carries the last read-back so that a caller can still show what it last knew.
/// </summary>
public sealed class BeamLineStaleReadbackException : DeviceException
{
    public BeamLineStaleReadbackException(string magnet, BeamLineStatus last, TimeSpan staleFor, int limitCycles, TimeSpan cyclePeriod)
        : base(string.Create(CultureInfo.InvariantCulture,
            $"{magnet}: read-back stale, SPS cycle {last.Cycle} unchanged for {staleFor.TotalSeconds:0.#} s, limit is {limitCycles} cycles of {cyclePeriod.TotalSeconds:0.#} s"))
    {
        Magnet = magnet;
        Last = last;
        StaleFor = staleFor;
        LimitCycles = limitCycles;
    }

    public string Magnet { get; }

    public BeamLineStatus Last { get; }

    public TimeSpan StaleFor { get; }

    public int LimitCycles { get; }
}
