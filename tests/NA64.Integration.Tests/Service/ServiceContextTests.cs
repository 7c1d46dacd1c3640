using NA64.SlowControl.Cli;

namespace NA64.Integration.Tests.Service;

/// <summary>Where a service started from the command line keeps its data.</summary>
public sealed class ServiceContextTests
{
    [Fact]
    public void The_setup_files_dataDirectory_beside_the_file_is_the_services_data_directory_whatever_the_current_directory()
    {
        string folder = Directory.CreateTempSubdirectory("na64-ctx-").FullName;
        try
        {
            string setup = Path.Combine(folder, "h4.yaml");
            File.WriteAllText(setup, HvRig.SetupText("sim", 3) + "\ndataDirectory: shift-data\n");
            var parse = Na64hwCli.Build(Serilog.Core.Logger.None).Parse(["serve", "--setup", setup]);
            var context = CommonOptions.Context(parse);
            Assert.Equal(Path.Combine(folder, "shift-data"), context.DataDirectory);
            Assert.Equal(File.ReadAllText(setup), context.SetupText);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}

/// <summary>Something that is not an na64hw service answers: one line, no stack trace.</summary>
[Collection(CliCollection.Name)]
public sealed class NotAServiceTests
{
    [Fact]
    public async Task A_server_that_answers_nonsense_gives_one_line_and_no_stack_trace()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        int port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        var serving = Task.Run(async () =>
        {
            using var client = await listener.AcceptTcpClientAsync();
            var stream = client.GetStream();
            var buffer = new byte[4096];
            _ = await stream.ReadAsync(buffer);
            var reply = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello"u8.ToArray();
            await stream.WriteAsync(reply);
        });

        var output = new StringWriter();
        var previous = Console.Error;
        Console.SetError(output);
        int exit;
        try
        {
            exit = await Safety.Within(Na64hwCli.InvokeAsync(["hv", "status", "--server", $"http://127.0.0.1:{port}"], Serilog.Core.Logger.None));
        }
        finally
        {
            Console.SetError(previous);
        }

        await Safety.Within(serving);
        Assert.Equal(1, exit);
        string text = output.ToString().Trim();
        Assert.Single(text.Split('\n'));
        Assert.StartsWith("na64hw: ", text, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", text, StringComparison.Ordinal);
    }
}
