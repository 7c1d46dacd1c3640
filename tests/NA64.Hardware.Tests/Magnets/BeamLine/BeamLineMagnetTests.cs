using Microsoft.Extensions.Time.Testing;
using NA64.Hardware.Errors;
using NA64.Hardware.Magnets;
using NA64.Hardware.Magnets.BeamLine;

namespace NA64.Hardware.Tests.Magnets.BeamLine;

/// <summary>A gateway that answers what the test sets and records what it was asked.</summary>
internal sealed class ScriptedGateway : IBeamLineGateway
{
    public BeamLineStatus Status { get; set; } = new(BeamLineFacts.MbplCircuit, BeamLineState.Off, 0, 0, false, 0,
        DateTimeOffset.UnixEpoch, null, null, BeamLineFacts.MbplElements);

    public BeamLineOutcome Outcome { get; set; } = BeamLineOutcome.Accepted;

    public List<string> Calls { get; } = [];

    public Task<BeamLineStatus> ReadAsync(string circuit, CancellationToken cancellationToken = default)
    {
        Calls.Add($"READ {circuit}");
        return Task.FromResult(Status);
    }

    public Task<BeamLineOutcome> RequestSetCurrentAsync(string circuit, double amps, string reason, CancellationToken cancellationToken = default) =>
        Answer($"SET {circuit} {amps} {reason}");

    public Task<BeamLineOutcome> RequestStandbyAsync(string circuit, string reason, CancellationToken cancellationToken = default) => Answer($"STANDBY {circuit} {reason}");

    public Task<BeamLineOutcome> RequestOnAsync(string circuit, string reason, CancellationToken cancellationToken = default) => Answer($"ON {circuit} {reason}");

    public Task<BeamLineOutcome> RequestOffAsync(string circuit, string reason, CancellationToken cancellationToken = default) => Answer($"OFF {circuit} {reason}");

    public Task<BeamLineOutcome> RequestResetAsync(string circuit, string reason, CancellationToken cancellationToken = default) => Answer($"RESET {circuit} {reason}");

    public Task<BeamLineOutcome> LoadBeamFileAsync(string name, string reason, CancellationToken cancellationToken = default) => Answer($"LOAD {name} {reason}");

    private Task<BeamLineOutcome> Answer(string call)
    {
        Calls.Add(call);
        return Task.FromResult(Outcome);
    }
}

public class BeamLineMagnetTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 9, 1, 8, 0, 0, TimeSpan.Zero));
    private readonly ScriptedGateway _gateway = new();

    private BeamLineMagnet NewMagnet(int staleAfter = 2) =>
        new(_gateway, new MagnetLimits("MBPL", 900), new BeamLineMagnetOptions(CyclePeriod: TimeSpan.FromSeconds(10), StaleAfterCycles: staleAfter), _time);

    [Fact]
    public async Task Initialize_refuses_a_circuit_that_feeds_other_magnets()
    {
        _gateway.Status = _gateway.Status with { Elements = ["MBPL1"] };
        var e = await Assert.ThrowsAsync<DeviceException>(() => NewMagnet().InitializeAsync());
        Assert.Equal("MBPL: circuit H4-MBPL feeds MBPL1 at the gateway, the setup says MBPL1,MBPL2", e.Message);
        Assert.Equal(["READ H4-MBPL"], _gateway.Calls);
    }

    [Fact]
    public async Task A_cycle_number_that_goes_back_is_a_restarted_gateway_not_a_stale_one()
    {
        var magnet = NewMagnet();
        _gateway.Status = _gateway.Status with { Cycle = 500 };
        await magnet.ReadAsync();
        _time.Advance(TimeSpan.FromSeconds(20));
        await magnet.ReadAsync(); // 2 cycles unchanged: at the limit
        _gateway.Status = _gateway.Status with { Cycle = 3 };
        _time.Advance(TimeSpan.FromSeconds(15));
        await magnet.ReadAsync();
        _time.Advance(TimeSpan.FromSeconds(21));
        Assert.Equal(3, (await Assert.ThrowsAsync<BeamLineStaleReadbackException>(() => magnet.ReadAsync())).Last.Cycle);
    }

    [Theory]
    [InlineData(BeamLineFacts.Causes.Water, MagnetConditions.WaterFlow)]
    [InlineData(BeamLineFacts.Causes.OverTemperature, MagnetConditions.OverTemperature)]
    [InlineData(BeamLineFacts.Causes.Trip, MagnetConditions.OtherFault)]
    public async Task A_fault_cause_maps_onto_the_conditions(string cause, MagnetConditions condition)
    {
        _gateway.Status = _gateway.Status with { State = BeamLineState.Fault, FaultCause = cause };
        var readback = await NewMagnet().ReadAsync();
        Assert.Equal((MagnetOutput.Fault, condition), (readback.Output, readback.Conditions));
        Assert.EndsWith($"fault {cause}", readback.Detail, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(double.NaN)]
    [InlineData(-1)]
    [InlineData(900.001)]
    public async Task A_setpoint_out_of_range_sends_nothing(double amps)
    {
        await Assert.ThrowsAsync<SetpointOutOfRangeException>(() => NewMagnet().SetCurrentAsync(amps));
        Assert.Empty(_gateway.Calls);
    }

    [Fact]
    public async Task The_ceiling_itself_is_allowed_and_the_configured_reason_goes_with_every_request()
    {
        var magnet = NewMagnet();
        Assert.Equal(MagnetRequestResult.Done, await magnet.SetCurrentAsync(900));
        _gateway.Outcome = new BeamLineOutcome(BeamLineOutcomeKind.PendingOperator, Ticket: "T9");
        Assert.Equal(new MagnetRequestResult(MagnetRequestOutcome.PendingOperator, "ticket T9"), await magnet.ResetAsync());
        Assert.Equal(["SET H4-MBPL 900 na64hw magnet controller", "RESET H4-MBPL na64hw magnet controller"], _gateway.Calls);
    }
}
