using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;

namespace NA64.Benchmarks;

/// <summary>A benchmark class that can also report in --quick mode (Stopwatch, seconds instead of minutes).</summary>
public interface IQuickBenchmark
{
    /// <summary>Measures, prints numbers and one PASS/FAIL line per target; false if any target failed.</summary>
    bool RunQuick(QuickRunner runner);
}

/// <summary>Median seconds per call: wall clock (Stopwatch) and this thread's CPU time.</summary>
public readonly record struct QuickTiming(double WallSeconds, double CpuSeconds);

/// <summary>
/// Stopwatch timing for --quick mode: a warm-up of <see cref="WarmUpTime"/>, then enough repetitions per run to last about
/// <see cref="RunTime"/>, <see cref="Runs"/> runs, median time per operation.
/// </summary>
public sealed class QuickRunner
{
    public TimeSpan RunTime { get; init; } = TimeSpan.FromMilliseconds(40);
    public int Runs { get; init; } = 7;

    /// <summary>How long the operations run before anything is measured (JIT tiering, page faults, caches).</summary>
    public TimeSpan WarmUpTime { get; init; } = TimeSpan.FromMilliseconds(600);
    public TextWriter Out { get; init; } = Console.Out;

    /// <summary>Median time per call of each operation. Runs are interleaved (round r times every
    /// operation once) so a change in machine load hits all cases alike and the ratios stay fair.
    /// The thread's CPU time is measured beside the wall clock: on a shared machine the wall clock also
    /// counts the time other processes held the core.</summary>
    public QuickTiming[] Measure(params Func<long>[] operations)
    {
        ArgumentNullException.ThrowIfNull(operations);
        long sink = 0;
        var reps = new int[operations.Length];
        var sw = new Stopwatch();
        // Warm-up: the operations in turn for WarmUpTime. One call is not enough: the JIT's tiers (quick code, then
        // instrumented, then optimized with the profile) are compiled in the background after call counts and a
        // delay, and on a loaded machine that took longer than a 40 ms run; measured too early, the instrumented
        // code of a hot method (the cluster finder) showed up in the profile and cost half the rate.
        var warmUp = Stopwatch.StartNew();
        do
        {
            foreach (var operation in operations) sink += operation();
        }
        while (warmUp.Elapsed < WarmUpTime);
        for (int o = 0; o < operations.Length; o++)
        {
            sw.Restart();
            sink += operations[o]();
            double single = Math.Max(sw.Elapsed.TotalSeconds, 1e-7);
            reps[o] = Math.Max(1, (int)(RunTime.TotalSeconds / single));
        }
        var wall = new double[operations.Length][];
        var cpu = new double[operations.Length][];
        for (int o = 0; o < operations.Length; o++)
        {
            wall[o] = new double[Runs];
            cpu[o] = new double[Runs];
        }
        for (int r = 0; r < Runs; r++)
        {
            for (int o = 0; o < operations.Length; o++)
            {
                double cpu0 = ThreadCpuSeconds();
                sw.Restart();
                for (int i = 0; i < reps[o]; i++) sink += operations[o]();
                wall[o][r] = sw.Elapsed.TotalSeconds / reps[o];
                cpu[o][r] = (ThreadCpuSeconds() - cpu0) / reps[o];
            }
        }
        GC.KeepAlive(sink);
        var result = new QuickTiming[operations.Length];
        for (int o = 0; o < operations.Length; o++)
        {
            Array.Sort(wall[o]);
            Array.Sort(cpu[o]);
            result[o] = new QuickTiming(wall[o][Runs / 2], cpu[o][Runs / 2]);
        }
        return result;
    }

    /// <summary>CPU time of the calling thread (Linux CLOCK_THREAD_CPUTIME_ID); the wall clock elsewhere.</summary>
    public static double ThreadCpuSeconds()
    {
        if (OperatingSystem.IsLinux() && NativeMethods.clock_gettime(NativeMethods.ClockThreadCpuTime, out var ts) == 0)
            return ts.Seconds + ts.Nanoseconds * 1e-9;
        return Stopwatch.GetTimestamp() / (double)Stopwatch.Frequency;
    }

    public void Line(string text) => Out.WriteLine(text);

    /// <summary>Prints "PASS"/"FAIL" for ratio &gt;= target.</summary>
    public bool Target(string name, double ratio, double target)
    {
        bool pass = ratio >= target;
        Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{(pass ? "PASS" : "FAIL")}  {name}: {ratio:F2} (target >= {target:F2})"));
        return pass;
    }
}

internal static partial class NativeMethods
{
    public const int ClockThreadCpuTime = 3;

    [StructLayout(LayoutKind.Sequential)]
    public struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [LibraryImport("libc", EntryPoint = "clock_gettime")]
    public static partial int clock_gettime(int clock, out TimeSpec time);
}
