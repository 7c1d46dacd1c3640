using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using NA64.Hardware.Errors;
using NA64.SlowControl.Hv;

namespace NA64.SlowControl.Service;

/// <summary>
/// Every refusal of the API as an RFC 9457 problem: the status says what kind of refusal it is, <c>detail</c> is the one
/// line the CLI prints, and the extensions name the field, the value and the limit where there are ones.
/// </summary>
internal static class Problems
{
    public static ProblemHttpResult NotFound(string what, string value, string known) =>
        TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: $"Unknown {what}",
            detail: $"{what} '{value}' is not in the setup; known: {known}",
            extensions: new Dictionary<string, object?> { ["field"] = what, ["value"] = value });

    public static ProblemHttpResult Invalid(string field, object? value, string rule) =>
        TypedResults.Problem(statusCode: StatusCodes.Status422UnprocessableEntity, title: "Value refused",
            detail: string.Create(CultureInfo.InvariantCulture, $"{field} = {Format(value)} refused: {rule}"),
            // JSON has no NaN or infinity: a non-finite value goes back as text.
            extensions: new Dictionary<string, object?> { ["field"] = field, ["value"] = value is double d && !double.IsFinite(d) ? Format(d) : value, ["limit"] = rule });

    public static ProblemHttpResult Conflict(string title, string detail, IDictionary<string, object?>? extensions = null) =>
        TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: title, detail: detail, extensions: extensions);

    /// <summary>The problem for an exception a command can end in, or null for one that is a bug.</summary>
    public static ProblemHttpResult? For(Exception e) => e switch
    {
        SetpointOutOfRangeException s => TypedResults.Problem(statusCode: StatusCodes.Status422UnprocessableEntity,
            title: "Setpoint refused", detail: s.Message,
            extensions: new Dictionary<string, object?>
            {
                ["channel"] = s.Channel, ["field"] = s.Parameter, ["value"] = s.Value, ["limit"] = s.Limit, ["limitName"] = s.LimitName,
            }),
        HvCommandRefusedException r => TypedResults.Problem(statusCode: StatusCodes.Status409Conflict,
            title: "Command refused in this state", detail: r.Message,
            extensions: new Dictionary<string, object?> { ["channel"] = r.Channel, ["command"] = r.Command, ["reason"] = r.Reason }),
        Magnets.MagnetCommandRefusedException m => TypedResults.Problem(statusCode: StatusCodes.Status409Conflict,
            title: "Command refused in this state", detail: m.Message,
            extensions: new Dictionary<string, object?> { ["magnet"] = m.Magnet, ["command"] = m.Command.ToString(), ["reason"] = m.Reason }),
        Magnets.MagnetWaitFailedException w => TypedResults.Problem(statusCode: StatusCodes.Status409Conflict,
            title: "Magnet did not get there", detail: w.Message,
            extensions: new Dictionary<string, object?> { ["magnet"] = w.Magnet, ["state"] = w.State.ToString() }),
        HvRampFailedException f => TypedResults.Problem(statusCode: StatusCodes.Status409Conflict,
            title: "Ramp failed", detail: f.Message,
            extensions: new Dictionary<string, object?> { ["channel"] = f.Channel, ["state"] = f.State.ToString(), ["target"] = f.TargetVolts }),
        DeviceTimeoutException or TransportDisconnectedException => TypedResults.Problem(statusCode: StatusCodes.Status503ServiceUnavailable,
            title: "Device not answering", detail: e.Message),
        DeviceException => TypedResults.Problem(statusCode: StatusCodes.Status502BadGateway, title: "Device refused", detail: e.Message),
        ArgumentOutOfRangeException a => TypedResults.Problem(statusCode: StatusCodes.Status422UnprocessableEntity,
            title: "Value refused", detail: FirstLine(a.Message),
            extensions: new Dictionary<string, object?> { ["field"] = a.ParamName, ["value"] = a.ActualValue?.ToString() }),
        BadHttpRequestException b => TypedResults.Problem(statusCode: b.StatusCode, title: "Malformed request",
            detail: b.InnerException switch
            {
                JsonException j => JsonDetail(j),
                { } inner => $"{FirstLine(b.Message)} {FirstLine(inner.Message)}",
                _ => FirstLine(b.Message),
            }),
        JsonException j => TypedResults.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Malformed JSON", detail: JsonDetail(j)),
        _ => null,
    };

    private static string JsonDetail(JsonException j) => string.Create(CultureInfo.InvariantCulture,
        $"malformed JSON at {j.Path ?? "$"} (line {(j.LineNumber ?? 0) + 1}, byte {(j.BytePositionInLine ?? 0) + 1}): {FirstLine(j.Message)}");

    private static string FirstLine(string message)
    {
        int end = message.IndexOfAny(['\r', '\n']);
        return end < 0 ? message : message[..end];
    }

    private static string Format(object? value) => value switch
    {
        null => "(missing)",
        double d => d.ToString(CultureInfo.InvariantCulture),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => $"'{value}'",
    };

    /// <summary>Turns the exceptions of <see cref="For"/> into their problems wherever they escape an endpoint.</summary>
    public sealed class Handler : IExceptionHandler
    {
        public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
        {
            if (For(exception) is not { } problem)
                return false;
            await problem.ExecuteAsync(httpContext).ConfigureAwait(false);
            return true;
        }
    }
}
