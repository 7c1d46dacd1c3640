using System.Globalization;
using NA64.Hardware.Digitizers.Apv.Format;
using NA64.Hardware.Digitizers.Msadc;
using NA64.Hardware.Trackers.Micromegas;
using NA64.Readout.Trackers;
using YamlDotNet.RepresentationModel;

namespace NA64.SlowControl.Setup;

public static partial class SetupLoader
{
    /// <summary>Built-in multiplexing maps by the name a setup gives them.</summary>
    public static IReadOnlyDictionary<string, MultiplexingMap> BuiltInMultiplexingMaps { get; } = new Dictionary<string, MultiplexingMap>(StringComparer.Ordinal)
    {
        ["na64-2016-2018"] = MultiplexingMap.Na64,
        ["na64-improved"] = MultiplexingMap.Improved,
    };

    private sealed partial class Reader
    {
        /// <summary>The APV-ADCs of a GeSiCA source: names unique with the MSADC modules, adc ids 0..255 unique on the source.</summary>
        private List<ApvAdcSetup> ReadApvAdcs(Fields source, YamlNode at, string? data, Dictionary<string, string> moduleNames)
        {
            var adcs = new List<ApvAdcSetup>();
            if (!source.Has("adcs"))
            {
                Error(at, source.Path("adcs"), null, "is required for an apv source (its APV-ADC modules)");
                return adcs;
            }

            if (Sequence(source.Node("adcs"), source.Path("adcs")) is not { } list)
                return adcs;
            if (list.Children.Count is 0 or > 16)
                Error(list, source.Path("adcs"), list.Children.Count.ToString(CultureInfo.InvariantCulture), "must list 1..16 APV-ADC modules");
            var ids = new Dictionary<int, string>();
            for (int k = 0; k < list.Children.Count; k++)
            {
                string path = $"{source.Path("adcs")}[{k}]";
                var a = Mapping(list.Children[k], path, ["name", "adcId", "control"]);
                if (a is null) continue;
                string? name = Name(a, "name");
                int? id = Integer(a, "adcId", null, 0, 255, "adc_id in the ADC header");
                if (name is not null && !moduleNames.TryAdd(name, path))
                    Error(a.Node("name"), a.Path("name"), name, $"module name already used by {moduleNames[name]}");
                if (id is not null && !ids.TryAdd(id.Value, path))
                    Error(a.Node("adcId"), a.Path("adcId"), a.Raw("adcId"), $"adc id already used by {ids[id.Value]} on this source");
                string? control = DatagramEndpointText(a, "control");
                if (control is not null && data is not null && (control == DatagramEndpoint.Simulated) != (data == DatagramEndpoint.Simulated))
                    Error(a.Node("control"), a.Path("control"), control,
                        $"must be 'sim' exactly when the source's data is 'sim' (data = '{data}'): a simulated module sends to a simulated source");
                if (name is not null && id is not null)
                    adcs.Add(new ApvAdcSetup(name, id.Value, (int)list.Children[k].Start.Line) { Control = control ?? DatagramEndpoint.Simulated });
            }

            return adcs;
        }

