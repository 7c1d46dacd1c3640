using System.Globalization;
using NA64.Hardware.Digitizers.Msadc.Format;
using NA64.Hardware.Errors;
using NA64.Readout.Formats;
using NA64.Readout.Pipeline;
using NA64.SlowControl.Readout;
using NA64.Simulators.Digitizers.Msadc;
using NetMQ;

namespace NA64.SlowControl.Tests.Readout;

public sealed class ReadoutRunTests
{
    [Fact]
    public async Task Pedestal_run_matches_the_generator_truth_within_three_statistical_sigma()
    {
        await using var kit = ReadoutTestKit.Create();
        const int events = 400;
        var result = await kit.Run.PedestalRunAsync(events);

        var truth = kit.Run.Crate.Generator.Calibration;
        var pulls = new List<double>();
        foreach (var module in kit.Run.Map.Modules)
        {
            var table = result.Tables[module.Index];
            Assert.True(File.Exists(result.Files[module.Index]));
            for (int k = 0; k < ReadoutChannelMap.ModuleChannels; k++)
            {
                int index = kit.Run.Map.LayoutChannel(module, k);
                var measured = table[k];
                if (index < 0)
                {
                    // Unconnected inputs read their (zero) pedestal registers: no noise, flagged dead.
                    Assert.True((measured.Flags & NA64.Readout.Processing.PedestalFlags.Dead) != 0, $"unconnected input {module.Name}/{k} not flagged dead");
                    continue;
                }

                var cal = truth[index];
                // Each path gets events × samples/2 samples; the statistical error of its mean is σ/√n.
                double error = cal.NoiseRms / Math.Sqrt(events * (kit.Run.Readout.SamplesPerChannel / 2.0));
                pulls.Add((measured.PedestalEven - cal.PedestalEven) / error);
                pulls.Add((measured.PedestalOdd - cal.PedestalOdd) / error);
                Assert.InRange(measured.SigmaEven, 0.9 * cal.NoiseRms, 1.1 * cal.NoiseRms);
                Assert.InRange(measured.SigmaOdd, 0.9 * cal.NoiseRms, 1.1 * cal.NoiseRms);
            }
        }

        // 248 paths: with Gaussian errors about 0.7 of them fall outside 3σ by chance, so the check is on the pull
        // distribution: at most 1 % beyond 3σ, none beyond 4σ, mean ≈ 0 and width ≈ 1 (no bias, errors as stated).
        Assert.Equal(2 * kit.Run.Crate.Generator.Layout.Count, pulls.Count);
        Assert.True(pulls.Count(p => Math.Abs(p) > 3) <= pulls.Count / 100,
            "beyond 3σ: " + string.Join(", ", pulls.Where(p => Math.Abs(p) > 3).Select(p => p.ToString("0.00", CultureInfo.InvariantCulture))));
        Assert.All(pulls, p => Assert.InRange(p, -4, 4));
        double mean = pulls.Average();
        double width = Math.Sqrt(pulls.Average(p => (p - mean) * (p - mean)));
        Assert.InRange(mean, -0.3, 0.3);
        Assert.InRange(width, 0.8, 1.2);
        int checkedPaths = pulls.Count;
        Assert.Equal(2 * kit.Run.Crate.Generator.Layout.Count, checkedPaths);
        // Pedestals and thresholds are in the module registers, verified by read-back.
        Assert.Equal(kit.Run.Map.Modules.Count * (3 + (3 * 64)), result.RegistersVerified);
        var device = kit.Run.Crate.Devices[0];
        var even = new int[64];
        var odd = new int[64];
        var threshold = new int[64];
        device.CopyChannelSettings(even, odd, threshold);
        var thresholds = result.Tables[0].Thresholds(kit.Run.Readout.ZeroSuppressionSigma);
        for (int k = 0; k < 64; k++)
        {
            Assert.Equal((int)Math.Round(result.Tables[0][k].PedestalEven, MidpointRounding.AwayFromZero), even[k]);
            Assert.Equal(Math.Min((int)thresholds[k], 4095), threshold[k]);
        }
    }

