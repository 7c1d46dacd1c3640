using NA64.Hardware.Digitizers.Apv.Format;
using NA64.Simulators.Trackers;
using static NA64.Simulators.Tests.Trackers.TrackerTestSetup;

namespace NA64.Simulators.Tests.Trackers;

public class TrackerSparseAndFaultTests
{
    /// <summary>Expected a1 signal per APV channel of a micromegas from the truth (single in-time track, jitter ≈ 0).</summary>
    private static double[] ExpectedMicromegasSignal(TrackerSimulator simulator, TrackerEvent ev, string detector)
    {
        var expected = new double[128];
        foreach (var plane in ev.Planes.Where(p => p.Detector == detector))
            foreach (var hit in plane.Hits.Where(h => h.Detected && h.InAcceptance))
                for (int s = 0; s < 320; s++)
                    expected[simulator.MicromegasApvChannel(plane.Axis, s)] += hit.ChargeAdc *
                        (GaussianIntegral.Cdf(s + 1 - hit.CentreStrip) - GaussianIntegral.Cdf(s - hit.CentreStrip));
        return expected;
    }

    [Fact]
    public void Sparse_output_holds_the_true_cluster_channels_at_2_sigma_and_few_noise_channels()
    {
        var simulator = Simulator(new TrackerOptions { PileUpTracksMean = 0 });
        simulator.DownloadTrueTables();
        int strong = 0, strongMissed = 0, noise = 0, apvEvents = 0, cmFrames = 0, cmOff = 0;
        foreach (var truth in Events(300, seed: 21))
        {
            var ev = simulator.Simulate(truth);
            for (int d = 1; d <= 8; d++)
            {
                string name = "MM" + d;
                int index = simulator.ApvIndex(name);
                var apv = ev.Apvs[index];
                Assert.True(apv.HasSparse);
                var sigmas = simulator.Sigmas(index);
                var expected = ExpectedMicromegasSignal(simulator, ev, name);
                var emitted = apv.Sparse.Select(h => h.Channel).ToHashSet();
                Assert.Equal(apv.Sparse.Select(h => h.Channel).Order(), apv.Sparse.Select(h => h.Channel));
                for (int c = 0; c < 128; c++)
                {
                    if (expected[c] > 5 * sigmas[c])
                    {
                        strong++;
                        if (!emitted.Contains(c))
                            strongMissed++;
                    }
                    else if (expected[c] < 0.1 && emitted.Contains(c))
                        noise++;
                }
                apvEvents++;
                for (int f = 0; f < 3; f++)
                {
                    cmFrames++;
                    int emulated = f switch { 0 => apv.CommonMode.Frame1, 1 => apv.CommonMode.Frame2, _ => apv.CommonMode.Frame3 };
                    if (Math.Abs(emulated - apv.TrueCommonModeAdc[f]) > 1.5)
                        cmOff++;
                }
            }
        }
        Assert.True(strong > 300 * 8 * 4);
        Assert.InRange(strongMissed, 0, strong / 500);
        // Max of 3 frames above 2σ: 1 − Φ(2)³ ≈ 6.7 % of the quiet channels, ≈ 8 per APV and event.
        Assert.InRange(noise / (double)apvEvents, 5, 11);
        Assert.InRange(cmOff, 0, cmFrames / 100);
    }

    [Fact]
    public void Gem_sparse_output_at_3_sigma_has_under_one_noise_channel_per_apv()
    {
        var simulator = Simulator(new TrackerOptions { PileUpTracksMean = 0 });
        simulator.DownloadTrueTables();
        int emittedFar = 0, apvEvents = 0, centreFound = 0, hits = 0;
        foreach (var truth in Events(300, seed: 22))
        {
            var ev = simulator.Simulate(truth);
            foreach (var axis in new[] { StripAxis.X, StripAxis.Y })
            {
                var hit = TrackerSimulatorTests.Hit(ev, "GM2", axis);
                int centre = (int)Math.Floor(hit.CentreStrip);
                for (int half = 0; half < 2; half++)
                {
                    var apv = ev.Apvs[simulator.ApvIndex("GM2", axis, 128 * half)];
                    apvEvents++;
                    foreach (var h in apv.Sparse)
                    {
                        int strip = 128 * half + h.Channel;
                        if (Math.Abs(strip - centre) > 6)
                            emittedFar++;
                        if (strip == centre)
                            centreFound++;
                    }
                }
                if (hit.Detected)
                    hits++;
            }
        }
        // 1 − Φ(3)³ ≈ 0.4 % of 128 channels ≈ 0.5 per APV and event.
        Assert.InRange(emittedFar / (double)apvEvents, 0.2, 1.0);
        Assert.InRange(centreFound, hits - hits / 200, hits);
    }

