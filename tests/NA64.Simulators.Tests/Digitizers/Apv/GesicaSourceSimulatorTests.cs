using NA64.Hardware.Digitizers.Apv;
using NA64.Hardware.Digitizers.Apv.Format;
using NA64.Hardware.Digitizers.Msadc;
using NA64.Hardware.Digitizers.Msadc.Format;
using NA64.Simulators.Digitizers;
using NA64.Simulators.Digitizers.Apv;
using NA64.Simulators.Digitizers.Msadc;
using NA64.Simulators.Physics;
using NA64.Simulators.Trackers;
using NA64.Simulators.Tests.Trackers;

namespace NA64.Simulators.Tests.Digitizers.Apv;

/// <summary>The simulated GeSiCA: per trigger the S-Link fragment of the tracker APVs, as the APV-ADC registers say.</summary>
public sealed class GesicaSourceSimulatorTests
{
    private const int Seed = 7;
    private const ApvAdcMode LatchAll = ApvAdcMode.TripleFrame;
    private const ApvAdcMode Sparse = ApvAdcMode.TripleFrame | ApvAdcMode.Sparse | ApvAdcMode.PedestalSubtraction | ApvAdcMode.CommonModeSubtraction;
    private static readonly TimeSpan Safety = TimeSpan.FromSeconds(30);

    /// <summary>Both tracker kinds thresholded at 2 σ on board (the GEM default is 3).</summary>
    private static TrackerOptions TwoSigma => new() { GemOnBoard = ApvOnBoardOptions.Gem with { ThresholdSigmas = 2 } };

    private sealed record Rig(GesicaSourceSimulator Gesica, ApvAdcDevice[] Devices, TrackerSimulator Tracker);

    /// <summary>The four APV-ADCs of the default geometry (ids 0..3) in source 622, configured with <paramref name="mode"/> and the true tables, running.</summary>
    private static async Task<Rig> CreateAsync(ApvAdcMode mode, TrackerOptions? options = null, bool start = true, int threshold = 0)
    {
        var tracker = TrackerTestSetup.Simulator(options ?? TwoSigma, Seed);
        var devices = new ApvAdcDevice[4];
        for (int adc = 0; adc < devices.Length; adc++)
        {
            var channels = new ApvChannelSettings[ApvAdcRegisters.ChannelsPerAdc];
            for (int apv = 0; apv < tracker.Apvs.Count; apv++)
            {
                var address = tracker.Apvs[apv];
                if (address.AdcId != adc)
                    continue;
                for (int c = 0; c < ApvFacts.ChannelsPerApv; c++)
                    channels[ApvAdcConfiguration.ChannelIndex(address.ChipId, c)] = new ApvChannelSettings(
                        (int)Math.Round(tracker.Pedestals(apv)[c]), (int)Math.Round(4 * tracker.Sigmas(apv)[c]), threshold);
            }
            devices[adc] = new ApvAdcDevice($"ADC{adc}", ApvFacts.DefaultSourceId, adc);
            await devices[adc].ConfigureAsync(new ApvAdcConfiguration(mode, 100, channels));
            if (start)
            {
                await devices[adc].ArmAsync();
                await devices[adc].StartAsync();
            }
        }
        var gesica = new GesicaSourceSimulator(ApvFacts.DefaultSourceId, devices, tracker, TrackerTestSetup.PhysicsSetup.Beam);
        return new Rig(gesica, devices, tracker);
    }

    private static readonly ApvDecoderOptions Expect4 = new() { ExpectedAdcIds = new HashSet<int> { 0, 1, 2, 3 } };

    private static (int Length, ApvEventData Data) WriteAndDecode(GesicaSourceSimulator gesica, EventTruth? truth, int eventNumber, int spill,
        ApvDecoderOptions? options = null)
    {
        var buffer = new byte[gesica.MaxFragmentBytes];
        int length = gesica.WriteFragment(truth, eventNumber, spill, buffer);
        var data = new ApvEventData();
        if (length > 0)
            ApvDecoder.Decode(buffer.AsSpan(0, length), data, options ?? Expect4, eventNumber);
        return (length, data);
    }

    private static (int Length, ApvEventData Data) Write(GesicaSourceSimulator gesica, EventTruth truth, ApvDecoderOptions? options = null) =>
        WriteAndDecode(gesica, truth, truth.EventInSpill, SlinkHeader.SpillFromBurst(truth.Spill), options);