    [Fact]
    public async Task Pedestal_run_reads_random_triggers_through_the_data_transport_and_skips_a_truncated_fragment()
    {
        await using var kit = ReadoutTestKit.Create();
        var simulator = kit.Run.Crate.Simulator!;
        // The simulated TCS fires random triggers with no beam; the host only sees datagrams.
        simulator.BeforeTrigger = (trigger, crate) =>
        {
            if (trigger == 5)
                crate.Source(611).InjectFault(MsadcDataFault.TruncatedBlock, truncateWords: 2);
        };
        long beamEvents = simulator.Generator.EventCount;
        var result = await kit.Run.PedestalRunAsync(120);

        Assert.Equal(120, simulator.Triggers);
        Assert.Equal(beamEvents, simulator.Generator.EventCount);   // no beam event was generated for it
        var transport = result.Transport!;
        Assert.Equal((240L, 240L, 120L, 0L), (transport.Datagrams, transport.Fragments, transport.Triggers, transport.Lost));
        Assert.Equal(1, transport.Count(DatagramProblem.Truncated));
        Assert.Equal(1, result.FragmentsSkipped);
        Assert.Empty(transport.Faults);
        // The module behind the truncated fragment still has its table, from the other 119 events.
        Assert.Equal(2, result.Tables.Count);
        Assert.All(result.Tables, t => Assert.True(double.IsFinite(t[0].PedestalEven)));

        // The modules are stopped again and nothing is left waiting for the next run.
        Assert.All(kit.Run.Crate.Devices, d => Assert.Equal(NA64.Hardware.Digitizers.Msadc.MsadcRunState.Idle, d.State));
        Assert.All(kit.Run.Crate.DataSources, s => Assert.False(s.Channel.TryReceive(new byte[65536], out _)));
    }

    [Fact]
    public async Task Physics_run_reconstructs_the_100_GeV_peak_and_counts_the_injected_signals_in_the_box()
    {
        await using var kit = ReadoutTestKit.Create(signalFraction: 0.02);
        await kit.Run.PedestalRunAsync(300);
        var result = await kit.Run.PhysicsRunAsync(new PhysicsRunRequest { Events = 3000 });

        Assert.True(result.Pipeline.IsBalanced);
        Assert.Equal(3000, result.Pipeline.EventsBuilt);
        Assert.True(result.InjectedSignals > 30, $"only {result.InjectedSignals} signals injected");
        // Every injected event and nothing else lands in the box (E_ECAL < 50 GeV, E_HCAL < 2 GeV).
        Assert.Equal(result.InjectedSignals, result.SignalBoxCount);
        Assert.Equal(result.InjectedSignalEvents.OrderBy(e => e).ToArray(), result.SignalBoxEvents.OrderBy(e => e).ToArray());

        // Electron peak: 100 GeV, σ/E = 9 %/√E ⊕ 1 % = 1.35 GeV at 100 GeV (plus noise of the kept cells).
        var (mean, rms, count) = result.ElectronPeak;
        double expected = 100 * Math.Sqrt(Math.Pow(0.09 / Math.Sqrt(100), 2) + Math.Pow(0.01, 2));
        Assert.True(count > 2800, $"{count} events in the peak window");
        Assert.True(mean > 98.0 && mean < 101.0 && rms > 0.85 * expected && rms < 1.3 * expected,
            string.Create(CultureInfo.InvariantCulture, $"peak mean {mean:0.000} GeV, RMS {rms:0.000} GeV, expected 100 and {expected:0.000}"));
        // The histogram's fullest bin is at 100 GeV.
        int peakBin = Array.IndexOf(result.Histogram, result.Histogram[..^1].Max());
        Assert.InRange(peakBin * LiveMonitor.BinGeV, 97.0, 102.0);
    }