        /// <summary>
        /// <c>readout.trackers</c>: the multiplexing map (a built-in name or a file beside the setup), the sparse variant,
        /// and the detectors with the APV source, ADC and first chip each reads. Every reference is checked against the
        /// sources; the map is validated as it loads (a map file's own errors name its line).
        /// </summary>
        private TrackerSetup? ReadTrackers(YamlNode node, string path, IReadOnlyList<ReadoutSourceSetup> sources)
        {
            var m = Mapping(node, path, ["multiplexingMap", "sparseVariant", "detectors"]);
            if (m is null) return null;
            int errors = Errors.Count;
            string mapName = Text(m, "multiplexingMap", required: false) ?? "na64-2016-2018";
            MultiplexingMap? map = null;
            if (BuiltInMultiplexingMaps.TryGetValue(mapName, out var builtIn))
                map = builtIn;
            else if (baseDirectory is null && !Path.IsPathRooted(mapName))
                Error(m.Node("multiplexingMap"), m.Path("multiplexingMap"), mapName,
                    $"is neither a built-in map ({string.Join(", ", BuiltInMultiplexingMaps.Keys)}) nor an absolute path");
            else
            {
                string file = Path.GetFullPath(mapName, baseDirectory ?? Directory.GetCurrentDirectory());
                try
                {
                    map = MultiplexingMap.Load(file);
                }
                catch (MultiplexingMapException e)
                {
                    Error(m.Node("multiplexingMap"), m.Path("multiplexingMap"), mapName, $"map refused: {e.Message}");
                }
                catch (IOException e)
                {
                    Error(m.Node("multiplexingMap"), m.Path("multiplexingMap"), mapName,
                        $"cannot be read ({e.Message}); built-in maps: {string.Join(", ", BuiltInMultiplexingMaps.Keys)}");
                }
            }

            var variant = ApvSparseVariant.GemSi;
            if (m.Has("sparseVariant") && Text(m, "sparseVariant", required: true) is { } v)
            {
                if (v == "twoSlope") variant = ApvSparseVariant.TwoSlope;
                else if (v != "gemSi") Error(m.Node("sparseVariant"), m.Path("sparseVariant"), v, "must be gemSi (DDD's default) or twoSlope (map option rich_adc)");
            }

            var detectors = new List<TrackerDetectorLayout>();
            if (!m.Has("detectors"))
                Error(node, m.Path("detectors"), null, "is required (the tracker detectors and the APVs they are read by)");
            else if (Sequence(m.Node("detectors"), m.Path("detectors")) is { } list)
            {
                var apvSources = sources.Where(s => s.Kind == ReadoutSourceKind.Apv).ToDictionary(s => s.SourceId);
                var chips = new Dictionary<(int, int, int), string>();
                for (int i = 0; i < list.Children.Count; i++)
                {
                    string dp = $"{m.Path("detectors")}[{i}]";
                    var d = Mapping(list.Children[i], dp, ["name", "kind", "source", "adc", "chip", "zsSigma"]);
                    if (d is null) continue;
                    string? name = Name(d, "name");
                    TrackerDetectorKind? kind = Text(d, "kind", required: true) switch
                    {
                        "micromegas" => TrackerDetectorKind.Micromegas,
                        "gem" => TrackerDetectorKind.Gem,
                        null => null,
                        var other => Refuse(d, "kind", other, "must be micromegas or gem"),
                    };
                    int? source = Integer(d, "source", apvSources.Count == 1 ? apvSources.Keys.First() : null, 0, 895, "S-Link source id of the GeSiCA");
                    int? adc = Integer(d, "adc", null, 0, 255, "adc id on that source");
                    int? chip = Integer(d, "chip", null, 0, 15, "first APV chip on that ADC");
                    double? sigma = kind is null ? null : Number(d, "zsSigma", TrackerDetectorLayout.DefaultThresholdSigmas(kind.Value), 0.5, 100);
                    if (source is not null && !apvSources.ContainsKey(source.Value))
                        Error(d.Has("source") ? d.Node("source") : d.Map, d.Path("source"), source.Value.ToString(CultureInfo.InvariantCulture),
                            $"is not a source of kind apv in readout.sources (apv sources: {(apvSources.Count == 0 ? "none" : string.Join(", ", apvSources.Keys))})");
                    else if (source is not null && adc is not null && apvSources[source.Value].Adcs.All(a => a.AdcId != adc.Value))
                        Error(d.Node("adc"), d.Path("adc"), d.Raw("adc"), $"source {source.Value} has no APV-ADC with this adcId");
                    if (name is null || kind is null || source is null || adc is null || chip is null || sigma is null)
                        continue;
                    var detector = new TrackerDetectorLayout(name, kind.Value, source.Value, adc.Value, chip.Value, sigma.Value);
                    // A GEM's four APVs are chips chip..chip+3 of its ADC; two detectors must not read the same chip.
                    if (chip.Value + detector.ChipCount > 16)
                        Error(d.Node("chip"), d.Path("chip"), d.Raw("chip"), $"a {kind.Value} needs chips {chip}..{chip + detector.ChipCount - 1}: past chip 15");
                    foreach (var c in Enumerable.Range(chip.Value, detector.ChipCount))
                    {
                        if (!chips.TryAdd((source.Value, adc.Value, c), dp))
                            Error(d.Node("chip"), d.Path("chip"), d.Raw("chip"), $"APV chip {c} of ADC {adc} is already read by {chips[(source.Value, adc.Value, c)]}");
                    }

                    detectors.Add(detector);
                }
            }

            if (Errors.Count > errors || map is null)
                return null;
            try
            {
                return new TrackerSetup(new TrackerLayout(detectors, map, sparseVariant: variant), mapName, (int)node.Start.Line);
            }
            catch (ArgumentException e)
            {
                Error(node, path, null, e.Message.Split(" (Parameter", 2)[0]);
                return null;
            }
        }

        private TrackerDetectorKind? Refuse(Fields m, string key, string value, string rule)
        {
            Error(m.Node(key), m.Path(key), value, rule);
            return null;
        }
    }
}