    [Fact]
    public async Task Latch_all_fragment_decodes_clean_and_carries_the_raw_frames_time_tag_and_format()
    {
        var rig = await CreateAsync(LatchAll);
        foreach (var truth in TrackerTestSetup.Events(5, Seed))
        {
            var (length, data) = Write(rig.Gesica, truth);
            Assert.True(length > 0);
            Assert.Empty(data.Problems);
            Assert.Equal(rig.Tracker.Apvs.Count, data.Chips.Length);
            var ev = rig.Gesica.LastEvent!;
            Assert.Equal(truth.EventNumber, ev.EventNumber);
            foreach (var chip in data.Chips)
            {
                Assert.False(chip.Sparse);
                Assert.Equal(truth.EventInSpill & 0xFFF, chip.EventNumber);
                Assert.Null(chip.CommonMode);
                var readout = ev.Apvs[rig.Tracker.ApvIndex(chip.AdcId, chip.ChipId)];
                Assert.Equal(readout.Columns, chip.Columns);
                Assert.True(data.LatchAll(chip).SequenceEqual(readout.Raw));
            }
            var spillStart = (TrackerTestSetup.PhysicsSetup.Beam.SpillLength + TrackerTestSetup.PhysicsSetup.Beam.OffSpillLength) * (truth.Spill - 1);
            int micros = (int)(truth.Time - spillStart).TotalMicroseconds;
            Assert.All(data.AdcBlocks.ToArray(), b => Assert.Equal(micros & 0xFF_FFFF, b.TimeTag));
            Assert.All(data.AdcBlocks.ToArray(), b => Assert.Equal(ApvFormatFlags.TripleFrame, b.Format));
        }
    }

    [Fact]
    public async Task Sparse_fragment_decodes_clean_and_holds_the_central_strip_of_every_true_cluster_at_2_sigma()
    {
        var rig = await CreateAsync(Sparse);
        int checkedClusters = 0;
        foreach (var truth in TrackerTestSetup.Events(20, Seed))
        {
            var (_, data) = Write(rig.Gesica, truth);
            Assert.Empty(data.Problems);
            Assert.All(data.AdcBlocks.ToArray(), b => Assert.Equal((ApvFormatFlags)0x0F, b.Format));
            Assert.All(data.Chips.ToArray(), c => Assert.True(c.Sparse && c.CommonMode is not null));
            var ev = rig.Gesica.LastEvent!;
            foreach (var plane in ev.Planes)
            {
                foreach (var hit in plane.Hits.Where(h => h.Detected && h.InAcceptance && !h.PileUp && h.ChargeAdc > 50))
                {
                    int strip = Math.Clamp((int)Math.Floor(hit.CentreStrip), hit.FirstStrip, hit.LastStrip);
                    int apv = rig.Tracker.ApvIndex(plane.Detector, plane.Axis, strip);
                    int channel = plane.Kind == TrackerKind.Micromegas ? rig.Tracker.MicromegasApvChannel(plane.Axis, strip) : strip % 128;
                    var address = rig.Tracker.Apvs[apv];
                    var chip = data.Chips.ToArray().Single(c => c.AdcId == address.AdcId && c.ChipId == address.ChipId);
                    Assert.Contains(data.Hits(chip).ToArray(), h => h.Channel == channel);
                    checkedClusters++;
                }
            }
        }
        Assert.True(checkedClusters > 100, $"only {checkedClusters} clusters checked");
    }

    [Fact]
    public async Task The_threshold_table_of_a_device_overrides_n_sigma()
    {
        var rig = await CreateAsync(Sparse, threshold: 1023);
        var (_, data) = Write(rig.Gesica, TrackerTestSetup.Events(1, Seed)[0]);
        Assert.Empty(data.Problems);
        Assert.All(data.Chips.ToArray(), c => Assert.Equal(0, data.Hits(c).Length));
    }

    [Fact]
    public async Task Adcs_not_running_send_nothing()
    {
        var rig = await CreateAsync(LatchAll, start: false);
        var truth = TrackerTestSetup.Events(1, Seed)[0];
        Assert.Equal(0, Write(rig.Gesica, truth).Length);

        await rig.Devices[2].ArmAsync();
        await rig.Devices[2].StartAsync();
        var (length, data) = Write(rig.Gesica, truth, ApvDecoderOptions.Default);
        Assert.True(length > 0);
        Assert.Equal([2], data.AdcBlocks.ToArray().Select(b => b.AdcId));
        Assert.Empty(data.Problems);
        Assert.Equal(1u, rig.Devices[2].TriggerCount);
    }

