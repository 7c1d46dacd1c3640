using System.Text;
using Microsoft.Extensions.Time.Testing;
using NA64.Hardware.Magnets;
using NA64.Hardware.Transport;
using NA64.Simulators.Magnets.Danfysik8500;
using NA64.Simulators.Serving;
using C = NA64.Hardware.Magnets.Danfysik8500.Danfysik8500Conditions;

namespace NA64.Simulators.Tests.Magnets.Danfysik8500;

/// <summary>The simulator's wire side (device-protocols.md §4.6 checklist), request by request.</summary>
public sealed class Danfysik8500WireTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 9, 1, 8, 0, 0, TimeSpan.Zero));

    private Danfysik8500Wire NewUnit(int address = 0, Danfysik8500SimSettings? settings = null, bool remote = true)
    {
        var wire = new Danfysik8500Wire(new Danfysik8500Model(address, _time, settings));
        if (remote)
        {
            Assert.Null(wire.Respond("REM"));
        }

        return wire;
    }

    [Fact]
    public void Status_answers_and_directives_are_silent_as_in_the_manual_example()
    {
        var u = NewUnit(remote: false);
        Assert.Null(u.Respond("REM"));
        Assert.Equal("!!....................!.", u.Respond("S1"));
        Assert.Null(u.Respond("N"));
        Assert.Equal(".!......................", u.Respond("S1"));
        Assert.Null(u.Respond("WA 250000"));
        Assert.Equal("250000", u.Respond("RA"));
        Assert.Equal("+", u.Respond("PO"));
        Assert.Null(u.Respond("F"));
        Assert.Equal("!!....................!.", u.Respond("S1"));
        u.Unit.RaiseInterlock(C.MagnetWaterFlowFailure);
        Assert.Equal("!!.......!..........!.!.", u.Respond("S1"));
    }

    [Fact]
    public async Task Bytes_on_the_line_CR_in_LF_ignored_LF_CR_out_S1_is_26_bytes()
    {
        var u = NewUnit();
        var server = new LineDeviceServer(u, _time);
        var (host, device) = InMemoryDuplex.CreatePair();
        using var stop = new CancellationTokenSource();
        var serving = server.ServeAsync(device, stop.Token);

        await host.WriteAsync(Encoding.ASCII.GetBytes("WA 1000\r\nRA\r\nS1\r"));
        var expected = "1000\n\r!!....................!.\n\r";
        var received = new StringBuilder();
        var buffer = new byte[256];
        while (received.Length < expected.Length)
        {
            var n = await host.ReadAsync(buffer).AsTask().WaitAsync(Danfysik8500Rig.Guard);
            received.Append(Encoding.ASCII.GetString(buffer, 0, n));
        }

        Assert.Equal(expected, received.ToString());
        Assert.Equal(26, Encoding.ASCII.GetByteCount(".!......................\n\r"));
        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => serving.WaitAsync(Danfysik8500Rig.Guard));
    }

    [Fact]
    public void Every_S1_is_exactly_24_characters()
    {
        var u = NewUnit();
        foreach (var interlock in Enum.GetValues<C>().Where(c => c != C.None && (c & Danfysik8500Model.InterlockInputs) == c))
        {
            u.Unit.RaiseInterlock(interlock);
            Assert.Equal(24, u.Respond("S1")!.Length);
        }

        var s1 = u.Respond("S1")!;
        Assert.Equal('!', s1[9]); // sum interlock follows any interlock
        Assert.All(s1, c => Assert.True(c is '!' or '.'));
    }

    [Fact]
    public void Bad_commands_and_parameters_get_error_text_codes_or_nothing()
    {
        var u = NewUnit();
        Assert.Equal("ERROR: UNKNOWN COMMAND", u.Respond("XYZ"));
        Assert.Equal("ERROR: ILLEGAL PARAMETER", u.Respond("WA 1000001"));
        Assert.Equal("ERROR: ILLEGAL PARAMETER", u.Respond("WA 25,5"));
        Assert.Equal("ERROR: ILLEGAL PARAMETER", u.Respond("WA"));
        Assert.Equal("ERROR: ILLEGAL PARAMETER", u.Respond("AD 99"));
        Assert.Equal("ERROR: ILLEGAL PARAMETER", u.Respond("PO x"));
        Assert.Null(u.Respond("ERRC"));
        Assert.Equal("ERR 01", u.Respond("XYZ"));
        Assert.Null(u.Respond("NERR"));
        Assert.Null(u.Respond("XYZ"));
        Assert.Equal("0", u.Respond("RA"));
    }

    [Fact]
    public void ASW_makes_every_command_answer_and_NASW_ends_it()
    {
        var u = NewUnit();
        Assert.Equal(Danfysik8500Wire.Acknowledge, u.Respond("ASW"));
        Assert.Equal(Danfysik8500Wire.Acknowledge, u.Respond("WA 5000"));
        Assert.Equal(Danfysik8500Wire.Acknowledge, u.Respond("N"));
        Assert.Null(u.Respond("NASW"));
        Assert.Null(u.Respond("F"));
        Assert.Null(u.Respond("NERR"));
        Assert.Equal(Danfysik8500Wire.Acknowledge, u.Respond("ASW"));
        Assert.Equal("ERR 01", u.Respond("XYZ")); // with NERR, ASW still answers every command
    }

    [Fact]
    public void Local_refuses_directives_but_answers_status_and_LOCK_holds_until_UNLOCK()
    {
        var u = NewUnit(remote: false);
        Assert.Equal("ERROR: LOCAL MODE", u.Respond("N"));
        Assert.Equal("ERROR: LOCAL MODE", u.Respond("WA 100"));
        Assert.Equal("0", u.Respond("RA"));
        Assert.Null(u.Respond("LOCK"));
        Assert.Equal("ERROR: LOCAL MODE", u.Respond("REM"));
        Assert.Null(u.Respond("UNLOCK"));
        Assert.True(u.Unit.Remote);
        Assert.Null(u.Respond("N"));
        Assert.Null(u.Respond("LOC"));
        Assert.Equal("ERROR: LOCAL MODE", u.Respond("F"));
        Assert.True(u.Unit.PowerOn);
    }

    [Fact]
    public void N_is_refused_while_an_interlock_persists_and_until_RS_after_it_clears()
    {
        var u = NewUnit();
        u.Unit.RaiseInterlock(C.DoorSwitch);
        Assert.Equal("ERROR: INTERLOCK ACTIVE", u.Respond("N"));
        Assert.Null(u.Respond("RS"));
        Assert.Equal('!', u.Respond("S1")![19]); // the cause persists, RS clears nothing
        u.Unit.ClearInterlock(C.DoorSwitch);
        Assert.Equal('!', u.Respond("S1")![19]); // latched
        Assert.Equal("ERROR: INTERLOCK ACTIVE", u.Respond("N"));
        Assert.Null(u.Respond("RS"));
        Assert.Equal("!!....................!.", u.Respond("S1"));
        Assert.Null(u.Respond("N"));
        Assert.True(u.Unit.PowerOn);
    }

    [Fact]
    public void Polarity_only_at_zero_current()
    {
        var u = NewUnit();
        u.Unit.StartOn(100_000);
        Assert.Equal("ERROR: CURRENT NOT ZERO", u.Respond("PO -"));
        Assert.Equal("+", u.Respond("PO"));
        Assert.Null(u.Respond("WA 0"));
        _time.Advance(TimeSpan.FromSeconds(6)); // 100 A at 20 A/s
        Assert.Null(u.Respond("PO -"));
        Assert.Equal("-", u.Respond("PO"));
        Assert.Equal("..!.....................", u.Respond("S1"));
    }

    [Fact]
    public void DA_0_writes_the_same_DAC_as_WA()
    {
        var u = NewUnit();
        Assert.Null(u.Respond("DA 0,123456"));
        Assert.Equal("123456", u.Respond("RA"));
        Assert.Null(u.Respond("DA 0,654321,1"));
        Assert.Equal("654321", u.Respond("RA"));
        Assert.Equal("ERROR: ILLEGAL PARAMETER", u.Respond("DA 1,5"));
    }

    [Fact]
    public void ADR_selects_one_unit_of_a_multi_drop_line_the_others_are_silent()
    {
        var bus = new Danfysik8500Bus([NewUnit(7, remote: false), NewUnit(75, remote: false)]);
        Assert.Null(bus.Respond("S1")); // none selected yet
        Assert.Null(bus.Respond("ADR 75"));
        Assert.Equal("075", bus.Respond("ADR"));
        Assert.Null(bus.Respond("REM"));
        Assert.Null(bus.Respond("N"));
        Assert.True(bus[75].Unit.PowerOn);
        Assert.False(bus[7].Unit.PowerOn);
        Assert.Equal("007", bus.Respond("ADRS 7"));
        Assert.Equal("!!....................!.", bus.Respond("S1"));
        Assert.Null(bus.Respond("ADR 3"));
        Assert.Null(bus.Respond("S1"));
        Assert.Throws<ArgumentException>(() => new Danfysik8500Bus([NewUnit(7), NewUnit(7)]));
    }

    [Fact]
    public void ADC_readings_scale_with_the_calibration_and_carry_seeded_noise()
    {
        var settings = Danfysik8500SimSettings.Default with { AmpsPerCurrentCount = 0.01, NoiseCounts = 3 };
        var a = NewUnit(settings: settings);
        var b = NewUnit(settings: settings);
        a.Unit.StartOn(500_000);
        b.Unit.StartOn(500_000);
        var readingsA = Enumerable.Range(0, 50).Select(_ => int.Parse(a.Respond("AD 8")!, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        var readingsB = Enumerable.Range(0, 50).Select(_ => int.Parse(b.Respond("AD 8")!, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        Assert.Equal(readingsA, readingsB); // same seed, same numbers
        Assert.All(readingsA, n => Assert.InRange(n, 50000 - 20, 50000 + 20));
        Assert.True(readingsA.Distinct().Count() > 3, "noise is there");
        Assert.InRange(readingsA.Average(), 49998.5, 50001.5);
        Assert.InRange(int.Parse(a.Respond("AD 2")!, System.Globalization.CultureInfo.InvariantCulture), 5000 - 100, 5000 + 100); // 5 V at 1 mV a count
        Assert.Equal("0", a.Respond("AD 5"));
    }
}