    [Fact]
    public async Task Date_file_passes_the_decoder_checks_and_kept_channels_carry_the_simulated_raw_samples()
    {
        await using var kit = ReadoutTestKit.Create(signalFraction: 0.01);
        await kit.Run.PedestalRunAsync(200);
        var generated = new Dictionary<(int Spill, int Event), short[]>();
        // The truth comes from the simulator behind the data transport; the host reads only datagrams.
        kit.Run.Crate.Simulator!.OnTruth = (truth, block) => generated[(truth.Spill, truth.EventInSpill)] = (short[])block.Clone();
        var result = await kit.Run.PhysicsRunAsync(new PhysicsRunRequest { Events = 400 });
        Assert.Equal(400, result.Pipeline.EventsBuilt);

        // Map file beside the data with a ChipsCreation rule per source and the run in its range.
        Assert.Equal(Path.GetDirectoryName(result.DataFile), Path.GetDirectoryName(result.MapFile));
        string map = await File.ReadAllTextAsync(result.MapFile);
        foreach (int source in kit.Run.Map.SourceIds)
            Assert.Contains(string.Create(CultureInfo.InvariantCulture, $"-1 -1 -1 {source} -1 ChipSADC s"), map);
        Assert.Contains(string.Create(CultureInfo.InvariantCulture, $"runs=\"{result.RunNumber}-{result.RunNumber}\""), map);
        Assert.Contains("options=\"xy data_format3\"", map);
        foreach (var companion in result.CompanionFiles)
            Assert.True(File.Exists(companion), companion);

        int s = kit.Run.Readout.SamplesPerChannel;
        long kept = 0;
        var data = new SadcEventData();
        using var reader = DateFileReader.Open(result.DataFile);
        long events = 0;
        long expectedOffset = 0;
        var types = new List<DateEventType>();
        while (reader.ReadNext() is { } ev)
        {
            Assert.Equal(expectedOffset, ev.ByteOffset);
            expectedOffset += ev.Header.Size;
            Assert.Equal(ev.Bytes.Length, (int)ev.Header.Size);
            Assert.Equal(DateEventHeader.Version36, ev.Header.Version);
            Assert.Equal(result.RunNumber, ev.Header.RunNumber);
            types.Add(ev.Header.Type);
            if (ev.Header.Type != DateEventType.Physics)
                continue;
            events++;
            Assert.NotEqual(0u, ev.Header.RunNumber);
            Assert.Empty(ev.Problems);
            Assert.Equal(kit.Run.Map.SourceIds.Count, ev.Equipments.Length);
            data.Clear();
            foreach (var eq in ev.Equipments)
            {
                var payload = ev.Payload(eq);
                var slink = SlinkHeader.Read(payload);
                Assert.Equal((int)eq.Header.Size, DateEquipmentHeader.Bytes + (4 * slink.EventSize));
                Assert.Equal(ev.Header.NbInBurst, slink.EventNumber);
                Assert.Equal(SlinkHeader.TcsNoError, slink.TcsError);
                Assert.False(slink.IsMultiplexer);
                Assert.InRange(slink.SourceId, 0, SlinkHeader.FirstMultiplexerSourceId - 1);
                Assert.Equal(0, slink.Format & SlinkHeader.FirstEventOfRunBit);
                int before = data.AdcBlocks.Length;
                // The decoder checks ADC header event == S-Link event & 4095, key, sizes, channel and data-word ids.
                SadcDecoder.Decode(payload, data, ev.Header.NbInBurst, eq.ByteOffset + DateEquipmentHeader.Bytes, ev.Header.Burst);
                // Every ADC block is still there (4 per module), empty or not.
                Assert.Equal(4 * kit.Run.Map.Modules.Count(m => m.SourceId == slink.SourceId), data.AdcBlocks.Length - before);
            }

            Assert.DoesNotContain(data.Problems, p => p.Kind != FormatProblemKind.SaturatedSample);
            var block = generated[(ev.Header.Burst, ev.Header.NbInBurst)];
            foreach (var channel in data.Channels)
            {
                var module = kit.Run.Map.Find(channel.Address.SourceId, channel.Address.Port)!;
                int index = kit.Run.Map.LayoutChannel(module, channel.Address.ChipChannel);
                Assert.True(index >= 0);
                var samples = data.Samples(channel);
                Assert.Equal(s, samples.Length);
                for (int k = 0; k < s; k++)
                    Assert.Equal(block[(index * s) + k], (short)samples[k]);
                kept++;
            }
        }

        Assert.Equal(400, events);
        Assert.Equal(result.ChannelsKept, kept);
        Assert.Equal(new FileInfo(result.DataFile).Length, result.BytesWritten);
        // The run structure around the physics events: SOR first, SOB/EOB around the spill, EOR last; the checker agrees.
        Assert.Equal([DateEventType.StartOfRun, DateEventType.StartOfBurst], types.Take(2));
        Assert.Equal([DateEventType.EndOfBurst, DateEventType.EndOfRun], types.TakeLast(2));
        var check = DateFileChecker.Check(result.DataFile);
        Assert.True(check.IsGood, check.FirstProblem?.ToString());
        Assert.Equal(400, check.Count(DateEventType.Physics));
    }

