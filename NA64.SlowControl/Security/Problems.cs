using Microsoft.AspNetCore.Http;

namespace NA64.SlowControl.Security;

/// <summary>RFC 9457 problem details for the refusals the security layer makes itself (401, 403).</summary>
internal static class Problems
{
    public static Task WriteAsync(HttpContext context, int status, string title, string detail) =>
        Results.Problem(detail: detail, statusCode: status, title: title, instance: context.Request.Path).ExecuteAsync(context);
}
