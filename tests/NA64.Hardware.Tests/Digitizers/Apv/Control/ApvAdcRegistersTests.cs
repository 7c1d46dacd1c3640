using NA64.Hardware.Digitizers.Apv;

namespace NA64.Hardware.Tests.Digitizers.Apv.Control;

public class ApvAdcRegistersTests
{
    [Fact]
    public void Typical_mode_0x8F_decodes_to_triple_frame_sparse_pedestal_and_common_mode_subtraction_and_time_cut()
    {
        var mode = (ApvAdcMode)0x8Fu;
        Assert.Equal(ApvAdcMode.TripleFrame | ApvAdcMode.Sparse | ApvAdcMode.PedestalSubtraction
            | ApvAdcMode.CommonModeSubtraction | ApvAdcMode.TimeCut, mode);
        Assert.Equal(ApvAdcRegisters.TypicalMode, mode);
        Assert.False(mode.HasFlag(ApvAdcMode.SkipWhenBuffersFull));
        Assert.False(mode.HasFlag(ApvAdcMode.SparseDataFormat));
        Assert.Equal("TripleFrame, Sparse, PedestalSubtraction, CommonModeSubtraction, TimeCut", mode.ToString());
    }

    [Theory]
    [InlineData(ApvAdcMode.TripleFrame, 0)]
    [InlineData(ApvAdcMode.Sparse, 1)]
    [InlineData(ApvAdcMode.PedestalSubtraction, 2)]
    [InlineData(ApvAdcMode.CommonModeSubtraction, 3)]
    [InlineData(ApvAdcMode.SkipWhenBuffersFull, 5)]
    [InlineData(ApvAdcMode.SparseDataFormat, 6)]
    [InlineData(ApvAdcMode.TimeCut, 7)]
    public void Each_mode_flag_is_the_bit_of_data_formats_7_11(ApvAdcMode flag, int bit)
    {
        Assert.Equal(1u << bit, (uint)flag);
        Assert.NotEqual(0u, (uint)flag & ApvAdcRegisters.DefinedModeBits);
    }

    [Fact]
    public void Bit_4_is_the_only_undescribed_mode_bit()
    {
        uint all = Enum.GetValues<ApvAdcMode>().Aggregate(0u, (a, m) => a | (uint)m);
        Assert.Equal(ApvAdcRegisters.DefinedModeBits, all);
        Assert.Equal(0x10u, 0xFFu & ~ApvAdcRegisters.DefinedModeBits);
    }

    [Fact]
    public void The_mode_register_is_the_references_at_0x1001_and_everything_else_is_ours()
    {
        var mode = ApvAdcRegisters.Find(0x1001);
        Assert.NotNull(mode);
        Assert.Equal(("Mode", true, true, (uint?)0xEF), (mode.Name, mode.Writable, mode.Reference, mode.AllowedBits));
        Assert.All(ApvAdcRegisters.Global.Where(r => r.Address != 0x1001), r => Assert.False(r.Reference));
        Assert.False(ApvAdcRegisters.Find(ApvAdcRegisters.Threshold(3, 127))!.Reference);
    }

    [Fact]
    public void Table_addresses_are_unique_cover_4_apvs_of_128_channels_and_do_not_overlap_the_globals()
    {
        var addresses = new HashSet<ushort>(ApvAdcRegisters.Global.Select(r => r.Address));
        foreach (var table in Enum.GetValues<ApvAdcTable>())
            for (int apv = 0; apv < 4; apv++)
                for (int channel = 0; channel < 128; channel++)
                {
                    ushort address = ApvAdcRegisters.TableEntry(table, apv, channel);
                    Assert.True(addresses.Add(address));
                    Assert.True(ApvAdcRegisters.TryDecodeTableEntry(address, out var t, out int a, out int c));
                    Assert.Equal((table, apv, channel), (t, a, c));
                    Assert.Equal((uint)ApvAdcRegisters.MaximumOf(table), ApvAdcRegisters.Find(address)!.Maximum);
                }
        Assert.Equal(8 + 3 * 512, addresses.Count);
        Assert.Equal(0x4111, ApvAdcRegisters.Threshold(2, 17));
        Assert.Equal("Threshold[2][17]", ApvAdcRegisters.NameOf(0x4111));
        Assert.Equal("Sigma[0][0]", ApvAdcRegisters.NameOf(0x3000));
        Assert.Null(ApvAdcRegisters.Find(0x2200));
        Assert.Equal("0x2200", ApvAdcRegisters.NameOf(0x2200));
    }

    [Fact]
    public void Latency_and_table_limits_follow_the_apv_facts()
    {
        Assert.Equal(191u, ApvAdcRegisters.Find(ApvAdcRegisters.Latency)!.Maximum);
        Assert.Equal((1023, 4095, 1023), (ApvAdcRegisters.MaxPedestal, ApvAdcRegisters.MaxSigma, ApvAdcRegisters.MaxThreshold));
    }

    [Theory]
    [InlineData(3.3, 13)]
    [InlineData(3.375, 14)]
    [InlineData(0.0, 0)]
    [InlineData(1023.75, 4095)]
    public void Sigma_is_held_in_quarter_counts(double sigma, int register)
    {
        Assert.Equal(register, ApvAdcRegisters.SigmaToRegister(sigma));
        Assert.Equal(register / 4.0, ApvAdcRegisters.SigmaFromRegister(register));
    }
}
