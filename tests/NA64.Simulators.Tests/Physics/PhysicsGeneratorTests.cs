using NA64.Simulators.Physics;

namespace NA64.Simulators.Tests.Physics;

public class PhysicsGeneratorTests
{
    private static PhysicsOptions Quiet(Func<CalorimeterOptions, CalorimeterOptions>? calorimeter = null,
        double triggerRateHz = 10_000) => new()
    {
        Beam = new BeamOptions { TriggerRateHz = triggerRateHz },
        Calorimeter = calorimeter?.Invoke(new CalorimeterOptions()) ?? new CalorimeterOptions(),
        Waveform = new WaveformOptions { PileUp = false },
    };

    private static (double Mean, double Sigma) MeanAndSigma(IReadOnlyList<double> values)
    {
        // Iterated ±3σ truncation, then corrected for the truncation (a Gaussian keeps 98.67 % of its variance... of 99.73 % of its events).
        double mean = values.Average();
        double sigma = Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / values.Count);
        for (int i = 0; i < 5; i++)
        {
            var core = values.Where(v => Math.Abs(v - mean) < 3 * sigma).ToArray();
            mean = core.Average();
            double m = mean;
            sigma = Math.Sqrt(core.Sum(v => (v - m) * (v - m)) / core.Length) / 0.9866;
        }
        return (mean, sigma);
    }

    [Fact]
    public void Events_come_only_in_spill_with_spill_and_event_numbers_as_the_tcs_counts_them()
    {
        var options = Quiet(triggerRateHz: 300) with { Beam = new BeamOptions { TriggerRateHz = 300 } };
        var generator = new Na64EventGenerator(options, seed: 11);
        var block = new short[generator.BlockLength];
        var previous = default(EventTruth);
        int spillsSeen = 1;
        for (int i = 0; i < 4000; i++)
        {
            var truth = generator.Next(block);
            double cycle = 24.8;
            double inCycle = truth.Time.TotalSeconds - (truth.Spill - 1) * cycle;
            Assert.InRange(inCycle, 0, 4.8);
            Assert.True(generator.IsInSpill(truth.Time));
            if (i > 0)
            {
                Assert.True(truth.Time > previous.Time);
                if (truth.Spill == previous.Spill)
                    Assert.Equal(previous.EventInSpill + 1, truth.EventInSpill);
                else
                {
                    Assert.Equal(previous.Spill + 1, truth.Spill);
                    Assert.Equal(1, truth.EventInSpill);
                    spillsSeen++;
                }
            }
            else
                Assert.Equal((1, 1), (truth.Spill, truth.EventInSpill));
            previous = truth;
        }
        // 300 Hz × 4.8 s = 1440 per spill: 4000 events span 3 spills, each ≈ 1440 ± 4σ.
        Assert.Equal(3, spillsSeen);
        Assert.False(generator.IsInSpill(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public void Explicit_time_stepping_stops_at_the_given_time()
    {
        var generator = new Na64EventGenerator(Quiet(), seed: 12);
        var block = new short[generator.BlockLength];
        int n = 0;
        while (generator.TryNextBefore(TimeSpan.FromMilliseconds(100), block, out var truth))
        {
            Assert.True(truth.Time < TimeSpan.FromMilliseconds(100));
            n++;
        }
        // 10 kHz trigger rate: 1000 ± 4·√1000 events in the first 100 ms of the spill.
        Assert.InRange(n, 874, 1126);
        Assert.True(generator.NextTriggerTime >= TimeSpan.FromMilliseconds(100));
    }

    [Fact]
    public void Ecal_plus_hcal_peaks_at_the_beam_energy_with_the_configured_ecal_resolution()
    {
        var generator = new Na64EventGenerator(Quiet(c => c with { HcalLeakageFractionMean = 0 }), seed: 13);
        var block = new short[generator.BlockLength];
        var totals = new List<double>();
        for (int i = 0; i < 4000; i++)
            totals.Add(generator.Next(block).TotalMeasuredGeV);
        var (mean, sigma) = MeanAndSigma(totals);
        double expected = 100 * Math.Sqrt(0.09 * 0.09 / 100 + 0.01 * 0.01); // 1.345 GeV
        Assert.InRange(mean, 100 - 4 * expected / Math.Sqrt(4000), 100 + 4 * expected / Math.Sqrt(4000));
        Assert.InRange(sigma, expected * 0.93, expected * 1.07); // σ(σ)/σ ≈ 1/√(2N) = 1.1 %
    }

    [Fact]
    public void Ten_percent_stochastic_term_widens_the_peak_accordingly()
    {
        var generator = new Na64EventGenerator(
            Quiet(c => c with { HcalLeakageFractionMean = 0, EcalStochasticTerm = 0.10 }), seed: 14);
        var block = new short[generator.BlockLength];
        var totals = Enumerable.Range(0, 4000).Select(_ => generator.Next(block).TotalMeasuredGeV).ToList();
        double expected = 100 * Math.Sqrt(0.10 * 0.10 / 100 + 0.01 * 0.01); // 1.414 GeV
        Assert.InRange(MeanAndSigma(totals).Sigma, expected * 0.93, expected * 1.07);
    }

    [Fact]
    public void Default_electron_leaves_almost_nothing_in_hcal_and_the_sum_still_peaks_at_100()
    {
        var generator = new Na64EventGenerator(Quiet(), seed: 15);
        var block = new short[generator.BlockLength];
        var events = Enumerable.Range(0, 2000).Select(_ => generator.Next(block)).ToList();
        Assert.All(events, e => Assert.Equal(EventKind.Electron, e.Kind));
        Assert.InRange(events.Average(e => e.HcalMeasuredGeV), 0, 1.0);
        Assert.InRange(MeanAndSigma(events.Select(e => e.TotalMeasuredGeV).ToList()).Mean, 99.8, 100.2);
        // Energy conservation of the deposits: ECAL + HCAL = beam energy for electrons.
        Assert.All(events, e => Assert.Equal(100.0, e.EcalDepositGeV + e.HcalDepositGeV, 9));
    }

    [Fact]
    public void Injected_signal_fraction_is_recorded_as_truth_and_has_the_signal_signature()
    {
        var generator = new Na64EventGenerator(Quiet(c => c with { SignalFraction = 0.1 }), seed: 16);
        var block = new short[generator.BlockLength];
        var events = Enumerable.Range(0, 5000).Select(_ => generator.Next(block)).ToList();
        int signals = events.Count(e => e.IsSignal);
        Assert.Equal(signals, generator.InjectedSignalCount);
        Assert.InRange(signals, 500 - 4 * 21, 500 + 4 * 21); // binomial σ = √(5000·0.1·0.9) ≈ 21
        Assert.All(events.Where(e => e.IsSignal), e =>
        {
            Assert.InRange(e.EcalDepositGeV, 5, 50);
            Assert.Equal(0, e.HcalMeasuredGeV);
        });
        Assert.All(events.Where(e => !e.IsSignal), e => Assert.InRange(e.TotalMeasuredGeV, 90, 110));
    }

    [Fact]
    public void Shower_is_shared_over_cells_and_channel_energies_add_up_to_the_measured_ecal()
    {
        var generator = new Na64EventGenerator(Quiet(), seed: 17);
        var block = new short[generator.BlockLength];
        var truth = generator.Next(block);
        var layout = generator.Layout;
        double ecal = 0, central = 0;
        for (int c = layout.EcalPreshowerStart; c < layout.HcalStart; c++)
            ecal += generator.LastChannelEnergies[c];
        central = generator.LastChannelEnergies[layout.IndexOf("ECAL1_3_3")] + generator.LastChannelEnergies[layout.IndexOf("ECAL0_3_3")];
        Assert.Equal(truth.EcalMeasuredGeV, ecal, 6);
        Assert.InRange(central / ecal, 0.5, 0.95);
        Assert.True(generator.LastChannelEnergies[layout.IndexOf("ECAL1_2_3")] > 0);
        Assert.Equal(0, generator.LastChannelEnergies[layout.IndexOf("VETO0")]);
        Assert.True(generator.LastChannelEnergies[layout.IndexOf("S1")] > 0);
        Assert.Equal(0, generator.LastChannelEnergies[layout.IndexOf("V0")]);
    }

    [Fact]
    public void Same_seed_gives_the_same_events()
    {
        var a = new Na64EventGenerator(new PhysicsOptions(), seed: 18);
        var b = new Na64EventGenerator(new PhysicsOptions(), seed: 18);
        var blockA = new short[a.BlockLength];
        var blockB = new short[b.BlockLength];
        for (int i = 0; i < 20; i++)
        {
            Assert.Equal(a.Next(blockA), b.Next(blockB));
            Assert.Equal(blockA, blockB);
        }
    }

    [Fact]
    public void Pile_up_follows_the_beam_intensity()
    {
        // 10^7 per 4.8 s spill over a 400 ns window: μ = 0.83.
        var generator = new Na64EventGenerator(new PhysicsOptions { Beam = new BeamOptions { ParticlesPerSpill = 1e7 } }, seed: 19);
        var block = new short[generator.BlockLength];
        double mean = Enumerable.Range(0, 3000).Average(_ => generator.Next(block).PileUpParticles);
        Assert.InRange(mean, 0.833 - 4 * Math.Sqrt(0.833 / 3000), 0.833 + 4 * Math.Sqrt(0.833 / 3000));
    }

    [Fact]
    public void Bad_options_are_refused_naming_the_field()
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => new Na64EventGenerator(
            new PhysicsOptions { Calorimeter = new CalorimeterOptions { SignalFraction = 1.5 } }, 1));
        Assert.Contains("Calorimeter.SignalFraction = 1.5 must be within 0..1", ex.Message, StringComparison.Ordinal);
    }
}
