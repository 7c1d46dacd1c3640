using NA64.Simulators.Physics;
using NA64.Simulators.Trackers;

namespace NA64.Simulators.Tests.Trackers;

internal static class TrackerTestSetup
{
    /// <summary>The genetic multiplexing rule of na64-setup §8.1: strip 64 i + j → (k_i · j) mod 64.</summary>
    public static int[] GeneticMap(params int[] k)
    {
        var map = new int[320];
        for (int i = 0; i < 5; i++)
            for (int j = 0; j < 64; j++)
                map[64 * i + j] = k[i] * j % 64;
        return map;
    }

    /// <summary>The 2016–2018 NA64 series {1, 7, 13, 19, 25}.</summary>
    public static int[] Na64Map { get; } = GeneticMap(1, 7, 13, 19, 25);

    /// <summary>Calorimeter pile-up off: the trackers draw their own; it only makes the generator faster.</summary>
    public static PhysicsOptions PhysicsSetup { get; } = new() { Waveform = new WaveformOptions { PileUp = false } };

    public static List<EventTruth> Events(int count, int seed)
    {
        var generator = new Na64EventGenerator(PhysicsSetup, seed);
        var block = new short[generator.BlockLength];
        var list = new List<EventTruth>(count);
        for (int i = 0; i < count; i++)
            list.Add(generator.Next(block));
        return list;
    }

    /// <summary>No noise, no common mode, flat pedestal 400, no jitter, no pile-up: raw − 400 is the signal.</summary>
    public static TrackerOptions NoiseFree(TrackerOptions? start = null) => (start ?? new TrackerOptions()) with
    {
        Electronics = new ApvElectronicsOptions
        {
            NoiseSigmaMinAdc = 0,
            NoiseSigmaMaxAdc = 0,
            CommonModeSigmaAdc = 0,
            PedestalMinAdc = 400,
            PedestalMaxAdc = 400,
            TimeJitterNs = 0,
        },
        PileUpTracksMean = 0,
        Micromegas = new TrackerResponse { Efficiency = 1 },
        Gem = new TrackerResponse { Efficiency = 1 },
    };

    public static TrackerSimulator Simulator(TrackerOptions? options = null, int seed = 7)
        => new(options ?? new TrackerOptions(), PhysicsSetup, Na64Map, seed);
}
