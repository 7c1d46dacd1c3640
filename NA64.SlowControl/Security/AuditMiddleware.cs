using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace NA64.SlowControl.Security;

/// <summary>
/// Writes every command (every request under <c>/api</c> other than GET and HEAD) to the <see cref="AuditLog"/> once its
/// response is known, refusals (400, 401, 403, 404, 409, 422) and failures included. Placed before authentication, so it
/// sees the 401s; it reads the user from the principal authentication left on the context.
/// </summary>
internal sealed class AuditMiddleware(RequestDelegate next, AuditLog log)
{
    /// <summary>Response bytes kept to find a problem's detail; a problem-details body is far smaller.</summary>
    private const int MaxResponseCapture = 16 * 1024;

    public async Task InvokeAsync(HttpContext context)
    {
        var request = context.Request;
        if (HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method) || !request.Path.StartsWithSegments("/api"))
        {
            await next(context).ConfigureAwait(false);
            return;
        }

        var time = log.Time.GetUtcNow();
        // HTTP/2 and chunked bodies have no Content-Length: the server's body detection says whether there is one.
        bool hasBody = context.Features.Get<IHttpRequestBodyDetectionFeature>()?.CanHaveBody ?? request.ContentLength > 0;
        var (arguments, truncated) = hasBody
            ? await ReadArgumentsAsync(request, log.MaxArgumentBytes, context.RequestAborted).ConfigureAwait(false)
            : (null, false);
        bool isJson = request.ContentType?.Contains("json", StringComparison.OrdinalIgnoreCase) == true;
        var original = context.Response.Body;
        var capture = new CapturingStream(original, MaxResponseCapture);
        context.Response.Body = capture;
        int status;
        string? detail;
        try
        {
            await next(context).ConfigureAwait(false);
            status = context.Response.StatusCode;
            detail = ProblemDetail(context.Response.ContentType, capture.Captured);
        }
        catch (Exception e)
        {
            // Recorded as the 500 the client will see, then passed on to the host's exception handling.
            Append(context, time, arguments, isJson, truncated, StatusCodes.Status500InternalServerError, $"{e.GetType().Name}: {e.Message}");
            throw;
        }
        finally
        {
            context.Response.Body = original;
        }

        Append(context, time, arguments, isJson, truncated, status, detail);
    }

    private void Append(HttpContext context, DateTimeOffset time, string? arguments, bool isJson, bool truncated, int status, string? detail)
    {
        var user = context.User;
        bool known = user.Identity?.IsAuthenticated == true;
        var connection = context.Connection;
        string? remote = connection.RemoteIpAddress is { } ip
            ? string.Create(CultureInfo.InvariantCulture, $"{ip}:{connection.RemotePort}")
            : null;
        log.Append(new AuditEntry(
            time,
            known ? user.Identity!.Name : null,
            known ? user.FindFirst(System.Security.Claims.ClaimTypes.Role)?.Value : null,
            remote,
            context.Request.Method,
            context.Request.Path.Value ?? "",
            context.Request.QueryString.HasValue ? context.Request.QueryString.Value : null,
            arguments,
            isJson,
            truncated,
            status,
            detail));
    }

    private static async Task<(string? Text, bool Truncated)> ReadArgumentsAsync(HttpRequest request, int cap, CancellationToken ct)
    {
        if (request.ContentLength is 0)
            return (null, false);
        // Buffered so that the endpoint reads the same body after us.
        request.EnableBuffering();
        var buffer = new byte[cap + 1];
        int read = 0;
        while (read < buffer.Length)
        {
            int n = await request.Body.ReadAsync(buffer.AsMemory(read), ct).ConfigureAwait(false);
            if (n == 0) break;
            read += n;
        }

        request.Body.Position = 0;
        if (read == 0)
            return (null, false);
        bool truncated = read > cap;
        return (Encoding.UTF8.GetString(buffer, 0, Math.Min(read, cap)), truncated);
    }

    private static string? ProblemDetail(string? contentType, ReadOnlySpan<byte> body)
    {
        if (contentType is null || !contentType.StartsWith("application/problem+json", StringComparison.OrdinalIgnoreCase) || body.IsEmpty)
            return null;
        try
        {
            var reader = new Utf8JsonReader(body);
            using var doc = JsonDocument.ParseValue(ref reader);
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                return null;
            string? Text(string name) => root.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
            string? text = Text("detail") ?? Text("title");
            // A validation problem names its fields under "errors": they are the useful part of the refusal.
            if (root.TryGetProperty("errors", out var errors))
                text = $"{text} {errors.GetRawText()}";
            return text;
        }
        catch (JsonException)
        {
            // A problem body longer than the capture, or broken: the status still says what happened.
            return "(problem details not readable)";
        }
    }

    /// <summary>Passes every write through and keeps a copy of the first bytes.</summary>
    private sealed class CapturingStream(Stream inner, int cap) : Stream
    {
        private readonly MemoryStream _copy = new();

        public ReadOnlySpan<byte> Captured => _copy.GetBuffer().AsSpan(0, (int)_copy.Length);

        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Flush() => inner.Flush();
        public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            Keep(buffer);
            inner.Write(buffer);
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            Keep(buffer.Span);
            return inner.WriteAsync(buffer, cancellationToken);
        }

        private void Keep(ReadOnlySpan<byte> data)
        {
            int room = cap - (int)_copy.Length;
            if (room > 0)
                _copy.Write(data[..Math.Min(room, data.Length)]);
        }
    }
}