    [Fact]
    public async Task A_trigger_with_no_beam_is_noise_only_and_decodes_clean()
    {
        var rig = await CreateAsync(Sparse);
        var (length, data) = WriteAndDecode(rig.Gesica, null, 3, 0);
        Assert.True(length > 0);
        Assert.Empty(data.Problems);
        var ev = rig.Gesica.LastEvent!;
        Assert.Empty(ev.Tracks);
        Assert.All(ev.Planes, p => Assert.Empty(p.Hits));
        // 3 ms after the first random trigger (1 ms apart by default).
        Assert.All(data.AdcBlocks.ToArray(), b => Assert.Equal(3000, b.TimeTag));
        // At 2 σ on the max of three frames noise passes a few per cent of the channels, never a cluster's worth.
        int hits = data.Chips.ToArray().Sum(c => data.Hits(c).Length);
        Assert.InRange(hits, 1, rig.Tracker.Apvs.Count * ApvFacts.ChannelsPerApv / 5);
    }

    [Fact]
    public async Task Noise_events_are_deterministic_per_seed_and_event_number()
    {
        var a = TrackerTestSetup.Simulator(seed: 3);
        var b = TrackerTestSetup.Simulator(seed: 3);
        var first = a.SimulateNoise(5, TimeSpan.FromMilliseconds(5)).Apvs[0].Raw.ToArray();
        Assert.Equal(first, b.SimulateNoise(5, TimeSpan.FromMilliseconds(5)).Apvs[0].Raw);
        Assert.NotEqual(first, a.SimulateNoise(6, TimeSpan.FromMilliseconds(5)).Apvs[0].Raw);
    }

    public static TheoryData<GesicaDataFault, FormatProblemKind> FormatFaults => new()
    {
        { GesicaDataFault.MissingAdc, FormatProblemKind.ApvMissingAdc },
        { GesicaDataFault.DataSkipped, FormatProblemKind.ApvDataSkipped },
        { GesicaDataFault.PipelineAddressMismatch, FormatProblemKind.ApvPipelineDisagree },
        { GesicaDataFault.CorruptWord, FormatProblemKind.ApvBlockSize },
        { GesicaDataFault.TruncatedFragment, FormatProblemKind.SlinkSizeMismatch },
        { GesicaDataFault.WrongEventNumber, FormatProblemKind.ApvWrongEvent },
        { GesicaDataFault.DeadApv, FormatProblemKind.ApvHeaderSampleError },
    };

    [Theory]
    [MemberData(nameof(FormatFaults))]
    public async Task Each_format_fault_is_seen_by_the_decoder_for_the_next_trigger_only_and_counted(GesicaDataFault fault, FormatProblemKind kind)
    {
        foreach (var mode in new[] { LatchAll, Sparse })
        {
            var rig = await CreateAsync(mode);
            var events = TrackerTestSetup.Events(2, Seed);
            rig.Gesica.InjectFault(fault, adcId: 1);
            var (_, bad) = Write(rig.Gesica, events[0]);
            Assert.True(bad.Count(kind) > 0, $"{fault} in {mode}: {string.Join("; ", bad.Problems.Select(p => p.Kind))}");
            Assert.Equal(1, rig.Gesica.FaultsInjected);
            var (_, good) = Write(rig.Gesica, events[1]);
            Assert.Empty(good.Problems);
            Assert.Equal(GesicaDataFault.None, rig.Gesica.ActiveFault);
        }
    }

    [Fact]
    public async Task A_fault_without_a_trigger_count_lasts_until_cleared()
    {
        var rig = await CreateAsync(LatchAll);
        var events = TrackerTestSetup.Events(4, Seed);
        rig.Gesica.InjectFault(GesicaDataFault.DeadApv, triggers: null, adcId: 2, chipId: 3);
        for (int i = 0; i < 3; i++)
        {
            var (_, data) = Write(rig.Gesica, events[i]);
            var problem = Assert.Single(data.Problems);
            Assert.Equal(FormatProblemKind.ApvHeaderSampleError, problem.Kind);
            Assert.Equal(new ApvProblemLocation(data.ProblemLocations[0].WordOffset, 2, 3), data.ProblemLocations[0]);
        }
        rig.Gesica.ClearFault();
        Assert.Empty(Write(rig.Gesica, events[3]).Data.Problems);
        Assert.Equal(3, rig.Gesica.FaultsInjected);
    }

