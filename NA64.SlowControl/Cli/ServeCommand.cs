using System.CommandLine;
using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using NA64.SlowControl.Service;
using Serilog;
using Spectre.Console;

namespace NA64.SlowControl.Cli;

/// <summary><c>na64hw serve</c>: the long-lived service that owns the hardware; every other command is its client.</summary>
internal static class ServeCommand
{
    public static readonly Option<string> Listen = new("--listen")
    {
        Description = "Address to listen on (loopback only unless you say otherwise)",
        DefaultValueFactory = _ => ServiceApp.DefaultListen,
    };

    public static Command Build(ILogger log)
    {
        var serve = new Command("serve", "Run the service that owns the hardware (the CLI, scripts and the web panel are its clients)") { Listen };
        serve.SetAction(async (parse, ct) =>
        {
            if (CommonOptions.ContextOrRefusal(parse) is not { } context)
                return ExitCodes.Refused;

            string listen = parse.GetValue(Listen)!;
            if (!Uri.TryCreate(listen, UriKind.Absolute, out var uri) || uri.Scheme != "http")
            {
                AnsiConsole.MarkupLine($"[red]Refused:[/] --listen = '{Markup.Escape(listen)}': not an http://HOST:PORT address");
                return ExitCodes.Refused;
            }

            await using var app = ServiceApp.Build(context, listen, log);
            try
            {
                await app.StartAsync(ct).ConfigureAwait(false);
            }
            catch (IOException e) when (e.InnerException is SocketException or null || e.Message.Contains("address already in use", StringComparison.OrdinalIgnoreCase))
            {
                AnsiConsole.MarkupLine($"[red]Refused:[/] cannot listen on {Markup.Escape(listen)}: {Markup.Escape(e.Message)} (another na64hw serve running?)");
                return ExitCodes.Refused;
            }

            Console.Error.WriteLine($"na64hw service on {string.Join(", ", ServiceApp.Addresses(app))} with setup {context.Setup.SourceName}; data in {context.DataDirectory}. Ctrl-C stops it.");
            try
            {
                await Task.Delay(Timeout.Infinite, ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // Ctrl-C or SIGTERM: the way a service is stopped.
            }

            await app.StopAsync(CancellationToken.None).ConfigureAwait(false);
            return ExitCodes.Ok;
        });
        return serve;
    }
}
