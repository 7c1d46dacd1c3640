using NA64.Hardware.Digitizers.Apv.Format;
using NA64.Simulators.Physics;
using NA64.Simulators.Trackers;
using static NA64.Simulators.Tests.Trackers.TrackerTestSetup;

namespace NA64.Simulators.Tests.Trackers;

public class TrackerSimulatorTests
{
    [Fact]
    public void Same_seed_and_event_give_the_same_frames_in_any_order_and_another_seed_differs()
    {
        var events = Events(12, seed: 5);
        var forward = Simulator(seed: 5);
        var snapshots = events.Select(e => forward.Simulate(e).Apvs.Select(a => a.Raw.ToArray()).ToArray()).ToList();

        var backward = Simulator(seed: 5);
        for (int i = events.Count - 1; i >= 0; i--)
        {
            var again = backward.Simulate(events[i]);
            for (int a = 0; a < again.Apvs.Count; a++)
                Assert.Equal(snapshots[i][a], again.Apvs[a].Raw);
        }

        var other = Simulator(seed: 6).Simulate(events[0]);
        Assert.NotEqual(snapshots[0][0], other.Apvs[0].Raw);
    }

    [Fact]
    public void The_track_ends_at_the_calorimeter_impact_point_and_bends_21_mrad_in_the_magnet()
    {
        var options = NoiseFree() with { Geometry = new TrackerGeometry { DivergenceXMrad = 0, DivergenceYMrad = 0 } };
        var simulator = Simulator(options);
        foreach (var truth in Events(20, seed: 3))
        {
            var ev = simulator.Simulate(truth);
            var main = Assert.Single(ev.Tracks);
            Assert.Equal(truth.ImpactXMm, main.EcalXMm);
            Assert.Equal(truth.ImpactYMm, main.EcalYMm);
            double x8 = Hit(ev, "MM8", StripAxis.X).PositionMm;
            double x1 = Hit(ev, "MM1", StripAxis.X).PositionMm;
            double y1 = Hit(ev, "MM1", StripAxis.Y).PositionMm;
            Assert.Equal(truth.ImpactXMm, x8, 9);
            Assert.Equal(truth.ImpactYMm, y1, 9);
            // MM1 is 8 m upstream of the magnet centre: the undeflected line is 8000 mm × 21 mrad off.
            Assert.Equal(0.021 * 8000, x1 - x8, 6);
        }
    }

    [Fact]
    public void Chambers_are_centred_on_the_nominal_beam_so_the_tracks_are_inside_them()
    {
        var simulator = Simulator();
        int outside = 0, total = 0;
        foreach (var truth in Events(300, seed: 4))
            foreach (var plane in simulator.Simulate(truth).Planes)
                foreach (var hit in plane.Hits.Where(h => !h.PileUp))
                {
                    total++;
                    if (!hit.InAcceptance)
                        outside++;
                }
        Assert.Equal(300 * 20, total);
        Assert.InRange(outside, 0, total / 200);
    }

    [Fact]
    public void Hit_multiplicity_is_about_1_2_per_plane_at_the_default_intensity()
    {
        var simulator = Simulator();
        var quiet = Simulator(new TrackerOptions { PileUpTracksMean = 0 });
        double hits = 0, quietHits = 0;
        int planes = 0;
        foreach (var truth in Events(2000, seed: 8))
        {
            foreach (var plane in simulator.Simulate(truth).Planes.Where(p => p.Kind == TrackerKind.Micromegas))
            {
                hits += plane.DetectedHits;
                planes++;
            }
            foreach (var plane in quiet.Simulate(truth).Planes.Where(p => p.Kind == TrackerKind.Micromegas))
                quietHits += plane.DetectedHits;
        }
        Assert.InRange(hits / planes, 1.12, 1.24);
        Assert.InRange(quietHits / planes, 0.97, 0.99);
    }

