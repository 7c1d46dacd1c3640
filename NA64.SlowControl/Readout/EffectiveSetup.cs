using System.Globalization;
using YamlDotNet.RepresentationModel;

namespace NA64.SlowControl.Readout;

/// <summary>
/// The setup a run really used: the setup text with this run's overrides (e.g. <c>readout.latency</c> from
/// <c>--latency</c>) written into it, as YAML that <see cref="Setup.SetupLoader"/> loads again. A header comment names
/// the overrides; the file's own comments are not kept (the YAML model has none), its values are.
/// </summary>
public static class EffectiveSetup
{
    /// <param name="overrides">Dotted path (<c>readout.latency</c>) → value, applied in order; empty: the text unchanged.</param>
    public static string Apply(string setupText, string sourceName, uint run, IReadOnlyList<KeyValuePair<string, string>> overrides)
    {
        ArgumentNullException.ThrowIfNull(setupText);
        ArgumentNullException.ThrowIfNull(overrides);
        string header = string.Create(CultureInfo.InvariantCulture, $"# Effective setup of run {run}: {sourceName}") +
            (overrides.Count == 0 ? " (no overrides)\n" : " with " + string.Join(", ", overrides.Select(o => $"{o.Key} = {o.Value}")) + "\n");
        if (overrides.Count == 0)
            return header + setupText;

        var stream = new YamlStream();
        stream.Load(new StringReader(setupText));
        var root = (YamlMappingNode)stream.Documents[0].RootNode;
        foreach (var (path, value) in overrides)
        {
            var parts = path.Split('.');
            var map = root;
            for (int i = 0; i < parts.Length - 1; i++)
            {
                var key = new YamlScalarNode(parts[i]);
                if (!map.Children.TryGetValue(key, out var child))
                    map.Children[key] = child = new YamlMappingNode();
                map = child as YamlMappingNode ?? throw new InvalidOperationException($"override {path}: '{parts[i]}' is not a mapping in the setup");
            }

            map.Children[new YamlScalarNode(parts[^1])] = new YamlScalarNode(value);
        }

        var text = new StringWriter(CultureInfo.InvariantCulture);
        stream.Save(text, assignAnchors: false);
        return header + text;
    }
}
