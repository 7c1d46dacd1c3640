using System.Globalization;

namespace NA64.Hardware.Digitizers.Apv.Format;

/// <summary>
/// The order in which the APV25 multiplexes its channels out (data-formats §7.9, decoder-checks §2): data position or
/// sparse channel id r (0..127) is physical channel p = 32·(r mod 4) + 8·⌊r/4⌋ − 31·⌊r/16⌋. The map is a bijection on
/// 0..127; both directions are precomputed once so the decoder's hot loop is one table read per word.
/// </summary>
public static class ApvOutputOrder
{
    private static readonly byte[] PhysicalTable = BuildPhysical();
    private static readonly byte[] PositionTable = Invert(PhysicalTable);

    /// <summary>Physical channel of each output position: <c>PhysicalByPosition[r] = p</c>.</summary>
    public static ReadOnlySpan<byte> PhysicalByPosition => PhysicalTable;

    /// <summary>Output position of each physical channel: <c>PositionByPhysical[p] = r</c>.</summary>
    public static ReadOnlySpan<byte> PositionByPhysical => PositionTable;

    /// <summary>The formula itself, for r in 0..127 (the tables are built from it).</summary>
    public static int Formula(int position) => (32 * (position % 4)) + (8 * (position / 4)) - (31 * (position / 16));

    /// <summary>Physical channel p of output position r; refuses r outside 0..127.</summary>
    public static int PhysicalChannel(int position)
    {
        Check("output position", position);
        return PhysicalTable[position];
    }

    /// <summary>Output position r of physical channel p; refuses p outside 0..127.</summary>
    public static int OutputPosition(int physicalChannel)
    {
        Check("physical channel", physicalChannel);
        return PositionTable[physicalChannel];
    }

    private static byte[] BuildPhysical()
    {
        var table = new byte[ApvFacts.ChannelsPerApv];
        for (int r = 0; r < table.Length; r++)
        {
            table[r] = (byte)Formula(r);
        }

        return table;
    }

    private static byte[] Invert(byte[] physical)
    {
        var table = new byte[physical.Length];
        for (int r = 0; r < physical.Length; r++)
        {
            table[physical[r]] = (byte)r;
        }

        return table;
    }

    private static void Check(string field, int value)
    {
        if ((uint)value >= ApvFacts.ChannelsPerApv)
        {
            throw new ArgumentOutOfRangeException(field, value,
                string.Create(CultureInfo.InvariantCulture, $"{field} = {value} refused: an APV has channels 0..{ApvFacts.ChannelsPerApv - 1}"));
        }
    }
}