    [Fact]
    public async Task A_noisy_channel_shows_in_the_sparse_data_of_most_events_and_is_put_back_after()
    {
        var rig = await CreateAsync(Sparse);
        var events = TrackerTestSetup.Events(40, Seed);
        // MM5 (ADC 1 chip 0) channel 127: a Y channel near the edge, rarely hit by the beam.
        int apv = rig.Tracker.ApvIndex(1, 0);
        double sigma = rig.Tracker.Sigmas(apv)[127];
        rig.Gesica.InjectFault(GesicaDataFault.NoisyChannel, triggers: 20, adcId: 1, chipId: 0, channel: 127, amount: 200);
        int during = 0, after = 0;
        for (int i = 0; i < events.Count; i++)
        {
            var (_, data) = Write(rig.Gesica, events[i]);
            Assert.Empty(data.Problems);
            var chip = data.Chips.ToArray().Single(c => c.AdcId == 1 && c.ChipId == 0);
            bool seen = data.Hits(chip).ToArray().Any(h => h.Channel == 127);
            if (i < 20)
            {
                during += seen ? 1 : 0;
                Assert.Equal(i < 19 ? 200 : sigma, rig.Tracker.Sigmas(apv)[127]);
            }
            else
                after += seen ? 1 : 0;
        }
        Assert.True(during >= 12, $"noisy channel seen in {during} of 20 events");
        Assert.True(after <= 3, $"channel still noisy after the fault: {after} of 20 events");
        Assert.Equal(20, rig.Gesica.FaultsInjected);
    }