    [Fact]
    public void A_dead_channel_reads_its_pedestal_without_noise_and_never_reaches_the_sparse_data()
    {
        var events = Events(200, seed: 23);
        var probe = Simulator(NoiseFree());
        var first = probe.Simulate(events[0]).Apvs[probe.ApvIndex("MM5")];
        int hitChannel = Enumerable.Range(0, 128).MaxBy(c => first.RawAt(1, c));
        var simulator = Simulator(new TrackerOptions
        {
            Electronics = new ApvElectronicsOptions { DeadChannels = [new ApvChannelAddress(1, 0, hitChannel)] },
        });
        int apv = simulator.ApvIndex("MM5");
        Assert.Equal(0, simulator.Sigmas(apv)[hitChannel]);
        simulator.DownloadTrueTables();
        var pedestal = (ushort)Math.Round(simulator.Pedestals(apv)[hitChannel]);
        bool neighbourSeen = false;
        foreach (var truth in events)
        {
            var readout = simulator.Simulate(truth).Apvs[apv];
            for (int f = 0; f < 3; f++)
                Assert.Equal(pedestal, readout.RawAt(f, hitChannel));
            Assert.DoesNotContain(readout.Sparse, h => h.Channel == hitChannel);
            neighbourSeen |= readout.Sparse.Count > 0;
        }
        Assert.True(neighbourSeen);
    }

    [Fact]
    public void A_noisy_channel_has_its_large_sigma_and_floods_the_sparse_data_unless_its_sigma_is_downloaded()
    {
        var channel = new ApvChannelAddress(0, 1, 17);
        var simulator = Simulator(new TrackerOptions
        {
            PileUpTracksMean = 0,
            Electronics = new ApvElectronicsOptions { NoisyChannels = [channel], NoisySigmaAdc = 30 },
        });
        int apv = simulator.ApvIndex(0, 1);
        Assert.Equal(30, simulator.Sigmas(apv)[17]);
        simulator.DownloadTrueTables();
        var pedestal = simulator.Pedestals(apv)[17];
        var events = Events(600, seed: 24);
        var residuals = new List<double>();
        int quietEvents = 0, passedWithTrueTable = 0;
        foreach (var truth in events)
        {
            var ev = simulator.Simulate(truth);
            var readout = ev.Apvs[apv];
            // Every multiplexed channel carries a cluster now and then: look at the noise only where it does not.
            if (ExpectedMicromegasSignal(simulator, ev, "MM2")[17] >= 0.5)
                continue;
            quietEvents++;
            for (int f = 0; f < 3; f++)
                residuals.Add(readout.RawAt(f, 17) - pedestal - readout.TrueCommonModeAdc[f]);
            if (readout.Sparse.Any(h => h.Channel == 17))
                passedWithTrueTable++;
        }
        Assert.True(quietEvents > 400);
        Assert.InRange(Math.Sqrt(residuals.Average(v => v * v)), 28, 32);
        // With its own σ downloaded it passes 2σ as often as any quiet channel: 1 − Φ(2)³ ≈ 6.7 %.
        Assert.InRange(passedWithTrueTable / (double)quietEvents, 0.03, 0.11);

        // A table from before the channel turned noisy (σ = 3): it passes in most events.
        var sigmas = simulator.Sigmas(apv).ToArray();
        sigmas[17] = 3;
        simulator.Processor(apv).Download(new ApvDownloadedTable(simulator.Pedestals(apv), sigmas));
        int passedWithOldTable = events.Take(200).Count(truth => simulator.Simulate(truth).Apvs[apv].Sparse.Any(h => h.Channel == 17));
        Assert.InRange(passedWithOldTable, 150, 200);
    }

