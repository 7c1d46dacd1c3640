using NA64.Hardware.Hv;
using NA64.Hardware.Magnets;
using NA64.SlowControl.Devices;
using NA64.SlowControl.Magnets;

namespace NA64.SlowControl.Setup;

/// <summary>
/// One installation as described by its setup file: the devices with their transports and named channels,
/// and how the HV controllers behave. Built only by <see cref="SetupLoader"/>, which validates everything.
/// </summary>
public sealed record SetupFile(string SourceName, HvControllerSettings HvController, IReadOnlyList<DeviceSetup> Devices)
{
    /// <summary>Every channel of every device, in file order.</summary>
    public IEnumerable<(DeviceSetup Device, ChannelSetup Channel)> AllChannels =>
        Devices.SelectMany(d => d.Channels.Select(c => (d, c)));

    /// <summary>The <c>readout:</c> section, or null when the file has none (readout commands then refuse to run).</summary>
    public ReadoutSetup? Readout { get; init; }

    /// <summary>Full path of the <c>usersFile</c> (who may send commands to the service), or null when the setup names none.</summary>
    public string? UsersFile { get; init; }

    /// <summary>
    /// Absolute path of the data directory (run registry, <c>runs/&lt;number&gt;/</c>, <c>pedestals/</c>): the top-level
    /// <c>dataDirectory</c>, else the old <c>readout.outputDirectory</c>, both resolved against the setup file's folder;
    /// without either, <see cref="SetupLoader.DefaultDataDirectory"/>.
    /// </summary>
    public string DataDirectory { get; init; } = SetupLoader.DefaultDataDirectory();

    /// <summary>The magnet circuits of the <c>magnets:</c> section, in file order (none when the file has no such section).</summary>
    public IReadOnlyList<MagnetSetup> Magnets { get; init; } = [];
}

/// <summary>
/// One magnet circuit: a supply and the magnets it feeds in series (<see cref="Elements"/>, one current). Commands may
/// name the circuit or any of its elements. <see cref="Transport"/> is as for HV devices; magnets of one kind may share
/// a port (a multi-drop line, a gateway) when their addresses differ.
/// </summary>
/// <param name="MaxAmps">No setpoint above this magnitude is ever sent (checked against the kind's ratings at load).</param>
/// <param name="MaxVolts">Voltage compliance for supplies that take one (Genesys PV); null leaves the supply's own.</param>
/// <param name="Control">How the controller drives it (the <c>magnetController</c> defaults with this entry's overrides).</param>
/// <param name="Calibration">Current to integral field B·dl of the circuit; null: no field or momentum commands.</param>
/// <param name="BendingAngleRadians">The beam's bending angle in the circuit at its nominal field (momentum commands need it).</param>
/// <param name="Fields">The kind's own fields (address, scales, gateway circuit...).</param>
public sealed record MagnetSetup(
    string Name,
    MagnetDeviceKind Kind,
    string Transport,
    IReadOnlyList<string> Elements,
    double MaxAmps,
    double? MaxVolts,
    MagnetSettings Control,
    MagnetCalibration? Calibration,
    double? BendingAngleRadians,
    MagnetFieldValues Fields,
    int Line)
{
    public MagnetLimits Limits => new(Name, MaxAmps, MaxVolts);

    /// <summary>The bus address, for kinds that have one (null: alone on its line or not addressed).</summary>
    public int? Address => Fields.OptionalInteger(MagnetDeviceKind.AddressField);

    /// <summary>True when <paramref name="name"/> is the circuit or one of its elements.</summary>
    public bool Answers(string name) =>
        string.Equals(name, Name, StringComparison.Ordinal) || Elements.Contains(name, StringComparer.Ordinal);
}

