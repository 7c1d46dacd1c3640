using System.Globalization;
using NA64.Hardware.Magnets;
using NA64.Hardware.Transport;
using NA64.SlowControl.Setup;
using Serilog;

namespace NA64.SlowControl.Devices;

/// <summary>
/// The registration of a magnet supply kind: its name in the setup, its line framing, the fields of its own that a
/// <c>magnets[]</c> entry may carry (the loader reads and range-checks them without knowing the kind), the check of
/// the limits against the kind's ratings, the driver over a transport and the simulator behind one port. The
/// controller above is kind-neutral: it drives <see cref="IMagnetSupply"/>.
/// </summary>
/// <param name="Name">The <c>kind:</c> of a magnet entry.</param>
/// <param name="Fields">The kind's own fields of a magnet entry, with their ranges and defaults.</param>
/// <param name="CheckLimits">Problems of an entry's maxAmps/maxVolts against the kind's ratings (field, rule), none when fine.</param>
/// <param name="CreateSupply">The driver of one magnet of the setup over its port's transport.</param>
/// <param name="CreateSimulator">The simulated supplies behind one port (all magnets of the setup on that port).</param>
public sealed record MagnetDeviceKind(
    string Name,
    LineFraming Framing,
    IReadOnlyList<MagnetField> Fields,
    Func<MagnetSetup, IEnumerable<(string Field, string Rule)>> CheckLimits,
    Func<MagnetSetup, LineTransport, TimeProvider, ILogger, IMagnetSupply> CreateSupply,
    Func<IReadOnlyList<MagnetSetup>, TimeProvider, ILogger, SimulatedMagnetPort> CreateSimulator)
{
    /// <summary>The field that carries a bus address, when the kind has one: no two magnets of one port may share it.</summary>
    public const string AddressField = "address";

    public override string ToString() => Name;
}

/// <summary>What a kind-specific field of a magnet entry holds.</summary>
public enum MagnetFieldType
{
    Number,
    Integer,
    Text,
}

/// <summary>
/// One kind-specific field of a <c>magnets[]</c> entry. <paramref name="Default"/> null makes it required unless
/// <see cref="Optional"/> (then it simply has no value); for <see cref="MagnetFieldType.Text"/>, <paramref name="Choices"/>
/// restricts the value when given.
/// </summary>
public sealed record MagnetField(
    string Key, MagnetFieldType Type, string Meaning, object? Default = null, double Min = double.MinValue, double Max = double.MaxValue,
    IReadOnlyList<string>? Choices = null)
{
    public bool Optional { get; init; }

    public static MagnetField Number(string key, string meaning, double? fallback, double min, double max) =>
        new(key, MagnetFieldType.Number, meaning, fallback, min, max);

    public static MagnetField Integer(string key, string meaning, int? fallback, int min, int max) =>
        new(key, MagnetFieldType.Integer, meaning, fallback, min, max);

    public static MagnetField Text(string key, string meaning, string? fallback, params string[] choices) =>
        new(key, MagnetFieldType.Text, meaning, fallback, Choices: choices.Length == 0 ? null : choices);
}

/// <summary>The kind-specific fields of one magnet entry, read and range-checked by the loader (defaults filled in).</summary>
public sealed class MagnetFieldValues(IReadOnlyDictionary<string, object> values)
{
    public static MagnetFieldValues Empty { get; } = new(new Dictionary<string, object>());

    public bool Has(string key) => values.ContainsKey(key);

    public double Number(string key) => Convert.ToDouble(Value(key), CultureInfo.InvariantCulture);

    public double? OptionalNumber(string key) => values.TryGetValue(key, out var v) ? Convert.ToDouble(v, CultureInfo.InvariantCulture) : null;

    public int Integer(string key) => (int)Value(key);

    public int? OptionalInteger(string key) => values.TryGetValue(key, out var v) ? (int)v : null;

    public string Text(string key) => (string)Value(key);

    private object Value(string key) => values.TryGetValue(key, out var v) ? v
        : throw new KeyNotFoundException($"magnet field '{key}' has no value (the kind's registration must declare it with a default or as required)");
}

/// <summary>
/// The simulated supplies behind one port: what answers on the line, and the backdoor by which named faults reach a
/// supply's physics (never the wire).
/// </summary>
public abstract class SimulatedMagnetPort : SimulatedPort
{
    /// <summary>Applies a fault of <see cref="SimulatedPort.Faults"/> to <paramref name="magnet"/>.</summary>
    public abstract void Inject(MagnetSetup magnet, string fault);
}
