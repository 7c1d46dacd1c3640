using NA64.Hardware.Hv;

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
