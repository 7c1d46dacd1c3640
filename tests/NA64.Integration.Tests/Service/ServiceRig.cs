using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using NA64.SlowControl.Cli;
using NA64.SlowControl.Service;
using NA64.SlowControl.Setup;
using NA64.Simulators.Hv.CaenN1470;
using NA64.Simulators.Serving;
using Spectre.Console;

namespace NA64.Integration.Tests.Service;

/// <summary>
/// A service on the loopback (Kestrel, port 0) owning one CAEN N1470 served over TCP by the simulator, with every
/// request the board receives recorded; CLI commands run in-process against it exactly as an operator types them.
/// Device physics, controllers and poll periods run on a FakeTimeProvider.
/// </summary>
internal sealed class ServiceRig : IAsyncDisposable
{
    public const string Strips = HvRig.Strips;
    public const string Drift = HvRig.Drift;

    private readonly TcpDeviceServer _tcp;
    private readonly string _data;
    private readonly bool _ownsData;

    private ServiceRig(string? extraSetup, bool simulated, string? dataDirectory)
    {
        Model = new CaenN1470BoardModel(0, Time);
        Device = new ObservedLineDevice(new CaenN1470Bus([new CaenN1470Wire(Model)]));
        Server = new LineDeviceServer(Device, Time);
        _tcp = new TcpDeviceServer(Server, 0);
        _tcp.Start();
        _ownsData = dataDirectory is null;
        _data = dataDirectory ?? Directory.CreateTempSubdirectory("na64-svc-").FullName;
        string transport = simulated ? "sim" : "tcp:127.0.0.1:" + _tcp.Port.ToString(CultureInfo.InvariantCulture);
        string text = HvRig.SetupText(transport, 3) + (extraSetup ?? "");
        text += $"\ndataDirectory: {_data}\n";
        var setup = SetupLoader.LoadFromText(text, "service-test.yaml");
        Context = new ServiceContext(setup, text, Time, _data);
        App = ServiceApp.Build(Context, "http://127.0.0.1:0", Serilog.Core.Logger.None);
    }

    public FakeTimeProvider Time { get; } = new(new DateTimeOffset(2026, 6, 1, 8, 0, 0, TimeSpan.Zero));

    public CaenN1470BoardModel Model { get; }

    public ObservedLineDevice Device { get; }

    public LineDeviceServer Server { get; }

    public ServiceContext Context { get; }

    public WebApplication App { get; }

    public Uri Address => ServiceApp.Addresses(App)[0];

    public HardwareOwner Owner => App.Services.GetRequiredService<HardwareOwner>();

    public string DataDirectory => _data;

    /// <summary>A readout section with a short simulated spill (0.1 s at 1 kHz: about 100 triggers a spill) and 32 pedestal events.</summary>
    public const string Readout = """

        readout:
          runNumber: 5001
          pedestalEvents: 32
          beam: { spillOnSeconds: 0.1, spillOffSeconds: 0.2, particlesPerSpill: 2000, triggerRateHz: 1000, seed: 7 }
          sources:
            - sourceId: 610
              modules:
                - { name: MSADC-A, port: 0, firstChannel: 0 }
            - sourceId: 611
              modules:
                - { name: MSADC-B, port: 0, firstChannel: 64 }
        """;

    /// <summary>The same setup with the board simulated in-process behind the service's own <c>sim</c> transport.</summary>
    public static Task<ServiceRig> StartSimulatedAsync() => StartAsync(null, simulated: true);

    /// <param name="dataDirectory">A data directory to share with another service (two processes, one run registry).</param>
    public static async Task<ServiceRig> StartAsync(string? extraSetup = null, bool simulated = false, string? dataDirectory = null)
    {
        var rig = new ServiceRig(extraSetup, simulated, dataDirectory);
        await Safety.Within(rig.App.StartAsync());
        // The loop's first cycle runs at start, before any fake time moves.
        await Safety.Within(Task.Run(async () =>
        {
            while (rig.Owner.Hv.Pollers[0].CompletedCycles == 0 || rig.Owner.Magnets.Pollers.Any(p => p.CompletedCycles == 0))
                await Task.Delay(1);
        }));
        return rig;
    }

    /// <summary>SET requests the board has received (any channel), in order.</summary>
    public IReadOnlyList<string> Sets => Device.Requests.Where(r => r.Contains("CMD:SET", StringComparison.Ordinal)).ToList();

