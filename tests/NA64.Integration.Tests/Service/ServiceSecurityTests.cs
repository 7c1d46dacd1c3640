using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using NA64.SlowControl.Security;

namespace NA64.Integration.Tests.Service;

/// <summary>Roles and audit of the API, checked against every write operation the OpenAPI document describes.</summary>
[Collection(CliCollection.Name)]
public sealed class ServiceSecurityTests
{
    private const string ViewerToken = "viewer-token-for-tests";
    private const string ShifterToken = "shifter-token-for-tests";

    private static async Task<ServiceRig> StartWithUsersAsync()
    {
        string users = Path.Combine(Directory.CreateTempSubdirectory("na64-users-").FullName, "users.yaml");
        await File.WriteAllTextAsync(users, $"""
            users:
              - {"{"} name: vera, role: viewer, tokenSha256: {UsersFile.HashToken(ViewerToken)} {"}"}
              - {"{"} name: sam, role: shifter, tokenSha256: {UsersFile.HashToken(ShifterToken)} {"}"}
            """);
        return await ServiceRig.StartAsync($"\nusersFile: {users}\n");
    }

    [Fact]
    public async Task Every_write_in_the_OpenAPI_document_refuses_no_and_wrong_tokens_with_401_and_a_viewer_with_403_and_all_are_audited()
    {
        await using var rig = await StartWithUsersAsync();
        using var http = new HttpClient { BaseAddress = rig.Address };
        using var document = JsonDocument.Parse(await http.GetStringAsync(new Uri("/openapi/v1.json", UriKind.Relative)));
        var writes = new List<(string Method, string Path)>();
        foreach (var path in document.RootElement.GetProperty("paths").EnumerateObject())
        {
            foreach (var operation in path.Value.EnumerateObject())
            {
                if (operation.Name is "post" or "put" or "delete" or "patch")
                {
                    writes.Add((operation.Name.ToUpperInvariant(), path.Name.Replace("{name}", ServiceRig.Strips, StringComparison.Ordinal)));
                    // The document itself says which calls need a token.
                    Assert.True(operation.Value.TryGetProperty("security", out _), $"{operation.Name} {path.Name} declares no security");
                }
            }
        }

        Assert.True(writes.Count >= 6, $"only {writes.Count} write operations in the document");
        Assert.Equal("bearer", document.RootElement.GetProperty("components").GetProperty("securitySchemes").GetProperty("Bearer").GetProperty("scheme").GetString());
        int sent = 0;
        foreach (var (method, path) in writes)
        {
            foreach (var (token, expected) in new (string?, HttpStatusCode)[]
                     {
                         (null, HttpStatusCode.Unauthorized),
                         ("not-a-token", HttpStatusCode.Unauthorized),
                         (ViewerToken, HttpStatusCode.Forbidden),
                     })
            {
                using var request = new HttpRequestMessage(new HttpMethod(method), path)
                {
                    Content = new StringContent("{}", Encoding.UTF8, "application/json"),
                };
                if (token is not null)
                    request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
                using var response = await http.SendAsync(request);
                Assert.True(expected == response.StatusCode, $"{method} {path} with {token ?? "no token"}: {(int)response.StatusCode}");
                Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
                sent++;
            }
        }

        Assert.Empty(rig.Sets);

        // An accepted command, by the shifter.
        using (var on = new HttpRequestMessage(HttpMethod.Post, $"/api/hv/channels/{ServiceRig.Strips}/on"))
        {
            on.Headers.Authorization = new AuthenticationHeaderValue("Bearer", ShifterToken);
            using var response = await http.SendAsync(on);
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        }

        var lines = File.ReadAllLines(Path.Combine(rig.DataDirectory, "audit.log"));
        Assert.Equal(sent + 1, lines.Length);
        var entries = lines.Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(2 * writes.Count, entries.Count(e => e.GetProperty("status").GetInt32() == 401));
        Assert.Equal(writes.Count, entries.Count(e => e.GetProperty("status").GetInt32() == 403 && e.GetProperty("user").GetString() == "vera"));
        var accepted = entries[^1];
        Assert.Equal("sam", accepted.GetProperty("user").GetString());
        Assert.Equal("shifter", accepted.GetProperty("role").GetString());
        Assert.Equal(202, accepted.GetProperty("status").GetInt32());
        Assert.Contains(ServiceRig.Strips, accepted.GetProperty("path").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_shifter_switches_on_but_may_not_set_a_voltage()
    {
        await using var rig = await StartWithUsersAsync();
        var (exit, output) = await rig.CliAsync("hv", "set", ServiceRig.Strips, "--volts", "300", "--no-wait", "--token", ShifterToken);
        Assert.Equal(2, exit);
        Assert.Contains("expert", output, StringComparison.Ordinal);
        Assert.Empty(rig.Sets);

        (exit, output) = await rig.CliAsync("hv", "on", ServiceRig.Strips, "--no-wait", "--token", ShifterToken);
        Assert.True(exit == 0, output);
        Assert.Contains(rig.Sets, s => s.Contains("PAR:ON", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Malformed_JSON_and_non_finite_numbers_are_refused_with_a_problem_naming_the_field()
    {
        await using var rig = await ServiceRig.StartAsync();
        string token = LocalTokens.Find(rig.Address)!;
        Assert.NotNull(token);
        using var http = new HttpClient { BaseAddress = rig.Address };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        foreach (var (body, expected, mention) in new[]
                 {
                     ("{\"volts\": 30", HttpStatusCode.BadRequest, "JSON"),
                     ("{\"volts\": \"NaN\"}", HttpStatusCode.BadRequest, "volts"),
                     ("{\"volts\": 1e999}", HttpStatusCode.UnprocessableEntity, "volts"),
                     ("{\"volts\": 601}", HttpStatusCode.UnprocessableEntity, "601"),
                 })
        {
            using var response = await http.PutAsync(new Uri($"/api/hv/channels/{ServiceRig.Strips}/setpoint", UriKind.Relative),
                new StringContent(body, Encoding.UTF8, "application/json"));
            string text = await response.Content.ReadAsStringAsync();
            Assert.True(expected == response.StatusCode, $"{body}: {(int)response.StatusCode} {text}");
            Assert.Contains(mention, text, StringComparison.OrdinalIgnoreCase);
        }

        Assert.Empty(rig.Sets);
    }
}
