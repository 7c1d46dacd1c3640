using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using NA64.SlowControl.Security;

namespace NA64.SlowControl.Tests.Security;

/// <summary>The security and audit pieces in a real ASP.NET Core pipeline (in-process TestServer) with dummy endpoints.</summary>
public sealed class ApiSecurityTests : IAsyncLifetime
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), $"na64-audit-{Guid.NewGuid():N}");
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 7, 14, 9, 30, 0, TimeSpan.Zero));
    private WebApplication _app = null!;
    private AuditLog _audit = null!;
    private HttpClient _client = null!;
    private int _switchedOn;

    private string AuditPath => Path.Combine(_folder, "audit.log");

    public async Task InitializeAsync()
    {
        _audit = new AuditLog(AuditPath, _time);
        var options = new SecurityOptions
        {
            Tokens = new TokenRegistry(
            [
                new UserEntry("vera", Role.Viewer, UsersFile.HashToken("viewer-token")),
                new UserEntry("sam", Role.Shifter, UsersFile.HashToken("shifter-token")),
                new UserEntry("eve", Role.Expert, UsersFile.HashToken("expert-token")),
            ]),
        };
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseTestServer();
        builder.Logging.ClearProviders();
        builder.Services.AddNa64Security(options);
        _app = builder.Build();
        _app.UseNa64Audit(_audit);
        _app.UseNa64Security();
        _app.MapGet("/api/hv", () => Results.Ok(new { channels = 4 }));
        _app.MapPost("/api/hv/{channel}/on", (string channel) =>
        {
            Interlocked.Increment(ref _switchedOn);
            return Results.Ok(new { channel, state = "RampingUp" });
        }).RequireAuthorization(Roles.Shifter);
        _app.MapPut("/api/hv/{channel}/setpoint", (string channel, Setpoint body) =>
            body.Volts > 600
                ? Results.Problem(detail: $"{channel}: volts = '{body.Volts}': above maxVolts (600)", statusCode: StatusCodes.Status422UnprocessableEntity)
                : Results.Ok()).RequireAuthorization(Roles.Expert);
        _app.MapPost("/api/runs", () => Results.Problem(detail: "a run is already going (run 1001)", statusCode: StatusCodes.Status409Conflict))
            .RequireAuthorization(Roles.Shifter);
        _app.MapPost("/api/boom", string () => throw new InvalidOperationException("board HV-A not answering")).RequireAuthorization(Roles.Shifter);
        await _app.StartAsync();
        _client = _app.GetTestClient();
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _app.DisposeAsync();
        _audit.Dispose();
        Directory.Delete(_folder, recursive: true);
    }

    private sealed record Setpoint(double Volts);

    private HttpRequestMessage Post(string path, string? token, string? json = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path);
        if (token is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        if (json is not null) request.Content = new StringContent(json, Encoding.UTF8, "application/json");
        return request;
    }

    private List<JsonElement> AuditLines() =>
        [.. File.ReadAllLines(AuditPath).Select(l => JsonDocument.Parse(l).RootElement.Clone())];

    private static async Task<JsonElement> Problem(HttpResponseMessage response)
    {
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        return (await response.Content.ReadFromJsonAsync<JsonElement>());
    }

    [Fact]
    public async Task No_token_is_401_with_problem_details_and_WWW_Authenticate_before_the_endpoint_runs()
    {
        using var response = await _client.SendAsync(Post("/api/hv/MM1.strips/on", null));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("Bearer", Assert.Single(response.Headers.WwwAuthenticate).Scheme);
        var problem = await Problem(response);
        Assert.Equal(401, problem.GetProperty("status").GetInt32());
        Assert.Contains("needs a token", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(0, _switchedOn);
        var line = Assert.Single(AuditLines());
        Assert.Equal(JsonValueKind.Null, line.GetProperty("user").ValueKind);
        Assert.Equal(401, line.GetProperty("status").GetInt32());
        Assert.Equal("POST", line.GetProperty("method").GetString());
        Assert.Equal("/api/hv/MM1.strips/on", line.GetProperty("path").GetString());
        Assert.Contains("needs a token", line.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal("2026-07-14T09:30:00+00:00", line.GetProperty("time").GetString());
    }

    [Theory]
    [InlineData("Bearer not-a-known-token", "not known to this service")]
    [InlineData("Basic dXNlcjpwYXNz", "is not 'Bearer <token>'")]
    [InlineData("Bearer ", "is not 'Bearer <token>'")]
    public async Task Wrong_or_malformed_token_is_401_invalid_token(string header, string detail)
    {
        var request = Post("/api/hv/MM1.strips/on", null);
        request.Headers.TryAddWithoutValidation("Authorization", header);
        using var response = await _client.SendAsync(request);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        var challenge = Assert.Single(response.Headers.WwwAuthenticate);
        Assert.Equal("Bearer", challenge.Scheme);
        Assert.Contains("error=\"invalid_token\"", challenge.Parameter, StringComparison.Ordinal);
        Assert.Contains(detail, (await Problem(response)).GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(0, _switchedOn);
        var line = Assert.Single(AuditLines());
        Assert.Equal(401, line.GetProperty("status").GetInt32());
        Assert.Contains(detail, line.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Viewer_on_a_shifter_command_is_403_naming_the_role_needed_and_held()
    {
        using var response = await _client.SendAsync(Post("/api/hv/MM1.strips/on", "viewer-token"));

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Equal("this command needs role shifter; user 'vera' holds role viewer", (await Problem(response)).GetProperty("detail").GetString());
        Assert.Equal(0, _switchedOn);
        var line = Assert.Single(AuditLines());
        Assert.Equal(("vera", "viewer", 403), (line.GetProperty("user").GetString(), line.GetProperty("role").GetString(), line.GetProperty("status").GetInt32()));
        Assert.Equal("this command needs role shifter; user 'vera' holds role viewer", line.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task Shifter_and_expert_may_switch_on_and_both_are_recorded()
    {
        using var shifter = await _client.SendAsync(Post("/api/hv/MM1.strips/on", "shifter-token"));
        _time.Advance(TimeSpan.FromSeconds(5));
        using var expert = await _client.SendAsync(Post("/api/hv/MM1.drift/on?force=false", "expert-token"));

        Assert.Equal(HttpStatusCode.OK, shifter.StatusCode);
        Assert.Equal(HttpStatusCode.OK, expert.StatusCode);
        Assert.Equal(2, _switchedOn);
        var lines = AuditLines();
        Assert.Equal(2, lines.Count);
        Assert.Equal(("sam", "shifter", 200), (lines[0].GetProperty("user").GetString(), lines[0].GetProperty("role").GetString(), lines[0].GetProperty("status").GetInt32()));
        Assert.Equal(JsonValueKind.Null, lines[0].GetProperty("detail").ValueKind);
        Assert.Equal(("eve", "expert", "?force=false"), (lines[1].GetProperty("user").GetString(), lines[1].GetProperty("role").GetString(), lines[1].GetProperty("query").GetString()));
        Assert.Equal("2026-07-14T09:30:05+00:00", lines[1].GetProperty("time").GetString());
    }

    [Fact]
    public async Task Shifter_on_an_expert_command_is_403()
    {
        var request = new HttpRequestMessage(HttpMethod.Put, "/api/hv/MM1.strips/setpoint") { Content = JsonContent.Create(new { volts = 500 }) };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "shifter-token");
        using var response = await _client.SendAsync(request);

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Equal("this command needs role expert; user 'sam' holds role shifter", (await Problem(response)).GetProperty("detail").GetString());
        var line = Assert.Single(AuditLines());
        Assert.Equal(500, line.GetProperty("arguments").GetProperty("volts").GetInt32());
    }

    [Fact]
    public async Task Reads_need_no_token_and_are_not_audited()
    {
        using var response = await _client.GetAsync(new Uri("/api/hv", UriKind.Relative));
        var request = new HttpRequestMessage(HttpMethod.Get, "/api/hv");
        request.Headers.TryAddWithoutValidation("Authorization", "Bearer wrong");
        using var withWrongToken = await _client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(HttpStatusCode.OK, withWrongToken.StatusCode);
        Assert.Empty(File.ReadAllLines(AuditPath));
    }

    [Fact]
    public async Task Refusals_of_the_endpoint_are_recorded_with_arguments_and_the_problem_detail()
    {
        var request = new HttpRequestMessage(HttpMethod.Put, "/api/hv/MM1.strips/setpoint")
        {
            // Line breaks in the body must not break the one-line-per-command file.
            Content = new StringContent("{\n  \"volts\": 900\n}", Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "expert-token");
        using var refused = await _client.SendAsync(request);
        using var conflict = await _client.SendAsync(Post("/api/runs", "shifter-token", "{\"events\":1000}"));
        using var missing = await _client.SendAsync(Post("/api/nowhere", "shifter-token"));

        Assert.Equal(HttpStatusCode.UnprocessableEntity, refused.StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, conflict.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        string[] raw = File.ReadAllLines(AuditPath);
        Assert.Equal(3, raw.Length);
        var lines = AuditLines();
        Assert.Equal(900, lines[0].GetProperty("arguments").GetProperty("volts").GetInt32());
        Assert.Equal((422, "MM1.strips: volts = '900': above maxVolts (600)"), (lines[0].GetProperty("status").GetInt32(), lines[0].GetProperty("detail").GetString()));
        Assert.Equal((409, "a run is already going (run 1001)"), (lines[1].GetProperty("status").GetInt32(), lines[1].GetProperty("detail").GetString()));
        Assert.Equal(1000, lines[1].GetProperty("arguments").GetProperty("events").GetInt32());
        Assert.Equal((404, "/api/nowhere", "sam"), (lines[2].GetProperty("status").GetInt32(), lines[2].GetProperty("path").GetString(), lines[2].GetProperty("user").GetString()));
    }

    [Fact]
    public async Task An_oversized_body_is_kept_cut_and_flagged_while_the_endpoint_still_reads_it_whole()
    {
        string big = "{\"volts\": 100, \"note\": \"" + new string('x', 10_000) + "\"}";
        var request = new HttpRequestMessage(HttpMethod.Put, "/api/hv/MM1.strips/setpoint") { Content = new StringContent(big, Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "expert-token");
        using var response = await _client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var line = Assert.Single(AuditLines());
        Assert.True(line.GetProperty("argumentsTruncated").GetBoolean());
        Assert.Equal(_audit.MaxArgumentBytes, line.GetProperty("arguments").GetString()!.Length);
    }

    [Fact]
    public async Task Concurrent_commands_give_whole_lines_and_the_file_is_only_appended_to()
    {
        File.AppendAllText(AuditPath, "{\"earlier\":true}\n");
        var sends = Enumerable.Range(0, 40).Select(i => _client.SendAsync(Post($"/api/hv/ch{i}/on", i % 2 == 0 ? "shifter-token" : null)));
        var responses = await Task.WhenAll(sends);
        foreach (var r in responses) r.Dispose();

        var lines = AuditLines();
        Assert.Equal(41, lines.Count);
        Assert.True(lines[0].GetProperty("earlier").GetBoolean());
        Assert.Equal(20, lines.Count(l => l.TryGetProperty("status", out var s) && s.GetInt32() == 200));
        Assert.Equal(20, lines.Count(l => l.TryGetProperty("status", out var s) && s.GetInt32() == 401));
        Assert.Equal(40, lines.Skip(1).Select(l => l.GetProperty("path").GetString()).Distinct().Count());
    }

    [Fact]
    public async Task A_command_that_throws_is_recorded_as_500_with_the_cause_and_the_exception_goes_on()
    {
        // TestServer hands an unhandled application exception to the caller, as Kestrel would hand it to the host.
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => _client.SendAsync(Post("/api/boom", "shifter-token")));
        Assert.Equal("board HV-A not answering", e.Message);

        var line = Assert.Single(AuditLines());
        Assert.Equal((500, "InvalidOperationException: board HV-A not answering", "sam"),
            (line.GetProperty("status").GetInt32(), line.GetProperty("detail").GetString(), line.GetProperty("user").GetString()));
    }

    [Fact]
    public void Audit_placed_after_security_is_refused()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseTestServer();
        builder.Services.AddNa64Security(new SecurityOptions());
        var app = builder.Build();
        app.UseNa64Security();
        var e = Assert.Throws<InvalidOperationException>(() => app.UseNa64Audit(_audit));
        Assert.Contains("before UseNa64Security", e.Message, StringComparison.Ordinal);
    }
}
