using System.Globalization;
using Microsoft.Extensions.Time.Testing;
using NA64.Hardware.Errors;
using NA64.Hardware.Magnets;
using NA64.Hardware.Magnets.Danfysik8500;
using NA64.Hardware.Transport;

namespace NA64.Hardware.Tests.Magnets.Danfysik8500;

/// <summary>The driver against a scripted unit: exact bytes, refusals with nothing sent, read-back checks.</summary>
public sealed class Danfysik8500SupplyTests : IAsyncDisposable
{
    private static readonly Danfysik8500Options Options = new(FullScaleAmps: 1000, AmpsPerPpm: 0.001, AmpsPerCurrentCount: 0.01, VoltsPerVoltageCount: 0.002);
    private static readonly MagnetLimits Limits = new("MBPL-test", MaxAmps: 900);

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 9, 1, 8, 0, 0, TimeSpan.Zero));
    private readonly Dictionary<string, string?> _replies = new(StringComparer.Ordinal)
    {
        ["S1"] = ".!......................",
        ["RA"] = "400000",
        ["AD 8"] = "40000",
        ["AD 2"] = "2000",
        ["PO"] = "+",
    };

    private LineTransport? _transport;
    private ScriptedDanfysikDevice? _device;

    private Danfysik8500Supply Create(Danfysik8500Options? options = null)
    {
        var (host, device) = InMemoryDuplex.CreatePair();
        _transport = new LineTransport(new InMemoryEndpoint(() => host), LineFraming.DanfysikCrLfCr, _time);
        _device = new ScriptedDanfysikDevice(device, r => _replies.TryGetValue(r, out var reply) ? reply : null);
        return new Danfysik8500Supply(_transport, Limits, options ?? Options, _time);
    }

    private IReadOnlyList<string> Requests => _device!.Requests;

    public async ValueTask DisposeAsync()
    {
        if (_transport is not null)
        {
            await _transport.DisposeAsync();
        }

        if (_device is not null)
        {
            await _device.DisposeAsync();
        }
    }

    [Fact]
    public async Task Initialize_selects_remote_then_only_reads()
    {
        var supply = Create();
        await supply.InitializeAsync();
        Assert.Equal(["REM", "S1", "RA", "PO"], Requests);
    }

    [Fact]
    public async Task Read_scales_ppm_and_adc_counts_by_configuration()
    {
        var supply = Create();
        var r = await supply.ReadAsync();
        Assert.Equal(["S1", "RA", "AD 8", "AD 2", "PO"], Requests);
        Assert.Equal(MagnetOutput.On, r.Output);
        Assert.Equal(400, r.SetpointAmps, 9);
        Assert.Equal(400, r.Amps, 9);
        Assert.Equal(4, r.Volts!.Value, 9);
        Assert.Equal(MagnetPolarity.Normal, r.Polarity);
        Assert.Equal(MagnetConditions.None, r.Conditions);
        Assert.Equal(_time.GetUtcNow(), r.Time);
        Assert.Same(r, supply.LastReadback);
    }

    [Fact]
    public async Task An_S1_of_25_characters_fails_the_read_with_the_raw_reply()
    {
        _replies["S1"] = ".!.......................";
        var supply = Create();
        var e = await Assert.ThrowsAsync<Danfysik8500ReplyException>(() => supply.ReadAsync());
        Assert.Equal(".!.......................", e.RawReply);
    }

    [Fact]
    public async Task A_setpoint_is_written_in_ppm_and_confirmed_by_RA()
    {
        var supply = Create();
        Assert.Equal(MagnetRequestOutcome.Done, (await supply.SetCurrentAsync(400)).Outcome);
        Assert.Equal(["WA 400000", "RA"], Requests);
    }

    [Fact]
    public async Task A_setpoint_the_unit_did_not_take_names_what_was_sent_and_read_back()
    {
        _replies["RA"] = "0";
        var supply = Create();
        var e = await Assert.ThrowsAsync<Danfysik8500DirectiveNotTakenException>(() => supply.SetCurrentAsync(400));
        Assert.Equal("WA 400000", e.Sent);
        Assert.Equal("RA", e.ReadBackRequest);
        Assert.Equal("0", e.ReadBack);
        Assert.Contains("'WA 400000'", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(900.5, "setup MaxAmps is 900")]
    [InlineData(-1, "lowest current")]
    [InlineData(double.NaN, "lowest current")]
    public async Task A_setpoint_out_of_the_limits_is_refused_with_nothing_sent(double amps, string limit)
    {
        var supply = Create();
        var e = await Assert.ThrowsAsync<SetpointOutOfRangeException>(() => supply.SetCurrentAsync(amps));
        Assert.Contains(limit, e.Message, StringComparison.Ordinal);
        Assert.Contains("MBPL-test", e.Message, StringComparison.Ordinal);
        await supply.ReadAsync(); // the line is in use and nothing came before the read
        Assert.Equal("S1", Requests[0]);
    }

    [Fact]
    public async Task A_setpoint_above_the_units_full_scale_is_refused_with_nothing_sent()
    {
        var supply = Create(Options with { FullScaleAmps = 500, AmpsPerPpm = 0.0005 });
        var e = await Assert.ThrowsAsync<SetpointOutOfRangeException>(() => supply.SetCurrentAsync(600));
        Assert.Contains("unit full scale is 500", e.Message, StringComparison.Ordinal);
        await supply.ReadAsync();
        Assert.Equal("S1", Requests[0]);
    }

    [Fact]
    public async Task A_setpoint_whose_ppm_would_pass_full_scale_is_refused()
    {
        // A calibration that makes 900 A more than 1000000 ppm.
        var supply = Create(Options with { AmpsPerPpm = 0.0008 });
        var e = await Assert.ThrowsAsync<SetpointOutOfRangeException>(() => supply.SetCurrentAsync(900));
        Assert.Contains("WA full scale is 1000000", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Ppm_are_formatted_in_the_invariant_culture()
    {
        var before = CultureInfo.CurrentCulture;
        // The test host runs in invariant-globalization mode: a decimal-comma culture is built by hand.
        var comma = (CultureInfo)CultureInfo.InvariantCulture.Clone();
        comma.NumberFormat.NumberDecimalSeparator = ",";
        comma.NumberFormat.NumberGroupSeparator = "'";
        comma.NumberFormat.NegativeSign = "\u2212";
        CultureInfo.CurrentCulture = comma;
        try
        {
            _replies["RA"] = "123457";
            var supply = Create();
            await supply.SetCurrentAsync(123.4567);
            Assert.Equal("WA 123457", Requests[0]);
        }
        finally
        {
            CultureInfo.CurrentCulture = before;
        }
    }

    [Fact]
    public async Task Switch_on_is_confirmed_by_S1_and_one_that_did_not_take_throws()
    {
        _replies["S1"] = "!!....................!.";
        var supply = Create();
        var e = await Assert.ThrowsAsync<Danfysik8500DirectiveNotTakenException>(() => supply.SwitchOnAsync());
        Assert.Equal("N", e.Sent);
        Assert.Equal("!!....................!.", e.ReadBack);
        Assert.Equal(["N", "S1"], Requests);

        await supply.SwitchOffAsync();
        Assert.Equal(["N", "S1", "F", "S1"], Requests);
    }

    [Fact]
    public async Task An_error_message_where_the_read_back_was_expected_is_a_directive_not_taken()
    {
        // The unit's refusal of N comes in front of the S1 reply: the driver reads it as the read-back.
        _replies["S1"] = "ERROR: INTERLOCK ACTIVE";
        var supply = Create();
        var e = await Assert.ThrowsAsync<Danfysik8500DirectiveNotTakenException>(() => supply.SwitchOnAsync());
        Assert.Equal("N", e.Sent);
        Assert.Equal("ERROR: INTERLOCK ACTIVE", e.ReadBack);
        Assert.IsType<Danfysik8500ReplyException>(e.InnerException);

        _replies["RA"] = "ERROR: LOCAL MODE";
        var wa = await Assert.ThrowsAsync<Danfysik8500DirectiveNotTakenException>(() => supply.SetCurrentAsync(10));
        Assert.Equal("WA 10000", wa.Sent);
        Assert.Equal("ERROR: LOCAL MODE", wa.ReadBack);
    }

    [Fact]
    public async Task Reset_that_leaves_the_sum_interlock_throws()
    {
        _replies["S1"] = "!!.......!..........!.!.";
        var supply = Create();
        var e = await Assert.ThrowsAsync<Danfysik8500DirectiveNotTakenException>(() => supply.ResetAsync());
        Assert.Equal("RS", e.Sent);
        Assert.Contains("sum interlock cleared", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Standby_is_refused_with_nothing_sent()
    {
        var supply = Create();
        Assert.False(supply.Capabilities.HasStandby);
        await Assert.ThrowsAsync<Danfysik8500RefusedException>(() => supply.StandbyAsync());
        await supply.ReadAsync();
        Assert.Equal("S1", Requests[0]);
    }

    [Fact]
    public async Task Polarity_is_refused_before_any_byte_while_the_last_readback_shows_current()
    {
        var supply = Create();
        await supply.ReadAsync();
        var e = await Assert.ThrowsAsync<Danfysik8500RefusedException>(() => supply.SetPolarityAsync(MagnetPolarity.Reversed));
        Assert.Equal("PO -", e.Request);
        Assert.Contains("400 A", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("PO -", Requests);
    }

    [Fact]
    public async Task Polarity_at_zero_current_is_sent_and_checked_in_S1()
    {
        _replies["AD 8"] = "3";
        var supply = Create();
        await supply.ReadAsync();
        _replies["S1"] = "..!....................."; // what a unit that took it shows
        await supply.SetPolarityAsync(MagnetPolarity.Reversed);
        Assert.Equal(["PO -", "S1"], Requests.Skip(5));

        var e = await Assert.ThrowsAsync<Danfysik8500DirectiveNotTakenException>(() => supply.SetPolarityAsync(MagnetPolarity.Normal));
        Assert.Equal("PO +", e.Sent);
    }

    [Fact]
    public async Task A_unit_at_an_address_is_selected_before_every_conversation()
    {
        var supply = Create(Options with { Address = 3 });
        await supply.InitializeAsync();
        await supply.SetCurrentAsync(400);
        Assert.Equal(["ADR 3", "REM", "S1", "RA", "PO", "ADR 3", "WA 400000", "RA"], Requests);
    }

    [Fact]
    public void Meaningless_options_are_refused_in_one_line()
    {
        var (host, _) = InMemoryDuplex.CreatePair();
        var transport = new LineTransport(new InMemoryEndpoint(() => host), LineFraming.DanfysikCrLfCr, _time);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new Danfysik8500Supply(transport, Limits, Options with { AmpsPerCurrentCount = 0 }));
        Assert.Contains("AmpsPerCurrentCount is 0", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<ArgumentOutOfRangeException>(() => new Danfysik8500Supply(transport, Limits, Options with { Address = 1000 }));
        Assert.Contains("0..999", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<ArgumentOutOfRangeException>(() => new Danfysik8500Supply(transport, Limits, Options with { SlewAmpsPerSecond = 0 }));
        Assert.Contains("SlewAmpsPerSecond is 0", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_configured_slew_rate_is_reported_as_the_units_own_ramp_and_unknown_without_one()
    {
        Assert.Equal(20, Create(Options with { SlewAmpsPerSecond = 20 }).Capabilities.OwnRampAmpsPerSecond);
        // A second driver on the same line (construction sends nothing) without the rate configured.
        var unknown = new Danfysik8500Supply(_transport!, Limits, Options, _time).Capabilities;
        Assert.Null(unknown.OwnRampAmpsPerSecond);
        Assert.True(unknown.RampsItself);
        Assert.Empty(Requests);
    }

    [Fact]
    public async Task A_silent_status_query_is_a_timeout_not_a_success()
    {
        _replies.Remove("RA");
        var supply = Create();
        var read = supply.ReadAsync();
        // Fake time moves only once RA is on the wire, so it is RA (not S1 in flight) that times out.
        for (var i = 0; i < 10_000_000 && !Requests.Contains("RA"); i++)
        {
            await Task.Yield();
        }

        _time.Advance(Options.ReplyTimeout + TimeSpan.FromMilliseconds(1));
        var e = await Assert.ThrowsAsync<DeviceTimeoutException>(() => read);
        Assert.Equal("RA", e.Request);
    }
}
