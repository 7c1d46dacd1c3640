using System.Globalization;
using Microsoft.Extensions.Time.Testing;
using NA64.Hardware.Hv.CaenN1470;
using NA64.Hardware.Transport;
using NA64.Simulators.Hv.CaenN1470;
using NA64.Simulators.Serving;
using NA64.SlowControl.Hv;
using NA64.SlowControl.Setup;

namespace NA64.Integration.Tests;

/// <summary>
/// The whole HV chain for one test: a simulated CAEN N1470 (model + wire + line server) on the device end of a real
/// pseudo-terminal (or a TCP socket), and on the host end the setup file, LineTransport over System.IO.Ports (or
/// TCP), the CAEN driver, the channel controllers and the poller. Physics, controllers and reply timeouts all run
/// on one FakeTimeProvider; polls are driven explicitly.
/// <para>
/// The setup names the port through a symbolic link, as a real installation names a USB adapter through
/// /dev/serial/by-id: unplugging closes the pty (the client sees the hang-up), replugging opens a new pty and
/// points the link at it.
/// </para>
/// </summary>
internal sealed class HvRig : IAsyncDisposable
{
    public const string Strips = "MM1.strips";
    public const string Drift = "MM1.drift";
    public const double StripsNominal = 500;
    public const double DriftNominal = 300;

    private readonly CancellationTokenSource _stop = new();
    private readonly string? _linkDirectory;
    private readonly TcpDeviceServer? _tcp;
    private Task _serving = Task.CompletedTask;
    private long _answered;
    private long _receivedMark;

    private HvRig(bool overTcp, int maxRecoveriesPerHour)
    {
        Model = new CaenN1470BoardModel(0, Time);
        Wire = new CaenN1470Wire(Model);
        Device = new ObservedLineDevice(new CaenN1470Bus([Wire]));
        Server = new LineDeviceServer(Device, Time, Faults);

        string transport;
        if (overTcp)
        {
            _tcp = new TcpDeviceServer(Server, 0);
            _tcp.Start();
            transport = "tcp:127.0.0.1:" + _tcp.Port.ToString(CultureInfo.InvariantCulture);
        }
        else
        {
            _linkDirectory = Directory.CreateTempSubdirectory("na64-it-").FullName;
            PortLink = Path.Combine(_linkDirectory, "caen-n1470");
            PlugIn();
            transport = "serial:" + PortLink + "?baud=9600";
        }

        Setup = SetupLoader.LoadFromText(SetupText(transport, maxRecoveriesPerHour), "integration-test.yaml");
        System = new HvSystem(Setup, device =>
        {
            Transport = new LineTransport(EndpointAddress.Parse(device.Transport).CreateEndpoint(), LineFraming.CrLf, Time);
            Board = new CaenN1470Board(Transport, device.Address, device.ChannelLimits(), time: Time);
            return Board;
        }, Time);
        System.AlarmRaised += a =>
        {
            lock (Alarms)
            {
                Alarms.Add(a);
            }
        };
        foreach (var c in System.Channels)
        {
            var name = c.Name;
            c.StateChanged += (_, to) =>
            {
                lock (States)
                {
                    States.Add((name, to));
                }
            };
        }
    }

    public FakeTimeProvider Time { get; } = new(new DateTimeOffset(2026, 6, 1, 8, 0, 0, TimeSpan.Zero));

    public CaenN1470BoardModel Model { get; }

    public CaenN1470Wire Wire { get; }

    public ObservedLineDevice Device { get; }

    public LineFaults Faults { get; } = new();

    public LineDeviceServer Server { get; }

    public PseudoTerminal? Pty { get; private set; }

    /// <summary>The port path of the setup file: a link to the present pty slave.</summary>
    public string? PortLink { get; }

    public SetupFile Setup { get; }

    public HvSystem System { get; }

    public LineTransport Transport { get; private set; } = null!;

    public CaenN1470Board Board { get; private set; } = null!;

    public List<Alarm> Alarms { get; } = [];

    /// <summary>Every state change, (channel, new state), in order.</summary>
    public List<(string Channel, HvChannelState State)> States { get; } = [];

    public HvChannelController StripsChannel => System.Channel(Strips);

    public CaenN1470Channel StripsModel => Model.Channels[0];

    public static HvRig OverPty(int maxRecoveriesPerHour = 3) => new(overTcp: false, maxRecoveriesPerHour);

    public static HvRig OverTcp() => new(overTcp: true, 3);

    public static string SetupText(string transport, int maxRecoveriesPerHour) => $$"""
        hvController:
          pollPeriodSeconds: 1.0
          onToleranceVolts: 2.5
          commandConfirmSeconds: 5.0
          recovery:
            stepBelowNominalVolts: 20
            stableSeconds: 5
            maxPerHour: {{maxRecoveriesPerHour}}
        devices:
          - name: HV-TEST
            kind: caen-n1470
            transport: {{transport}}
            address: 0
            channels:
              - { name: {{Strips}}, index: 0, nominalVolts: 500, maxVolts: 600, maxMicroamps: 10, currentLimitMicroamps: 5, maxRampVoltsPerSecond: 100, rampUpVoltsPerSecond: 50, rampDownVoltsPerSecond: 100 }
              - { name: {{Drift}}, index: 1, nominalVolts: 300, maxVolts: 400, maxMicroamps: 10, currentLimitMicroamps: 5, maxRampVoltsPerSecond: 100, rampUpVoltsPerSecond: 50, rampDownVoltsPerSecond: 100 }
        """;