    [Fact]
    public void Cluster_charge_is_landau_with_the_configured_most_probable_value_and_a_long_tail()
    {
        var simulator = Simulator(new TrackerOptions { PileUpTracksMean = 0 });
        var charges = new List<double>();
        foreach (var truth in Events(4000, seed: 9))
            foreach (var plane in simulator.Simulate(truth).Planes.Where(p => p.Axis == StripAxis.X))
                charges.AddRange(plane.Hits.Where(h => h.Detected).Select(h => h.ChargeAdc));

        // Mode from a histogram of 4 ADC bins: MPV 200.
        var histogram = charges.Where(c => c < 400).GroupBy(c => (int)Math.Floor(c / 4)).OrderByDescending(g => g.Count()).First();
        Assert.InRange(histogram.Key * 4 + 2, 190, 210);
        // Standard Landau: P(λ < λ_mp + 10) = P(λ < 9.777) ≈ 0.88, so 12 % above MPV + 10 widths (200 ADC).
        double tail = charges.Count(c => c > 400) / (double)charges.Count;
        Assert.InRange(tail, 0.10, 0.14);
        // Mean is pulled far above the most probable value by the tail; nothing below MPV − 4 widths.
        Assert.True(charges.Average() > 240);
        Assert.InRange(charges.Count(c => c < 120) / (double)charges.Count, 0, 0.001);
    }

    [Fact]
    public void A1_is_the_largest_sample_at_the_timed_in_latency_and_not_when_the_latency_is_off()
    {
        Assert.True(FractionA1Largest(new ApvElectronicsOptions { NoiseSigmaMinAdc = 0, NoiseSigmaMaxAdc = 0, CommonModeSigmaAdc = 0 }) > 0.99);
        Assert.True(FractionA1Largest(new ApvElectronicsOptions
        {
            NoiseSigmaMinAdc = 0, NoiseSigmaMaxAdc = 0, CommonModeSigmaAdc = 0, SampleOffsetNs = 40,
        }) < 0.01);

        static double FractionA1Largest(ApvElectronicsOptions electronics)
        {
            var simulator = Simulator(new TrackerOptions { Electronics = electronics, PileUpTracksMean = 0 });
            int good = 0, total = 0;
            foreach (var truth in Events(200, seed: 10))
            {
                var ev = simulator.Simulate(truth);
                for (int a = 0; a < ev.Apvs.Count; a++)
                {
                    var apv = ev.Apvs[a];
                    var pedestals = simulator.Pedestals(a);
                    int best = Enumerable.Range(0, 128).MaxBy(c => apv.RawAt(1, c) - pedestals[c]);
                    // Saturated (a Landau tail at 1023 in all frames) or no hit on this APV: a1 cannot stand out.
                    if (apv.RawAt(1, best) - pedestals[best] < 20 || apv.RawAt(0, best) == 1023 || apv.RawAt(1, best) == 1023)
                        continue;
                    total++;
                    if (apv.RawAt(1, best) > apv.RawAt(0, best) && apv.RawAt(1, best) > apv.RawAt(2, best))
                        good++;
                }
            }
            Assert.True(total > 1000);
            return good / (double)total;
        }
    }

    [Fact]
    public void Micromegas_channel_of_a_strip_follows_the_multiplexing_map_five_strips_per_channel()
    {
        var simulator = Simulator();
        Assert.All(new[] { 0, 64, 128, 192, 256 }, s => Assert.Equal(0, simulator.MicromegasApvChannel(StripAxis.X, s)));
        Assert.All(new[] { 1, 119, 133, 219, 297 }, s => Assert.Equal(1, simulator.MicromegasApvChannel(StripAxis.X, s)));
        Assert.All(new[] { 1, 119, 133, 219, 297 }, s => Assert.Equal(65, simulator.MicromegasApvChannel(StripAxis.Y, s)));
        for (int channel = 0; channel < 128; channel++)
            Assert.Equal(5, Enumerable.Range(0, 320).Count(s =>
                simulator.MicromegasApvChannel(channel < 64 ? StripAxis.X : StripAxis.Y, s) == channel));

        // A configured X/Y assignment (here interleaved) is applied after the multiplexing.
        var interleaved = new TrackerOptions
        {
            Geometry = new TrackerGeometry
            {
                MicromegasXApvChannels = [.. Enumerable.Range(0, 64).Select(c => 2 * c)],
                MicromegasYApvChannels = [.. Enumerable.Range(0, 64).Select(c => 2 * c + 1)],
            },
        };
        var other = Simulator(interleaved);
        Assert.Equal(2 * 38, other.MicromegasApvChannel(StripAxis.X, 190));
        Assert.Equal(2 * 38 + 1, other.MicromegasApvChannel(StripAxis.Y, 194));
    }

