using System.Diagnostics;
using System.Globalization;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;
using NA64.Hardware.Hv;
using NA64.Hardware.Hv.CaenN1470;
using NA64.Hardware.Transport;
using NA64.SlowControl.History;
using NA64.Simulators.Hv.CaenN1470;
using NA64.Simulators.Serving;

namespace NA64.Benchmarks;

/// <summary>
/// One HV poll cycle of one 4-channel CAEN N1470 (VMON, IMON, STAT, each one all-channel <c>CH:4</c> query) over a
/// real pseudo-terminal opened with System.IO.Ports, against the simulator paced like a 9600-baud RS-232 line
/// (request and reply bytes, 10 bit times each). The target: the cycle costs at most 1.2 times its wire time,
/// i.e. the host adds less than 20 % to what the line itself takes.
/// </summary>
[SimpleJob(RunStrategy.Monitoring, launchCount: 1, warmupCount: 1, iterationCount: 9)]
public class HvPollBenchmark : IQuickBenchmark
{
    public const int BaudRate = 9600;

    /// <summary>Measured cycle time over wire time; the target is at most this.</summary>
    public const double MaxRatio = 1.2;

    public const int QuickCycles = 9;

    /// <summary>The cycle's requests, terminator excluded (the driver's PollAsync sends the same shape).</summary>
    public static readonly string[] CycleRequests =
    [
        "$BD:00,CMD:MON,CH:4,PAR:VMON",
        "$BD:00,CMD:MON,CH:4,PAR:IMON",
        "$BD:00,CMD:MON,CH:4,PAR:STAT",
    ];

    private Line? _line;

    [GlobalSetup]
    public void Setup() => _line = Line.Open();

    [GlobalCleanup]
    public void Cleanup() => _line?.DisposeAsync().AsTask().GetAwaiter().GetResult();

    /// <summary>One poll cycle: three exchanges, each waiting for its reply.</summary>
    [Benchmark]
    public Task<int> PollCycle() => _line!.CycleAsync();

    bool IQuickBenchmark.RunQuick(QuickRunner runner) => RunQuick(runner.Out) <= MaxRatio & RunQuickWithHistory(runner.Out) <= MaxRatio;

