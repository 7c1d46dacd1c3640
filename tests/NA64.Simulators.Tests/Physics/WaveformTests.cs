using NA64.Simulators.Physics;

namespace NA64.Simulators.Tests.Physics;

public class WaveformTests
{
    [Fact]
    public void Analytic_template_has_the_reference_rise_width_and_tail()
    {
        var template = PulseTemplate.AnalyticFallback();
        Assert.InRange(template.RiseTime10To90Ns, 27, 33);      // ≈ 30 ns
        Assert.InRange(template.FwhmNs, 85, 100);               // ≈ 90-96 ns
        Assert.InRange(template.PeakTimeNs, 45, 55);            // ≈ 50 ns after onset
        Assert.Equal(1.0, template.Evaluate(template.PeakTimeNs), 3);
        Assert.InRange(template.Evaluate(template.PeakTimeNs + 227), 0.08, 0.12); // 10 % at ≈ 227 ns
        Assert.InRange(template.Evaluate(template.PeakTimeNs + 444), 0.015, 0.025); // 2 % at ≈ 444 ns
        Assert.Equal(0f, template.Evaluate(-5));
    }

    [Fact]
    public void Table_template_is_normalised_to_unit_peak()
    {
        var template = new PulseTemplate(10, [0, 2, 8, 4, 1]);
        Assert.Equal(1.0, template.Evaluate(20), 6);
        Assert.Equal(0.75, template.Evaluate(25), 6);
        Assert.Equal(20, template.PeakTimeNs);
    }

    private static WaveformSynthesizer Synth(double pedestalEven, double pedestalOdd, double noise, double gain, int seed = 1) =>
        new(2, 32, 12.5, PulseTemplate.AnalyticFallback(),
            [new ChannelCalibration(pedestalEven, pedestalOdd, noise, gain), new ChannelCalibration(300, 300, 0, gain)],
            new Random(seed));

    [Fact]
    public void Pulse_lands_at_its_onset_with_amplitude_energy_times_gain()
    {
        var synth = Synth(200, 200, 0, 40);
        var block = new short[64];
        synth.Clear();
        synth.AddEnergy(0, 25, onsetNs: 100); // 1000 ADC, peak 50 ns later = sample 12
        synth.Digitize(block);
        int peak = Array.IndexOf(block, block.AsSpan(0, 32).ToArray().Max());
        Assert.Equal(12, peak);
        Assert.InRange(block[12], 1190, 1200);
        Assert.All(block.AsSpan(0, 9).ToArray(), v => Assert.Equal(200, v)); // before onset: pedestal only
        Assert.All(block.AsSpan(32, 32).ToArray(), v => Assert.Equal(300, v)); // channel 1 untouched
    }

    [Fact]
    public void Window_at_the_nominal_place_renders_what_digitize_wrote()
    {
        var synth = Synth(200, 203, 0, 40);
        var block = new short[64];
        synth.Clear();
        synth.AddEnergy(0, 25, onsetNs: 100);
        synth.AddEnergy(0, 5, onsetNs: 230);   // a second (pile-up) pulse in the same channel
        synth.Digitize(block);
        var window = new ushort[32];
        synth.RenderWindow(0, earlierSamples: 0, window);
        Assert.Equal(block.AsSpan(0, 32).ToArray().Select(v => (ushort)v), window);
        Assert.Equal(2, synth.PulseCount);
    }

    [Theory]
    [InlineData(4)]
    [InlineData(-3)]
    [InlineData(7)]
    public void Window_that_starts_earlier_shows_the_pulse_that_many_samples_later(int earlier)
    {
        var synth = Synth(200, 200, 0, 40);
        var nominal = new short[64];
        synth.Clear();
        synth.AddEnergy(0, 25, onsetNs: 100);  // peak at sample 12 of the nominal window
        synth.Digitize(nominal);
        var moved = new ushort[32];
        synth.RenderWindow(0, earlier, moved);
        for (int s = Math.Max(0, earlier); s < Math.Min(32, 32 + earlier); s++)
            Assert.Equal((ushort)nominal[s - earlier], moved[s]);
        Assert.Equal(12 + earlier, Array.IndexOf(moved, moved.Max()));
    }

