using Microsoft.Extensions.Time.Testing;
using NA64.Hardware.Magnets;
using NA64.SlowControl.Magnets;

namespace NA64.SlowControl.Tests.Magnets;

/// <summary>
/// One MBPL-like magnet on a <see cref="ScriptedMagnetSupply"/>, polled by a <see cref="MagnetPoller"/> in fake time,
/// with its alarms and state changes collected.
/// </summary>
internal sealed class MagnetTestKit
{
    public static readonly MagnetCapabilities Stepped = new(HasStandby: false, HasPolaritySwitch: true, RampsItself: false, RequestsNeedApproval: false);
    public static readonly MagnetCapabilities SelfRamping = new(HasStandby: false, HasPolaritySwitch: false, RampsItself: true, RequestsNeedApproval: false);
    public static readonly MagnetCapabilities BeamLine = new(HasStandby: true, HasPolaritySwitch: false, RampsItself: true, RequestsNeedApproval: true);

    /// <summary>1 s polls, 1 A tolerance, 5 s stable, 10 A/s (also the maximum), 10 s at zero, 3 failures.</summary>
    public static readonly MagnetSettings TestSettings = new(TimeSpan.FromSeconds(1), 1.0, TimeSpan.FromSeconds(5), 10, 10,
        TimeSpan.FromSeconds(10), MagnetSafeAction.SwitchOff, 3);

    public MagnetTestKit(MagnetCapabilities capabilities, MagnetSettings? settings = null, double maxAmps = 900)
    {
        Supply = new ScriptedMagnetSupply(Time, capabilities, maxAmps);
        Controller = new MagnetController(Supply, settings ?? TestSettings, MagnetCalibration.MbplPairAssumed, Time);
        Poller = new MagnetPoller(Controller, Time);
        Controller.AlarmRaised += Alarms.Add;
        Controller.StateChanged += (from, to) => Changes.Add((from, to));
    }

    public FakeTimeProvider Time { get; } = new(new DateTimeOffset(2016, 7, 1, 12, 0, 0, TimeSpan.Zero));
    public ScriptedMagnetSupply Supply { get; }
    public MagnetController Controller { get; }
    public MagnetPoller Poller { get; }
    public List<MagnetAlarm> Alarms { get; } = [];
    public List<(MagnetState From, MagnetState To)> Changes { get; } = [];
    public MagnetState State => Controller.State;

    /// <summary>One poll now (no time passes).</summary>
    public Task PollNow() => Poller.PollOnceAsync();

    /// <summary><paramref name="n"/> poll periods: advance one period, poll.</summary>
    public async Task Poll(int n = 1)
    {
        for (int i = 0; i < n; i++)
        {
            Time.Advance(Controller.Settings.PollPeriod);
            await Poller.PollOnceAsync();
        }
    }

    /// <summary>Polls until the state is <paramref name="state"/>, at most <paramref name="max"/> periods; returns the periods used.</summary>
    public async Task<int> PollUntil(MagnetState state, int max = 1000)
    {
        for (int i = 1; i <= max; i++)
        {
            await Poll();
            if (State == state) return i;
        }
        throw new Xunit.Sdk.XunitException($"not {state} after {max} polls: {State}, {Controller.Snapshot()}");
    }
}