    [Fact]
    public async Task Truncated_or_foreign_files_give_an_error_with_the_byte_offset_after_every_complete_event()
    {
        await using var kit = ReadoutTestKit.Create();
        await kit.Run.PedestalRunAsync(100);
        var result = await kit.Run.PhysicsRunAsync(new PhysicsRunRequest { Events = 50 });
        byte[] bytes = await File.ReadAllBytesAsync(result.DataFile);

        // Cut the last event short by 10 bytes.
        string cut = result.DataFile + ".cut";
        await File.WriteAllBytesAsync(cut, bytes[..^10]);
        using (var reader = DateFileReader.Open(cut))
        {
            var offsets = new List<long>();
            var error = Assert.Throws<FrameFormatException>(() =>
            {
                while (reader.ReadNext() is { } ev)
                    offsets.Add(ev.ByteOffset);
            });
            // SOR, SOB, 50 physics events and EOB are complete; the cut is in END_OF_RUN.
            Assert.Equal(53, offsets.Count);
            long lastStart = offsets[^1] + BitConverter.ToInt32(bytes, (int)offsets[^1]);
            Assert.Contains("truncated", error.Message, StringComparison.OrdinalIgnoreCase);
            Assert.Contains(lastStart.ToString(CultureInfo.InvariantCulture), error.Message, StringComparison.Ordinal);
            Assert.Null(reader.ReadNext());
        }

        // Not DATE at all.
        string foreign = result.DataFile + ".txt";
        await File.WriteAllTextAsync(foreign, "this is a text file, not a DATE raw file; it is long enough for a header");
        using (var reader = DateFileReader.Open(foreign))
        {
            var error = Assert.Throws<FrameFormatException>(() => reader.ReadNext());
            Assert.Contains("offset 0", error.Message + " offset " + error.ByteOffset.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal);
            Assert.Contains("DATE", error.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Simulator_data_faults_are_counted_with_their_location_and_the_rest_of_the_run_survives()
    {
        await using var kit = ReadoutTestKit.Create();
        await kit.Run.PedestalRunAsync(100);
        kit.Run.Crate.Simulator!.BeforeTrigger = (trigger, crate) =>
        {
            switch (trigger)
            {
                case 10: crate.Source(610).InjectFault(MsadcDataFault.CorruptWord); break;
                case 20: crate.Source(611).InjectFault(MsadcDataFault.WrongEventNumber); break;
                case 30: crate.Source(610).InjectFault(MsadcDataFault.TruncatedBlock, truncateWords: 3); break;
                case 40: crate.Source(611).InjectFault(MsadcDataFault.AllChannelsSuppressed); break;
                case 50: crate.Source(610).SetModuleMissing(0, true); break;
                case 60: crate.Source(610).SetModuleMissing(0, false); break;
            }
        };
        var result = await kit.Run.PhysicsRunAsync(new PhysicsRunRequest { Events = 200 });

        var p = result.Pipeline;
        Assert.True(p.IsBalanced);
        Assert.Equal(200, p.EventsIn);
        // A bad ADC block or channel loses its own data and the rest of the event survives (DDD drops the block's
        // digits only); a fragment whose S-Link size disagrees with its length cannot be trusted and drops its event.
        Assert.Equal(1, p.GetDropped(DropReason.DecodeError));          // truncated block
        Assert.Equal(1, p.TotalDropped);
        Assert.Equal(199, p.EventsBuilt);
        Assert.Equal(199, p.Sinks.Single(x => x.Name == "date-file").Written);
        Assert.Equal(1, result.Problems[FormatProblemKind.BadChannelHeader]);
        Assert.Equal(1, result.Problems[FormatProblemKind.WrongEvent]);
        Assert.Equal(1, result.Problems[FormatProblemKind.SlinkSizeMismatch]);
        Assert.Equal(10 * 4, result.MissingModuleMarkers);
        // The truncated fragment came as a datagram shorter than its S-Link size: counted by the receiver and passed on.
        Assert.Equal(1, result.Transport!.Count(DatagramProblem.Truncated));
        Assert.Equal(0, result.Transport.Lost);
        Assert.Equal(400, result.Transport.Fragments);
        Assert.True(result.IncompleteBlocks >= 4, $"{result.IncompleteBlocks} incomplete blocks");

        // Locations: trigger k is event k+1 of spill 1.
        var locations = string.Join("\n", result.ProblemLocations);
        Assert.Contains("spill 1 event 11 source 610 byte 16: BadChannelHeader", locations, StringComparison.Ordinal);
        Assert.Contains("spill 1 event 21 source 611 byte 12: WrongEvent", locations, StringComparison.Ordinal);
        Assert.Contains("spill 1 event 31 source 610 byte 0: SlinkSizeMismatch", locations, StringComparison.Ordinal);
        Assert.Contains("spill 1 event 41 source 611", locations, StringComparison.Ordinal);
        Assert.Contains("spill 1 event 51 source 610", locations, StringComparison.Ordinal);

        // The events with a missing module or suppressed channels are in the file, marker and empty blocks included.
        var data = new SadcEventData();
        using var reader = DateFileReader.Open(result.DataFile);
        int withMarkers = 0, read = 0;
        while (reader.ReadNext() is { } ev)
        {
            if (ev.Header.Type != DateEventType.Physics)
                continue;
            read++;
            data.Clear();
            foreach (var eq in ev.Equipments)
                SadcDecoder.Decode(ev.Payload(eq), data, ev.Header.NbInBurst);
            Assert.DoesNotContain(data.Problems, x => x.DataLost);
            if (data.MissingModules.Length == 4)
                withMarkers++;
        }

        Assert.Equal(199, read);
        Assert.Equal(10, withMarkers);
    }

    [Fact]
    public async Task Spills_option_stops_after_the_last_spill_and_event_numbers_restart_each_spill()
    {
        // 1200 particles per 4.8 s spill: 250 Hz of triggers, about 1200 events per spill.
        await using var kit = ReadoutTestKit.Create(particlesPerSpill: 1200);
        await kit.Run.PedestalRunAsync(100);
        var result = await kit.Run.PhysicsRunAsync(new PhysicsRunRequest { Spills = 2 });
        Assert.True(result.Pipeline.IsBalanced);
        Assert.Equal(result.Triggers, result.Pipeline.EventsBuilt);
        Assert.Equal(0, result.Pipeline.LateFragments);
        // Each source's first fragment of spill 3 told the receiver that spill 2 was over; it is counted, not passed on.
        Assert.Equal(2, result.Transport!.Count(DatagramProblem.AfterEnd));

        var perSpill = new Dictionary<int, List<int>>();
        using var reader = DateFileReader.Open(result.DataFile);
        uint nbInRun = 0;
        while (reader.ReadNext() is { } ev)
        {
            if (ev.Header.Type != DateEventType.Physics)
                continue;
            Assert.Equal(++nbInRun, ev.Header.NbInRun);
            if (!perSpill.TryGetValue(ev.Header.Burst, out var list))
                perSpill[ev.Header.Burst] = list = [];
            list.Add(ev.Header.NbInBurst);
        }

        Assert.Equal([1, 2], perSpill.Keys.Order());
        foreach (var (spill, numbers) in perSpill)
        {
            // TCS counting: 1, 2, 3, ... in every spill.
            Assert.Equal(Enumerable.Range(1, numbers.Count), numbers);
            Assert.InRange(numbers.Count, 1000, 1400);
        }
    }

    [Fact]
    public async Task Twenty_five_samples_per_channel_run_end_to_end()
    {
        await using var kit = ReadoutTestKit.Create(samples: 25);
        var pedestals = await kit.Run.PedestalRunAsync(100);
        Assert.All(kit.Run.Crate.Devices, d => Assert.Equal(25, d.SamplesPerChannel));
        var result = await kit.Run.PhysicsRunAsync(new PhysicsRunRequest { Events = 200 });
        Assert.True(result.Pipeline.IsBalanced);
        Assert.Equal(200, result.Pipeline.EventsBuilt);
        Assert.Equal(200 * 128, result.ChannelsIn);
        var data = new SadcEventData();
        using var reader = DateFileReader.Open(result.DataFile);
        while (reader.ReadNext() is { } ev)
        {
            data.Clear();
            foreach (var eq in ev.Equipments)
                SadcDecoder.Decode(ev.Payload(eq), data, ev.Header.NbInBurst);
            Assert.DoesNotContain(data.Problems, p => p.DataLost);
            Assert.All(data.Channels.ToArray(), c => Assert.Equal(25, c.SampleCount));
        }

        Assert.InRange(result.ElectronPeak.Mean, 98.0, 101.0);
        Assert.Equal(2, pedestals.Tables.Count);
    }

    [Fact]
    public async Task Latency_scan_moves_the_ECAL_pulse_through_the_window_one_sample_per_clock()
    {
        await using var kit = ReadoutTestKit.Create(signalFraction: 0);
        await kit.Run.PedestalRunAsync(200);
        int timedIn = kit.Run.Readout.Beam.TimedInLatency;
        Assert.Equal(timedIn, kit.Run.Latency);
        var nominal = await kit.Run.PhysicsRunAsync(new PhysicsRunRequest { Events = 300 });
        Assert.Equal(timedIn, nominal.Latency);
        Assert.All(kit.Run.Crate.Devices, d => Assert.Equal(timedIn, d.Latency));

        kit.Run.Latency = timedIn + 6;
        var later = await kit.Run.PhysicsRunAsync(new PhysicsRunRequest { Events = 300 });
        Assert.All(kit.Run.Crate.Devices, d => Assert.Equal(timedIn + 6, d.Latency));
        Assert.Equal(timedIn + 6, later.Latency);
        // Without pile-up every pulse moves with the window: 6 clocks more latency, 6 samples later.
        Assert.InRange(later.EcalPeakPosition.MeanPeakSample - nominal.EcalPeakPosition.MeanPeakSample, 5.9, 6.1);
        // Still inside the window: the energy scale does not move.
        Assert.InRange(later.ElectronPeak.Mean, nominal.ElectronPeak.Mean - 1, nominal.ElectronPeak.Mean + 1);

        var e = Assert.Throws<ArgumentOutOfRangeException>(() => kit.Run.Latency = 321);
        Assert.Contains("latency = 321 refused: 0..320", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Events_pushed_to_an_event_builder_all_arrive_and_match_the_DATE_file()
    {
        await using var kit = ReadoutTestKit.Create();
        await kit.Run.PedestalRunAsync(100);
        var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        int port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        string address = $"tcp://127.0.0.1:{port}";
        using var pull = new NetMQ.Sockets.PullSocket();
        pull.Connect(address);   // ZeroMQ keeps retrying until the run's sink binds
        var pulled = Task.Run(() =>
        {
            var events = new List<byte[]>();
            while (events.Count < 300)
            {
                var message = new NetMQ.NetMQMessage();
                Assert.True(pull.TryReceiveMultipartMessage(TimeSpan.FromSeconds(30), ref message), "no message within the safety limit");
                var (_, entries) = NA64.Readout.Sinks.NetMqEventHeader.Read(message[0].ToByteArray());
                var body = message[1].ToByteArray();
                int at = 0;
                foreach (var entry in entries)
                {
                    events.Add(body.AsSpan(at, entry.Size).ToArray());
                    at += entry.Size;
                }
            }

            return events;
        });

        var result = await kit.Run.PhysicsRunAsync(new PhysicsRunRequest { Events = 300, ZmqPushAddress = address });

        Assert.True(result.Pipeline.IsBalanced);
        var push = Assert.Single(result.Pipeline.Sinks, s => s.Name == "netmq-push");
        Assert.Equal(300, push.Written);
        var fromFile = new List<byte[]>();
        using (var reader = DateFileReader.Open(result.DataFile))
        {
            while (reader.ReadNext() is { } ev)
            {
                // The run's control events (SOR, SOB, EOB, EOR) are the file's; the builder gets the physics events.
                if (ev.Header.Type == DateEventType.Physics)
                    fromFile.Add(ev.Bytes.ToArray());
            }
        }

        Assert.Equal(fromFile, await pulled.WaitAsync(TimeSpan.FromSeconds(30)));
    }
}
