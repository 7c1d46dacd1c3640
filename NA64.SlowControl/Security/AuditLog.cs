using System.Buffers;
using System.Text.Json;
using Serilog;

namespace NA64.SlowControl.Security;

/// <summary>One command as the audit log keeps it.</summary>
/// <param name="Time">When the request arrived (service clock).</param>
/// <param name="User">User name, or null when the request carried no accepted token.</param>
/// <param name="Role">The user's role name, or null.</param>
/// <param name="Remote">Client address and port, when known.</param>
/// <param name="Arguments">The request body: a JSON value when it was complete JSON, else its text (possibly cut).</param>
/// <param name="ArgumentsTruncated">True when the body was longer than the cap and only its start is kept.</param>
/// <param name="Detail">The problem-details <c>detail</c> (or <c>title</c>) of a refusal or failure; null on success.</param>
public sealed record AuditEntry(
    DateTimeOffset Time, string? User, string? Role, string? Remote, string Method, string Path, string? Query,
    string? Arguments, bool ArgumentsAreJson, bool ArgumentsTruncated, int Status, string? Detail);

/// <summary>
/// Who sent which command and what came of it, one JSON object per line, in <c>&lt;dataDirectory&gt;/audit.log</c>.
/// The file is opened for appending only (never rewritten or truncated), every line is flushed to disk before the next,
/// and lines from concurrent requests never interleave.
/// </summary>
public sealed class AuditLog : IDisposable
{
    private readonly FileStream _file;
    private readonly Lock _gate = new();
    private readonly ILogger _log;
    private long _writeFailures;
    private bool _disposed;

    public AuditLog(string path, TimeProvider? time = null, ILogger? log = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        Path = System.IO.Path.GetFullPath(path);
        Time = time ?? TimeProvider.System;
        _log = (log ?? Serilog.Core.Logger.None).ForContext<AuditLog>();
        if (System.IO.Path.GetDirectoryName(Path) is { } folder)
            Directory.CreateDirectory(folder);
        // FileMode.Append: the OS positions every write at the end; the stream cannot seek back over earlier lines.
        _file = new FileStream(Path, FileMode.Append, FileAccess.Write, FileShare.Read, bufferSize: 1);
    }

    public string Path { get; }

    /// <summary>The clock the entries are stamped with.</summary>
    public TimeProvider Time { get; }

    /// <summary>Lines that could not be written (disk full, I/O error); each is also logged as an error.</summary>
    public long WriteFailures => Interlocked.Read(ref _writeFailures);

    /// <summary>Upper bound of request body bytes kept in an entry.</summary>
    public int MaxArgumentBytes { get; init; } = 4096;

    public void Append(AuditEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        var buffer = new ArrayBufferWriter<byte>(512);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("time", entry.Time.ToUniversalTime());
            json.WriteString("user", entry.User);
            json.WriteString("role", entry.Role);
            json.WriteString("remote", entry.Remote);
            json.WriteString("method", entry.Method);
            json.WriteString("path", entry.Path);
            json.WriteString("query", entry.Query);
            json.WritePropertyName("arguments");
            WriteArguments(json, entry);
            if (entry.ArgumentsTruncated)
                json.WriteBoolean("argumentsTruncated", true);
            json.WriteNumber("status", entry.Status);
            json.WriteString("detail", entry.Detail);
            json.WriteEndObject();
        }

        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            try
            {
                // FileMode.Append on Unix is not O_APPEND: the stream would write at its own position, over lines another
                // writer (a second service, an operator's note) appended since. Seeking to the end first never overwrites.
                _file.Seek(0, SeekOrigin.End);
                _file.Write(buffer.WrittenSpan);
                _file.WriteByte((byte)'\n');
                _file.Flush(flushToDisk: true);
            }
            catch (IOException e)
            {
                // The command has already been carried out; failing the response would hide that. It is counted and
                // logged (with the entry) so that status shows the audit is incomplete.
                Interlocked.Increment(ref _writeFailures);
                _log.Error(e, "Audit log {Path}: entry not written: {Method} {RequestPath} by {User} -> {Status}",
                    Path, entry.Method, entry.Path, entry.User, entry.Status);
            }
        }
    }

    private static void WriteArguments(Utf8JsonWriter json, AuditEntry entry)
    {
        if (entry.Arguments is null)
        {
            json.WriteNullValue();
            return;
        }

        if (entry.ArgumentsAreJson && !entry.ArgumentsTruncated)
        {
            try
            {
                // Re-written compact, so that a body sent with line breaks still makes one line.
                using var doc = JsonDocument.Parse(entry.Arguments);
                doc.RootElement.WriteTo(json);
                return;
            }
            catch (JsonException)
            {
                // Declared JSON but is not: the endpoint will refuse it (400); the log keeps the text as sent.
                json.WriteStringValue(entry.Arguments);
                return;
            }
        }

        json.WriteStringValue(entry.Arguments);
    }

    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed) return;
            _disposed = true;
            _file.Dispose();
        }
    }
}