    /// <summary>
    /// Advances fake time one poll period at a time, each time waiting for the service's poll loop to finish that
    /// cycle, until <paramref name="done"/> holds. Fake time never moves while a request is on the line.
    /// </summary>
    public async Task UntilAsync(Func<bool> done, string what, int maxCycles = 400)
    {
        for (int cycle = 0; cycle < maxCycles; cycle++)
        {
            if (done())
                return;
            await NextPollAsync();
        }

        if (!done())
            throw new TimeoutException($"not reached within {maxCycles} poll cycles: {what}");
    }

    /// <summary>Moves fake time one poll period and waits until the cycle it starts has finished.</summary>
    public Task NextPollAsync() => PollCycleAsync(whileWaiting: null);

    /// <summary>Moves fake time past one reply timeout (a silent board's request gives up) and waits for that cycle to end.</summary>
    public Task ReplyTimeoutAsync() => PollCycleAsync(whileWaiting: NA64.Hardware.Hv.CaenN1470.CaenN1470Protocol.DefaultReplyTimeout);

    /// <param name="whileWaiting">Fake time moved on each look while the cycle has not finished (its request waits for a
    /// reply that will not come), or null to leave time still.</param>
    private async Task PollCycleAsync(TimeSpan? whileWaiting)
    {
        var poller = Owner.Hv.Pollers[0];
        long before = poller.CompletedCycles;
        // Magnets poll at the HV period in these setups: each of their loops ticks with the same advance.
        var magnets = Owner.Magnets.Pollers.Select(p => (Poller: p, Before: p.CompletedCycles)).ToList();
        Time.Advance(Context.Setup.HvController.PollPeriod);
        await Safety.Within(Task.Run(async () =>
        {
            while (poller.CompletedCycles <= before || magnets.Any(m => m.Poller.CompletedCycles <= m.Before))
            {
                await Task.Delay(whileWaiting is null ? 1 : 5);
                if (whileWaiting is { } step)
                    Time.Advance(step);
            }
        }));
    }

    /// <summary>A rig with the readout section whose pedestal tables are taken, ready for physics runs.</summary>
    public static async Task<ServiceRig> StartWithPedestalsAsync()
    {
        var rig = await StartAsync(Readout);
        var (exit, output) = await rig.CliAsync("readout", "pedestal-run");
        Assert.True(exit == 0, output);
        return rig;
    }

    /// <summary>A loopback TCP port nobody listens on (it was free a moment ago).</summary>
    public static int FreeTcpPort()
    {
        using var probe = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        probe.Start();
        return ((System.Net.IPEndPoint)probe.LocalEndpoint).Port;
    }

    /// <summary>Runs <c>na64hw ARGS --server URL</c> in-process; returns its exit code and what it printed.</summary>
    public Task<(int Exit, string Output)> CliAsync(params string[] args) => CliAsync(CancellationToken.None, args);

    /// <summary>As <see cref="CliAsync(string[])"/>; cancelling <paramref name="interrupt"/> is the operator's Ctrl-C.</summary>
    public async Task<(int Exit, string Output)> CliAsync(CancellationToken interrupt, params string[] args)
    {
        var output = new StringWriter(CultureInfo.InvariantCulture);
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
            Out = new AnsiConsoleOutput(output),
        });
        console.Profile.Width = 160;
        var previous = AnsiConsole.Console;
        var previousOut = Console.Out;
        var previousError = Console.Error;
        AnsiConsole.Console = console;
        Console.SetOut(output);
        Console.SetError(output);
        try
        {
            int exit = await Safety.Within(Na64hwCli.InvokeAsync([.. args, "--server", Address.ToString()], Serilog.Core.Logger.None, interrupt));
            return (exit, output.ToString());
        }
        finally
        {
            AnsiConsole.Console = previous;
            Console.SetOut(previousOut);
            Console.SetError(previousError);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await App.StopAsync();
        await App.DisposeAsync();
        await _tcp.DisposeAsync();
        try
        {
            if (_ownsData)
                Directory.Delete(_data, recursive: true);
        }
        catch (IOException)
        {
            // A file still open by a closing sink: the temp folder is cleaned by the OS later.
        }
    }
}

/// <summary>CLI tests swap the process's console: they run one at a time.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class CliCollection
{
    public const string Name = "CLI on the process console";
}
