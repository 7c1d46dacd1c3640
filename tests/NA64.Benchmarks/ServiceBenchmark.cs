using System.Diagnostics;
using System.Globalization;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using NA64.SlowControl.Service;
using NA64.SlowControl.Setup;
using NA64.Simulators.Hv.CaenN1470;
using NA64.Simulators.Serving;

namespace NA64.Benchmarks;

/// <summary>
/// The service in the loop. (1) One HV poll cycle of a CAEN N1470 on a real pty at 9600 baud, through the service's
/// own poll-and-publish step, while <see cref="LiveClients"/> HTTP clients follow <c>/api/live</c>: at most
/// <see cref="MaxPollRatio"/> times the wire time of the cycle's bytes (the same target as without the service). (2) A
/// status call of all channels (<c>GET /api/hv/channels</c>) over loopback HTTP: median under <see cref="MaxStatusMs"/>
/// ms, reported as a ratio to a bare loopback HTTP round trip (<c>GET /api/health</c>) measured in the same run.
/// </summary>
[SimpleJob(RunStrategy.Monitoring, launchCount: 1, warmupCount: 1, iterationCount: 9)]
public class ServiceBenchmark : IQuickBenchmark
{
    public const int BaudRate = 9600;
    public const int LiveClients = 10;
    public const double MaxPollRatio = 1.2;
    public const double MaxStatusMs = 5.0;
    public const int QuickCycles = 9;
    public const int QuickCalls = 200;

    private Rig? _rig;

    [GlobalSetup]
    public void Setup() => _rig = Rig.StartAsync().GetAwaiter().GetResult();

    [GlobalCleanup]
    public void Cleanup() => _rig?.DisposeAsync().AsTask().GetAwaiter().GetResult();

    [Benchmark]
    public Task PollCycleWithLiveClients() => _rig!.PollAsync();

    [Benchmark]
    public Task<string> StatusOfAllChannels() => _rig!.Http.GetStringAsync(new Uri("/api/hv/channels", UriKind.Relative));

    [Benchmark(Baseline = true)]
    public Task<string> LoopbackRoundTrip() => _rig!.Http.GetStringAsync(new Uri("/api/health", UriKind.Relative));

    bool IQuickBenchmark.RunQuick(QuickRunner runner) => RunQuickAsync(runner.Out).GetAwaiter().GetResult();

