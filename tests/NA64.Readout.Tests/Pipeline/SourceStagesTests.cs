using NA64.Hardware.Digitizers.Apv.Format;
using NA64.Hardware.Digitizers.Msadc.Format;
using NA64.Readout.Pipeline;

namespace NA64.Readout.Tests.Pipeline;

/// <summary>One stage per source kind in one run: the dispatch by source id, and the APV stage's checks and pass-through.</summary>
public sealed class SourceStagesTests
{
    private const int Apv = 622;
    private const ApvFormatFlags Sparse = ApvFormatFlags.TripleFrame | ApvFormatFlags.Sparse | ApvFormatFlags.PedestalSubtracted | ApvFormatFlags.CommonMode;

    private static EventMetadata Meta(int source, uint eventInSpill = 7, uint spill = 1) =>
        new(1001, spill, eventInSpill, eventInSpill, 1, 0, source, 7);

    /// <summary>A GeSiCA fragment: one ADC with two APVs, hits on two channels, CM 5/5/5.</summary>
    private static byte[] Fragment(int eventNumber = 7, int spill = 1, ApvHeaderFault fault = ApvHeaderFault.None,
        ApvFormatFlags format = Sparse, int apvEventNumber = -1)
    {
        var buffer = new byte[4096];
        var writer = new ApvBlockWriter(buffer, Apv, eventNumber, spill);
        writer.BeginAdc(0, format, timeTag: 1234);
        ApvHit[] hits = [new(10, 40, 120, 90), new(11, 30, 80, 60)];
        writer.AddApvSparse(0, ApvPipeline.Consecutive(100), hits, new ApvCommonMode(5, 5, 5), fault);
        writer.AddApvSparse(1, ApvPipeline.Consecutive(100), hits, new ApvCommonMode(5, 5, 5));
        writer.EndAdc();
        int length = writer.Finish();
        var bytes = buffer.AsSpan(0, length).ToArray();
        if (apvEventNumber >= 0)
        {
            // APV header word 0 of the first APV (S-Link 3 words + ADC header 2): event number bits 16..27.
            int at = 5 * 4;
            uint word = BitConverter.ToUInt32(bytes, at);
            word = (word & ~0x0FFF_0000u) | ((uint)(apvEventNumber & 0xFFF) << 16);
            BitConverter.TryWriteBytes(bytes.AsSpan(at), word);
        }

        return bytes;
    }

    private sealed class Echo(int source) : IFragmentStage
    {
        public int Seen;

        public bool Handles(int sourceId) => sourceId == source;

        public int ProcessFragment(ReadOnlySpan<byte> fragment, in EventMetadata metadata, Span<byte> destination, out DropReason reason)
        {
            Seen++;
            reason = DropReason.None;
            destination[0] = 0xEE;
            return 1;
        }
    }

    [Fact]
    public void Each_fragment_goes_to_the_stage_of_its_source_and_an_unknown_source_is_rejected()
    {
        var msadc = new Echo(610);
        var apv = new ApvSourceStage([Apv]);
        var stages = new SourceStages([msadc, apv]);
        var input = new EventBatch(4, 8192);
        foreach (var (source, bytes) in new[] { (610, new byte[16]), (Apv, Fragment()), (999, new byte[16]) })
        {
            Assert.True(input.TryBeginAdd(bytes.Length, out var d));
            bytes.CopyTo(d);
            input.CommitAdd(Meta(source), bytes.Length);
        }

        var output = stages.Process(input, new EventBatch(4, 8192));

        Assert.Equal(3, output.Count);
        Assert.Equal([0xEE], output.GetBytes(0).ToArray());                 // the MSADC stage's output
        Assert.Equal(Fragment(), output.GetBytes(1).ToArray());             // APV blocks kept as the GeSiCA sent them
        Assert.Equal(DropReason.None, output.GetStatus(1));
        Assert.Equal(DropReason.DecodeError, output.GetStatus(2));          // no stage for source 999
        Assert.Equal(1, stages.Unhandled);
        Assert.Equal(1, msadc.Seen);
        Assert.Equal((1, 2, 4), (apv.Fragments, apv.Chips, apv.Channels));
    }

    [Fact]
    public void An_APV_header_with_a_bad_frame_loses_that_APV_only_counted_with_its_location_and_the_rest_survives()
    {
        var apv = new ApvSourceStage([Apv]);
        bool[] hasData = [];
        apv.Accepted = (in EventMetadata meta, ReadOnlySpan<byte> bytes) =>
        {
            var data = new ApvEventData();
            ApvDecoder.Decode(bytes, data);
            hasData = [.. data.Chips.ToArray().Select(c => c.HasData)];
        };
        var bytes = Fragment(fault: ApvHeaderFault.Frame2Bad);
        var destination = new byte[bytes.Length];
        int length = apv.ProcessFragment(bytes, Meta(Apv), destination, out var reason);

        Assert.Equal(DropReason.None, reason);
        Assert.Equal(bytes, destination.AsSpan(0, length).ToArray());
        Assert.Equal([false, true], hasData);                      // chip 0's data dropped, chip 1's kept
        Assert.Equal(1, apv.ProblemCounts()[FormatProblemKind.ApvHeaderSampleError]);
        Assert.Contains(apv.ProblemLocations(), l => l.Contains("source 622", StringComparison.Ordinal) && l.Contains("chip 0", StringComparison.Ordinal));
    }

    [Fact]
    public void An_APV_event_number_that_disagrees_with_the_S_Link_is_an_event_number_mismatch()
    {
        var apv = new ApvSourceStage([Apv]);
        var bytes = Fragment(eventNumber: 7, apvEventNumber: 8);
        apv.ProcessFragment(bytes, Meta(Apv), new byte[bytes.Length], out var reason);
        Assert.Equal(DropReason.EventNumberMismatch, reason);
        Assert.Contains(FormatProblemKind.ApvWrongEvent, apv.ProblemCounts().Keys);
    }

    [Fact]
    public void Data_skipped_is_counted_and_a_kept_fragment_is_shown_to_the_observer()
    {
        var apv = new ApvSourceStage([Apv]);
        int seen = 0;
        apv.Accepted = (in EventMetadata meta, ReadOnlySpan<byte> bytes) => seen += bytes.Length;
        var good = Fragment();
        apv.ProcessFragment(good, Meta(Apv), new byte[good.Length], out var reason);
        Assert.Equal(DropReason.None, reason);
        Assert.Equal(good.Length, seen);

        var skipped = Fragment(format: Sparse | ApvFormatFlags.DataSkipped);
        apv.ProcessFragment(skipped, Meta(Apv), new byte[skipped.Length], out _);
        Assert.Contains(FormatProblemKind.ApvDataSkipped, apv.ProblemCounts().Keys);
    }
}
