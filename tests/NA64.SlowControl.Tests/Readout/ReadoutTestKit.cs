using Microsoft.Extensions.Time.Testing;
using NA64.SlowControl.Readout;
using NA64.SlowControl.Setup;

namespace NA64.SlowControl.Tests.Readout;

/// <summary>
/// A readout on the built-in setup's modules with a test beam, writing into a fresh temporary directory. Without
/// <c>trackers</c> the run reads the calorimeter MSADC sources only (the built-in GeSiCA and its trackers left out), so
/// the MSADC tests see the sources and registers they are about.
/// </summary>
internal sealed class ReadoutTestKit : IAsyncDisposable
{
    private ReadoutTestKit(ReadoutRun run, string directory)
    {
        Run = run;
        Directory = directory;
    }

    public ReadoutRun Run { get; }

    public string Directory { get; }

    /// <summary>Pile-up off (so a signal event cannot be pushed out of the box by a second shower), signals injected.</summary>
    public static ReadoutTestKit Create(double signalFraction = 0.02, bool pileUp = false, int seed = 4242, int samples = 32, double? particlesPerSpill = null,
        bool trackers = false)
    {
        var setup = SetupLoader.LoadDefault();
        var readout = trackers ? setup.Readout! : MsadcOnly(setup.Readout!);
        setup = setup with
        {
            Readout = readout with
            {
                SamplesPerChannel = samples,
                Beam = readout.Beam with { PileUp = pileUp, SignalFraction = signalFraction, Seed = seed, ParticlesPerSpill = particlesPerSpill ?? readout.Beam.ParticlesPerSpill },
            },
        };
        string directory = Path.Combine(Path.GetTempPath(), "na64-readout-tests", Guid.NewGuid().ToString("N"));
        var run = new ReadoutRun(setup, SetupLoader.DefaultText(), new FakeTimeProvider(new DateTimeOffset(2018, 7, 1, 12, 0, 0, TimeSpan.Zero)), null, directory);
        return new ReadoutTestKit(run, directory);
    }

    /// <summary>The readout section with its MSADC sources only.</summary>
    public static ReadoutSetup MsadcOnly(ReadoutSetup readout) =>
        readout with { Sources = [.. readout.Sources.Where(s => s.Kind == ReadoutSourceKind.Msadc)], Trackers = null };

    public async ValueTask DisposeAsync()
    {
        await Run.DisposeAsync();
        if (System.IO.Directory.Exists(Directory))
            System.IO.Directory.Delete(Directory, recursive: true);
    }
}
