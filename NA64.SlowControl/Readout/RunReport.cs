using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace NA64.SlowControl.Readout;

/// <summary>
/// The summary of one run as it is kept in its run directory: <c>summary.txt</c> for people, <c>summary.json</c> for
/// programs (the service, scripts). Counts are what the DATE file holds and what did not reach it, with the reason.
/// </summary>
/// <param name="EventsWritten">Physics (or calibration) events in the DATE file.</param>
/// <param name="EventsLost">Events that did not reach the DATE file (dropped before it or by it), all reasons.</param>
/// <param name="LostByReason">The same, per reason (builder drops and DATE-file drops).</param>
/// <param name="DateEvents">Events in the DATE file per type name, control events included.</param>
public sealed record RunReport(
    uint Run,
    string Type,
    string Status,
    string? Reason,
    string? Note,
    DateTimeOffset Start,
    DateTimeOffset End,
    long Triggers,
    long EventsWritten,
    long BytesWritten,
    long EventsLost,
    IReadOnlyDictionary<string, long> LostByReason,
    IReadOnlyDictionary<string, long> DateEvents,
    int Latency,
    string RunDirectory,
    string DataFile,
    string MapFile,
    IReadOnlyList<string> Files,
    IReadOnlyList<string> Faults)
{
    public const string TextFileName = "summary.txt";
    public const string JsonFileName = "summary.json";

    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    public static RunReport FromJson(string json) =>
        JsonSerializer.Deserialize<RunReport>(json, Json) ?? throw new InvalidDataException("summary.json holds no run summary");

    public string ToText()
    {
        var t = new StringBuilder();
        void Line(string text) => t.Append(text).Append('\n');
        Line(string.Create(CultureInfo.InvariantCulture, $"run {Run} ({Type}): {Status}{(Reason is null ? "" : " - " + Reason)}"));
        if (Note is not null)
            Line("note: " + Note);
        Line(string.Create(CultureInfo.InvariantCulture, $"start {Start:yyyy-MM-dd HH:mm:ss} UTC, end {End:yyyy-MM-dd HH:mm:ss} UTC ({(End - Start).TotalSeconds:0.0} s)"));
        Line(string.Create(CultureInfo.InvariantCulture, $"triggers {Triggers}, events written {EventsWritten}, bytes {BytesWritten}, events lost {EventsLost}"));
        foreach (var (reason, n) in LostByReason)
            Line(string.Create(CultureInfo.InvariantCulture, $"  lost {reason}: {n}"));
        Line("DATE events: " + string.Join(", ", DateEvents.Select(e => string.Create(CultureInfo.InvariantCulture, $"{e.Key} {e.Value}"))));
        Line(string.Create(CultureInfo.InvariantCulture, $"latency {Latency} sample clocks"));
        Line("directory: " + RunDirectory);
        Line("DATE file: " + DataFile);
        Line("map file: " + MapFile);
        foreach (var file in Files)
            Line("file: " + file);
        foreach (var fault in Faults)
            Line("fault: " + fault);
        return t.ToString();
    }

    /// <summary>Writes summary.txt and summary.json into the run directory; returns the path of summary.txt.</summary>
    public async Task<string> WriteAsync(CancellationToken ct = default)
    {
        string text = Path.Combine(RunDirectory, TextFileName);
        await File.WriteAllTextAsync(text, ToText(), ct).ConfigureAwait(false);
        await File.WriteAllTextAsync(Path.Combine(RunDirectory, JsonFileName), ToJson(), ct).ConfigureAwait(false);
        return text;
    }
}
