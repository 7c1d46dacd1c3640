using System.CommandLine;
using System.Globalization;
using NA64.Hardware.Errors;
using NA64.SlowControl.Hosting;
using NA64.SlowControl.Hv;
using Serilog;
using Spectre.Console;

namespace NA64.SlowControl.Cli;

/// <summary><c>na64hw hv status|set|on|off</c>: what a detector expert does with the HV from a terminal.</summary>
internal static class HvCommands
{
    public static Command Build(ILogger log)
    {
        var hv = new Command("hv", "High voltage: status, set, on, off");

        var status = new Command("status", "Table of every HV channel: state, VSET/VMON, ISET/IMON, flags");
        status.SetAction((parse, ct) => RunAsync(parse, log, ct, async (hw, _) =>
        {
            await hw.System.PollOnceAsync(ct).ConfigureAwait(false);
            AnsiConsole.Write(StatusTable(hw.System.Snapshot()));
            return 0;
        }));
        hv.Subcommands.Add(status);

        var channelArg = new Argument<string>("channel") { Description = "Channel name from the setup, e.g. MM1.strips" };
        var volts = new Option<double>("--volts") { Description = "Target voltage (magnitude, V)", Required = true };
        var ramp = new Option<double?>("--ramp") { Description = "Ramp-up rate, V/s (checked against the channel's limit)" };
        var set = new Command("set", "Set a channel's voltage and ramp there (switches it on)") { channelArg, volts, ramp };
        set.SetAction((parse, ct) => RunAsync(parse, log, ct, async (hw, _) =>
        {
            var channel = hw.System.Channel(parse.GetValue(channelArg)!);
            if (parse.GetValue(ramp) is { } rate)
            {
                // The controller refuses commands before its first readback; the operator's RUP is then kept for the switch-on.
                await hw.System.PollOnceAsync(ct).ConfigureAwait(false);
                await channel.SetRampUpAsync(rate, ct).ConfigureAwait(false);
            }
            return await RampWithProgressAsync(hw, [(channel, parse.GetValue(volts))], ct).ConfigureAwait(false);
        }));
        hv.Subcommands.Add(set);

        var onArg = new Argument<string>("channel") { Description = "Channel name from the setup" };
        var on = new Command("on", "Switch a channel on at its nominal voltage and wait until it is On") { onArg };
        on.SetAction((parse, ct) => RunAsync(parse, log, ct, (hw, _) =>
        {
            var channel = hw.System.Channel(parse.GetValue(onArg)!);
            return RampWithProgressAsync(hw, [(channel, channel.Setup.NominalVolts)], ct);
        }));
        hv.Subcommands.Add(on);

        var offArg = new Argument<string>("channel") { Description = "Channel name from the setup" };
        var off = new Command("off", "Switch a channel off (following its power-down mode) and wait until it is Off") { offArg };
        off.SetAction((parse, ct) => RunAsync(parse, log, ct, async (hw, _) =>
        {
            var channel = hw.System.Channel(parse.GetValue(offArg)!);
            await hw.System.PollOnceAsync(ct).ConfigureAwait(false);
            var isOff = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            void OnState(HvChannelState from, HvChannelState to)
            {
                if (to == HvChannelState.Off) isOff.TrySetResult();
            }

            channel.StateChanged += OnState;
            await channel.SwitchOffAsync(ct).ConfigureAwait(false);
            using var poll = CancellationTokenSource.CreateLinkedTokenSource(ct);
            var polling = hw.System.RunAsync(poll.Token);
            if (channel.State != HvChannelState.Off)
                await isOff.Task.WaitAsync(ct).ConfigureAwait(false);
            channel.StateChanged -= OnState;
            await poll.CancelAsync().ConfigureAwait(false);
            await IgnoreCancellation(polling).ConfigureAwait(false);
            AnsiConsole.Write(StatusTable([channel.Snapshot()]));
            return 0;
        }));
        hv.Subcommands.Add(off);
        return hv;
    }

    /// <summary>Builds the HV side of the setup, runs <paramref name="body"/>, turns refusals into clear messages.</summary>
    internal static async Task<int> RunAsync(ParseResult parse, ILogger log, CancellationToken ct, Func<HvHardware, TimeProvider, Task<int>> body)
    {
        try
        {
            var setup = CommonOptions.LoadSetup(parse);
            var clock = CommonOptions.Clock(parse, setup);
            await using var hw = HvHardware.Build(setup, clock, log);
            return await body(hw, clock).ConfigureAwait(false);
        }
        catch (Exception e) when (e is SetpointOutOfRangeException or HvCommandRefusedException or HvRampFailedException
                                     or DeviceException or Setup.SetupException or KeyNotFoundException or ArgumentException)
        {
            AnsiConsole.MarkupLine($"[red]Refused:[/] {Markup.Escape(e.Message)}");
            log.Information("Command refused: {Reason}", e.Message);
            return 2;
        }
    }

