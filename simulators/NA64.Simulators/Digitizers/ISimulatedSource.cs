using NA64.Simulators.Physics;

namespace NA64.Simulators.Digitizers;

/// <summary>
/// One simulated S-Link source the simulated TCS (<see cref="Msadc.MsadcCrateSimulator"/>) asks for a fragment per trigger:
/// an MSADC source (<see cref="Msadc.MsadcSourceSimulator"/>) or the GeSiCA of the trackers
/// (<see cref="Apv.GesicaSourceSimulator"/>). Every source gets the same trigger, so all fragments of one trigger carry
/// the same event and spill numbers and come from the same simulated event.
/// </summary>
public interface ISimulatedSource
{
    int SourceId { get; }

    /// <summary>Largest fragment the source can write, in bytes (the crate's buffer is the largest of these).</summary>
    int MaxFragmentBytes { get; }

    /// <summary>
    /// Writes the fragment of one trigger into <paramref name="destination"/>; returns its length in bytes, 0 when nothing
    /// of the source runs (it sends nothing). <paramref name="truth"/> is the physics event, null for a trigger with no
    /// beam (pedestal/random: noise only); <paramref name="generatorBlock"/> the calorimeter samples [channel][sample].
    /// </summary>
    int WriteFragment(EventTruth? truth, ReadOnlySpan<short> generatorBlock, int generatorSamples, int eventNumber, int spillNumber,
        Span<byte> destination);
}
