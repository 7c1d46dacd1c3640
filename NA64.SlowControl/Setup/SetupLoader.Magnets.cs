using System.Globalization;
using NA64.SlowControl.Devices;
using NA64.SlowControl.Magnets;
using YamlDotNet.RepresentationModel;

namespace NA64.SlowControl.Setup;

public static partial class SetupLoader
{
    /// <summary>The generic fields of a <c>magnets[]</c> entry; each kind adds its own (<see cref="MagnetDeviceKind.Fields"/>).</summary>
    private static readonly string[] MagnetKeys =
        ["name", "kind", "transport", "elements", "maxAmps", "maxVolts", "calibration", "bendingAngleMrad", "control"];

    private static readonly string[] MagnetControlKeys =
        ["pollPeriodSeconds", "toleranceAmps", "stableSeconds", "rampAmpsPerSecond", "maxRampAmpsPerSecond",
         "zeroCrossingWaitSeconds", "safeAction", "failuresBeforeDisconnected"];

    private sealed partial class Reader
    {
        /// <summary>The <c>magnetController</c> defaults and the <c>magnets</c> list; null when anything in them is wrong.</summary>
        public IReadOnlyList<MagnetSetup>? ReadMagnets(Fields top, IReadOnlyList<DeviceSetup> devices)
        {
            int errors = Errors.Count;
            var defaults = MagnetSettings.Default;
            if (top.Has("magnetController"))
                defaults = ReadMagnetControl(top.Node("magnetController"), "magnetController", defaults) ?? defaults;
            var magnets = new List<MagnetSetup>();
            if (!top.Has("magnets"))
                return Errors.Count > errors ? null : magnets;
            if (Sequence(top.Node("magnets"), "magnets") is not { } list)
                return null;
            if (list.Children.Count == 0)
                Error(list, "magnets", null, "must list at least one magnet (or leave the section out)");

            var names = new Dictionary<string, (string Path, int Line)>(StringComparer.Ordinal);
            foreach (var d in devices)
            {
                names.TryAdd(d.Name, ("devices " + d.Name, d.Line));
                foreach (var c in d.Channels)
                    names.TryAdd(c.Name, ("channel " + c.Name, c.Line));
            }

            var ports = new Dictionary<string, (string Kind, string Path)>(StringComparer.Ordinal);
            foreach (var d in devices)
                ports.TryAdd(d.Transport, (d.Kind.Name, "HV device " + d.Name));
            var addresses = new Dictionary<(string Transport, int Address), string>();
            for (int i = 0; i < list.Children.Count; i++)
            {
                var m = ReadMagnet(list.Children[i], $"magnets[{i}]", defaults, names);
                if (m is null)
                    continue;
                // One port, one kind: the framing and the simulator are the kind's (HV devices included).
                if (ports.TryGetValue(m.Transport, out var owner) && owner.Kind != m.Kind.Name)
                    Error(FieldNode(list.Children[i], "transport"), $"magnets[{i}].transport", m.Transport,
                        $"port already used by {owner.Path} of kind {owner.Kind}: one port carries one kind");
                else
                    ports.TryAdd(m.Transport, (m.Kind.Name, $"magnets[{i}]"));
                // Two supplies at one address of one line would both answer and garble it.
                if (m.Address is { } a && !addresses.TryAdd((m.Transport, a), m.Name))
                    Error(FieldNode(list.Children[i], MagnetDeviceKind.AddressField), $"magnets[{i}].address", a.ToString(CultureInfo.InvariantCulture),
                        $"address already used on transport '{m.Transport}' by magnet '{addresses[(m.Transport, a)]}'");
                magnets.Add(m);
            }

            return Errors.Count > errors ? null : magnets;
        }

        /// <summary>The value node of <paramref name="key"/> in a (valid) magnet entry, for the line of an error about it.</summary>
        private static YamlNode FieldNode(YamlNode entry, string key) =>
            entry is YamlMappingNode map && map.Children.TryGetValue(new YamlScalarNode(key), out var value) ? value : entry;

