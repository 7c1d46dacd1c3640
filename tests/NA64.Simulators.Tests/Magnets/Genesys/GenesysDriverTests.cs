using Microsoft.Extensions.Time.Testing;
using NA64.Hardware.Errors;
using NA64.Hardware.Magnets;
using NA64.Hardware.Magnets.Genesys;
using NA64.Hardware.Transport;
using NA64.Simulators.Magnets;
using NA64.Simulators.Magnets.Genesys;
using NA64.Simulators.Serving;

namespace NA64.Simulators.Tests.Magnets.Genesys;

/// <summary>
/// The real driver over a LineTransport on in-memory pipes to the simulator's wire, everything on one fake clock.
/// No test waits on wall-clock time; a real-time guard only stops a hung test.
/// </summary>
public sealed class GenesysDriverTests
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(20);

    /// <summary>Records every request; lets a test replace the next reply to a matching request (drop, garble).</summary>
    private sealed class Observed(ILineDevice inner) : ILineDevice
    {
        private readonly Lock _gate = new();
        private readonly List<string> _requests = [];
        private (Func<string, bool> Match, string? Reply, TaskCompletionSource Seen)? _override;

        public string RequestTerminator => inner.RequestTerminator;

        public string ReplyTerminator => inner.ReplyTerminator;

        public IReadOnlyList<string> Requests
        {
            get
            {
                lock (_gate)
                {
                    return [.. _requests];
                }
            }
        }

        /// <summary>The next request matching <paramref name="match"/> is executed but answered with <paramref name="reply"/> (null: silence).</summary>
        public Task Override(Func<string, bool> match, string? reply)
        {
            var seen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            lock (_gate)
            {
                _override = (match, reply, seen);
            }

            return seen.Task;
        }

        public string? Respond(string request)
        {
            var reply = inner.Respond(request);
            TaskCompletionSource? seen = null;
            lock (_gate)
            {
                _requests.Add(request);
                if (_override is { } o && o.Match(request))
                {
                    reply = o.Reply;
                    seen = o.Seen;
                    _override = null;
                }
            }

            seen?.TrySetResult();
            return reply;
        }
    }

    private sealed class Rig : IAsyncDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly List<Task> _serving = [];

        public Rig(string model = "GEN8-400", int[]? addresses = null, double maxAmps = 400, double? maxVolts = 8)
        {
            addresses ??= [6];
            Units = addresses.Select(a => new GenesysUnitModel(a, GenesysFacts.ParseModel(model), Time, new MagnetLoad(0.5, 0.01, noiseAmps: 0.02, seed: a))).ToArray();
            Wire = new GenesysWire(Units);
            Device = new Observed(Wire);
            Server = new LineDeviceServer(Device, Time);
            Transport = new LineTransport(new InMemoryEndpoint(() =>
            {
                var (host, device) = InMemoryDuplex.CreatePair();
                _serving.Add(Task.Run(async () =>
                {
                    // A disconnect fault ends the session; closing the device side then shows the host a hang-up.
                    await Server.ServeAsync(device, _stop.Token);
                    await device.DisposeAsync();
                }));
                return host;
            }), GenesysProtocol.Framing, Time);
            Supplies = addresses.Select(a => new GenesysSupply(Transport, a, new MagnetLimits($"MAG{a}", maxAmps, maxVolts), time: Time)).ToArray();
        }

        public FakeTimeProvider Time { get; } = new(new DateTimeOffset(2026, 9, 1, 8, 0, 0, TimeSpan.Zero));

        public GenesysUnitModel[] Units { get; }

        public GenesysWire Wire { get; }

        public Observed Device { get; }

        public LineDeviceServer Server { get; }

        public LineTransport Transport { get; }

        public GenesysSupply[] Supplies { get; }

        public GenesysSupply Supply => Supplies[0];

        public GenesysUnitModel Unit => Units[0];

        public async ValueTask DisposeAsync()
        {
            foreach (var s in Supplies)
            {
                s.Dispose();
            }

            await Transport.DisposeAsync();
            await _stop.CancelAsync();
            foreach (var serving in _serving)
            {
                try
                {
                    await serving.WaitAsync(Guard);
                }
                catch (OperationCanceledException) when (_stop.IsCancellationRequested)
                {
                    // The serving loop was cancelled at teardown: its normal way out.
                }
            }

            _stop.Dispose();
        }
    }

    private static Task<T> Within<T>(Task<T> task) => task.WaitAsync(Guard);

    private static Task Within(Task task) => task.WaitAsync(Guard);

    [Fact]
    public async Task Initialization_only_selects_and_reads_the_identity()
    {
        await using var rig = new Rig();
        await Within(rig.Supply.InitializeAsync());
        Assert.Equal(["ADR 6", "IDN?"], rig.Device.Requests);
        Assert.Equal(new GenesysModel("GEN8-400", 8, 400), rig.Supply.Model);
        Assert.Equal(0, rig.Unit.Pc);
        Assert.Equal("0.00", rig.Unit.PvText);
        Assert.False(rig.Unit.OutputOn);
        Assert.Equal(new MagnetCapabilities(false, false, false, false), rig.Supply.Capabilities);
    }

    [Fact]
    public async Task Ramp_in_steps_to_400_A_on_a_GEN8_400_with_a_half_henry_magnet_settles_in_CC()
    {
        await using var rig = new Rig();
        await Within(rig.Supply.InitializeAsync());
        Assert.Equal(MagnetRequestResult.Done, await Within(rig.Supply.SwitchOnAsync()));
        Assert.Equal("8", rig.Unit.PvText);
        for (var amps = 50; amps <= 400; amps += 50)
        {
            await Within(rig.Supply.SetCurrentAsync(amps));
            rig.Time.Advance(TimeSpan.FromSeconds(5));
            var step = await Within(rig.Supply.ReadAsync());
            Assert.Equal(amps, step.SetpointAmps);
            Assert.True(step.Amps <= amps + 0.05, $"{step.Amps} A overshoots {amps} A");
        }

        MagnetReadback? last = null;
        for (var i = 0; i < 120 && last?.Conditions.HasFlag(MagnetConditions.CurrentRegulated) != true; i++)
        {
            rig.Time.Advance(TimeSpan.FromSeconds(1));
            last = await Within(rig.Supply.ReadAsync());
        }

        Assert.NotNull(last);
        Assert.Equal(MagnetOutput.On, last.Output);
        Assert.Equal(MagnetConditions.CurrentRegulated, last.Conditions);
        Assert.InRange(last.Amps, 399.95, 400.05);
        Assert.InRange(last.Volts!.Value, 3.99, 4.01);
        Assert.Equal(400, rig.Unit.Amps);
        Assert.Equal(1, rig.Device.Requests.Count(r => r.StartsWith("ADR", StringComparison.Ordinal)));
        Assert.Equal(0, rig.Transport.Counters.Timeouts);
    }

    [Fact]
    public async Task Setpoints_beyond_the_setup_or_the_rating_are_refused_with_nothing_sent()
    {
        await using var rig = new Rig(maxAmps: 500, maxVolts: 10);
        var above = await Assert.ThrowsAsync<SetpointOutOfRangeException>(() => Within(rig.Supply.SetCurrentAsync(501)));
        Assert.Equal("setup MaxAmps", above.LimitName);
        Assert.Empty(rig.Device.Requests);
        await Assert.ThrowsAsync<SetpointOutOfRangeException>(() => Within(rig.Supply.SetCurrentAsync(-1)));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => Within(rig.Supply.SetCurrentAsync(double.NaN)));
        Assert.Empty(rig.Device.Requests);

        var rating = await Assert.ThrowsAsync<SetpointOutOfRangeException>(() => Within(rig.Supply.SetCurrentAsync(450)));
        Assert.Contains("GEN8-400", rating.LimitName, StringComparison.Ordinal);
        Assert.Equal("MAG6: PC = 450 refused, rating of the GEN8-400 is 400", rating.Message);
        var compliance = await Assert.ThrowsAsync<SetpointOutOfRangeException>(() => Within(rig.Supply.SwitchOnAsync()));
        Assert.Equal("PV", compliance.Parameter);
        Assert.Equal(["ADR 6", "IDN?"], rig.Device.Requests);
    }

    [Fact]
    public async Task Standby_and_polarity_are_refused_with_nothing_sent()
    {
        await using var rig = new Rig();
        Assert.Equal(MagnetRequestOutcome.Denied, (await rig.Supply.StandbyAsync()).Outcome);
        var reversed = await rig.Supply.SetPolarityAsync(MagnetPolarity.Reversed);
        Assert.Equal(MagnetRequestOutcome.Denied, reversed.Outcome);
        Assert.Contains("no polarity switch", reversed.Reason, StringComparison.Ordinal);
        Assert.Equal(MagnetRequestOutcome.Done, (await rig.Supply.SetPolarityAsync(MagnetPolarity.Normal)).Outcome);
        Assert.Empty(rig.Device.Requests);
    }

    [Fact]
    public async Task OUT_1_refused_with_E07_during_an_OTP_fault_is_a_typed_exception_and_reset_is_denied_until_it_clears()
    {
        await using var rig = new Rig();
        await Within(rig.Supply.InitializeAsync());
        rig.Unit.SetOverTemperature(true);
        var e = await Assert.ThrowsAsync<GenesysFaultShutdownException>(() => Within(rig.Supply.SwitchOnAsync()));
        Assert.Equal("E07", e.RawReply);
        Assert.Equal("OUT 1", e.Request);
        Assert.False(rig.Unit.OutputOn);

        var read = await Within(rig.Supply.ReadAsync());
        Assert.Equal(MagnetOutput.Fault, read.Output);
        Assert.True(read.Conditions.HasFlag(MagnetConditions.OverTemperature));

        var denied = await Within(rig.Supply.ResetAsync());
        Assert.Equal(MagnetRequestOutcome.Denied, denied.Outcome);
        Assert.Contains("OverTemperature", denied.Reason, StringComparison.Ordinal);
        Assert.DoesNotContain("RST", rig.Device.Requests);

        rig.Unit.SetOverTemperature(false);
        Assert.Equal(MagnetRequestResult.Done, await Within(rig.Supply.ResetAsync()));
        Assert.Equal(MagnetRequestResult.Done, await Within(rig.Supply.SwitchOnAsync()));
        Assert.True(rig.Unit.OutputOn);
    }

    [Fact]
    public async Task A_lost_OK_is_a_timeout_not_a_hang_and_the_next_command_selects_the_unit_again()
    {
        await using var rig = new Rig();
        await Within(rig.Supply.InitializeAsync());
        var seen = rig.Device.Override(r => r.StartsWith("PC ", StringComparison.Ordinal), null);
        var set = rig.Supply.SetCurrentAsync(100);
        await Within(seen);
        rig.Time.Advance(GenesysProtocol.DefaultReplyTimeout);
        var e = await Assert.ThrowsAsync<DeviceTimeoutException>(() => Within(set));
        Assert.Equal("PC 100", e.Request);
        Assert.Equal(1, rig.Transport.Counters.Timeouts);
        Assert.Null(GenesysLine.For(rig.Transport).Addressed);

        await Within(rig.Supply.SetCurrentAsync(120));
        Assert.Equal(["ADR 6", "IDN?", "PC 100", "ADR 6", "PC 120"], rig.Device.Requests);
        Assert.Equal(120, rig.Unit.Pc);
    }

    [Fact]
    public async Task A_garbled_reply_is_reported_with_its_raw_bytes()
    {
        await using var rig = new Rig();
        await Within(rig.Supply.InitializeAsync());
        _ = rig.Device.Override(r => r == "MC?", "4\u00ff0.\u00001");
        var e = await Assert.ThrowsAsync<DeviceReplyException>(() => Within(rig.Supply.ReadAsync()));
        Assert.Equal("MC?", e.Request);
        Assert.Equal("4\u00ff0.\u00001", e.RawReply);
        Assert.Contains("MC?", e.Message, StringComparison.Ordinal);
        // The line is usable at once.
        var read = await Within(rig.Supply.ReadAsync());
        Assert.Equal(MagnetOutput.Off, read.Output);
    }

    [Fact]
    public async Task An_SRQ_line_in_the_middle_of_an_exchange_is_not_taken_as_the_reply_and_is_counted()
    {
        await using var rig = new Rig();
        await Within(rig.Supply.InitializeAsync());
        rig.Unit.SetStatusEnable((int)GenesysStatus.Fault);
        var requested = 0;
        rig.Supply.ServiceRequested += (_, _) => Interlocked.Increment(ref requested);
        rig.Unit.SetAcFailure(true);

        var read = await Within(rig.Supply.ReadAsync());
        Assert.Equal(MagnetOutput.Fault, read.Output);
        Assert.Equal(MagnetConditions.AcFailure, read.Conditions);
        Assert.InRange(read.Amps, 0, 0.02); // noise only
        Assert.Equal(1, rig.Supply.ServiceRequests);
        Assert.Equal(1, Volatile.Read(ref requested));
        Assert.Equal(1, rig.Transport.Counters.UnsolicitedLines);
        Assert.Equal(0, rig.Transport.Counters.DiscardedBytes);
    }

    [Fact]
    public async Task Two_units_on_one_line_select_in_turn_and_ADR_is_sent_only_when_the_unit_changes()
    {
        await using var rig = new Rig(addresses: [6, 7]);
        var (a, b) = (rig.Supplies[0], rig.Supplies[1]);
        await Within(a.InitializeAsync());
        await Within(b.InitializeAsync());
        await Within(b.ReadAsync());
        await Within(b.SetCurrentAsync(10));
        await Within(a.SetCurrentAsync(20));
        await Within(a.ReadAsync());
        await Within(Task.WhenAll(a.SetCurrentAsync(30), b.SetCurrentAsync(40), a.ReadAsync(), b.ReadAsync()));

        Assert.Equal(30, rig.Wire[6].Pc);
        Assert.Equal(40, rig.Wire[7].Pc);
        var requests = rig.Device.Requests;
        Assert.Equal(["ADR 6", "IDN?", "ADR 7", "IDN?", "OUT?"], requests.Take(5));
        // Every command reached the unit selected last, so no command went to the wrong unit.
        int? selected = null;
        foreach (var r in requests)
        {
            if (r.StartsWith("ADR ", StringComparison.Ordinal))
            {
                var next = int.Parse(r[4..], System.Globalization.CultureInfo.InvariantCulture);
                Assert.NotEqual(selected, next);
                selected = next;
            }
        }
    }

    [Fact]
    public async Task After_the_port_is_re_opened_ADR_goes_first_even_if_the_line_had_this_unit_selected()
    {
        await using var rig = new Rig();
        await Within(rig.Supply.InitializeAsync());
        rig.Server.Faults.Disconnect();
        var watch = System.Diagnostics.Stopwatch.StartNew();
        while (rig.Transport.IsConnected && watch.Elapsed < Guard)
        {
            await Task.Yield();
        }

        Assert.False(rig.Transport.IsConnected);
        Assert.Null(rig.Wire.Respond("ADR 29")); // the far end lost its selection (a restarted unit or session)
        var mark = rig.Device.Requests.Count;

        var read = await Within(rig.Supply.ReadAsync());
        Assert.Equal(MagnetOutput.Off, read.Output);
        Assert.Equal(["ADR 6", "OUT?"], rig.Device.Requests.Skip(mark).Take(2));
        Assert.Equal(1, rig.Transport.Counters.Reconnects);
        Assert.Equal(0, rig.Transport.Counters.Timeouts);
    }

    [Fact]
    public async Task A_device_in_local_mode_refuses_the_setting_with_a_typed_error_and_reads_Local()
    {
        await using var rig = new Rig();
        await Within(rig.Supply.InitializeAsync());
        rig.Unit.SetFrontPanelLocal(true);
        var e = await Assert.ThrowsAsync<GenesysCommandErrorException>(() => Within(rig.Supply.SetCurrentAsync(10)));
        Assert.Equal("C03", e.Code);
        var read = await Within(rig.Supply.ReadAsync());
        Assert.True(read.Conditions.HasFlag(MagnetConditions.Local));
        Assert.Equal(0, rig.Unit.Pc);
    }
}
