using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace NA64.SlowControl.Service;

/// <summary>
/// Declares the bearer-token scheme in the OpenAPI document and marks every operation that needs a role with it (and
/// the role in its description), so that a script's generated client knows which calls need a token.
/// </summary>
internal static class OpenApiSecurity
{
    public const string Scheme = "Bearer";

    public static void Add(OpenApiOptions options)
    {
        options.AddDocumentTransformer((document, _, _) =>
        {
            document.Components ??= new OpenApiComponents();
            document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
            document.Components.SecuritySchemes[Scheme] = new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.Http,
                Scheme = "bearer",
                Description = "A token of the setup's usersFile, or the local expert token the service writes for clients on its machine. Reads need none.",
            };
            return Task.CompletedTask;
        });
        options.AddOperationTransformer((operation, context, _) =>
        {
            var roles = context.Description.ActionDescriptor.EndpointMetadata.OfType<IAuthorizeData>()
                .Select(a => a.Policy).Where(p => p is not null).ToList();
            if (roles.Count == 0)
                return Task.CompletedTask;
            operation.Security ??= [];
            operation.Security.Add(new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(Scheme, context.Document)] = [] });
            operation.Description = $"Needs a bearer token with role {string.Join(", ", roles)} or above.";
            return Task.CompletedTask;
        });
    }
}
