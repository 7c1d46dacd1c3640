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

    private ServiceRig(string? extraSetup)
    {
        Model = new CaenN1470BoardModel(0, Time);
        Device = new ObservedLineDevice(new CaenN1470Bus([new CaenN1470Wire(Model)]));
        Server = new LineDeviceServer(Device, Time);
        _tcp = new TcpDeviceServer(Server, 0);
        _tcp.Start();
        _data = Directory.CreateTempSubdirectory("na64-svc-").FullName;
        string text = HvRig.SetupText("tcp:127.0.0.1:" + _tcp.Port.ToString(CultureInfo.InvariantCulture), 3) + (extraSetup ?? "");
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

    public static async Task<ServiceRig> StartAsync(string? extraSetup = null)
    {
        var rig = new ServiceRig(extraSetup);
        await Safety.Within(rig.App.StartAsync());
        await rig.UntilAsync(() => rig.Owner.Hv.Channels.All(c => c.State != SlowControl.Hv.HvChannelState.Unknown), "first readback");
        return rig;
    }

    /// <summary>SET requests the board has received (any channel), in order.</summary>
    public IReadOnlyList<string> Sets => Device.Requests.Where(r => r.Contains("CMD:SET", StringComparison.Ordinal)).ToList();

    /// <summary>Advances fake time by poll periods until <paramref name="done"/> holds (real time only as a safety net).</summary>
    public async Task UntilAsync(Func<bool> done, string what, int maxCycles = 400)
    {
        for (int cycle = 0; cycle < maxCycles; cycle++)
        {
            // Each poll is real bytes over TCP: give the loop a real moment, then move fake time one period.
            for (int spin = 0; spin < 200 && !done(); spin++)
                await Task.Delay(5);
            if (done())
                return;
            Time.Advance(Context.Setup.HvController.PollPeriod);
        }

        throw new TimeoutException($"not reached within {maxCycles} poll cycles: {what}");
    }

    /// <summary>Waits for the next completed poll cycle of the board (fake time moved one period).</summary>
    public async Task NextPollAsync()
    {
        var poller = Owner.Hv.Pollers[0];
        long before = poller.Cycles;
        Time.Advance(Context.Setup.HvController.PollPeriod);
        await UntilAsync(() => poller.Cycles > before && poller.Channels.All(c => c.Snapshot().ReadbackTime >= Time.GetUtcNow()), "next poll cycle", 1);
    }

    /// <summary>Runs <c>na64hw ARGS --server URL</c> in-process; returns its exit code and what it printed.</summary>
    public async Task<(int Exit, string Output)> CliAsync(params string[] args)
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
            var root = Na64hwCli.Build(Serilog.Core.Logger.None);
            int exit = await Safety.Within(root.Parse([.. args, "--server", Address.ToString()]).InvokeAsync());
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
