using NA64.Hardware.Digitizers.Apv.Format;
using NA64.Simulators.Trackers;

namespace NA64.Simulators.Tests.Trackers;

public class ApvOnBoardProcessorTests
{
    private static ApvDownloadedTable Flat(double pedestal, double sigma)
        => new([.. Enumerable.Repeat(pedestal, 128)], [.. Enumerable.Repeat(sigma, 128)]);

    private static ushort[] Raw(Func<int, int, double> value)
    {
        var raw = new ushort[384];
        for (int f = 0; f < 3; f++)
            for (int c = 0; c < 128; c++)
                raw[f * 128 + c] = (ushort)Math.Round(value(f, c));
        return raw;
    }

    [Fact]
    public void Pedestal_and_common_mode_are_subtracted_and_only_channels_above_n_sigma_are_emitted()
    {
        var processor = new ApvOnBoardProcessor(ApvOnBoardOptions.Micromegas);
        processor.Download(Flat(400, 2));
        // CM of 10, 12, 8 on every channel; hits on 5 (40/120/90) and 6 (30/80/60); channel 9 just under 2σ.
        int[] cmTrue = [10, 12, 8];
        var raw = Raw((f, c) => 400 + cmTrue[f] + c switch
        {
            5 => new[] { 40, 120, 90 }[f],
            6 => new[] { 30, 80, 60 }[f],
            9 => 3,
            _ => 0,
        });
        var output = new List<ApvHit>();
        var cm = processor.Process(raw, output);

        Assert.Equal(new ApvCommonMode(10, 12, 8), cm);
        Assert.Equal([new ApvHit(5, 40, 120, 90), new ApvHit(6, 30, 80, 60)], output);
    }

    [Fact]
    public void The_common_mode_excludes_the_hits_and_falls_back_to_the_last_good_value_when_too_few_channels_are_quiet()
    {
        var processor = new ApvOnBoardProcessor(ApvOnBoardOptions.Micromegas);
        processor.Download(Flat(400, 2));
        var output = new List<ApvHit>();
        // 20 channels with a large signal: a plain mean would be pulled up by 20 × 300 / 128 ≈ 47.
        var cm = processor.Process(Raw((f, c) => 405 + (c < 20 ? 300 : 0)), output);
        Assert.Equal(new ApvCommonMode(5, 5, 5), cm);
        Assert.Equal(20, output.Count);
        Assert.Equal(0, processor.CommonModeFallbacks);

        // 110 channels hit: fewer than 32 left, so each frame keeps the last good CM (5).
        cm = processor.Process(Raw((f, c) => 420 + (c < 110 ? 300 : 0)), output);
        Assert.Equal(new ApvCommonMode(5, 5, 5), cm);
        Assert.Equal(3, processor.CommonModeFallbacks);
    }

    [Fact]
    public void Masked_channels_never_pass_and_the_quantity_and_time_cut_are_options()
    {
        var sigmas = Enumerable.Repeat(2.0, 128).ToArray();
        sigmas[3] = 0;
        var table = new ApvDownloadedTable([.. Enumerable.Repeat(400.0, 128)], sigmas);
        // Channel 3 (masked) and 7 have a falling pulse: large a0, small a1.
        var raw = Raw((f, c) => 400 + (c is 3 or 7 ? new[] { 50, 3, 1 }[f] : 0));
        var output = new List<ApvHit>();

        var maxOfFrames = new ApvOnBoardProcessor(ApvOnBoardOptions.Micromegas);
        maxOfFrames.Download(table);
        maxOfFrames.Process(raw, output);
        Assert.Equal([7], output.Select(h => h.Channel));

        var a1Only = new ApvOnBoardProcessor(ApvOnBoardOptions.Micromegas with { Quantity = ApvThresholdQuantity.A1 });
        a1Only.Download(table);
        a1Only.Process(raw, output);
        Assert.Empty(output);

        var timeCut = new ApvOnBoardProcessor(ApvOnBoardOptions.Micromegas with { TimeCut = true });
        timeCut.Download(table);
        timeCut.Process(raw, output);
        Assert.Empty(output);
    }

    [Fact]
    public void Processing_without_a_table_or_with_a_bad_table_is_refused()
    {
        var processor = new ApvOnBoardProcessor(ApvOnBoardOptions.Gem);
        var e = Assert.Throws<InvalidOperationException>(() => processor.Process(new ushort[384], []));
        Assert.Contains("downloaded", e.Message);
        var bad = Assert.Throws<ArgumentException>(() => new ApvDownloadedTable([.. Enumerable.Repeat(400.0, 127)], [.. Enumerable.Repeat(2.0, 128)]));
        Assert.Contains("127", bad.Message);
        var negative = Enumerable.Repeat(2.0, 128).ToArray();
        negative[12] = -1;
        var range = Assert.Throws<ArgumentOutOfRangeException>(() => new ApvDownloadedTable([.. Enumerable.Repeat(400.0, 128)], negative));
        Assert.Contains("sigmas[12] = -1", range.Message);
    }
}
