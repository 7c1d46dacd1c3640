using System.Diagnostics;
using System.Globalization;

namespace NA64.Benchmarks;

/// <summary>A benchmark class that can also report in --quick mode (Stopwatch, seconds instead of minutes).</summary>
public interface IQuickBenchmark
{
    /// <summary>Measures, prints numbers and one PASS/FAIL line per target; false if any target failed.</summary>
    bool RunQuick(QuickRunner runner);
}

/// <summary>
/// Stopwatch timing for --quick mode: one warm-up call, then enough repetitions per run to last about
/// <see cref="RunTime"/>, <see cref="Runs"/> runs, median time per operation.
/// </summary>
public sealed class QuickRunner
{
    public TimeSpan RunTime { get; init; } = TimeSpan.FromMilliseconds(40);
    public int Runs { get; init; } = 7;
    public TextWriter Out { get; init; } = Console.Out;

    /// <summary>Median seconds per call of each operation. Runs are interleaved (round r times every
    /// operation once) so a change in machine load hits all cases alike and the ratios stay fair.</summary>
    public double[] Measure(params Func<long>[] operations)
    {
        ArgumentNullException.ThrowIfNull(operations);
        long sink = 0;
        var reps = new int[operations.Length];
        var sw = new Stopwatch();
        for (int o = 0; o < operations.Length; o++)
        {
            sink += operations[o](); // warm-up: JIT and page faults out of the way
            sw.Restart();
            sink += operations[o]();
            double single = Math.Max(sw.Elapsed.TotalSeconds, 1e-7);
            reps[o] = Math.Max(1, (int)(RunTime.TotalSeconds / single));
        }
        var perOp = new double[operations.Length][];
        for (int o = 0; o < operations.Length; o++) perOp[o] = new double[Runs];
        for (int r = 0; r < Runs; r++)
        {
            for (int o = 0; o < operations.Length; o++)
            {
                sw.Restart();
                for (int i = 0; i < reps[o]; i++) sink += operations[o]();
                perOp[o][r] = sw.Elapsed.TotalSeconds / reps[o];
            }
        }
        GC.KeepAlive(sink);
        var result = new double[operations.Length];
        for (int o = 0; o < operations.Length; o++)
        {
            Array.Sort(perOp[o]);
            result[o] = perOp[o][Runs / 2];
        }
        return result;
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