    /// <summary>One poll cycle of every board (real bytes over the line), with a real-time safety net.</summary>
    public async Task PollAsync()
    {
        // On the pool: a call that blocks before its first await must still meet the safety net.
        await Safety.Within(Task.Run(() => System.PollOnceAsync()));
        _answered = Transport.Counters.Replies;
        _receivedMark = Transport.Counters.BytesReceived;
    }

    /// <summary>
    /// Polls a port whose far end may have vanished without the OS saying so: when the poll has not finished
    /// after a real-time moment of I/O, fake time moves by one reply timeout, as the wall clock would on the
    /// bench, so that the transport's timeout (and its re-open after repeated timeouts) can act.
    /// </summary>
    public async Task PollThroughTimeoutsAsync()
    {
        var poll = System.PollOnceAsync();
        for (var step = 0; step < 20 && !SpinWait.SpinUntil(() => poll.IsCompleted, TimeSpan.FromSeconds(1)); step++)
        {
            Time.Advance(CaenN1470Protocol.DefaultReplyTimeout);
        }

        await Safety.Within(poll);
        _answered = Transport.Counters.Replies;
        _receivedMark = Transport.Counters.BytesReceived;
    }

    /// <summary>Advances fake time by <paramref name="step"/> and polls, until <paramref name="done"/> holds.</summary>
    public async Task RunUntilAsync(Func<bool> done, string what, int maxCycles = 200, double stepSeconds = 1)
    {
        for (var cycle = 0; cycle < maxCycles; cycle++)
        {
            if (done())
            {
                return;
            }

            Time.Advance(TimeSpan.FromSeconds(stepSeconds));
            await PollAsync();
        }

        if (!done())
        {
            throw new Xunit.Sdk.XunitException(
                $"Not reached within {maxCycles} poll cycles: {what}. Channels: " +
                string.Join("; ", System.Snapshot().Select(s => $"{s.Channel} {s.State} {s.Readback}")));
        }
    }

    /// <summary>First poll (read-only), switch the strips channel on (its settings, VSET, ON), poll until it is On at nominal.</summary>
    public async Task RampStripsOnAsync()
    {
        await PollAsync();
        await Safety.Within(StripsChannel.SwitchOnAsync());
        await RunUntilAsync(() => StripsChannel.State == HvChannelState.On, "strips On");
    }

    /// <summary>
    /// Waits (real time, never timed) until <paramref name="count"/> more exchanges than before the last call have been
    /// answered: a command's SETs must be answered before fake time moves past their reply timeout.
    /// </summary>
    public void WaitForExchanges(int count)
    {
        var target = _answered + count;
        Xunit.Assert.True(
            SpinWait.SpinUntil(() => Transport.Counters.Replies >= target, Safety.Timeout),
            $"{count} exchanges answered");
        _answered = target;
    }

    /// <summary>Waits (real time, never timed) until the host has received <paramref name="bytes"/> more bytes than at the last poll.</summary>
    public void WaitForReceived(long bytes)
    {
        var target = _receivedMark + bytes;
        Xunit.Assert.True(
            SpinWait.SpinUntil(() => Transport.Counters.BytesReceived >= target, Safety.Timeout),
            $"{bytes} bytes received");
    }

    /// <summary>Writes noise on the device end with no request pending and waits until the host has received it.</summary>
    public async Task InjectNoiseAsync(byte[] noise)
    {
        _receivedMark = Transport.Counters.BytesReceived;
        await Pty!.Master.WriteAsync(noise);
        WaitForReceived(noise.Length);
    }

    public bool SawState(string channel, HvChannelState state)
    {
        lock (States)
        {
            return States.Contains((channel, state));
        }
    }

    public IReadOnlyList<Alarm> AlarmsOf(HvAlarmKind kind)
    {
        lock (Alarms)
        {
            return Alarms.Where(a => a.Kind == kind).ToList();
        }
    }

    /// <summary>The device end goes away (USB adapter pulled): the pty is closed and the client sees the hang-up.</summary>
    public async Task UnplugAsync()
    {
        var pty = Pty ?? throw new InvalidOperationException("not plugged in");
        Pty = null;
        await Safety.Within(Task.Run(pty.Dispose));
        // The serving loop ends on its own: a master read pending at dispose returns end of stream.
        await Safety.Within(_serving);
        File.Delete(PortLink!);
    }

    /// <summary>The device end comes back on a new pty, reachable under the same port path.</summary>
    public void PlugIn()
    {
        if (Pty is not null)
        {
            throw new InvalidOperationException("already plugged in");
        }

        var pty = PseudoTerminal.Open();
        File.CreateSymbolicLink(PortLink!, pty.SlavePath);
        Pty = pty;
        _serving = Task.Run(() => Server.ServeAsync(pty.Master, _stop.Token));
    }

    public async ValueTask DisposeAsync()
    {
        await Safety.Within(Task.Run(async () => await Transport.DisposeAsync()));
        Board.Dispose();
        await _stop.CancelAsync();
        if (Pty is { } pty)
        {
            pty.Dispose();
        }

        try
        {
            await Safety.Within(_serving);
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
            // The serving loop was cancelled at teardown: its normal way out.
        }

        if (_tcp is not null)
        {
            await _tcp.DisposeAsync();
        }

        if (_linkDirectory is not null)
        {
            Directory.Delete(_linkDirectory, recursive: true);
        }

        _stop.Dispose();
    }
}
