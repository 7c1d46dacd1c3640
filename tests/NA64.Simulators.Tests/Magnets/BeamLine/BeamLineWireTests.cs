using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Microsoft.Extensions.Time.Testing;
using NA64.Hardware.Magnets.BeamLine;
using NA64.Simulators.Magnets.BeamLine;

namespace NA64.Simulators.Tests.Magnets.BeamLine;

/// <summary>Request lines built from gateway fragments, so that random input reaches every branch of the wire parser.</summary>
public sealed record GatewayRequestLike(string Line);

public static class GatewayRequestArbitraries
{
    private static readonly string[] Fragments =
    [
        "READ", "SET", "STANDBY", "ON", "OFF", "RESET", "LOAD", " ", "  ", "H4-MBPL", "H4-B4", "NOPE", "735", "735.0", "735,0",
        "1e3", "-5", "99999999.0", "shift", "-", "reason text", "H4-100GeV-e", "\t", "\0", "\u00e9", ".", "\r",
    ];

    public static Arbitrary<GatewayRequestLike> GatewayRequestLike() =>
        Arb.From(Gen.ListOf(Gen.Elements(Fragments)).Select(parts => new GatewayRequestLike(string.Concat(parts))));
}

public class BeamLineWireTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 9, 1, 8, 0, 0, TimeSpan.Zero));

    private BeamLineGatewayWire NewWire() => new(new BeamLineGatewayModel(_time));

    [Property(MaxTest = 2000, Arbitrary = [typeof(GatewayRequestArbitraries)])]
    public bool Any_request_line_gets_one_printable_reply_line_of_the_documented_kinds(GatewayRequestLike request)
    {
        var wire = NewWire();
        var reply = wire.Respond(request.Line);
        var kinds = new[] { "OK ", "ACCEPTED", "PENDING ", "DENIED ", "ERR " };
        var logged = wire.Model.Requests.Count;
        return reply is not null && reply.All(c => c is >= ' ' and <= '~') && kinds.Any(k => reply.StartsWith(k, StringComparison.Ordinal))
            && (reply.StartsWith("ERR", StringComparison.Ordinal) || reply.StartsWith("OK", StringComparison.Ordinal) ? logged == 0 : logged == 1);
    }

    [Fact]
    public void A_read_back_line_has_every_field_in_the_documented_form()
    {
        var wire = NewWire();
        Assert.Equal("ACCEPTED", wire.Respond("STANDBY H4-MBPL shift ramp for run 2026"));
        Assert.Equal("ACCEPTED", wire.Respond("SET H4-MBPL 735.0 shift 100 GeV electrons"));
        _time.Advance(BeamLineFacts.DefaultCyclePeriod);
        var reply = wire.Respond("READ H4-MBPL")!;
        Assert.Matches(
            @"^OK H4-MBPL STATE=STANDBY IREF=735\.000 IMEAS=\d+\.\d{3} INREF=0 CYCLE=1 TIME=2026-09-01T08:00:14\.400Z FILE=- CAUSE=- ELEMENTS=MBPL1,MBPL2$",
            reply);
        Assert.Equal("shift", wire.Model.Requests[0].Request.User);
        Assert.Equal("100 GeV electrons", wire.Model.Requests[1].Request.Reason);
    }

    [Theory]
    [InlineData("SET H4-MBPL 735,0 shift r", "ERR amps '735,0' is not a plain decimal")]
    [InlineData("SET H4-MBPL 7.35e2 shift r", "ERR amps '7.35e2' is not a plain decimal")]
    [InlineData("ON H4-MBPL shift", "ERR ON takes circuit, user and reason")]
    [InlineData("ON H4-X shift r", "ERR unknown circuit H4-X")]
    [InlineData("READ H4-X", "ERR unknown circuit H4-X")]
    [InlineData("FLY H4-MBPL", "ERR unknown request FLY")]
    public void A_line_out_of_the_grammar_gets_ERR_and_is_not_a_request(string line, string reply)
    {
        var wire = NewWire();
        Assert.Equal(reply, wire.Respond(line));
        Assert.Empty(wire.Model.Requests);
    }

    [Fact]
    public void Pending_and_denied_replies_carry_the_ticket_and_the_reason()
    {
        var wire = NewWire();
        wire.Model.Approval = BeamLineApprovalMode.Pending;
        Assert.Equal("PENDING T1", wire.Respond("LOAD H4-100GeV-e shift begin of run"));
        wire.Model.Approval = BeamLineApprovalMode.AutoAccept;
        Assert.Equal("DENIED H4-MBPL is OFF: STANDBY first, then ON", wire.Respond("ON H4-MBPL shift r"));
    }
}
