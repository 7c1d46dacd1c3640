using NA64.Hardware.Digitizers.Apv;
using NA64.Hardware.Digitizers.Apv.Format;
using NA64.Readout.Formats;
using NA64.Readout.Processing.Apv;
using NA64.SlowControl.Readout;
using NA64.SlowControl.Runs;
using NA64.Hardware.Digitizers.Msadc.Format;
using NA64.Readout.Pipeline;
using NA64.Simulators.Digitizers.Apv;

namespace NA64.SlowControl.Tests.Readout;

/// <summary>The trackers' GeSiCA as the second source kind of a run: latch-all pedestal run, tables downloaded, sparse physics run, one DATE file.</summary>
public sealed class TrackerRunTests
{
    [Fact]
    public async Task A_pedestal_run_takes_the_APV_tables_in_latch_all_and_downloads_them_verified_with_sparse_mode()
    {
        await using var kit = ReadoutTestKit.Create(trackers: true);
        var trackers = kit.Run.Crate.Trackers!;
        var result = await kit.Run.PedestalRunAsync(300);

        Assert.Equal(RunStatus.Completed, result.Status);
        var table = trackers.Pedestals!;
        Assert.Equal(16, table.ApvCount);
        // The simulated APVs: pedestals 300..600, noise 2..5 ADC (TrackerSimulator defaults).
        var usable = table.Channels.Where(c => !c.IsUnusable).ToList();
        Assert.True(usable.Count > 16 * 120, $"{usable.Count} usable channels");
        Assert.All(usable, c => Assert.InRange(c.Pedestal, 290, 610));
        Assert.InRange(usable.Average(c => c.Sigma), 2.5, 4.5);
        Assert.True(File.Exists(TrackerReadout.PedestalFile(kit.Directory)));
        Assert.Contains(TrackerReadout.PedestalFile(kit.Directory), result.Files);

        // Every APV-ADC holds the tables and runs sparse with on-board pedestal and common-mode subtraction.
        foreach (var driver in trackers.Drivers)
        {
            var configuration = await driver.ReadConfigurationAsync();
            Assert.Equal(TrackerReadout.SparseMode, configuration.Mode);
        }

        var first = trackers.Apvs.First(a => a.ChipId == 0 && a.AdcId == 0);
        var back = await trackers.Drivers[0].ReadTablesAsync();
        var channel5 = table[trackers.ApvIndex(first.SourceId, 0, 0), 5];
        Assert.Equal((int)Math.Round(channel5.Pedestal), back[ApvAdcConfiguration.ChannelIndex(0, 5)].Pedestal);
    }