    /// <summary>Ramps channels with a progress bar per channel, polling as the controllers need.</summary>
    internal static async Task<int> RampWithProgressAsync(HvHardware hw, IReadOnlyList<(HvChannelController Channel, double Volts)> targets, CancellationToken ct)
    {
        await hw.System.PollOnceAsync(ct).ConfigureAwait(false);
        using var poll = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var polling = hw.System.RunAsync(poll.Token);
        var failures = new List<string>();
        await AnsiConsole.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new SpinnerColumn())
            .StartAsync(async progressContext =>
            {
                var ramps = targets.Select(async t =>
                {
                    var startVolts = t.Channel.Snapshot().Readback?.VMon ?? 0;
                    var task = progressContext.AddTask(Label(t.Channel.Name, startVolts, t.Volts), maxValue: 1.0);
                    var progress = new Progress<HvRampProgress>(p =>
                    {
                        double span = Math.Abs(t.Volts - startVolts);
                        task.Value = span < 1e-9 ? 1.0 : Math.Clamp(1.0 - Math.Abs(t.Volts - p.VMon) / span, 0, 1);
                        task.Description = Label(t.Channel.Name, p.VMon, t.Volts);
                    });
                    try
                    {
                        await t.Channel.RampAsync(t.Volts, progress, ct).ConfigureAwait(false);
                        task.Value = 1.0;
                        task.Description = Label(t.Channel.Name, t.Channel.Snapshot().Readback?.VMon ?? t.Volts, t.Volts);
                    }
                    catch (Exception e) when (e is HvRampFailedException or HvCommandRefusedException or DeviceException)
                    {
                        lock (failures)
                            failures.Add($"{t.Channel.Name}: {e.Message}");
                        task.StopTask();
                    }
                });
                await Task.WhenAll(ramps).ConfigureAwait(false);
            }).ConfigureAwait(false);
        await poll.CancelAsync().ConfigureAwait(false);
        await IgnoreCancellation(polling).ConfigureAwait(false);
        AnsiConsole.Write(StatusTable(targets.Select(t => t.Channel.Snapshot()).ToList()));
        foreach (var f in failures)
            AnsiConsole.MarkupLine($"[red]Refused:[/] {Markup.Escape(f)}");
        return failures.Count == 0 ? 0 : 2;
    }

    private static string Label(string channel, double vmon, double target) =>
        string.Create(CultureInfo.InvariantCulture, $"{channel,-12} {vmon,7:0.0} -> {target:0.0} V");

    internal static async Task IgnoreCancellation(Task task)
    {
        try
        {
            await task.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Polling stops by cancellation when the command is done.
        }
    }

    public static Table StatusTable(IReadOnlyList<HvChannelSnapshot> channels)
    {
        var table = new Table().Border(TableBorder.Simple)
            .AddColumn("Channel").AddColumn("Board").AddColumn("State")
            .AddColumn(new TableColumn("VSET").RightAligned()).AddColumn(new TableColumn("VMON").RightAligned())
            .AddColumn(new TableColumn("ISET uA").RightAligned()).AddColumn(new TableColumn("IMON uA").RightAligned())
            .AddColumn("Flags");
        foreach (var c in channels)
        {
            var r = c.Readback;
            string color = c.State switch
            {
                HvChannelState.On => "green",
                HvChannelState.RampingUp or HvChannelState.RampingDown or HvChannelState.RecoveryStepDown
                    or HvChannelState.RecoveryHold or HvChannelState.RecoveryToNominal => "yellow",
                HvChannelState.Tripped or HvChannelState.Interlocked or HvChannelState.Killed
                    or HvChannelState.Disconnected or HvChannelState.OutOfTolerance => "red",
                _ => "grey",
            };
            string F(double? v, string format) => v is { } x ? x.ToString(format, CultureInfo.InvariantCulture) : "-";
            table.AddRow(
                Markup.Escape(c.Channel),
                Markup.Escape(c.Board.Replace("sim ", "", StringComparison.Ordinal)),
                $"[{color}]{c.State}[/]",
                F(r?.VSet, "0.0"), F(r?.VMon, "0.0"), F(r?.ISet, "0.00"), F(r?.IMon, "0.000"),
                Markup.Escape(c.Flags));
        }

        return table;
    }
}
