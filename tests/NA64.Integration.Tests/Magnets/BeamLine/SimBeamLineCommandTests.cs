using System.Globalization;
using System.Text;
using Microsoft.Extensions.Time.Testing;
using NA64.Hardware.Magnets;
using NA64.Hardware.Magnets.BeamLine;
using NA64.Hardware.Transport;
using NA64.Integration.Tests.Service;
using NA64.SlowControl.Cli;

namespace NA64.Integration.Tests.Magnets.BeamLine;

/// <summary><c>na64hw sim beamline</c> in-process, on the process console (one CLI test at a time).</summary>
[Collection(CliCollection.Name)]
public sealed class SimBeamLineCommandTests
{
    /// <summary>Console output that tells the test when the simulator printed its address.</summary>
    private sealed class WatchedOutput : StringWriter
    {
        private readonly StringBuilder _seen = new();

        public WatchedOutput() : base(CultureInfo.InvariantCulture) { }

        public TaskCompletionSource<int> Port { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public override void Write(char value)
        {
            base.Write(value);
            lock (_seen)
            {
                _seen.Append(value);
                var text = _seen.ToString();
                var at = text.IndexOf("tcp:127.0.0.1:", StringComparison.Ordinal);
                var end = at < 0 ? -1 : text.IndexOf('\n', at);
                if (end > 0)
                {
                    Port.TrySetResult(int.Parse(text[(at + 14)..end].Trim(), CultureInfo.InvariantCulture));
                }
            }
        }

        public override void Write(string? value)
        {
            foreach (var c in value ?? "")
            {
                Write(c);
            }
        }

        public override void WriteLine(string? value) => Write(value + "\n");
    }

    private static async Task<(int Exit, string Output)> RunAsync(Func<WatchedOutput, Task>? whileRunning, params string[] args)
    {
        var output = new WatchedOutput();
        var (previousOut, previousError) = (Console.Out, Console.Error);
        Console.SetOut(output);
        Console.SetError(output);
        using var interrupt = new CancellationTokenSource();
        try
        {
            var run = Na64hwCli.InvokeAsync(["sim", "beamline", .. args], Serilog.Core.Logger.None, interrupt.Token);
            if (whileRunning is not null)
            {
                await Safety.Within(Task.WhenAny(output.Port.Task, run));
                Assert.True(output.Port.Task.IsCompleted, output.ToString());
                await whileRunning(output);
                await interrupt.CancelAsync();
            }

            return (await Safety.Within(run), output.ToString());
        }
        finally
        {
            Console.SetOut(previousOut);
            Console.SetError(previousError);
        }
    }

    [Theory]
    [InlineData("--approval", "maybe", "Refused: --approval is 'maybe'; it must be auto, pending or deny")]
    [InlineData("--cycle", "0.5", "Refused: --cycle is 0.5; it must be 1 to 3600 seconds")]
    public async Task A_bad_option_is_refused_in_one_line_with_exit_2(string option, string value, string line)
    {
        var (exit, output) = await RunAsync(null, "--tcp", "0", option, value);
        Assert.Equal(ExitCodes.Refused, exit);
        Assert.Equal(line, output.Trim());
    }

    [Fact]
    public async Task The_stand_alone_gateway_answers_the_driver_over_TCP_and_denies_in_deny_mode()
    {
        var (exit, _) = await RunAsync(async output =>
        {
            var port = await output.Port.Task;
            await using var transport = new LineTransport(new TcpEndpoint("127.0.0.1", port), LineFraming.CrLf, TimeProvider.System);
            var magnet = new BeamLineMagnet(new LineBeamLineGateway(transport, "na64-test", Safety.Timeout),
                new MagnetLimits("MBPL", 900), time: new FakeTimeProvider());
            await magnet.InitializeAsync();
            Assert.Equal(BeamLineState.Off, magnet.LastStatus!.State);
            var denied = await magnet.StandbyAsync();
            Assert.Equal(MagnetRequestOutcome.Denied, denied.Outcome);
            Assert.Equal("no beam-line control token: ask the CCC", denied.Reason);
        }, "--tcp", "0", "--approval", "deny");
        Assert.Equal(ExitCodes.Ok, exit);
    }
}
