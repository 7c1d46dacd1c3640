using Microsoft.Extensions.Time.Testing;
using NA64.SlowControl.Hosting;
using NA64.SlowControl.Hv;
using NA64.SlowControl.Setup;

namespace NA64.Integration.Tests;

/// <summary>The na64hw host wiring: the default setup on in-memory simulated chains, every channel ramped On.</summary>
public sealed class HostWiringTests
{
    [Fact]
    public async Task The_default_setup_on_simulated_chains_ramps_every_channel_On()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 6, 1, 8, 0, 0, TimeSpan.Zero));
        await using var hardware = HvHardware.Build(SetupLoader.LoadDefault(), time, Serilog.Core.Logger.None);
        var system = hardware.System;
        Assert.NotEmpty(system.Channels);

        await Safety.Within(system.PollOnceAsync());
        Assert.All(system.Channels, c => Assert.Equal(HvChannelState.Off, c.State));

        foreach (var channel in system.Channels)
        {
            await Safety.Within(channel.SwitchOnAsync());
        }

        for (var cycle = 0; cycle < 300 && !system.Channels.All(c => c.State == HvChannelState.On); cycle++)
        {
            time.Advance(TimeSpan.FromSeconds(1));
            await Safety.Within(system.PollOnceAsync());
        }

        Assert.All(system.Channels, c =>
        {
            Assert.Equal(HvChannelState.On, c.State);
            var model = hardware.SimulatedBoard(DeviceOf(system, c)).Channels[c.Index];
            Assert.True(model.IsOn, c.Name);
            Assert.Equal(c.Setup.NominalVolts, model.VSet);
            Assert.InRange(model.VMon, c.Setup.NominalVolts - 2.5, c.Setup.NominalVolts + 2.5);
        });
    }

    private static string DeviceOf(HvSystem system, HvChannelController channel) =>
        system.Setup.AllChannels.Single(x => x.Channel.Name == channel.Name).Device.Name;
}