        private MagnetSetup? ReadMagnet(YamlNode node, string path, MagnetSettings defaults, Dictionary<string, (string Path, int Line)> names)
        {
            // The kind decides which other fields are allowed, so it is looked at before the mapping is checked.
            MagnetDeviceKind? kind = null;
            string? kindName = node is YamlMappingNode raw && raw.Children.TryGetValue(new YamlScalarNode("kind"), out var k) && k is YamlScalarNode ks
                ? ks.Value : null;
            if (kindName is not null)
                kind = DeviceKinds.FindMagnet(kindName);
            string[] allowed = [.. MagnetKeys, .. kind?.Fields.Select(f => f.Key) ?? []];
            var m = Mapping(node, path, allowed);
            if (m is null) return null;
            int errors = Errors.Count;
            string? name = Name(m, "name");
            if (Text(m, "kind", required: true) is { } given && kind is null)
                Error(m.Node("kind"), m.Path("kind"), given,
                    $"unknown magnet kind; known kinds: {string.Join(", ", DeviceKinds.Magnets.Select(x => x.Name))}");
            string? transport = Text(m, "transport", required: true);
            if (transport is not null)
                CheckTransport(m.Node("transport"), m.Path("transport"), transport);

            var elements = new List<string>();
            if (m.Has("elements") && Sequence(m.Node("elements"), m.Path("elements")) is { } el)
            {
                for (int i = 0; i < el.Children.Count; i++)
                {
                    if (el.Children[i] is YamlScalarNode { Value: { Length: > 0 } e } && NamePattern().IsMatch(e))
                        elements.Add(e);
                    else
                        Error(el.Children[i], $"{m.Path("elements")}[{i}]", el.Children[i].ToString(),
                            "must be a magnet name (letters, digits, '.', '_' and '-')");
                }
            }

            foreach (var (n, at) in (name is null ? elements : [name, .. elements]).Select(n => (n, name is not null && n == name ? "name" : "elements")))
            {
                if (!names.TryAdd(n, (m.Path(at), (int)node.Start.Line)))
                    Error(m.Node(at), m.Path(at), n,
                        $"name already used by {names[n].Path} at line {names[n].Line.ToString(CultureInfo.InvariantCulture)}; magnet, element, device and channel names are unique in the whole setup");
            }

            double? maxAmps = Number(m, "maxAmps", null, 0, 1e6);
            if (maxAmps is 0)
                Error(m.Node("maxAmps"), m.Path("maxAmps"), "0", "must be above 0");
            double? maxVolts = m.Has("maxVolts") ? Number(m, "maxVolts", null, 0, 1e5) : null;
            if (maxVolts is 0)
                Error(m.Node("maxVolts"), m.Path("maxVolts"), "0", "must be above 0");
            var control = m.Has("control") ? ReadMagnetControl(m.Node("control"), m.Path("control"), defaults) : defaults;
            double? angle = null;
            if (m.Has("bendingAngleMrad"))
            {
                angle = Number(m, "bendingAngleMrad", null, 0, 3141) / 1000;
                if (angle is 0)
                    Error(m.Node("bendingAngleMrad"), m.Path("bendingAngleMrad"), "0", "must be above 0");
            }

            MagnetCalibration? calibration = m.Has("calibration") ? ReadCalibration(m, name ?? path) : null;
            if (m.Has("calibration") && calibration is not null && maxAmps is not null && calibration.MaxAmps < maxAmps)
                // Beyond the table's end the field is unknown: status would show none and field commands refuse.
                Error(m.Node("calibration"), m.Path("calibration"), null,
                    $"the table ends at {Fmt(calibration.MaxAmps)} A, below maxAmps ({Fmt(maxAmps.Value)} A): extend it to maxAmps");

            var values = kind is null ? null : ReadKindFields(m, kind);
            if (Errors.Count > errors || name is null || kind is null || transport is null || maxAmps is null || control is null || values is null)
                return null;
            var magnet = new MagnetSetup(name, kind, transport, elements, maxAmps.Value, maxVolts, control, calibration, angle, values, (int)node.Start.Line);
            foreach (var (field, rule) in kind.CheckLimits(magnet))
                Error(m.Node(field), m.Path(field), m.Raw(field), rule);
            return Errors.Count > errors ? null : magnet;
        }

        private MagnetFieldValues? ReadKindFields(Fields m, MagnetDeviceKind kind)
        {
            int errors = Errors.Count;
            var values = new Dictionary<string, object>(StringComparer.Ordinal);
            foreach (var f in kind.Fields)
            {
                if (!m.Has(f.Key))
                {
                    if (f.Default is null && !f.Optional)
                        Error(m.Map, m.Path(f.Key), null, $"is required for a {kind.Name} ({f.Meaning})");
                    else if (f.Default is not null)
                        values[f.Key] = f.Default;
                    continue;
                }

                switch (f.Type)
                {
                    case MagnetFieldType.Number when Number(m, f.Key, null, f.Min, f.Max, f.Meaning) is { } n:
                        values[f.Key] = n;
                        break;
                    case MagnetFieldType.Integer when Integer(m, f.Key, null, (int)f.Min, (int)f.Max, f.Meaning) is { } i:
                        values[f.Key] = i;
                        break;
                    case MagnetFieldType.Text when Text(m, f.Key, required: true) is { } t:
                        if (f.Choices is { } choices && !choices.Contains(t, StringComparer.Ordinal))
                            Error(m.Node(f.Key), m.Path(f.Key), t, $"must be one of {string.Join(", ", choices)} ({f.Meaning})");
                        else
                            values[f.Key] = t;
                        break;
                }
            }

            return Errors.Count > errors ? null : new MagnetFieldValues(values);
        }