    [Fact]
    public void Micromegas_raw_frames_carry_the_cluster_summed_onto_the_multiplexed_channels()
    {
        var simulator = Simulator(NoiseFree());
        foreach (var truth in Events(30, seed: 12))
        {
            var ev = simulator.Simulate(truth);
            for (int d = 0; d < 8; d++)
            {
                string name = "MM" + (d + 1);
                var expected = new double[128];
                foreach (var axis in new[] { StripAxis.X, StripAxis.Y })
                {
                    var hit = Hit(ev, name, axis);
                    for (int s = 0; s < 320; s++)
                    {
                        double fraction = GaussianIntegral.Cdf(s + 1 - hit.CentreStrip) - GaussianIntegral.Cdf(s - hit.CentreStrip);
                        expected[simulator.MicromegasApvChannel(axis, s)] += hit.ChargeAdc * fraction;
                    }
                }
                var apv = ev.Apvs[simulator.ApvIndex(name)];
                for (int c = 0; c < 128; c++)
                {
                    if (apv.RawAt(1, c) == 1023)
                        Assert.True(400 + expected[c] > 1022.5); // the Landau tail saturates the 10 bits
                    else
                        Assert.InRange(apv.RawAt(1, c) - 400 - expected[c], -0.51, 0.51);
                }
            }
        }
    }

    [Fact]
    public void Gem_strip_s_is_on_apv_s_over_128_channel_s_mod_128_not_multiplexed()
    {
        var options = NoiseFree();
        var simulator = Simulator(options);
        foreach (var truth in Events(30, seed: 13))
        {
            var ev = simulator.Simulate(truth);
            foreach (var axis in new[] { StripAxis.X, StripAxis.Y })
            {
                var hit = Hit(ev, "GM1", axis);
                Assert.True(hit.LastStrip - hit.FirstStrip >= 2);
                for (int s = 0; s < 256; s++)
                {
                    double fraction = GaussianIntegral.Cdf(s + 1 - hit.CentreStrip) - GaussianIntegral.Cdf(s - hit.CentreStrip);
                    var apv = ev.Apvs[simulator.ApvIndex("GM1", axis, s)];
                    Assert.Equal(axis, apv.Address.Plane);
                    Assert.Equal(s / 128 * 128, apv.Address.FirstStrip);
                    double expected = Math.Min(1023, 400 + hit.ChargeAdc * fraction);
                    Assert.InRange(apv.RawAt(1, s % 128) - expected, -0.51, 0.51);
                }
            }
        }
        Assert.Equal(16, simulator.Apvs.Count);
        Assert.Equal(new[] { 0, 1, 2, 3 }, simulator.Apvs.Where(a => a.Detector == "GM2").Select(a => a.ChipId));
    }

    [Fact]
    public void Pipeline_columns_follow_the_event_time_are_consecutive_and_the_same_on_every_apv()
    {
        var simulator = Simulator();
        foreach (var truth in Events(50, seed: 14))
        {
            var ev = simulator.Simulate(truth);
            Assert.Equal(truth.EventNumber, ev.EventNumber);
            Assert.Equal(truth.Time, ev.Time);
            // 40 MHz clock: column of frame 0 = (t / 25 ns − latency 100) mod 192.
            long clocks = (long)Math.Floor(truth.Time.TotalNanoseconds / 25);
            Assert.Equal((int)(((clocks - 100) % 192 + 192) % 192), ev.Apvs[0].Columns.Column1);
            Assert.All(ev.Apvs, a => Assert.True(a.Columns.IsConsecutive));
            Assert.Single(ev.Apvs.Select(a => a.Columns).Distinct());
            Assert.All(ev.Apvs, a => Assert.False(a.PipelineAddressMismatch));
        }
    }