    [Fact]
    public void A_dead_apv_delivers_no_data_until_it_is_back()
    {
        var simulator = Simulator();
        simulator.DownloadTrueTables();
        int mm3 = simulator.ApvIndex("MM3");
        var events = Events(3, seed: 25);
        simulator.SetApvDead(mm3, true);
        var ev = simulator.Simulate(events[0]);
        Assert.False(ev.Apvs[mm3].Present);
        Assert.Empty(ev.Apvs[mm3].Sparse);
        Assert.All(ev.Apvs.Where((_, i) => i != mm3), a => Assert.True(a.Present));
        simulator.SetApvDead(mm3, false);
        ev = simulator.Simulate(events[1]);
        Assert.True(ev.Apvs[mm3].Present);
        Assert.NotEmpty(ev.Apvs[mm3].Sparse);
    }

    [Fact]
    public void A_common_mode_jump_moves_every_channel_and_the_board_follows_it()
    {
        var simulator = Simulator(new TrackerOptions { PileUpTracksMean = 0 });
        simulator.DownloadTrueTables();
        int apv = simulator.ApvIndex("MM6");
        simulator.SetCommonModeJump(apv, 150);
        int noisy = 0, events = 0;
        foreach (var truth in Events(100, seed: 26))
        {
            var readout = simulator.Simulate(truth).Apvs[apv];
            Assert.InRange(readout.TrueCommonModeAdc[1], 130, 170);
            Assert.InRange(readout.CommonMode.Frame2 - readout.TrueCommonModeAdc[1], -1.5, 1.5);
            noisy += readout.Sparse.Count;
            events++;
        }
        // Same sparse volume as without the jump (≈ 8 noise + the cluster channels), not 128 per event.
        Assert.InRange(noisy / (double)events, 8, 25);
        simulator.SetCommonModeJump(apv, 0);
        Assert.InRange(simulator.Simulate(Events(1, seed: 27)[0]).Apvs[apv].TrueCommonModeAdc[0], -20, 20);
    }

    [Fact]
    public void Pipeline_mismatch_and_data_skipped_are_flagged_on_the_records()
    {
        var simulator = Simulator();
        simulator.DownloadTrueTables();
        int mm2 = simulator.ApvIndex("MM2");
        simulator.SetPipelineAddressMismatch(mm2, true);
        simulator.SetDataSkipped(1, true);
        var ev = simulator.Simulate(Events(1, seed: 28)[0]);
        var reference = ev.Apvs[simulator.ApvIndex("MM1")].Columns;
        Assert.True(ev.Apvs[mm2].PipelineAddressMismatch);
        Assert.Equal((reference.Column1 + 1) % 192, ev.Apvs[mm2].Columns.Column1);
        Assert.All(ev.Apvs.Where((_, i) => i != mm2), a => Assert.False(a.PipelineAddressMismatch));
        foreach (var a in ev.Apvs)
        {
            Assert.Equal(a.Address.AdcId == 1, a.DataSkipped);
            if (a.Address.AdcId == 1)
                Assert.Empty(a.Sparse);
        }
        Assert.NotEmpty(ev.Apvs[simulator.ApvIndex("MM1")].Sparse);

        simulator.SetPipelineAddressMismatch(mm2, false);
        simulator.SetDataSkipped(1, false);
        ev = simulator.Simulate(Events(1, seed: 28)[0]);
        Assert.All(ev.Apvs, a => Assert.False(a.PipelineAddressMismatch || a.DataSkipped));
    }

    [Fact]
    public void Fault_hooks_refuse_unknown_apvs_adcs_and_channels()
    {
        var simulator = Simulator();
        var e1 = Assert.Throws<ArgumentOutOfRangeException>(() => simulator.SetApvDead(16, true));
        Assert.Contains("APV index 16 must be within 0..15", e1.Message);
        var e2 = Assert.Throws<ArgumentOutOfRangeException>(() => simulator.SetDataSkipped(9, true));
        Assert.Contains("no APV-ADC 9", e2.Message);
        var e3 = Assert.Throws<ArgumentOutOfRangeException>(() => simulator.SetChannelDead(new ApvChannelAddress(0, 0, 128)));
        Assert.Contains("physical channel 128", e3.Message);
        var e4 = Assert.Throws<ArgumentOutOfRangeException>(() => simulator.SetChannelNoisy(new ApvChannelAddress(5, 0, 1), 30));
        Assert.Contains("no APV at ADC 5 chip 0", e4.Message);
    }
}
