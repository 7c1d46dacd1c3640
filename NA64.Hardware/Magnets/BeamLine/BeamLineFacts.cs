namespace NA64.Hardware.Magnets.BeamLine;

/// <summary>The converter states an operator sees in CESAR (device-protocols.md §5.3).</summary>
public enum BeamLineState
{
    Off,
    Standby,
    On,
    Fault,
}

/// <summary>What the gateway made of a request (§5.4).</summary>
public enum BeamLineOutcomeKind
{
    Accepted,
    PendingOperator,
    Denied,
}

/// <summary>
/// What the NA64 beam-line magnets are, written once (device-protocols.md §5.1): shared by the driver and the
/// simulator, which otherwise keep their own parser and formatter.
/// </summary>
public static class BeamLineFacts
{
    /// <summary>The two MBPL dipoles of the NA64 spectrometer, in series on one circuit: one current.</summary>
    public static IReadOnlyList<string> MbplElements { get; } = ["MBPL1", "MBPL2"];

    /// <summary>Our name for that circuit (CESAR's own equipment name is for the beam physicist to give).</summary>
    public const string MbplCircuit = "H4-MBPL";

    /// <summary>Currents recorded in the 2016 runs (§5.1); the rated maximum is not known.</summary>
    public static IReadOnlyList<double> RecordedAmps { get; } = [700, 735, 800];

    /// <summary>
    /// Default I_ref ceiling: the highest recorded current plus a margin, since the real rating is unknown (§5.4).
    /// A setup may lower it; raising it is the beam physicist's call.
    /// </summary>
    public const double DefaultCeilingAmps = 900;

    /// <summary>Default SPS cycle for read-back refresh (a typical North Area supercycle; configurable everywhere).</summary>
    public static TimeSpan DefaultCyclePeriod { get; } = TimeSpan.FromSeconds(14.4);

    /// <summary>Fault causes the gateway names in its read-back (our gateway protocol).</summary>
    public static class Causes
    {
        /// <summary>Converter trip: latched, no persisting cause once it happened.</summary>
        public const string Trip = "TRIP";

        /// <summary>Magnet cooling water flow failure: persists until the water is back.</summary>
        public const string Water = "WATER";

        /// <summary>Magnet over-temperature: persists until the magnet has cooled.</summary>
        public const string OverTemperature = "OVERTEMP";
    }
}
