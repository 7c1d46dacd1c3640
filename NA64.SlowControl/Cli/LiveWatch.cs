using System.Globalization;
using System.Text.Json;
using Spectre.Console;

namespace NA64.SlowControl.Cli;

/// <summary>
/// <c>status --watch</c> of any table of devices: follows the live stream's events of one kind; on a terminal the table
/// is redrawn as they come, into a pipe or a log the table once and then one line per device whose line changed.
/// Ctrl-C ends it (exit 0); the service closing the stream is a failure (exit 1).
/// </summary>
internal static class LiveWatch
{
    public static async Task<int> RunAsync<T>(ServiceClient client, IReadOnlyList<T> items, string eventKind, Func<T, string> key,
        Func<IReadOnlyList<T>, Table> table, Func<T, string> line, Func<T, DateTimeOffset?> time, CancellationToken ct)
    {
        var byName = items.ToDictionary(key, StringComparer.Ordinal);
        var order = items.Select(key).ToList();
        bool interactive = AnsiConsole.Profile.Capabilities.Interactive;
        try
        {
            if (interactive)
            {
                await AnsiConsole.Live(table(items)).StartAsync(async live =>
                {
                    await foreach (var _ in UpdatesAsync(client, byName, eventKind, key, ct).ConfigureAwait(false))
                        live.UpdateTarget(table(order.Select(n => byName[n]).ToList()));
                }).ConfigureAwait(false);
            }
            else
            {
                AnsiConsole.Write(table(items));
                var last = items.ToDictionary(key, line, StringComparer.Ordinal);
                await foreach (var view in UpdatesAsync(client, byName, eventKind, key, ct).ConfigureAwait(false))
                {
                    string text = line(view);
                    if (last[key(view)] == text)
                        continue;
                    last[key(view)] = text;
                    AnsiConsole.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{time(view):HH:mm:ss} {text}"));
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // Ctrl-C is how a watch ends.
            return ExitCodes.Ok;
        }

        if (ct.IsCancellationRequested)
            return ExitCodes.Ok;
        AnsiConsole.MarkupLine("[red]The service closed the live stream.[/]");
        return ExitCodes.Failed;
    }

    /// <summary>The live stream's events of one kind for the devices of the table, each stored into it as it comes.</summary>
    private static async IAsyncEnumerable<T> UpdatesAsync<T>(ServiceClient client, Dictionary<string, T> byName, string eventKind, Func<T, string> key,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
    {
        await foreach (var (kind, data) in client.LiveAsync(ct).ConfigureAwait(false))
        {
            if (kind != eventKind || data.Deserialize<T>(ServiceClient.Json) is not { } view || !byName.ContainsKey(key(view)))
                continue;
            byName[key(view)] = view;
            yield return view;
        }
    }
}