/// <summary>
/// One device on a bus. <see cref="Transport"/> stays the string of the file (e.g. <c>serial:/dev/ttyUSB0?baud=9600</c>,
/// <c>tcp:host:1470</c>, <c>sim</c>); the transport layer parses it. Several devices may share one transport
/// (an RS-485 chain) as long as their addresses differ.
/// </summary>
public sealed record DeviceSetup(
    string Name, DeviceKind Kind, string Transport, int Address, IReadOnlyList<ChannelSetup> Channels, int Line)
{
    /// <summary>Limits per channel index for the driver (index = channel number; unnamed channels get zero limits so nothing can be set).</summary>
    public IReadOnlyList<HvChannelLimits> ChannelLimits()
    {
        var limits = new HvChannelLimits[Kind.ChannelCount];
        for (int i = 0; i < limits.Length; i++)
            limits[i] = new HvChannelLimits($"{Name}.ch{i}", 0, 0, 0);
        foreach (var c in Channels)
            limits[c.Index] = new HvChannelLimits(c.Name, c.MaxVolts, c.MaxMicroamps, c.MaxRampVoltsPerSecond);
        return limits;
    }
}

/// <summary>
/// A named HV channel. Volts are magnitudes: polarity is fixed by the hardware (CAEN POL is read-only).
/// <see cref="CurrentLimitMicroamps"/> is the ISET pushed to the board; <see cref="MaxMicroamps"/> is the ceiling
/// nobody may set it above. Ramp rates are the RUP/RDW pushed to the board.
/// </summary>
public sealed record ChannelSetup(
    string Name,
    int Index,
    double NominalVolts,
    double MaxVolts,
    double MaxMicroamps,
    double MaxRampVoltsPerSecond,
    double CurrentLimitMicroamps,
    double RampUpVoltsPerSecond,
    double RampDownVoltsPerSecond,
    int Line);

/// <summary>How every HV channel controller behaves.</summary>
/// <param name="PollPeriod">Time between two poll cycles of one board.</param>
/// <param name="OnToleranceVolts">A channel counts as On when |VMON - VSET| is at most this.</param>
/// <param name="CommandConfirmTimeout">A command not visible in the readbacks after this long raises an alarm.</param>
/// <param name="Recovery">Automatic trip recovery (NA64 practice: nominal - 20 V, wait, nominal).</param>
public sealed record HvControllerSettings(
    TimeSpan PollPeriod, double OnToleranceVolts, TimeSpan CommandConfirmTimeout, TripRecoverySettings Recovery)
{
    /// <summary>Defaults used when the setup file leaves a value out (each one an assumption, see the setup README).</summary>
    public static HvControllerSettings Default { get; } = new(
        TimeSpan.FromSeconds(1), 2.5, TimeSpan.FromSeconds(5), TripRecoverySettings.Default);
}

/// <param name="StepBelowNominalVolts">First step of the recovery: VSET = nominal minus this.</param>
/// <param name="StableTime">How long the channel must stay On at the first step before going to nominal.</param>
/// <param name="MaxPerHour">Automatic recoveries allowed per channel in any sliding hour; beyond that the channel stays Tripped.</param>
public sealed record TripRecoverySettings(double StepBelowNominalVolts, TimeSpan StableTime, int MaxPerHour)
{
    public static TripRecoverySettings Default { get; } = new(20, TimeSpan.FromSeconds(30), 3);
}