    [Fact]
    public void Raw_frames_have_the_configured_pedestals_noise_and_a_common_mode_per_frame()
    {
        var simulator = Simulator(new TrackerOptions { PileUpTracksMean = 0 });
        int apv = simulator.ApvIndex("MM4");
        var pedestals = simulator.Pedestals(apv);
        var sigmas = simulator.Sigmas(apv);
        Assert.All(pedestals, p => Assert.InRange(p, 300, 600));
        Assert.All(sigmas, s => Assert.InRange(s, 2, 5));
        var residuals = new List<double>[128];
        for (int c = 0; c < 128; c++)
            residuals[c] = [];
        var commonModes = new List<double>();
        foreach (var truth in Events(1500, seed: 15))
        {
            var readout = simulator.Simulate(truth).Apvs[apv];
            for (int f = 0; f < 3; f++)
            {
                commonModes.Add(readout.TrueCommonModeAdc[f]);
                // Remove the frame's true CM so that what is left is noise (and, now and then, a cluster).
                for (int c = 0; c < 128; c++)
                    residuals[c].Add(readout.RawAt(f, c) - pedestals[c] - readout.TrueCommonModeAdc[f]);
            }
        }
        double cmRms = Math.Sqrt(commonModes.Average(v => v * v));
        Assert.InRange(cmRms, 3.8, 4.2);
        // Quiet channels (cluster tails excluded by the median): noise σ as in the map.
        for (int c = 0; c < 128; c += 9)
        {
            var sorted = residuals[c].Select(Math.Abs).Order().ToArray();
            double sigmaFromMad = sorted[sorted.Length / 2] * 1.4826;
            Assert.InRange(sigmaFromMad, sigmas[c] * 0.85, sigmas[c] * 1.15 + 0.3);
        }
    }

    [Fact]
    public void Values_clamp_to_10_bits()
    {
        var options = new TrackerOptions
        {
            PileUpTracksMean = 0,
            Micromegas = new TrackerResponse { Efficiency = 1, ChargeMostProbableAdc = 4000, ChargeMaxAdc = 10_000, LateralSigmaStrips = 0.5 },
            Electronics = new ApvElectronicsOptions { PedestalMinAdc = 590, PedestalMaxAdc = 600, CommonModeSigmaAdc = 0 },
        };
        var simulator = Simulator(options);
        var ev = simulator.Simulate(Events(1, seed: 16)[0]);
        var raw = ev.Apvs[simulator.ApvIndex("MM1")].Raw;
        Assert.Contains((ushort)1023, raw);
        Assert.All(raw, v => Assert.InRange(v, 0, 1023));
    }

    [Fact]
    public void Bad_configuration_is_refused_with_the_field_and_value()
    {
        var short319 = Na64Map.Take(319).ToArray();
        var e1 = Assert.Throws<ArgumentException>(() => new TrackerSimulator(new TrackerOptions(), PhysicsSetup, short319, 1));
        Assert.Contains("319", e1.Message);
        var bad = Na64Map.ToArray();
        bad[7] = 64;
        var e2 = Assert.Throws<ArgumentOutOfRangeException>(() => new TrackerSimulator(new TrackerOptions(), PhysicsSetup, bad, 1));
        Assert.Contains("strip 7 maps to channel 64", e2.Message);
        var twice = new TrackerOptions
        {
            Geometry = new TrackerGeometry
            {
                Detectors = [TrackerDetectorGeometry.Micromegas("MM1", -1000, 0, 0), TrackerDetectorGeometry.Micromegas("MM2", -900, 0, 0)],
            },
        };
        var e3 = Assert.Throws<ArgumentException>(() => Simulator(twice));
        Assert.Contains("ADC 0 chip 0", e3.Message);
        var e4 = Assert.Throws<ArgumentOutOfRangeException>(() =>
            Simulator(new TrackerOptions { Electronics = new ApvElectronicsOptions { PedestalMaxAdc = 2000 } }));
        Assert.Contains("Electronics.PedestalMaxAdc = 2000", e4.Message);
        var e5 = Assert.Throws<ArgumentOutOfRangeException>(() =>
            Simulator(new TrackerOptions { Micromegas = new TrackerResponse { Efficiency = 1.5 } }));
        Assert.Contains("Micromegas.Efficiency = 1.5", e5.Message);
    }

    internal static PlaneHitTruth Hit(TrackerEvent ev, string detector, StripAxis axis)
        => Assert.Single(ev.Planes.Single(p => p.Detector == detector && p.Axis == axis).Hits, h => !h.PileUp);
}