    public static async Task<bool> RunQuickAsync(TextWriter output)
    {
        ArgumentNullException.ThrowIfNull(output);
        await using var rig = await Rig.StartAsync().ConfigureAwait(false);

        // (1) Poll cycles: wire time from the bytes the transport really moved in each cycle.
        await rig.PollAsync().ConfigureAwait(false); // warm-up
        var quiet = await rig.CyclesAsync(QuickCycles).ConfigureAwait(false);
        using var stop = new CancellationTokenSource();
        var followers = rig.FollowLive(LiveClients, stop.Token);
        await rig.UntilSubscribedAsync(LiveClients).ConfigureAwait(false);
        var busy = await rig.CyclesAsync(QuickCycles).ConfigureAwait(false);
        long received = followers.Sum(f => f.Events);
        await stop.CancelAsync().ConfigureAwait(false);
        await Task.WhenAll(followers.Select(f => f.Task)).ConfigureAwait(false);
        received = followers.Sum(f => f.Events);
        bool pollPass = busy.Ratio <= MaxPollRatio;
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Service HV poll cycle over a pty at {BaudRate} baud: {busy.Bytes} bytes, wire {busy.WireMs:0.0} ms; median {quiet.MedianMs:0.0} ms alone (ratio {quiet.Ratio:0.000}), " +
            $"{busy.MedianMs:0.0} ms with {LiveClients} live clients (ratio {busy.Ratio:0.000}; they received {received} events)"));
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{(pollPass ? "PASS" : "FAIL")}  service poll cycle with {LiveClients} live clients / wire time: {busy.Ratio:F2} (target <= {MaxPollRatio:F2})"));

        // (2) Status call against a bare round trip, interleaved so that load changes hit both alike.
        var status = new double[QuickCalls];
        var health = new double[QuickCalls];
        for (int i = 0; i < 20; i++)
        {
            await rig.Http.GetStringAsync(new Uri("/api/hv/channels", UriKind.Relative)).ConfigureAwait(false);
            await rig.Http.GetStringAsync(new Uri("/api/health", UriKind.Relative)).ConfigureAwait(false);
        }

        for (int i = 0; i < QuickCalls; i++)
        {
            var watch = Stopwatch.StartNew();
            await rig.Http.GetStringAsync(new Uri("/api/health", UriKind.Relative)).ConfigureAwait(false);
            health[i] = watch.Elapsed.TotalMilliseconds;
            watch.Restart();
            await rig.Http.GetStringAsync(new Uri("/api/hv/channels", UriKind.Relative)).ConfigureAwait(false);
            status[i] = watch.Elapsed.TotalMilliseconds;
        }

        Array.Sort(status);
        Array.Sort(health);
        double statusMs = status[QuickCalls / 2];
        double healthMs = health[QuickCalls / 2];
        bool statusPass = statusMs < MaxStatusMs;
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{(statusPass ? "PASS" : "FAIL")}  status of all {rig.Channels} channels: median {statusMs:0.000} ms (target < {MaxStatusMs:0.0} ms), " +
            $"{statusMs / healthMs:0.00}x a loopback HTTP round trip ({healthMs:0.000} ms)"));
        return pollPass && statusPass;
    }

    internal readonly record struct Cycles(double MedianMs, int Bytes, double WireMs, double Ratio);

    private sealed class Follower
    {
        public long Events;
        public Task Task = Task.CompletedTask;
    }

    /// <summary>A service (real time) owning one simulated board on a pty paced at 9600 baud, and an HTTP client.</summary>
    private sealed class Rig : IAsyncDisposable
    {
        private readonly PtyDeviceServer _pty;
        private readonly string _data;

        private Rig(PtyDeviceServer pty, WebApplication app, string data)
        {
            _pty = pty;
            App = app;
            _data = data;
            Http = new HttpClient { BaseAddress = ServiceApp.Addresses(app)[0] };
        }

        public WebApplication App { get; }

        public HttpClient Http { get; }

        public HardwareOwner Owner => App.Services.GetRequiredService<HardwareOwner>();

        public int Channels => Owner.Hv.Channels.Count;

        public static async Task<Rig> StartAsync()
        {
            var board = new CaenN1470BoardModel(0, TimeProvider.System);
            var server = new LineDeviceServer(new CaenN1470Bus([new CaenN1470Wire(board)]), TimeProvider.System, baudRate: BaudRate);
            var pty = new PtyDeviceServer(server, Serilog.Core.Logger.None);
            pty.Start();
            // The service's own loop polls once at start; the benchmark drives the cycles it measures.
            string text = $$"""
                hvController: { pollPeriodSeconds: 3600 }
                devices:
                  - name: HV-BENCH
                    kind: caen-n1470
                    transport: serial:{{pty.SlavePath}}?baud={{BaudRate}}
                    address: 0
                    channels:
                      - { name: MM1.drift,  index: 0, nominalVolts: 330, maxVolts: 400, maxMicroamps: 1.3, maxRampVoltsPerSecond: 10 }
                      - { name: MM1.strips, index: 1, nominalVolts: 565, maxVolts: 600, maxMicroamps: 1.3, maxRampVoltsPerSecond: 10 }
                      - { name: MM2.drift,  index: 2, nominalVolts: 340, maxVolts: 400, maxMicroamps: 1.3, maxRampVoltsPerSecond: 10 }
                      - { name: MM2.strips, index: 3, nominalVolts: 570, maxVolts: 600, maxMicroamps: 1.3, maxRampVoltsPerSecond: 10 }
                """;
            var setup = SetupLoader.LoadFromText(text, "service-benchmark.yaml");
            string data = Directory.CreateTempSubdirectory("na64-bench-").FullName;
            var app = ServiceApp.Build(new ServiceContext(setup, text, TimeProvider.System, data), "http://127.0.0.1:0", Serilog.Core.Logger.None);
            await app.StartAsync().ConfigureAwait(false);
            var rig = new Rig(pty, app, data);
            var poller = rig.Owner.Hv.Pollers[0];
            while (poller.Cycles == 0 || rig.Owner.Hv.Channels.Any(c => c.State == NA64.SlowControl.Hv.HvChannelState.Unknown))
                await Task.Delay(10).ConfigureAwait(false);
            return rig;
        }

        public Task PollAsync() => Owner.PollAndPublishAsync(Owner.Hv.Pollers[0], CancellationToken.None);

        public async Task<Cycles> CyclesAsync(int count)
        {
            var transport = Owner.Hardware.Transports[0];
            var ms = new double[count];
            int bytes = 0;
            for (int i = 0; i < count; i++)
            {
                long before = transport.Counters.BytesSent + transport.Counters.BytesReceived;
                var watch = Stopwatch.StartNew();
                await PollAsync().ConfigureAwait(false);
                ms[i] = watch.Elapsed.TotalMilliseconds;
                int moved = (int)(transport.Counters.BytesSent + transport.Counters.BytesReceived - before);
                if (i > 0 && moved != bytes)
                    throw new InvalidOperationException($"cycle {i} moved {moved} bytes, the one before {bytes}: replies must have a fixed width");
                bytes = moved;
            }

            Array.Sort(ms);
            double wire = bytes * 10.0 / BaudRate * 1e3;
            return new Cycles(ms[count / 2], bytes, wire, ms[count / 2] / wire);
        }

        public List<Follower> FollowLive(int clients, CancellationToken ct)
        {
            var followers = new List<Follower>();
            for (int i = 0; i < clients; i++)
            {
                var f = new Follower();
                f.Task = Task.Run(async () =>
                {
                    using var http = new HttpClient { BaseAddress = Http.BaseAddress, Timeout = Timeout.InfiniteTimeSpan };
                    try
                    {
                        await using var stream = await http.GetStreamAsync(new Uri("/api/live", UriKind.Relative), ct).ConfigureAwait(false);
                        await foreach (var _ in System.Net.ServerSentEvents.SseParser.Create(stream).EnumerateAsync(ct).ConfigureAwait(false))
                            Interlocked.Increment(ref f.Events);
                    }
                    catch (OperationCanceledException) when (ct.IsCancellationRequested)
                    {
                        // The benchmark is over: the clients go away.
                    }
                }, CancellationToken.None);
                followers.Add(f);
            }

            return followers;
        }

        public async Task UntilSubscribedAsync(int clients)
        {
            var feed = App.Services.GetRequiredService<LiveFeed>();
            while (feed.Subscribers < clients)
                await Task.Delay(10).ConfigureAwait(false);
        }

        public async ValueTask DisposeAsync()
        {
            Http.Dispose();
            await App.StopAsync().ConfigureAwait(false);
            await App.DisposeAsync().ConfigureAwait(false);
            await _pty.DisposeAsync().ConfigureAwait(false);
            Directory.Delete(_data, recursive: true);
        }
    }
}
