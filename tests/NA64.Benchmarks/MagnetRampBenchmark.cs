using System.Diagnostics;
using System.Globalization;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;

namespace NA64.Benchmarks;

/// <summary>
/// Magnet ramp time (issue 8): 0 to 800 A through the real driver, controller and poller against the simulator, in
/// simulated time. The target: the time from the command until |I - 800 A| is within the controller's tolerance is at
/// most <see cref="MaxRatio"/> times the minimum the limits allow, dI/dt = min(rate, (V_max - I·R)/L) integrated from
/// 0 A (L, R, V_max and the rate read from the simulator's load and settings). Two cases: a Genesys whose 10 V
/// compliance binds from 500 A (the controller steps its setpoint), and a Danfysik 8500 where only dI/dt binds (it
/// slews by itself). A ratio below <see cref="MinRatio"/> would mean a ramp faster than allowed and fails too. The
/// BenchmarkDotNet methods measure how long one simulated ramp takes on the wall clock (how fast the simulation runs).
/// </summary>
[SimpleJob(RunStrategy.Monitoring, launchCount: 1, warmupCount: 1, iterationCount: 5)]
public class MagnetRampBenchmark : IQuickBenchmark
{
    public const double TargetAmps = 800;

    /// <summary>Measured over minimum ramp time; the target is at most this.</summary>
    public const double MaxRatio = 1.05;

    /// <summary>Below this the ramp was faster than the limits allow (rounding of the 10 ms sampling aside): a broken dI/dt guarantee.</summary>
    public const double MinRatio = 0.999;

    [Benchmark]
    public Task<MagnetRampResult> GenesysRamp() => RunAsync(MagnetRampRig.Genesys);

    [Benchmark]
    public Task<MagnetRampResult> Danfysik8500Ramp() => RunAsync(MagnetRampRig.Danfysik8500);

    /// <summary>One whole simulated ramp on a fresh rig: switch on, settle at 0 A, ramp to 800 A, AtSetpoint.</summary>
    public static async Task<MagnetRampResult> RunAsync(Func<NA64.SlowControl.Magnets.MagnetSettings?, MagnetRampRig> rig)
    {
        ArgumentNullException.ThrowIfNull(rig);
        await using var r = rig(null);
        return await r.RampAsync(TargetAmps).ConfigureAwait(false);
    }

    public static bool Pass(MagnetRampResult result) =>
        result is not null && result.Ratio <= MaxRatio && result.Ratio >= MinRatio;

    bool IQuickBenchmark.RunQuick(QuickRunner runner) => RunQuick(runner.Out);

    /// <summary>One line per case: simulated times, ratio, PASS/FAIL, and the wall and CPU time the simulation took.</summary>
    public static bool RunQuick(TextWriter output)
    {
        ArgumentNullException.ThrowIfNull(output);
        bool pass = true;
        foreach (var make in new Func<NA64.SlowControl.Magnets.MagnetSettings?, MagnetRampRig>[] { MagnetRampRig.Genesys, MagnetRampRig.Danfysik8500 })
        {
            // Process CPU, not thread CPU: the simulated device answers on thread-pool threads.
            var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
            var watch = Stopwatch.StartNew();
            var result = RunAsync(make).GetAwaiter().GetResult();
            var wall = watch.Elapsed.TotalSeconds;
            var cpu = (Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalSeconds;
            bool ok = Pass(result);
            pass &= ok;
            var l = result.Limits;
            string binds = result.VoltageBinds
                ? string.Create(CultureInfo.InvariantCulture, $"voltage binds above {l.VoltageBindsAboveAmps:0} A")
                : "only dI/dt binds";
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{(ok ? "PASS" : "FAIL")}  magnet ramp 0 -> {TargetAmps:0} A, {result.Case} on {l.Henries} H, {l.Ohms} ohm at {l.AmpsPerSecond} A/s ({binds}): " +
                $"within {result.ToleranceAmps} A after {result.ReachedSeconds:0.00} s, AtSetpoint {result.AtSetpointSeconds:0.00} s, minimum {result.MinimumSeconds:0.00} s, " +
                $"ratio {result.Ratio:0.000} (target <= {MaxRatio:0.00}); simulated in {wall:0.000} s wall, {cpu:0.000} s CPU"));
        }

        return pass;
    }
}
