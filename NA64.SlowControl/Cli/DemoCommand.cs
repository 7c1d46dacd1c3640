using System.CommandLine;
using System.Globalization;
using NA64.SlowControl.Hosting;
using NA64.SlowControl.Hv;
using NA64.SlowControl.Readout;
using Serilog;
using Spectre.Console;

namespace NA64.SlowControl.Cli;

/// <summary>
/// <c>na64hw demo</c>: the whole product on simulators with no hardware and no setup file. Powers the NA64
/// 2018 HV setup, shows a trip of a micromegas strip channel recovered the NA64 way (nominal - 20 V, wait,
/// nominal), then takes a pedestal run and a short physics run on the simulated digitizers.
/// </summary>
internal static class DemoCommand
{
    public static Command Build(ILogger log)
    {
        var demo = new Command("demo", "Run the host on its built-in simulated NA64 setup");
        demo.SetAction((parse, ct) => HvCommands.RunAsync(parse, log, ct, async (hw, clock) =>
        {
            var setup = hw.System.Setup;
            AnsiConsole.MarkupLine($"[bold]NA64.Hw demo[/] on [blue]{Markup.Escape(setup.SourceName)}[/]: " +
                $"{hw.System.Channels.Count} HV channels on {hw.Boards.Count} simulated CAEN N1470 boards, " +
                $"simulated time x{CommonOptions.SpeedOf(clock).ToString(CultureInfo.InvariantCulture)}");

            AnsiConsole.MarkupLine("[bold]1. HV on[/]: every channel ramps to nominal at its RUP; done when the readbacks say On.");
            int rc = await HvCommands.RampWithProgressAsync(hw, hw.System.Channels.Select(c => (c, c.Setup.NominalVolts)).ToList(), ct).ConfigureAwait(false);
            if (rc != 0)
                return rc;

            rc = await ShowTripRecoveryAsync(hw, ct).ConfigureAwait(false);
            if (rc != 0)
                return rc;

            return await ShowReadoutAsync(parse, log, ct).ConfigureAwait(false);
        }));
        return demo;
    }

    /// <summary>Step 3: a pedestal run and a short physics run on the simulated MSADC modules, with the run summary.</summary>
    private static Task<int> ShowReadoutAsync(ParseResult parse, ILogger log, CancellationToken ct) =>
        ReadoutCommands.RunAsync(parse, log, null, ct, async run =>
        {
            AnsiConsole.MarkupLine(string.Create(CultureInfo.InvariantCulture,
                $"[bold]3. Readout[/]: {run.Map.Modules.Count} simulated MSADC modules on sources {string.Join(", ", run.Map.SourceIds)}; pedestal run, then a physics run of {DemoEvents} triggers."));
            var pedestals = await run.PedestalRunAsync(DemoPedestalEvents, ct).ConfigureAwait(false);
            ReadoutCommands.PrintPedestals(run, pedestals);
            var result = await ReadoutCommands.PhysicsRunWithLiveRatesAsync(run, new PhysicsRunRequest { Events = DemoEvents }, ct).ConfigureAwait(false);
            ReadoutCommands.PrintSummary(result, run.Readout);
            return result.Pipeline.IsBalanced ? 0 : 1;
        });

    private const int DemoPedestalEvents = 1000;
    private const long DemoEvents = 20_000;

    /// <summary>Over-current on a strip channel: the board trips it, the controller recovers it in two steps.</summary>
    private static async Task<int> ShowTripRecoveryAsync(HvHardware hw, CancellationToken ct)
    {
        var channel = hw.System.Channels.FirstOrDefault(c => c.Name.EndsWith(".strips", StringComparison.Ordinal));
        if (channel is null)
            return 0;
        var device = hw.System.Setup.Devices.Single(d => d.Channels.Any(c => c.Name == channel.Name));
        var model = hw.SimulatedBoard(device.Name).Channels[channel.Index];

        AnsiConsole.MarkupLine($"[bold]2. Trip[/]: a discharge in {Markup.Escape(channel.Name)} draws 5 uA (limit {channel.Setup.CurrentLimitMicroamps} uA).");
        var back = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        bool tripped = false;
        void OnState(HvChannelState from, HvChannelState to)
        {
            var r = channel.Snapshot().Readback;
            AnsiConsole.MarkupLine(string.Create(CultureInfo.InvariantCulture,
                $"   {Markup.Escape(channel.Name)}: {from} -> [yellow]{to}[/] (VMON {r?.VMon ?? 0:0.0} V, IMON {r?.IMon ?? 0:0.000} uA)"));
            if (to == HvChannelState.Tripped)
            {
                tripped = true;
                model.InjectCurrent(0);   // the discharge is over; recovery may go ahead
            }

            if (tripped && to == HvChannelState.On)
                back.TrySetResult();
            if (to is HvChannelState.Interlocked or HvChannelState.Killed or HvChannelState.Disconnected)
                back.TrySetException(new InvalidOperationException($"{channel.Name} went {to} during the trip demo"));
        }

        channel.StateChanged += OnState;
        using var poll = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var polling = hw.System.RunAsync(poll.Token);
        try
        {
            model.InjectCurrent(5.0);
            await back.Task.WaitAsync(ct).ConfigureAwait(false);
        }
        finally
        {
            channel.StateChanged -= OnState;
            await poll.CancelAsync().ConfigureAwait(false);
            await HvCommands.IgnoreCancellation(polling).ConfigureAwait(false);
        }

        AnsiConsole.Write(HvCommands.StatusTable(hw.System.Snapshot()));
        return 0;
    }
}
