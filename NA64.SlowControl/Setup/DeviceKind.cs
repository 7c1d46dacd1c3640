namespace NA64.SlowControl.Setup;

/// <summary>
/// What the setup file needs to know about a device family to validate it: bus address range, channel count,
/// hardware voltage/current ceilings. One row per <c>kind:</c> value; a new device family adds a row here.
/// </summary>
public sealed record DeviceKind(
    string Name, bool IsHighVoltage, int MinAddress, int MaxAddress, int ChannelCount, double MaxVolts, double MaxMicroamps)
{
    /// <summary>CAEN N1470: 4 channels, RS-485 addresses 0..31 (device-protocols.md §1.1), 8 kV / 3 mA per channel.</summary>
    public static DeviceKind CaenN1470 { get; } = new("caen-n1470", IsHighVoltage: true, 0, 31, 4, 8000, 3000);

    public static IReadOnlyList<DeviceKind> All { get; } = [CaenN1470];

    public static DeviceKind? Find(string name) =>
        All.FirstOrDefault(k => string.Equals(k.Name, name, StringComparison.Ordinal));

    public override string ToString() => Name;
}
