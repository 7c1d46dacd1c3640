using NA64.Hardware.Digitizers.Apv.Format;

namespace NA64.Hardware.Tests.Digitizers.Apv.Format;

/// <summary>The readout and the simulator run the codec for every trigger: a steady stream must not allocate.</summary>
public class ApvAllocationTests
{
    [Fact]
    public void Encoding_and_decoding_a_steady_stream_allocates_nothing_per_event()
    {
        var latch = ApvDecoderCheckTests.Ramp(3);
        var hits = ApvDecoderCheckTests.SparseHits(2);
        var buffer = new byte[4096];
        var output = new ApvEventData();
        var options = new ApvDecoderOptions { ExpectedAdcIds = new HashSet<int> { 0, 1 }, SparseVariant = ApvSparseVariant.TwoSlope };
        long allocated = 0;
        int chips = 0;
        for (int pass = 0; pass < 2; pass++)
        {
            // Pass 0 warms up (JIT, output arrays growing); pass 1 is measured.
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int e = 0; e < 200; e++)
            {
                var w = new ApvBlockWriter(buffer, 622, e, 1);
                w.BeginAdc(0, ApvFormatFlags.TripleFrame | ApvFormatFlags.CommonMode, e);
                w.AddApvLatchAll(0, ApvPipeline.Consecutive(e % 192), latch, new ApvCommonMode(1, 2, 3));
                w.BeginAdc(1, ApvFormatFlags.TripleFrame | ApvFormatFlags.Sparse, e);
                w.AddApvSparse(0, ApvPipeline.Consecutive(e % 192), hits);
                w.AddApvSparse(1, ApvPipeline.Consecutive(e % 192), []);
                int bytes = w.Finish();

                output.Clear();
                ApvDecoder.Decode(buffer.AsSpan(0, bytes), output, options, e);
                chips += output.Chips.Length;
            }

            allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            Assert.Empty(output.Problems);
        }

        Assert.Equal(400 * 3, chips);
        Assert.Equal(0, allocated);
    }
}