    /// <summary>
    /// The service's cycle: the real CAEN N1470 driver's <see cref="IHvBoard.PollAsync"/> (VSET, VMON, ISET, IMON, STAT of
    /// the 4 channels and the board's interlock, control and alarm: 8 exchanges) with every readback recorded into the
    /// history (no deadband: 4 channels × VMON, IMON, VSET, ISET), the history's SQLite writer running beside it. The
    /// wire time is that of the bytes the transport counted for the cycle. Returns the ratio.
    /// </summary>
    public static double RunQuickWithHistory(TextWriter output)
    {
        ArgumentNullException.ThrowIfNull(output);
        var line = Line.Open();
        string dir = Path.Combine(Path.GetTempPath(), "na64-hvpoll-history-" + Guid.NewGuid().ToString("N"));
        // A heartbeat of one tick: every readback is stored, however little it moved (the worst case).
        var options = new HistoryOptions { Heartbeat = TimeSpan.FromTicks(1) };
        var store = HistoryStore.Open(options, dir);
        var recorder = new HistoryRecorder(store, options);
        using var stop = new CancellationTokenSource();
        var writer = Task.Run(() => recorder.RunAsync(stop.Token));
        try
        {
            var limits = Enumerable.Range(0, 4).Select(c => new HvChannelLimits(string.Create(CultureInfo.InvariantCulture, $"CH{c}"), 3000, 3000, 500)).ToArray();
            var board = new CaenN1470Board(line.Transport, 0, limits);
            long Bytes() => line.Transport.Counters.BytesSent + line.Transport.Counters.BytesReceived;
            async Task<long> CycleAsync()
            {
                long before = Bytes();
                var readback = await board.PollAsync().ConfigureAwait(false);
                foreach (var ch in readback.Channels)
                {
                    string name = limits[ch.Channel].Name;
                    recorder.Record(name + "/vmon", "V", readback.Time, ch.VMon);
                    recorder.Record(name + "/imon", "uA", readback.Time, ch.IMon);
                    recorder.Record(name + "/vset", "V", readback.Time, ch.VSet);
                    recorder.Record(name + "/iset", "uA", readback.Time, ch.ISet);
                }
                return Bytes() - before;
            }

            CycleAsync().GetAwaiter().GetResult(); // initialisation (identity, ranges) and warm-up
            long wireBytes = CycleAsync().GetAwaiter().GetResult();
            var seconds = new double[QuickCycles];
            for (var i = 0; i < seconds.Length; i++)
            {
                var watch = Stopwatch.StartNew();
                long bytes = CycleAsync().GetAwaiter().GetResult();
                seconds[i] = watch.Elapsed.TotalSeconds;
                wireBytes = Math.Max(wireBytes, bytes);
            }
            recorder.FlushAsync().GetAwaiter().GetResult();
            Array.Sort(seconds);
            var median = seconds[seconds.Length / 2];
            var wire = WireSeconds((int)wireBytes);
            var ratio = median / wire;
            var c = recorder.Counters;
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"HV poll cycle of the driver (8 queries) with every readback recorded in the history: {wireBytes} bytes, wire time {wire * 1e3:0.0} ms, " +
                $"median of {QuickCycles} cycles {median * 1e3:0.0} ms, {c.Written} samples stored, {c.Dropped} dropped, " +
                $"ratio {ratio:0.000} (target <= {MaxRatio:0.0}) {(ratio <= MaxRatio ? "PASS" : "FAIL")}"));
            return ratio;
        }
        finally
        {
            stop.Cancel();
            writer.GetAwaiter().GetResult();
            store.Dispose();
            line.DisposeAsync().AsTask().GetAwaiter().GetResult();
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>
    /// Stopwatch mode: one warm-up cycle, then the median of <see cref="QuickCycles"/> cycles in real time, divided by
    /// the wire time of the bytes of one cycle at <see cref="BaudRate"/>. Prints the numbers and PASS/FAIL; returns the ratio.
    /// </summary>
    public static double RunQuick(TextWriter output)
    {
        ArgumentNullException.ThrowIfNull(output);
        var line = Line.Open();
        try
        {
            var wireBytes = line.CycleAsync().GetAwaiter().GetResult();
            var seconds = new double[QuickCycles];
            for (var i = 0; i < seconds.Length; i++)
            {
                var watch = Stopwatch.StartNew();
                var bytes = line.CycleAsync().GetAwaiter().GetResult();
                seconds[i] = watch.Elapsed.TotalSeconds;
                if (bytes != wireBytes)
                {
                    throw new InvalidOperationException($"cycle {i} moved {bytes} bytes, the warm-up cycle {wireBytes}; replies must have a fixed width");
                }
            }

            Array.Sort(seconds);
            var median = seconds[seconds.Length / 2];
            var wire = WireSeconds(wireBytes);
            var ratio = median / wire;
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"HV poll cycle (VMON, IMON, STAT of 4 channels) over a pty at {BaudRate} baud: {wireBytes} bytes, wire time {wire * 1e3:0.0} ms, " +
                $"median of {QuickCycles} cycles {median * 1e3:0.0} ms (min {seconds[0] * 1e3:0.0}, max {seconds[^1] * 1e3:0.0}), " +
                $"ratio {ratio:0.000} (target <= {MaxRatio:0.0}) {(ratio <= MaxRatio ? "PASS" : "FAIL")}"));
            return ratio;
        }
        finally
        {
            line.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }

    /// <summary>Line time of <paramref name="bytes"/> bytes at <see cref="BaudRate"/>, 8N1 (10 bit times per byte).</summary>
    public static double WireSeconds(int bytes) => bytes * 10.0 / BaudRate;

    /// <summary>The simulator on the pty master, paced at 9600 baud, and the host's LineTransport on the slave.</summary>
    private sealed class Line : IAsyncDisposable
    {
        private static readonly TimeSpan ReplyTimeout = TimeSpan.FromSeconds(2);
        private readonly PseudoTerminal _pty;
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _serving;
        private readonly LineTransport _transport;

        private Line(PseudoTerminal pty)
        {
            _pty = pty;
            var board = new CaenN1470BoardModel(0, TimeProvider.System);
            var server = new LineDeviceServer(new CaenN1470Bus([new CaenN1470Wire(board)]), TimeProvider.System, baudRate: BaudRate);
            _serving = Task.Run(() => server.ServeAsync(pty.Master, _stop.Token));
            _transport = new LineTransport(new SerialEndpoint(new SerialSettings(pty.SlavePath, BaudRate)), LineFraming.CrLf);
        }

        public static Line Open() => new(PseudoTerminal.Open());

        public LineTransport Transport => _transport;

        /// <summary>Runs one cycle; returns the bytes it put on the wire (requests and replies, terminators included).</summary>
        public async Task<int> CycleAsync()
        {
            var bytes = 0;
            foreach (var request in CycleRequests)
            {
                var reply = await _transport.ExchangeAsync(request, ReplyTimeout).ConfigureAwait(false);
                bytes += request.Length + LineFraming.CrLf.RequestTerminator.Length + reply.Length + LineFraming.CrLf.ReplyTerminator.Length;
            }

            return bytes;
        }

        public async ValueTask DisposeAsync()
        {
            await _transport.DisposeAsync().ConfigureAwait(false);
            await _stop.CancelAsync().ConfigureAwait(false);
            _pty.Dispose();
            try
            {
                await _serving.ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                // Cancelled at teardown: the serving loop's normal way out.
            }

            _stop.Dispose();
        }
    }
}