    [Fact]
    public void Window_far_from_the_pulse_reads_pedestal_and_noise_only()
    {
        var synth = Synth(200, 210, 1.5, 40);
        synth.Clear();
        synth.AddEnergy(0, 25, onsetNs: 100);
        var window = new ushort[32];
        synth.RenderWindow(0, earlierSamples: -100, window);   // window 1.25 us after the nominal one: past the tail
        Assert.All(window.Where((_, s) => s % 2 == 0), v => Assert.InRange(v, 190, 210));
        Assert.All(window.Where((_, s) => s % 2 == 1), v => Assert.InRange(v, 200, 220));
    }

    [Fact]
    public void Large_pulses_saturate_at_4095_and_never_exceed_it()
    {
        var synth = Synth(350, 352, 2, 1000);
        var block = new short[64];
        synth.Clear();
        synth.AddEnergy(0, 50, 100);
        synth.Digitize(block);
        Assert.Contains((short)4095, block);
        Assert.True(block.Count(v => v == 4095) >= 3);
        Assert.All(block, v => Assert.InRange(v, (short)0, (short)4095));
    }

    [Fact]
    public void Generator_saturates_the_central_cell_with_a_large_gain()
    {
        var generator = new Na64EventGenerator(new PhysicsOptions { Waveform = new WaveformOptions { GainEcalMain = 1000 } }, 21);
        var block = new short[generator.BlockLength];
        generator.Next(block);
        int central = generator.Layout.IndexOf("ECAL1_3_3");
        Assert.Equal(4095, block.AsSpan(central * 32, 32).ToArray().Max());
        Assert.All(block, v => Assert.InRange(v, (short)0, (short)4095));
    }

    [Fact]
    public void Even_and_odd_samples_sit_on_their_own_pedestals_with_the_configured_noise()
    {
        var generator = new Na64EventGenerator(new PhysicsOptions { Waveform = new WaveformOptions { PileUp = false } }, 22);
        var block = new short[generator.BlockLength];
        int veto = generator.Layout.IndexOf("VETO2"); // no energy in electron events
        var cal = generator.Calibration[veto];
        double sumEven = 0, sumOdd = 0, sumSqEven = 0;
        const int events = 2000;
        for (int e = 0; e < events; e++)
        {
            generator.Next(block);
            for (int s = 0; s < 32; s++)
            {
                short v = block[veto * 32 + s];
                if ((s & 1) == 0) { sumEven += v; sumSqEven += (v - cal.PedestalEven) * (v - cal.PedestalEven); }
                else sumOdd += v;
            }
        }
        int n = events * 16;
        // Statistical error of a mean: ≤ 3 ADC / √32000 ≈ 0.017; allow 4σ.
        Assert.Equal(cal.PedestalEven, sumEven / n, 0.07);
        Assert.Equal(cal.PedestalOdd, sumOdd / n, 0.07);
        Assert.Equal(cal.PedestalOdd - cal.PedestalEven, sumOdd / n - sumEven / n, 0.1);
        // Rounding adds 1/12 ADC² of variance.
        Assert.Equal(Math.Sqrt(cal.NoiseRms * cal.NoiseRms + 1.0 / 12), Math.Sqrt(sumSqEven / n), 0.1);
        Assert.InRange(cal.PedestalEven, 100, 400);
        Assert.InRange(Math.Abs(cal.PedestalOdd - cal.PedestalEven), 0, 4);
        Assert.InRange(cal.NoiseRms, 1, 3);
    }

    [Fact]
    public void Block_too_small_is_refused_with_the_sizes()
    {
        var generator = new Na64EventGenerator(new PhysicsOptions(), 23);
        var ex = Assert.Throws<ArgumentException>(() => generator.Next(new short[100]));
        Assert.Contains("100", ex.Message, StringComparison.Ordinal);
        Assert.Contains(generator.BlockLength.ToString(System.Globalization.CultureInfo.InvariantCulture), ex.Message, StringComparison.Ordinal);
    }
}
