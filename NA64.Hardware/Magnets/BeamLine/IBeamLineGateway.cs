namespace NA64.Hardware.Magnets.BeamLine;

/// <summary>One read-back of a circuit as the gateway publishes it, refreshed once per SPS cycle (§5.4).</summary>
/// <param name="Circuit">The circuit read.</param>
/// <param name="RefAmps">I_ref, the current the converter is asked to hold.</param>
/// <param name="MeasuredAmps">I_meas.</param>
/// <param name="InReference">ON and |I_meas - I_ref| within the converter's tolerance (a flag, not a state).</param>
/// <param name="Cycle">SPS cycle number of this read-back; does not advance when the gateway lost its source.</param>
/// <param name="Timestamp">When the gateway took this read-back (its clock).</param>
/// <param name="BeamFile">Active beam file, or null.</param>
/// <param name="FaultCause">The fault cause the gateway names (<see cref="BeamLineFacts.Causes"/>), or null.</param>
/// <param name="Elements">The magnets the circuit feeds (MBPL1, MBPL2), empty when the gateway does not say.</param>
public sealed record BeamLineStatus(
    string Circuit,
    BeamLineState State,
    double RefAmps,
    double MeasuredAmps,
    bool InReference,
    long Cycle,
    DateTimeOffset Timestamp,
    string? BeamFile,
    string? FaultCause,
    IReadOnlyList<string> Elements);

/// <summary>What became of a request: accepted, held for an operator (with its ticket), or denied (with the reason).</summary>
public sealed record BeamLineOutcome(BeamLineOutcomeKind Kind, string? Ticket = null, string? Reason = null)
{
    public static BeamLineOutcome Accepted { get; } = new(BeamLineOutcomeKind.Accepted);
}

/// <summary>
/// The gateway between NA64 and the beam-line control (§5.2-§5.4): in production a human-in-the-loop CESAR step or a
/// CERN service, in tests the simulator. Every request is gated and logged by the gateway with the user and the reason;
/// an accepted request is not yet done: only the read-back says when the magnet is in reference.
/// </summary>
public interface IBeamLineGateway
{
    Task<BeamLineStatus> ReadAsync(string circuit, CancellationToken cancellationToken = default);

    Task<BeamLineOutcome> RequestSetCurrentAsync(string circuit, double amps, string reason, CancellationToken cancellationToken = default);

    Task<BeamLineOutcome> RequestStandbyAsync(string circuit, string reason, CancellationToken cancellationToken = default);

    Task<BeamLineOutcome> RequestOnAsync(string circuit, string reason, CancellationToken cancellationToken = default);

    Task<BeamLineOutcome> RequestOffAsync(string circuit, string reason, CancellationToken cancellationToken = default);

    Task<BeamLineOutcome> RequestResetAsync(string circuit, string reason, CancellationToken cancellationToken = default);

    /// <summary>Loads a named beam file: several I_ref at once, as the beam physicist stored them.</summary>
    Task<BeamLineOutcome> LoadBeamFileAsync(string name, string reason, CancellationToken cancellationToken = default);
}
