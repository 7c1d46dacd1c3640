using System.Runtime.Intrinsics;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Filters;
using BenchmarkDotNet.Running;
using NA64.Benchmarks;

// Benchmark classes of NA64.Hw. Add a class here; if it implements IQuickBenchmark it also runs in --quick mode.
Type[] benchmarks =
[
    typeof(KernelBenchmarks),
    typeof(HvPollBenchmark),
    typeof(EndToEndBenchmarks),
    typeof(ServiceBenchmark),
    typeof(MagnetRampBenchmark),
    typeof(ApvProcessingBenchmark),
    typeof(TrackerChainBenchmark),
    typeof(HistoryBenchmark),
];

if (args.Contains("--quick"))
{
    // Stopwatch mode: numbers and PASS/FAIL lines in seconds, for CI and humans. Exit code 1 on a FAIL.
    var runner = new QuickRunner();
    runner.Line($"quick mode: median of {runner.Runs} runs of ~{runner.RunTime.TotalMilliseconds} ms per case; " +
        $"Vector256 accelerated {Vector256.IsHardwareAccelerated}, Vector512 accelerated {Vector512.IsHardwareAccelerated}");
    bool pass = true;
    // Optional class-name filter: --quick EndToEnd runs only the classes whose name contains "EndToEnd".
    var only = args.Where(a => !a.StartsWith("--", StringComparison.Ordinal)).ToArray();
    foreach (var type in benchmarks.Where(t => typeof(IQuickBenchmark).IsAssignableFrom(t)
                 && (only.Length == 0 || only.Any(o => t.Name.Contains(o, StringComparison.OrdinalIgnoreCase)))))
        pass &= ((IQuickBenchmark)Activator.CreateInstance(type)!).RunQuick(runner);
    return pass ? 0 : 1;
}

// Vector512 without hardware support runs a software fallback: meaningless and slow, so it is not measured.
// The generated benchmark project builds slowly on a loaded machine; BenchmarkDotNet's 2 min default was seen to expire.
var config = DefaultConfig.Instance
    .AddFilter(new SimpleFilter(b =>
        Vector512.IsHardwareAccelerated || !b.Descriptor.WorkloadMethod.Name.Contains("Vector512", StringComparison.Ordinal)))
    .WithBuildTimeout(TimeSpan.FromMinutes(10));
var summaries = BenchmarkSwitcher.FromTypes(benchmarks).Run(args, config);

bool allPass = true;
foreach (var summary in summaries.Where(s => s.BenchmarksCases.Any(b => b.Descriptor.Type == typeof(KernelBenchmarks))))
{
    var measured = summary.Reports.Where(r => r.ResultStatistics is not null).ToArray();
    if (measured.Length == 0)
    {
        Console.WriteLine("FAIL  kernel: no benchmark produced a result (see the BenchmarkDotNet log above)");
        allPass = false;
    }
    foreach (var group in measured.GroupBy(r => (int)r.BenchmarkCase.Parameters["BufferMiB"]))
    {
        double? Seconds(string method) => group.FirstOrDefault(r => r.BenchmarkCase.Descriptor.WorkloadMethod.Name == method)
            ?.ResultStatistics!.Median / 1e9;
        allPass &= KernelBenchmarks.Report(Console.Out, group.Key, group.Key * 1024L * 1024, "BenchmarkDotNet median, wall clock", Seconds);
    }
}
return allPass ? 0 : 1;