    [Fact]
    public void A_downloaded_threshold_replaces_n_sigma_for_its_channel_only()
    {
        var processor = new ApvOnBoardProcessor(ApvOnBoardOptions.Micromegas);
        var thresholds = new double[ApvFacts.ChannelsPerApv];
        thresholds[10] = 30;
        processor.Download(new ApvDownloadedTable([.. Enumerable.Repeat(400.0, 128)], [.. Enumerable.Repeat(5.0, 128)], thresholds));
        var raw = Enumerable.Repeat((ushort)400, 3 * ApvFacts.ChannelsPerApv).ToArray();
        raw[ApvFacts.ChannelsPerApv + 10] = 420; // 20 above pedestal: above 2 σ = 10, below its threshold 30
        raw[ApvFacts.ChannelsPerApv + 11] = 420; // same signal, no threshold: n × σ applies
        var hits = new List<ApvHit>();
        processor.Process(raw, hits);
        Assert.Equal([11], hits.Select(h => h.Channel));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ApvDownloadedTable([.. Enumerable.Repeat(400.0, 128)],
            [.. Enumerable.Repeat(5.0, 128)], [.. Enumerable.Repeat(2000.0, 128)]));
    }

    [Fact]
    public async Task A_common_mode_jump_shows_in_the_cm_word_of_its_apv_only()
    {
        var rig = await CreateAsync(Sparse);
        var events = TrackerTestSetup.Events(2, Seed);
        rig.Gesica.InjectFault(GesicaDataFault.CommonModeJump, adcId: 3, chipId: 2, amount: 150);
        var (_, jumped) = Write(rig.Gesica, events[0]);
        var (_, normal) = Write(rig.Gesica, events[1]);
        Assert.Empty(jumped.Problems);
        foreach (var chip in jumped.Chips)
        {
            var cm = chip.CommonMode!.Value;
            bool target = chip.AdcId == 3 && chip.ChipId == 2;
            Assert.True(target ? cm.Frame1 > 120 : cm.Frame1 is < 20 or > 1000, $"ADC {chip.AdcId} chip {chip.ChipId}: CM {cm}");
        }
        var after = normal.Chips.ToArray().Single(c => c.AdcId == 3 && c.ChipId == 2).CommonMode!.Value;
        Assert.True(after.Frame1 is < 20 or > 1000, $"CM after the fault {after}");
    }

    [Fact]
    public async Task Bad_fault_targets_are_refused_with_the_field_and_value()
    {
        var rig = await CreateAsync(LatchAll, start: false);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => rig.Gesica.InjectFault(GesicaDataFault.DeadApv, adcId: 9));
        Assert.Contains("APV-ADC 9", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<ArgumentOutOfRangeException>(() => rig.Gesica.InjectFault(GesicaDataFault.DeadApv, adcId: 2, chipId: 3 + 1));
        Assert.Contains("chip 4", e.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => rig.Gesica.InjectFault(GesicaDataFault.NoisyChannel, channel: 128));
        var period = Assert.Throws<ArgumentOutOfRangeException>(() => rig.Gesica.NoBeamTriggerPeriod = TimeSpan.Zero);
        Assert.Contains("NoBeamTriggerPeriod = 0 ms", period.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Injecting_none_writes_clean_fragments_and_counts_nothing()
    {
        var rig = await CreateAsync(LatchAll);
        rig.Gesica.InjectFault(GesicaDataFault.None, triggers: 3);
        Assert.Equal(GesicaDataFault.None, rig.Gesica.ActiveFault);
        Assert.Empty(Write(rig.Gesica, TrackerTestSetup.Events(1, Seed)[0]).Data.Problems);
        Assert.Equal(0, rig.Gesica.FaultsInjected);
    }

    [Fact]
    public async Task The_crate_sends_the_msadc_and_the_gesica_fragment_of_each_trigger_with_the_same_numbers()
    {
        var physics = TrackerTestSetup.PhysicsSetup;
        var generator = new Na64EventGenerator(physics, Seed);
        var msadc = new MsadcDevice("MSADC-0", 610, 0);
        await msadc.ConfigureAsync(new MsadcConfiguration(MsadcMode.LatchAll, 32, 10,
            Enumerable.Repeat(new MsadcChannelSettings(0, 0, 0), 64).ToArray()));
        await msadc.ArmAsync();
        await msadc.StartAsync();
        var rig = await CreateAsync(Sparse);
        var (msadcHost, msadcData) = InMemoryDatagramChannel.CreatePair("source-610", 64);
        var (apvHost, apvData) = InMemoryDatagramChannel.CreatePair("source-622", 64);
        using var h1 = msadcHost;
        using var h2 = apvHost;
        var sources = new List<(ISimulatedSource, IDatagramChannel)>
        {
            (new MsadcSourceSimulator(610, [new MsadcDataPath(msadc, 0, generator.Synthesizer, 10)]), msadcData),
            (rig.Gesica, apvData),
        };
        await using var crate = new MsadcCrateSimulator(generator, sources);
        Assert.Equal([610], crate.Sources.Select(s => s.SourceId));
        Assert.Same(rig.Gesica, crate.SimulatedSource(622));
        var truths = new List<EventTruth>();
        crate.OnTruth = (t, _) => truths.Add(t);

        using var safety = new CancellationTokenSource(Safety);
        await crate.StartTriggers(new TriggerProgram(SimulatedTriggerMode.Beam, Triggers: 6)).WaitAsync(safety.Token);
        await crate.StartTriggers(new TriggerProgram(SimulatedTriggerMode.RandomNoBeam, Triggers: 2)).WaitAsync(safety.Token);

        var buffer = new byte[65536];
        for (int i = 0; i < 8; i++)
        {
            int m = await msadcHost.ReceiveAsync(buffer, safety.Token);
            var msadcHeader = SlinkHeader.Read(buffer.AsSpan(0, m));
            int a = await apvHost.ReceiveAsync(buffer, safety.Token);
            var apvHeader = SlinkHeader.Read(buffer.AsSpan(0, a));
            var data = new ApvEventData();
            ApvDecoder.Decode(buffer.AsSpan(0, a), data, Expect4, apvHeader.EventNumber);
            Assert.Empty(data.Problems);
            Assert.Equal(622, apvHeader.SourceId);
            Assert.Equal(msadcHeader.EventNumber, apvHeader.EventNumber);
            Assert.Equal(msadcHeader.SpillNumber, apvHeader.SpillNumber);
            if (i < 6)
            {
                Assert.Equal(truths[i].EventInSpill, apvHeader.EventNumber);
                Assert.NotEqual(0, apvHeader.SpillNumber);
            }
            else
            {
                Assert.Equal(0, apvHeader.SpillNumber);
            }
        }
        Assert.Equal(16, crate.DatagramsSent);
        Assert.Equal(8u, rig.Devices[0].TriggerCount);
    }
}
