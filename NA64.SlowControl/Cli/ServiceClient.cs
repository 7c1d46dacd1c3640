using System.CommandLine;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.Json.Serialization;
using NA64.SlowControl.Service;

namespace NA64.SlowControl.Cli;

/// <summary>
/// The CLI's one way to the hardware: HTTP to a running <c>na64hw serve</c>. No command opens a device itself; with no
/// service reachable a command says so in one line, with how to start one.
/// </summary>
internal sealed class ServiceClient : IDisposable
{
    public static readonly Option<string> Server = new("--server")
    {
        Description = "URL of the na64hw service (default $NA64HW_SERVER, else " + ServiceApp.DefaultListen + ")",
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable("NA64HW_SERVER") ?? ServiceApp.DefaultListen,
        Recursive = true,
    };

    public static readonly Option<string?> Token = new("--token")
    {
        Description = "Bearer token for commands that write (default $NA64HW_TOKEN, else the local expert token of the service on this machine)",
        Recursive = true,
    };

    public static JsonSerializerOptions Json { get; } = new(JsonSerializerDefaults.Web)
    {
        Converters = { new JsonStringEnumConverter() },
    };

    private readonly HttpClient _http;

    public ServiceClient(Uri server, string? token, HttpMessageHandler? handler = null)
    {
        BaseAddress = server;
        _http = handler is null ? new HttpClient() : new HttpClient(handler, disposeHandler: false);
        _http.BaseAddress = server;
        // Long enough for a command that waits for a ramp; the ramp's own failures end it sooner.
        _http.Timeout = Timeout.InfiniteTimeSpan;
        if (token is not null)
            _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
    }

    public Uri BaseAddress { get; }

    public static ServiceClient From(ParseResult parse)
    {
        string url = parse.GetValue(Server)!;
        if (!Uri.TryCreate(url, UriKind.Absolute, out var server) || server.Scheme is not ("http" or "https"))
            throw new ServiceRefusedException(0, $"--server = '{url}': not an http:// or https:// URL");
        return new ServiceClient(server, Security.TokenResolver.Resolve(parse.GetValue(Token), server)?.Token);
    }

    public Task<T> GetAsync<T>(string path, CancellationToken ct) => SendAsync<T>(HttpMethod.Get, path, null, ct);

    public async Task<T> SendAsync<T>(HttpMethod method, string path, object? body, CancellationToken ct)
    {
        using var response = await SendRawAsync(method, path, body, ct).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.NoContent)
            return default!;
        return (await response.Content.ReadFromJsonAsync<T>(Json, ct).ConfigureAwait(false))!;
    }

    public async Task<string> GetTextAsync(string path, CancellationToken ct)
    {
        using var response = await SendRawAsync(HttpMethod.Get, path, null, ct).ConfigureAwait(false);
        return await response.Content.ReadAsStringAsync(ct).ConfigureAwait(false);
    }

    /// <summary>Follows <c>/api/live</c>: (event name, JSON data) until cancelled or the service goes away.</summary>
    public async IAsyncEnumerable<(string Kind, JsonElement Data)> LiveAsync([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/live");
        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);
        }
        catch (HttpRequestException e)
        {
            throw Unreachable(e);
        }

        using (response)
        {
            await ThrowIfProblemAsync(response, ct).ConfigureAwait(false);
            await using var stream = await response.Content.ReadAsStreamAsync(ct).ConfigureAwait(false);
            await foreach (var item in System.Net.ServerSentEvents.SseParser.Create(stream).EnumerateAsync(ct).ConfigureAwait(false))
            {
                JsonElement data;
                try
                {
                    data = JsonDocument.Parse(item.Data).RootElement.Clone();
                }
                catch (JsonException e)
                {
                    throw new ServiceRefusedException(0, $"live stream: event '{item.EventType}' is not JSON: {e.Message}");
                }

                yield return (item.EventType, data);
            }
        }
    }

    private async Task<HttpResponseMessage> SendRawAsync(HttpMethod method, string path, object? body, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null)
            request.Content = JsonContent.Create(body, body.GetType(), options: Json);
        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);
        }
        catch (HttpRequestException e)
        {
            throw Unreachable(e);
        }

        try
        {
            await ThrowIfProblemAsync(response, ct).ConfigureAwait(false);
        }
        catch
        {
            response.Dispose();
            throw;
        }

        return response;
    }

    private ServiceUnreachableException Unreachable(HttpRequestException e)
    {
        string cause = e.InnerException is SocketException s ? s.SocketErrorCode switch
        {
            SocketError.ConnectionRefused => "connection refused",
            SocketError.HostNotFound => "host not found",
            SocketError.TimedOut => "timed out",
            _ => s.Message,
        } : e.Message;
        return new ServiceUnreachableException(
            $"no na64hw service at {BaseAddress} ({cause}); start one with `na64hw serve` in another terminal, or give --server URL");
    }

    private static async Task ThrowIfProblemAsync(HttpResponseMessage response, CancellationToken ct)
    {
        if (response.IsSuccessStatusCode)
            return;
        string detail = $"{(int)response.StatusCode} {response.ReasonPhrase}";
        try
        {
            var problem = await response.Content.ReadFromJsonAsync<ProblemBody>(Json, ct).ConfigureAwait(false);
            if (problem?.Detail is { Length: > 0 } d)
                detail = d;
            else if (problem?.Title is { Length: > 0 } t)
                detail = t;
        }
        catch (Exception e) when (e is JsonException or NotSupportedException or InvalidOperationException)
        {
            // Not a problem-details body (a proxy's page, say): the status line is all there is to say.
        }

        throw new ServiceRefusedException((int)response.StatusCode, detail);
    }

    public void Dispose() => _http.Dispose();

    private sealed record ProblemBody(string? Title, string? Detail, int? Status);
}

/// <summary>No service answered at the address.</summary>
internal sealed class ServiceUnreachableException(string message) : Exception(message);

/// <summary>The service answered with a problem (refused setpoint, wrong state, no token...): its detail line.</summary>
internal sealed class ServiceRefusedException(int status, string message) : Exception(message)
{
    public int Status { get; } = status;
}
