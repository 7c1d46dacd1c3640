namespace NA64.SlowControl.Setup;

/// <summary>
/// What the setup file needs to know about a device family to validate a <c>devices[]</c> entry: bus address range,
/// channel count, hardware voltage/current ceilings. Each kind's registration (<see cref="Devices.DeviceKinds"/>)
/// supplies its own from the facts in its device folder.
/// </summary>
public sealed record DeviceKind(
    string Name, bool IsHighVoltage, int MinAddress, int MaxAddress, int ChannelCount, double MaxVolts, double MaxMicroamps)
{
    /// <summary>The CAEN N1470 (the facts live in NA64.Hardware/Hv/CaenN1470).</summary>
    public static DeviceKind CaenN1470 => Hv.CaenN1470.CaenN1470Kind.Registration.Facts;

    public static IReadOnlyList<DeviceKind> All => Devices.DeviceKinds.Hv.Select(k => k.Facts).ToList();

    public static DeviceKind? Find(string name) =>
        All.FirstOrDefault(k => string.Equals(k.Name, name, StringComparison.Ordinal));

    public override string ToString() => Name;
}