        /// <summary>
        /// <c>calibration: [[amps, T·m], ...]</c>, increasing in both; the table's own rules (at least two points, both
        /// increasing, none negative) are reported with the line of the table.
        /// </summary>
        private MagnetCalibration? ReadCalibration(Fields m, string name)
        {
            if (Sequence(m.Node("calibration"), m.Path("calibration")) is not { } rows)
                return null;
            var points = new List<(double, double)>();
            for (int i = 0; i < rows.Children.Count; i++)
            {
                string at = $"{m.Path("calibration")}[{i}]";
                if (rows.Children[i] is YamlSequenceNode { Children.Count: 2 } pair
                    && Point(pair.Children[0]) is { } amps && Point(pair.Children[1]) is { } field)
                    points.Add((amps, field));
                else
                    Error(rows.Children[i], at, rows.Children[i] is YamlScalarNode s ? s.Value : null,
                        "must be a pair [amps, tesla-metres] of numbers (decimal point '.')");
            }

            try
            {
                return new MagnetCalibration(name, points);
            }
            catch (ArgumentException e)
            {
                Error(rows, m.Path("calibration"), null, e.Message.Split(" (Parameter", 2)[0]);
                return null;
            }

            static double? Point(YamlNode n) =>
                n is YamlScalarNode { Value: { } v } && double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out double d) && double.IsFinite(d)
                    ? d : null;
        }

        /// <summary>The controller settings of <c>magnetController</c> or of one magnet's <c>control</c>, over <paramref name="basis"/>.</summary>
        private MagnetSettings? ReadMagnetControl(YamlNode node, string path, MagnetSettings basis)
        {
            var m = Mapping(node, path, MagnetControlKeys);
            if (m is null) return null;
            int errors = Errors.Count;
            double poll = Number(m, "pollPeriodSeconds", basis.PollPeriod.TotalSeconds, 0.01, 3600) ?? 0;
            double tolerance = Number(m, "toleranceAmps", basis.ToleranceAmps, 0.0001, 1000) ?? 0;
            double stable = Number(m, "stableSeconds", basis.StableTime.TotalSeconds, 0, 3600) ?? 0;
            double maxRate = Number(m, "maxRampAmpsPerSecond", basis.MaxRampAmpsPerSecond, 0.0001, 1e5) ?? 0;
            double rate = Number(m, "rampAmpsPerSecond", basis.RampAmpsPerSecond, 0.0001, 1e5) ?? 0;
            double wait = Number(m, "zeroCrossingWaitSeconds", basis.ZeroCrossingWait.TotalSeconds, 0, 3600) ?? 0;
            int failures = Integer(m, "failuresBeforeDisconnected", basis.FailuresBeforeDisconnected, 1, 1000) ?? 0;
            var action = basis.SafeAction;
            if (m.Has("safeAction") && Text(m, "safeAction", required: true) is { } a)
            {
                if (a == "switchOff") action = MagnetSafeAction.SwitchOff;
                else if (a == "rampDown") action = MagnetSafeAction.RampDown;
                else Error(m.Node("safeAction"), m.Path("safeAction"), a, "must be switchOff or rampDown (what a fault or interlock with the output on leads to)");
            }

            if (Errors.Count == errors && rate > maxRate)
                Error(m.Has("rampAmpsPerSecond") ? m.Node("rampAmpsPerSecond") : m.Map, m.Path("rampAmpsPerSecond"), Fmt(rate),
                    $"must not exceed maxRampAmpsPerSecond ({Fmt(maxRate)})");
            if (Errors.Count > errors)
                return null;
            return new MagnetSettings(TimeSpan.FromSeconds(poll), tolerance, TimeSpan.FromSeconds(stable), rate, maxRate,
                TimeSpan.FromSeconds(wait), action, failures);
        }
    }
}
