using System.Globalization;
using System.Text.RegularExpressions;
using NA64.Hardware.Digitizers.Msadc;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace NA64.SlowControl.Setup;

/// <summary>
/// Reads and validates a setup file. The YAML is walked node by node (not deserialised into objects) so that
/// every error can name the line, the field path, the value and the rule; all problems are collected and
/// reported together in one <see cref="SetupException"/>.
/// </summary>
/// <remarks>
/// Schema (see Setup/README.md): top level <c>hvController</c> (optional), <c>devices</c> (required), <c>readout</c> and
/// <c>usersFile</c> (optional).
/// Unknown keys are errors at every level, so a typo never silently falls back to a default.
/// </remarks>
public static partial class SetupLoader
{
    /// <summary>Name of the built-in setup (NA64 2018 on simulated devices).</summary>
    public const string DefaultSourceName = "builtin:na64-2018-sim.yaml";

    private const string DefaultResourceName = "NA64.SlowControl.Setup.na64-2018-sim.yaml";

    /// <summary>Environment variable naming the data directory of a setup that gives none (the built-in one).</summary>
    public const string DataDirectoryVariable = "NA64HW_DATA";

    /// <summary>
    /// The data directory of a setup without <c>dataDirectory</c> (and without the old <c>readout.outputDirectory</c>):
    /// <c>$NA64HW_DATA</c> if set, else <c>$HOME/.local/share/na64hw</c>. Never the current directory.
    /// </summary>
    /// <param name="environment">Reads a variable (tests pass their own); null reads the process environment.</param>
    public static string DefaultDataDirectory(Func<string, string?>? environment = null)
    {
        environment ??= Environment.GetEnvironmentVariable;
        if (environment(DataDirectoryVariable) is { Length: > 0 } data)
            return Path.GetFullPath(data);
        string home = environment("HOME") is { Length: > 0 } h ? h : Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        return Path.GetFullPath(Path.Combine(home, ".local", "share", "na64hw"));
    }