    [Fact]
    public async Task A_physics_run_builds_every_trigger_with_the_APV_fragment_beside_the_MSADC_ones_and_writes_the_ChipAPV_map()
    {
        await using var kit = ReadoutTestKit.Create(trackers: true);
        await kit.Run.PedestalRunAsync(200);
        var result = await kit.Run.PhysicsRunAsync(new PhysicsRunRequest { Events = 300 });

        Assert.Equal(RunStatus.Completed, result.Status);
        Assert.True(result.Pipeline.IsBalanced);
        Assert.Equal(300, result.Pipeline.EventsBuilt);
        var data = new ApvEventData();
        int events = 0, chips = 0, hits = 0;
        using (var reader = DateFileReader.Open(result.DataFile))
        {
            while (reader.ReadNext() is { } ev)
            {
                if (ev.Header.Type != DateEventType.Physics)
                    continue;
                events++;
                Assert.Equal(3, ev.Equipments.Length);
                var apv = ev.Equipments.ToArray().Single(e => e.SourceId == 622);
                data.Clear();
                ApvDecoder.Decode(ev.Payload(apv), data, expectedEventNumber: (int)ev.Header.NbInBurst);
                Assert.DoesNotContain(data.Problems, p => p.DataLost);
                chips += data.Chips.Length;
                foreach (ref readonly var chip in data.Chips)
                {
                    Assert.True(chip.Sparse);
                    hits += chip.DataCount;
                }
            }
        }

        Assert.Equal(300, events);
        Assert.Equal(300 * 16, chips);
        Assert.InRange(hits / (double)events, 40, 400);   // track clusters plus noise at 2 and 3 sigma
        string map = Path.ChangeExtension(result.DataFile, ".apv.map.xml");
        Assert.Contains(map, result.CompanionFiles);
        var section = ChipApvMap.Parse(File.ReadAllText(map)).Single();
        Assert.Equal(16 + 8, section.Entries.Count);      // MM: X and Y per APV; GEM: one line per APV
        Assert.Contains(result.CompanionFiles, f => f.EndsWith(TrackerReadout.PedestalFileName, StringComparison.Ordinal));

        // The trackers against the simulator's truth, per plane (issue acceptance: >= 97 %, better than 100 um).
        var trackers = result.Trackers!;
        Assert.Equal((300L, 300L * 16, 0L, 0L), (trackers.Fragments, trackers.Chips, trackers.Rejected, trackers.ChipIssues));
        Assert.Equal((300L, 0L), (trackers.Monitored, trackers.NotMonitored));
        Assert.Equal(20, trackers.Planes.Count);
        Assert.All(trackers.Planes, p =>
        {
            Assert.True(p.TrueHits > 250, $"{p.Plane}: {p.TrueHits} beam hits");
            Assert.True(p.Efficiency >= 0.97, $"{p.Plane}: efficiency {p.Efficiency}");
            Assert.True(p.ResolutionUm < 100, $"{p.Plane}: resolution {p.ResolutionUm} um");
        });
    }

    [Fact]
    public async Task GeSiCA_data_faults_are_counted_with_their_location_and_the_rest_of_the_run_survives()
    {
        await using var kit = ReadoutTestKit.Create(trackers: true);
        await kit.Run.PedestalRunAsync(200);
        var gesica = kit.Run.Crate.Gesica(622)!;
        kit.Run.Crate.Simulator!.BeforeTrigger = (trigger, crate) =>
        {
            switch (trigger)
            {
                case 10: gesica.InjectFault(GesicaDataFault.WrongEventNumber); break;
                case 20: gesica.InjectFault(GesicaDataFault.DataSkipped, adcId: 1); break;
                case 30: gesica.InjectFault(GesicaDataFault.DeadApv, 5, adcId: 0, chipId: 2); break;
                case 40: gesica.InjectFault(GesicaDataFault.TruncatedFragment); break;
                case 50: gesica.InjectFault(GesicaDataFault.MissingAdc, 3, adcId: 3); break;
            }
        };
        var result = await kit.Run.PhysicsRunAsync(new PhysicsRunRequest { Events = 200 });

        var p = result.Pipeline;
        Assert.True(p.IsBalanced);
        Assert.Equal(200, p.EventsIn);
        // A wrong APV event number and a truncated fragment cannot be trusted: their events are dropped; a skipped ADC,
        // a dead APV or a missing ADC lose their own data and the rest of the event survives.
        Assert.Equal(1, p.GetDropped(DropReason.EventNumberMismatch));
        Assert.Equal(1, p.GetDropped(DropReason.DecodeError));
        Assert.Equal(198, p.EventsBuilt);
        var t = result.Trackers!;
        Assert.Equal(2, t.Rejected);
        Assert.Equal(1, t.Problems[FormatProblemKind.ApvWrongEvent]);
        Assert.Equal(1, t.Problems[FormatProblemKind.ApvDataSkipped]);
        Assert.Equal(5, t.Problems[FormatProblemKind.ApvHeaderSampleError]);
        Assert.Equal(3, t.Problems[FormatProblemKind.ApvMissingAdc]);
        Assert.Contains(t.ProblemLocations, l => l.Contains("source 622", StringComparison.Ordinal) && l.Contains("ApvMissingAdc", StringComparison.Ordinal));
        // The planes of the healthy APVs keep their efficiency; MM3 (ADC 0 chip 2) lost 5 events of data only.
        Assert.All(result.Trackers!.Planes, plane => Assert.True(plane.Efficiency >= 0.95, $"{plane.Plane}: {plane.Efficiency}"));
    }
}
