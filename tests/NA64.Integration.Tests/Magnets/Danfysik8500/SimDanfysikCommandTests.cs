using System.Globalization;
using System.Text;
using NA64.Hardware.Magnets;
using NA64.Hardware.Magnets.Danfysik8500;
using NA64.Hardware.Transport;
using NA64.Integration.Tests.Service;
using NA64.SlowControl.Cli;

namespace NA64.Integration.Tests.Magnets.Danfysik8500;

/// <summary><c>na64hw sim danfysik8500</c> as a client of another process would use it: the port it prints, then the driver over TCP.</summary>
[Collection(CliCollection.Name)]
public sealed class SimDanfysikCommandTests
{
    [Fact]
    public async Task Sim_on_tcp_prints_its_address_and_the_driver_talks_to_it()
    {
        var output = new SignallingWriter("tcp:");
        var previous = Console.Out;
        Console.SetOut(output);
        using var stop = new CancellationTokenSource();
        Task<int> running;
        try
        {
            running = Na64hwCli.InvokeAsync(["sim", "danfysik8500", "--tcp", "0"], Serilog.Core.Logger.None, stop.Token);
            var line = await Safety.Within(output.Seen);
            var port = int.Parse(line.Trim()["tcp:127.0.0.1:".Length..], NumberStyles.None, CultureInfo.InvariantCulture);

            await using (var transport = new LineTransport(new TcpEndpoint("127.0.0.1", port), LineFraming.DanfysikCrLfCr))
            {
                var supply = new Danfysik8500Supply(transport, new MagnetLimits("cli", 900), new Danfysik8500Options(1000, 0.001, 0.001, 0.001));
                await Safety.Within(supply.InitializeAsync());
                await Safety.Within(supply.SwitchOnAsync());
                await Safety.Within(supply.SetCurrentAsync(0.5));
                var r = await Safety.Within(supply.ReadAsync());
                Assert.Equal(MagnetOutput.On, r.Output);
                Assert.Equal(0.5, r.SetpointAmps, 9);
            }

            await stop.CancelAsync();
            Assert.Equal(0, await Safety.Within(running));
        }
        finally
        {
            Console.SetOut(previous);
        }
    }

    [Theory]
    [InlineData(new[] { "sim", "danfysik8500" }, "give exactly one of --pty or --tcp PORT")]
    [InlineData(new[] { "sim", "danfysik8500", "--pty", "--units", "0" }, "--units is 0; a simulated line holds 1 to 32 units")]
    [InlineData(new[] { "sim", "danfysik8500", "--tcp", "70000" }, "--tcp is 70000; a TCP port is 0..65535")]
    public async Task Meaningless_options_are_refused_in_one_line_with_exit_2(string[] args, string message)
    {
        var error = new StringWriter();
        var previous = Console.Error;
        Console.SetError(error);
        try
        {
            Assert.Equal(2, await Safety.Within(Na64hwCli.InvokeAsync(args, Serilog.Core.Logger.None)));
        }
        finally
        {
            Console.SetError(previous);
        }

        Assert.Equal($"Refused: {message}", error.ToString().Trim());
    }

    /// <summary>Completes <see cref="Seen"/> with the first line that starts with a prefix (no polling on the wall clock).</summary>
    private sealed class SignallingWriter(string prefix) : TextWriter
    {
        private readonly StringBuilder _line = new();
        private readonly TaskCompletionSource<string> _seen = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task<string> Seen => _seen.Task;

        public override Encoding Encoding => Encoding.UTF8;

        public override void Write(char value)
        {
            lock (_line)
            {
                if (value != '\n')
                {
                    _line.Append(value);
                    return;
                }

                var line = _line.ToString();
                _line.Clear();
                if (line.StartsWith(prefix, StringComparison.Ordinal))
                {
                    _seen.TrySetResult(line);
                }
            }
        }
    }
}