/// <summary>
/// The <c>readout:</c> section: MSADC modules (which S-Link source, which HotLink port, which 64 consecutive channels of
/// the detector layout each one digitises), the run parameters, and for the simulated installation the beam.
/// </summary>
/// <param name="RunNumber">First run number (DDD loads no maps for run 0) given out by the data directory's run registry.</param>
/// <param name="SamplesPerChannel">MSADC samples per channel, 25..32 (32 COMPASS, 25 thesis: uncertain).</param>
/// <param name="Latency">MSADC readout latency written to every module: window position in sample clocks, 0..320.</param>
/// <param name="ZeroSuppressionSigma">Keep a channel when max(sample − pedestal) exceeds this many pedestal σ.</param>
/// <param name="KeepNeighbours">Also keep the channels next to a kept one (same chip).</param>
/// <param name="PedestalEvents">Random triggers of a pedestal run.</param>
/// <param name="OutputDirectory">The old name of the data directory, as written in the file ("data" when absent); the
/// resolved path is <see cref="SetupFile.DataDirectory"/>.</param>
public sealed record ReadoutSetup(
    uint RunNumber,
    int SamplesPerChannel,
    int Latency,
    double ZeroSuppressionSigma,
    bool KeepNeighbours,
    int PedestalEvents,
    string OutputDirectory,
    SignalBoxSetup SignalBox,
    BeamSetup Beam,
    IReadOnlyList<ReadoutSourceSetup> Sources,
    int Line)
{
    public IEnumerable<(ReadoutSourceSetup Source, ReadoutModuleSetup Module)> AllModules =>
        Sources.SelectMany(s => s.Modules.Select(m => (s, m)));

    /// <summary>The trackers read by the APV sources, or null when the setup has none.</summary>
    public TrackerSetup? Trackers { get; init; }
}

/// <summary>The invisible-mode signal box: E_ECAL below <paramref name="EcalMaxGeV"/> and E_HCAL below <paramref name="HcalMaxGeV"/>.</summary>
public sealed record SignalBoxSetup(double EcalMaxGeV, double HcalMaxGeV);

/// <summary>Simulated beam: spill timing, intensity, trigger rate, injected signal fraction, generator seed, and the
/// latency at which the simulated installation is timed in (trigger and cable delays: the MSADC latency that puts the
/// beam particle's pulse at its nominal place in the window).</summary>
public sealed record BeamSetup(
    double SpillOnSeconds, double SpillOffSeconds, double ParticlesPerSpill, double TriggerRateHz, bool PileUp,
    double SignalFraction, int Seed, int TimedInLatency);

/// <summary>What sits behind an S-Link source: a CATCH with MSADC modules, or a GeSiCA with APV-ADCs (the trackers).</summary>
public enum ReadoutSourceKind
{
    Msadc,
    Apv,
}

/// <summary>
/// One S-Link source: a CATCH with its MSADC modules (one per HotLink port), or, for <see cref="ReadoutSourceKind.Apv"/>,
/// a GeSiCA with its APV-ADC modules (<see cref="Adcs"/>).
/// </summary>
public sealed record ReadoutSourceSetup(int SourceId, IReadOnlyList<ReadoutModuleSetup> Modules, int Line)
{
    /// <summary>Where the source's S-Link fragments arrive, one per datagram: <c>sim</c> (the simulated crate) or
    /// <c>udp:HOST:PORT</c>, the host's address and port the source sends to (the host listens there).</summary>
    public string Data { get; init; } = "sim";

    public ReadoutSourceKind Kind { get; init; } = ReadoutSourceKind.Msadc;

    /// <summary>The APV-ADC modules of an APV source (none for an MSADC source).</summary>
    public IReadOnlyList<ApvAdcSetup> Adcs { get; init; } = [];
}

/// <summary>One APV-ADC module of a GeSiCA: its id in the data (<c>adc_id</c>) and its control endpoint.</summary>
public sealed record ApvAdcSetup(string Name, int AdcId, int Line)
{
    /// <summary><c>sim</c> (a simulated module) or <c>udp:HOST:PORT</c> of the module.</summary>
    public string Control { get; init; } = "sim";
}

/// <summary>
/// The <c>readout.trackers</c> section: the tracker layout (detectors, APVs, multiplexing map) and the name the map was
/// given by in the file (a built-in name or a path).
/// </summary>
public sealed record TrackerSetup(NA64.Readout.Trackers.TrackerLayout Layout, string MapName, int Line);

/// <summary>One MSADC module: module channel k (chip k/16, chan k%16) digitises detector-layout channel FirstChannel + k.</summary>
public sealed record ReadoutModuleSetup(string Name, int Port, int FirstChannel, int Line)
{
    /// <summary>The module's control endpoint: <c>sim</c> (a simulated module) or <c>udp:HOST:PORT</c> of the module.</summary>
    public string Control { get; init; } = "sim";
}