    public static SetupFile Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        // A relative usersFile is found beside the setup file, wherever na64hw was started from.
        string folder = Path.GetDirectoryName(Path.GetFullPath(path)) ?? Directory.GetCurrentDirectory();
        return LoadFromText(ReadFile(path), path, folder);
    }

    /// <summary>
    /// The text of a YAML file, or a <see cref="SetupException"/> with one line saying why not (missing, a folder,
    /// unreadable), so that a wrong path never shows as a stack trace or as a misleading "access denied".
    /// </summary>
    internal static string ReadFile(string path)
    {
        SetupException Refuse(string rule) => new(path, [new SetupError(path, 0, 0, "(file)", null, rule)]);
        if (Directory.Exists(path))
            throw Refuse("is a folder, not a YAML file");
        try
        {
            return File.ReadAllText(path);
        }
        catch (FileNotFoundException)
        {
            throw Refuse("does not exist");
        }
        catch (DirectoryNotFoundException)
        {
            throw Refuse($"does not exist (no folder '{Path.GetDirectoryName(Path.GetFullPath(path))}')");
        }
        catch (UnauthorizedAccessException)
        {
            throw Refuse("cannot be read: permission denied");
        }
        catch (IOException e)
        {
            throw Refuse($"cannot be read: {e.Message}");
        }
    }

    /// <summary>
    /// The root node of a file that must hold exactly one YAML document. A syntax error, an empty file (nothing but
    /// blanks and comments) and a second document each give a <see cref="SetupException"/> naming line and column.
    /// </summary>
    internal static YamlNode ParseSingleDocument(string yaml, string sourceName, string expected)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(yaml));
        }
        catch (YamlException e)
        {
            // YamlDotNet marks are 1-based; its message repeats them ("(Line: 1, Col: 10, ...) - (...): "), so only the cause is kept.
            throw new SetupException(sourceName,
                [new SetupError(sourceName, (int)e.Start.Line, (int)e.Start.Column, "(syntax)", null, SyntaxCause(e))]);
        }

        if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is YamlScalarNode { Value: null or "" } && stream.Documents.Count == 1)
            throw new SetupException(sourceName, [new SetupError(sourceName, 1, 1, "(document)", null, $"file is empty; expected {expected}")]);
        if (stream.Documents.Count > 1)
        {
            var second = stream.Documents[1].RootNode;
            throw new SetupException(sourceName,
                [new SetupError(sourceName, (int)second.Start.Line, (int)second.Start.Column, "(document)", null, "only one YAML document is allowed")]);
        }

        return stream.Documents[0].RootNode;
    }

    private static string SyntaxCause(YamlException e)
    {
        string message = e.InnerException is YamlException inner ? inner.Message : e.Message;
        int marks = message.IndexOf("): ", StringComparison.Ordinal);
        string cause = message.StartsWith("(Line:", StringComparison.Ordinal) && marks >= 0 ? message[(marks + 3)..] : message;
        // One line: YamlDotNet sometimes explains on several.
        return string.Join(' ', cause.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
    }

    public static SetupFile LoadDefault()
    {
        using var stream = typeof(SetupLoader).Assembly.GetManifestResourceStream(DefaultResourceName)
            ?? throw new InvalidOperationException($"Embedded resource {DefaultResourceName} is missing from the build");
        using var reader = new StreamReader(stream);
        return LoadFromText(reader.ReadToEnd(), DefaultSourceName);
    }

    /// <summary>The built-in setup as YAML text, e.g. to write it out as a starting point for a real installation.</summary>
    public static string DefaultText()
    {
        using var stream = typeof(SetupLoader).Assembly.GetManifestResourceStream(DefaultResourceName)
            ?? throw new InvalidOperationException($"Embedded resource {DefaultResourceName} is missing from the build");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    /// <param name="baseDirectory">The setup file's folder: relative <c>dataDirectory</c> and <c>usersFile</c> paths are
    /// resolved against it (null: text without a file, where a relative data directory is an error).</param>
    public static SetupFile LoadFromText(string yaml, string sourceName, string? baseDirectory = null)
    {
        ArgumentNullException.ThrowIfNull(yaml);
        ArgumentNullException.ThrowIfNull(sourceName);
        var reader = new Reader(sourceName, baseDirectory);
        var root = ParseSingleDocument(yaml, sourceName, "a mapping with 'devices'");
        var setup = reader.ReadSetup(root);
        if (reader.Errors.Count > 0 || setup is null)
            throw new SetupException(sourceName, reader.Errors);
        return setup;
    }

    [GeneratedRegex(@"^[A-Za-z0-9_.\-]+$")]
    private static partial Regex NamePattern();

    private sealed partial class Reader(string source, string? baseDirectory)
    {
        public List<SetupError> Errors { get; } = [];

        // Names and bus slots seen so far, for the rules that span devices: (field path, line) of the first use.
        private readonly Dictionary<string, (string Path, int Line)> _deviceNames = new(StringComparer.Ordinal);
        private readonly Dictionary<(string Transport, int Address), string> _busSlots = [];
        private readonly Dictionary<string, (string Path, int Line)> _channelNames = new(StringComparer.Ordinal);

        public void Error(YamlNode at, string field, string? value, string rule) =>
            Errors.Add(new SetupError(source, (int)at.Start.Line, (int)at.Start.Column, field, value, rule));

        public SetupFile? ReadSetup(YamlNode root)
        {
            var top = Mapping(root, "(top level)", ["hvController", "devices", "readout", "dataDirectory", "usersFile", "magnetController", "magnets"]);
            if (top is null) return null;

            string? usersFile = null;
            if (top.Has("usersFile") && Text(top, "usersFile", required: true) is { } users)
            {
                usersFile = Path.GetFullPath(users, baseDirectory ?? Directory.GetCurrentDirectory());
                if (Directory.Exists(usersFile))
                    Error(top.Node("usersFile"), "usersFile", users, $"is a folder ({usersFile}), not a users file");
                else if (!File.Exists(usersFile))
                    Error(top.Node("usersFile"), "usersFile", users, $"does not exist ({usersFile}; relative paths start at the setup file's folder)");
            }

            var settings = top.Has("hvController")
                ? ReadController(top.Node("hvController"), "hvController")
                : HvControllerSettings.Default;

            var devices = new List<DeviceSetup>();
            // A bench of magnets alone needs no HV device; anything else does.
            if (!top.Has("devices"))
            {
                if (!top.Has("magnets"))
                    Error(root, "devices", null, "is required (a list of devices)");
            }
            else if (Sequence(top.Node("devices"), "devices") is { } list)
            {
                if (list.Children.Count == 0)
                    Error(list, "devices", null, "must list at least one device");
                for (int i = 0; i < list.Children.Count; i++)
                    if (ReadDevice(list.Children[i], $"devices[{i}]", settings) is { } d)
                        devices.Add(d);
            }

            ReadoutSetup? readout = null;
            if (top.Has("readout"))
            {
                readout = ReadReadout(top.Node("readout"), "readout");
                if (readout is null)
                    return null;
            }

            var magnets = ReadMagnets(top, devices);
            string? data = ReadDataDirectory(top, readout);
            return settings is null || data is null || magnets is null ? null
                : new SetupFile(source, settings, devices) { Readout = readout, DataDirectory = data, UsersFile = usersFile, Magnets = magnets };
        }

        // dataDirectory, or the old readout.outputDirectory (same meaning, only one of them), resolved against the setup
        // file's folder so that a run never lands in whatever directory the host was started from.
        private string? ReadDataDirectory(Fields top, ReadoutSetup? readout)
        {
            bool old = top.Has("readout") && top.Node("readout") is YamlMappingNode r && r.Children.ContainsKey(new YamlScalarNode("outputDirectory"));
            if (!top.Has("dataDirectory") && !old)
                return DefaultDataDirectory();
            if (top.Has("dataDirectory") && old)
            {
                Error(top.Node("dataDirectory"), "dataDirectory", top.Raw("dataDirectory"),
                    "give either dataDirectory or the older readout.outputDirectory, not both (they name the same directory)");
                return null;
            }

            string field = old ? "readout.outputDirectory" : "dataDirectory";
            YamlNode at = old ? ((YamlMappingNode)top.Node("readout")).Children[new YamlScalarNode("outputDirectory")] : top.Node("dataDirectory");
            string? path = old ? readout?.OutputDirectory : Text(top, "dataDirectory", required: true);
            if (path is null)
                return null;
            if (path.StartsWith("~/", StringComparison.Ordinal))
                path = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), path[2..]);
            if (Path.IsPathRooted(path))
                return Path.GetFullPath(path);
            if (baseDirectory is null)
            {
                Error(at, field, path, "a relative path needs the setup file's folder to resolve against; give an absolute path");
                return null;
            }

            return Path.GetFullPath(Path.Combine(baseDirectory, path));
        }

        // MSADC register limits (NA64.Hardware MsadcRegisters): samples 25..32, 8 ports, 64 channels per module.
        private const int MinSamples = NA64.Hardware.Digitizers.Msadc.MsadcRegisters.MinSamples;
        private const int MaxSamples = NA64.Hardware.Digitizers.Msadc.MsadcRegisters.MaxSamples;
        private const int ModuleChannels = NA64.Hardware.Digitizers.Msadc.MsadcRegisters.ChannelsPerModule;
        private const int MaxLatency = NA64.Hardware.Digitizers.Msadc.MsadcRegisters.MaxLatency;
        // Window position of the built-in setup, and the latency the simulated installation is timed in at (an assumption:
        // NA64's values are not public; 40 sample clocks = 500 ns).
        private const int DefaultLatency = 40;

        private ReadoutSetup? ReadReadout(YamlNode node, string path)
        {
            var m = Mapping(node, path, ["runNumber", "samplesPerChannel", "latency", "zsSigma", "keepNeighbours", "pedestalEvents",
                "outputDirectory", "signalBox", "beam", "sources", "trackers"]);
            if (m is null) return null;
            int errors = Errors.Count;
            // Run 0 makes DDD load no maps (decoder-checks §3), so it is refused here.
            long? run = Long(m, "runNumber", 1001, 1, uint.MaxValue, "DDD loads no maps for run 0");
            int? samples = Integer(m, "samplesPerChannel", 32, MinSamples, MaxSamples, "MSADC samples per channel");
            int? latency = Integer(m, "latency", DefaultLatency, 0, MaxLatency, "MSADC window position in sample clocks");
            double? sigma = Number(m, "zsSigma", 5, 0.5, 100);
            bool? neighbours = Bool(m, "keepNeighbours", false);
            int? pedestalEvents = Integer(m, "pedestalEvents", 2000, 10, 10_000_000);
            string? output = m.Has("outputDirectory") ? Text(m, "outputDirectory", required: true) : "data";

            var box = new SignalBoxSetup(50, 2);
            if (m.Has("signalBox") && Mapping(m.Node("signalBox"), m.Path("signalBox"), ["ecalMaxGeV", "hcalMaxGeV"]) is { } b)
                box = new SignalBoxSetup(Number(b, "ecalMaxGeV", 50, 0, 1000) ?? 50, Number(b, "hcalMaxGeV", 2, 0, 1000) ?? 2);

            var beam = new BeamSetup(4.8, 20, 3.0e6, 10_000, true, 0.001, 2018, DefaultLatency);
            if (m.Has("beam") && Mapping(m.Node("beam"), m.Path("beam"),
                    ["spillOnSeconds", "spillOffSeconds", "particlesPerSpill", "triggerRateHz", "pileUp", "signalFraction", "seed",
                     "timedInLatency"]) is { } e)
            {
                beam = new BeamSetup(
                    Number(e, "spillOnSeconds", beam.SpillOnSeconds, 0.1, 3600) ?? beam.SpillOnSeconds,
                    Number(e, "spillOffSeconds", beam.SpillOffSeconds, 0, 3600) ?? beam.SpillOffSeconds,
                    Number(e, "particlesPerSpill", beam.ParticlesPerSpill, 1, 1e9) ?? beam.ParticlesPerSpill,
                    Number(e, "triggerRateHz", beam.TriggerRateHz, 0.001, 1e6) ?? beam.TriggerRateHz,
                    Bool(e, "pileUp", beam.PileUp) ?? beam.PileUp,
                    Number(e, "signalFraction", beam.SignalFraction, 0, 1) ?? beam.SignalFraction,
                    Integer(e, "seed", beam.Seed, 0, int.MaxValue) ?? beam.Seed,
                    Integer(e, "timedInLatency", beam.TimedInLatency, 0, MaxLatency, "MSADC sample clocks") ?? beam.TimedInLatency);
            }

            var sources = new List<ReadoutSourceSetup>();
            if (!m.Has("sources"))
                Error(node, m.Path("sources"), null, "is required (a list of S-Link sources with their MSADC modules)");
            else if (Sequence(m.Node("sources"), m.Path("sources")) is { } list)
            {
                if (list.Children.Count == 0)
                    Error(list, m.Path("sources"), null, "must list at least one source");
                var sourceIds = new Dictionary<int, string>();
                var moduleNames = new Dictionary<string, string>(StringComparer.Ordinal);
                var channels = new List<(int First, string Path)>();
                for (int i = 0; i < list.Children.Count; i++)
                {
                    string sp = $"{m.Path("sources")}[{i}]";
                    var sm = Mapping(list.Children[i], sp, ["sourceId", "modules", "data", "kind", "adcs"]);
                    if (sm is null) continue;
                    var kind = ReadoutSourceKind.Msadc;
                    if (sm.Has("kind") && Text(sm, "kind", required: true) is { } kindText)
                    {
                        if (kindText == "apv") kind = ReadoutSourceKind.Apv;
                        else if (kindText != "msadc") Error(sm.Node("kind"), sm.Path("kind"), kindText, "must be msadc (a CATCH with MSADC modules) or apv (a GeSiCA with APV-ADCs)");
                    }
                    // 896..1023 is the S-Link multiplexer range (decoder-checks §2).
                    int? id = Integer(sm, "sourceId", null, 0, 895, "S-Link source id; 896..1023 is the multiplexer range");
                    if (id is not null && !sourceIds.TryAdd(id.Value, sp))
                        Error(sm.Node("sourceId"), sm.Path("sourceId"), sm.Raw("sourceId"), $"source id already used by {sourceIds[id.Value]}");
                    string? data = DatagramEndpointText(sm, "data");
                    var modules = new List<ReadoutModuleSetup>();
                    var adcs = kind == ReadoutSourceKind.Apv ? ReadApvAdcs(sm, list.Children[i], data, moduleNames) : [];
                    if (kind == ReadoutSourceKind.Apv)
                    {
                        if (sm.Has("modules"))
                            Error(sm.Node("modules"), sm.Path("modules"), null, "an apv source lists adcs, not MSADC modules");
                    }
                    else if (sm.Has("adcs"))
                        Error(sm.Node("adcs"), sm.Path("adcs"), null, "an msadc source lists modules; adcs belong to a source of kind apv");
                    else if (!sm.Has("modules"))
                        Error(list.Children[i], sm.Path("modules"), null, "is required (a list of MSADC modules)");
                    else if (Sequence(sm.Node("modules"), sm.Path("modules")) is { } ml)
                    {
                        if (ml.Children.Count is 0 or > 8)
                            Error(ml, sm.Path("modules"), ml.Children.Count.ToString(CultureInfo.InvariantCulture), "must list 1..8 modules (one per HotLink port)");
                        var ports = new Dictionary<int, string>();
                        for (int k = 0; k < ml.Children.Count; k++)
                        {
                            string mp = $"{sm.Path("modules")}[{k}]";
                            var mm = Mapping(ml.Children[k], mp, ["name", "port", "firstChannel", "control"]);
                            if (mm is null) continue;
                            string? name = Name(mm, "name");
                            int? port = Integer(mm, "port", null, 0, 7, "HotLink port");
                            int? first = Integer(mm, "firstChannel", null, 0, 100_000, "first detector-layout channel of the module");
                            if (name is not null && !moduleNames.TryAdd(name, mp))
                                Error(mm.Node("name"), mm.Path("name"), name, $"module name already used by {moduleNames[name]}");
                            if (port is not null && !ports.TryAdd(port.Value, mp))
                                Error(mm.Node("port"), mm.Path("port"), mm.Raw("port"), $"port already used by {ports[port.Value]} on this source");
                            if (first is not null)
                            {
                                foreach (var (other, otherPath) in channels)
                                {
                                    if (first.Value < other + ModuleChannels && other < first.Value + ModuleChannels)
                                        Error(mm.Node("firstChannel"), mm.Path("firstChannel"), mm.Raw("firstChannel"),
                                            $"channels {first.Value}..{first.Value + ModuleChannels - 1} overlap those of {otherPath} ({other}..{other + ModuleChannels - 1}): a channel is read by one module");
                                }

                                channels.Add((first.Value, mp));
                            }

                            string? control = DatagramEndpointText(mm, "control");
                            // A simulated module sends its data to a simulated source: both 'sim' or neither.
                            if (control is not null && data is not null && (control == DatagramEndpoint.Simulated) != (data == DatagramEndpoint.Simulated))
                                Error(mm.Node("control"), mm.Path("control"), control,
                                    $"must be 'sim' exactly when the source's data is 'sim' (data = '{data}'): a simulated module sends to a simulated source");
                            if (name is not null && port is not null && first is not null)
                                modules.Add(new ReadoutModuleSetup(name, port.Value, first.Value, (int)ml.Children[k].Start.Line) { Control = control ?? DatagramEndpoint.Simulated });
                        }
                    }

                    if (id is not null)
                        sources.Add(new ReadoutSourceSetup(id.Value, modules, (int)list.Children[i].Start.Line) { Data = data ?? DatagramEndpoint.Simulated, Kind = kind, Adcs = adcs });
                }
            }

            var trackers = m.Has("trackers") ? ReadTrackers(m.Node("trackers"), m.Path("trackers"), sources) : null;
            if (sources.Any(s => s.Kind == ReadoutSourceKind.Apv) && !m.Has("trackers"))
                Error(node, m.Path("trackers"), null, "is required when a source is of kind apv (which detector each APV reads)");
            if (Errors.Count > errors || run is null || samples is null || latency is null || sigma is null || neighbours is null || pedestalEvents is null || output is null)
                return null;
            return new ReadoutSetup((uint)run.Value, samples.Value, latency.Value, sigma.Value, neighbours.Value, pedestalEvents.Value, output,
                box, beam, sources, (int)node.Start.Line) { Trackers = trackers };
        }

        /// <summary>An optional datagram endpoint (<c>sim</c> or <c>udp:HOST:PORT</c>), default <c>sim</c>; a bad one is an error (null).</summary>
        private string? DatagramEndpointText(Fields m, string key)
        {
            string? text = Text(m, key, required: false);
            if (text is null)
                return m.Has(key) ? null : DatagramEndpoint.Simulated;
            if (DatagramEndpoint.TryParse(text, out _, out string rule))
                return text;
            Error(m.Node(key), m.Path(key), text, rule);
            return null;
        }

        private bool? Bool(Fields m, string key, bool fallback)
        {
            if (!m.Has(key)) return fallback;
            string? raw = Scalar(m, key, "true or false");
            if (raw is null) return null;
            if (raw is "true" or "false") return raw == "true";
            Error(m.Node(key), m.Path(key), raw, "must be true or false");
            return null;
        }

        private long? Long(Fields m, string key, long fallback, long min, long max, string what)
        {
            if (!m.Has(key)) return fallback;
            string? raw = Scalar(m, key, "a whole number");
            if (raw is null) return null;
            if (!long.TryParse(raw, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long v))
            {
                Error(m.Node(key), m.Path(key), raw, "must be a whole number in base 10");
                return null;
            }

            if (v < min || v > max)
            {
                Error(m.Node(key), m.Path(key), raw, string.Create(CultureInfo.InvariantCulture, $"must be in {min}..{max} ({what})"));
                return null;
            }

            return v;
        }

        private HvControllerSettings? ReadController(YamlNode node, string path)
        {
            var m = Mapping(node, path, ["pollPeriodSeconds", "onToleranceVolts", "commandConfirmSeconds", "recovery"]);
            if (m is null) return null;
            var d = HvControllerSettings.Default;
            double poll = Number(m, "pollPeriodSeconds", d.PollPeriod.TotalSeconds, min: 0.01, max: 3600) ?? d.PollPeriod.TotalSeconds;
            double tol = Number(m, "onToleranceVolts", d.OnToleranceVolts, min: 0.01, max: 1000) ?? d.OnToleranceVolts;
            double confirm = Number(m, "commandConfirmSeconds", d.CommandConfirmTimeout.TotalSeconds, min: 0.1, max: 3600)
                ?? d.CommandConfirmTimeout.TotalSeconds;
            var recovery = d.Recovery;
            if (m.Has("recovery"))
            {
                var r = Mapping(m.Node("recovery"), path + ".recovery", ["stepBelowNominalVolts", "stableSeconds", "maxPerHour"]);
                if (r is not null)
                {
                    double step = Number(r, "stepBelowNominalVolts", recovery.StepBelowNominalVolts, min: 0, max: 1000) ?? recovery.StepBelowNominalVolts;
                    double stable = Number(r, "stableSeconds", recovery.StableTime.TotalSeconds, min: 0, max: 86400) ?? recovery.StableTime.TotalSeconds;
                    int max = Integer(r, "maxPerHour", recovery.MaxPerHour, min: 0, max: 1000) ?? recovery.MaxPerHour;
                    recovery = new TripRecoverySettings(step, TimeSpan.FromSeconds(stable), max);
                }
            }
            return new HvControllerSettings(TimeSpan.FromSeconds(poll), tol, TimeSpan.FromSeconds(confirm), recovery);
        }

        private DeviceSetup? ReadDevice(YamlNode node, string path, HvControllerSettings? settings)
        {
            var m = Mapping(node, path, ["name", "kind", "transport", "address", "channels"]);
            if (m is null) return null;
            string? name = Name(m, "name");
            string? kindName = Text(m, "kind", required: true);
            DeviceKind? kind = null;
            if (kindName is not null)
            {
                kind = DeviceKind.Find(kindName);
                if (kind is null)
                    Error(m.Node("kind"), m.Path("kind"), kindName,
                        $"unknown device kind; known kinds: {string.Join(", ", DeviceKind.All.Select(k => k.Name))}");
            }
            string? transport = Text(m, "transport", required: true);
            if (transport is not null)
                CheckTransport(m.Node("transport"), m.Path("transport"), transport);
            int? address = kind is null
                ? Integer(m, "address", null, int.MinValue, int.MaxValue)
                : Integer(m, "address", null, kind.MinAddress, kind.MaxAddress, $"bus address of a {kind.Name}");

            var channels = new List<ChannelSetup>();
            if (!m.Has("channels"))
                Error(node, m.Path("channels"), null, "is required (a list of named channels)");
            else if (Sequence(m.Node("channels"), m.Path("channels")) is { } list)
            {
                if (list.Children.Count == 0)
                    Error(list, m.Path("channels"), null, "must list at least one channel");
                var byIndex = new Dictionary<int, string>();
                for (int i = 0; i < list.Children.Count; i++)
                {
                    var c = ReadChannel(list.Children[i], $"{m.Path("channels")}[{i}]", kind, settings);
                    if (c is null) continue;
                    if (byIndex.TryGetValue(c.Index, out var other))
                        Error(list.Children[i], $"{m.Path("channels")}[{i}].index", c.Index.ToString(CultureInfo.InvariantCulture),
                            $"channel index already used by '{other}' on this device");
                    else
                        byIndex[c.Index] = c.Name;
                    channels.Add(c);
                }
            }
            if (name is not null && !_deviceNames.TryAdd(name, (m.Path("name"), (int)node.Start.Line)))
                Error(m.Node("name"), m.Path("name"), name,
                    $"device name already used by {_deviceNames[name].Path} at line {_deviceNames[name].Line.ToString(CultureInfo.InvariantCulture)}");
            // Two modules with one address on one chain would both answer and garble the bus.
            if (name is not null && transport is not null && address is not null && !_busSlots.TryAdd((transport, address.Value), name))
                Error(m.Node("address"), m.Path("address"), m.Raw("address"),
                    $"address already used on transport '{transport}' by device '{_busSlots[(transport, address.Value)]}'");
            if (name is null || kind is null || transport is null || address is null) return null;
            return new DeviceSetup(name, kind, transport, address.Value, channels, (int)node.Start.Line);
        }

        private ChannelSetup? ReadChannel(YamlNode node, string path, DeviceKind? kind, HvControllerSettings? settings)
        {
            var m = Mapping(node, path,
                ["name", "index", "nominalVolts", "maxVolts", "maxMicroamps", "maxRampVoltsPerSecond",
                 "currentLimitMicroamps", "rampUpVoltsPerSecond", "rampDownVoltsPerSecond"]);
            if (m is null) return null;
            string? name = Name(m, "name");
            int? index = kind is null
                ? Integer(m, "index", null, 0, int.MaxValue)
                : Integer(m, "index", null, 0, kind.ChannelCount - 1, $"channel index on a {kind.Name} ({kind.ChannelCount} channels)");
            double? maxVolts = Number(m, "maxVolts", null, 0, kind?.MaxVolts ?? double.MaxValue, kind is null ? null : $"hardware maximum of a {kind.Name}");
            double? nominal = Number(m, "nominalVolts", null, 0, double.MaxValue);
            double? maxMicroamps = Number(m, "maxMicroamps", null, 0, kind?.MaxMicroamps ?? double.MaxValue, kind is null ? null : $"hardware maximum of a {kind.Name}");
            double? maxRamp = Number(m, "maxRampVoltsPerSecond", null, 0, double.MaxValue);
            if (maxMicroamps is 0) Error(m.Node("maxMicroamps"), m.Path("maxMicroamps"), "0", "must be above 0");
            if (maxRamp is 0) Error(m.Node("maxRampVoltsPerSecond"), m.Path("maxRampVoltsPerSecond"), "0", "must be above 0");

            if (nominal is not null && maxVolts is not null && nominal > maxVolts)
                Error(m.Node("nominalVolts"), m.Path("nominalVolts"), m.Raw("nominalVolts"),
                    $"must not exceed maxVolts ({Fmt(maxVolts.Value)})");
            if (nominal is not null && settings is not null && nominal > 0 && nominal < settings.Recovery.StepBelowNominalVolts)
                Error(m.Node("nominalVolts"), m.Path("nominalVolts"), m.Raw("nominalVolts"),
                    $"must be at least hvController.recovery.stepBelowNominalVolts ({Fmt(settings.Recovery.StepBelowNominalVolts)}) so that the recovery step stays positive");

            if (name is not null && !_channelNames.TryAdd(name, (m.Path("name"), (int)node.Start.Line)))
                Error(m.Node("name"), m.Path("name"), name,
                    $"channel name already used by {_channelNames[name].Path} at line {_channelNames[name].Line.ToString(CultureInfo.InvariantCulture)}; channel names are unique in the whole setup");

            double? iset = Optional(m, "currentLimitMicroamps", maxMicroamps, "maxMicroamps");
            double? rup = Optional(m, "rampUpVoltsPerSecond", maxRamp, "maxRampVoltsPerSecond");
            double? rdw = Optional(m, "rampDownVoltsPerSecond", maxRamp, "maxRampVoltsPerSecond");

            if (name is null || index is null || nominal is null || maxVolts is null || maxMicroamps is null || maxRamp is null
                || iset is null || rup is null || rdw is null)
                return null;
            return new ChannelSetup(name, index.Value, nominal.Value, maxVolts.Value, maxMicroamps.Value, maxRamp.Value,
                iset.Value, rup.Value, rdw.Value, (int)node.Start.Line);
        }

        /// <summary>An optional setting that defaults to its ceiling and may not exceed it.</summary>
        private double? Optional(Fields m, string key, double? ceiling, string ceilingName)
        {
            if (!m.Has(key)) return ceiling;
            double? v = Number(m, key, null, 0, double.MaxValue);
            if (v is null) return null;
            if (v == 0)
            {
                Error(m.Node(key), m.Path(key), m.Raw(key), "must be above 0");
                return null;
            }
            if (ceiling is not null && v > ceiling)
            {
                Error(m.Node(key), m.Path(key), m.Raw(key), $"must not exceed {ceilingName} ({Fmt(ceiling.Value)})");
                return null;
            }
            return v;
        }

        private void CheckTransport(YamlNode node, string path, string transport)
        {
            int colon = transport.IndexOf(':', StringComparison.Ordinal);
            string scheme = colon < 0 ? transport : transport[..colon];
            string rest = colon < 0 ? "" : transport[(colon + 1)..];
            bool ok = scheme switch
            {
                "sim" => true,
                "serial" or "tcp" => rest.Length > 0,
                _ => false,
            };
            if (!ok)
                Error(node, path, transport,
                    "must be 'serial:<device>[?baud=..&parity=..&flow=..]', 'tcp:<host>:<port>' or 'sim[:<port name>]'");
        }

        // ---- node helpers ---------------------------------------------------------------------------

        private Fields? Mapping(YamlNode node, string path, string[] allowed)
        {
            if (node is not YamlMappingNode map)
            {
                Error(node, path, Describe(node), "must be a mapping (key: value lines)");
                return null;
            }
            var fields = new Fields(map, path);
            foreach (var (k, v) in map.Children)
            {
                string key = k is YamlScalarNode s ? s.Value ?? "" : "";
                if (Array.IndexOf(allowed, key) < 0)
                {
                    Error(k, path == "(top level)" ? key : $"{path}.{key}", null,
                        $"unknown field; allowed here: {string.Join(", ", allowed)}");
                    continue;
                }
                fields.Values[key] = v;
            }
            return fields;
        }

        private YamlSequenceNode? Sequence(YamlNode node, string path)
        {
            if (node is YamlSequenceNode seq) return seq;
            Error(node, path, Describe(node), "must be a list ('- ' items)");
            return null;
        }

        private string? Scalar(Fields m, string key, string expected)
        {
            var node = m.Node(key);
            if (node is YamlScalarNode s && s.Value is { Length: > 0 } v) return v;
            Error(node, m.Path(key), Describe(node), $"must be {expected}");
            return null;
        }

        private string? Text(Fields m, string key, bool required)
        {
            if (!m.Has(key))
            {
                if (required) Error(m.Map, m.Path(key), null, "is required");
                return null;
            }
            return Scalar(m, key, "a text value");
        }

        private string? Name(Fields m, string key)
        {
            string? v = Text(m, key, required: true);
            if (v is not null && !NamePattern().IsMatch(v))
            {
                Error(m.Node(key), m.Path(key), v, "may contain only letters, digits, '.', '_' and '-'");
                return null;
            }
            return v;
        }

        /// <summary>A number in [min, max]; missing gives <paramref name="fallback"/> or, when that is null, a 'required' error.</summary>
        private double? Number(Fields m, string key, double? fallback, double min, double max, string? maxName = null)
        {
            if (!m.Has(key))
            {
                if (fallback is null) Error(m.Map, m.Path(key), null, "is required");
                return fallback;
            }
            string? raw = Scalar(m, key, "a number");
            if (raw is null) return null;
            if (!double.TryParse(raw, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) || !double.IsFinite(v))
            {
                Error(m.Node(key), m.Path(key), raw, "must be a number (decimal point '.')");
                return null;
            }
            if (v < min || v > max)
            {
                Error(m.Node(key), m.Path(key), raw, RangeRule(min, max, maxName));
                return null;
            }
            return v;
        }

        private int? Integer(Fields m, string key, int? fallback, int min, int max, string? what = null)
        {
            if (!m.Has(key))
            {
                if (fallback is null) Error(m.Map, m.Path(key), null, "is required");
                return fallback;
            }
            string? raw = Scalar(m, key, "a whole number");
            if (raw is null) return null;
            // Base 10 only: a leading 0 is not octal and 0x is not accepted.
            if (!int.TryParse(raw, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int v))
            {
                Error(m.Node(key), m.Path(key), raw, "must be a whole number in base 10");
                return null;
            }
            if (v < min || v > max)
            {
                string range = string.Create(CultureInfo.InvariantCulture, $"must be in {min}..{max}");
                Error(m.Node(key), m.Path(key), raw, what is null ? range : $"{range} ({what})");
                return null;
            }
            return v;
        }

        private static string RangeRule(double min, double max, string? maxName)
        {
            if (max == double.MaxValue) return $"must be at least {Fmt(min)}";
            string rule = $"must be in {Fmt(min)}..{Fmt(max)}";
            return maxName is null ? rule : $"{rule} ({maxName})";
        }

        private static string Describe(YamlNode node) => node switch
        {
            YamlScalarNode s => s.Value ?? "",
            YamlSequenceNode => "(a list)",
            YamlMappingNode => "(a mapping)",
            _ => node.NodeType.ToString(),
        };
    }

    private static string Fmt(double v) => v.ToString("0.###", CultureInfo.InvariantCulture);

    /// <summary>The known keys of one mapping with their value nodes.</summary>
    private sealed class Fields(YamlMappingNode map, string path)
    {
        public YamlMappingNode Map { get; } = map;
        public Dictionary<string, YamlNode> Values { get; } = new(StringComparer.Ordinal);
        public bool Has(string key) => Values.ContainsKey(key);
        public YamlNode Node(string key) => Values.TryGetValue(key, out var n) ? n : Map;
        public string Path(string key) => path == "(top level)" ? key : $"{path}.{key}";
        public string? Raw(string key) => Values.TryGetValue(key, out var n) && n is YamlScalarNode s ? s.Value : null;
    }
}
