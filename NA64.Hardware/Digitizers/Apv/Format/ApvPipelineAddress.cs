using System.Globalization;

namespace NA64.Hardware.Digitizers.Apv.Format;

/// <summary>
/// Pipeline (column) addresses as the APV-ADC ships them (data-formats §7.5, DDD <c>InitApvColumn</c>): column c
/// (0..191) travels as the 8-bit reflected Gray code of c + 32, addr = g(c + 32) with g(n) = n XOR (n >> 1).
/// Decoding inverts the Gray code and subtracts 32; the 64 codes outside the image are <see cref="Invalid"/>.
/// Both directions are tables built once.
/// </summary>
public static class ApvPipelineAddress
{
    /// <summary>What <see cref="Decode"/> returns for a code no column produces.</summary>
    public const int Invalid = -1;

    /// <summary>The column offset added before Gray coding.</summary>
    public const int Offset = 32;

    private static readonly byte[] EncodeTable = BuildEncode();
    private static readonly short[] DecodeTable = BuildDecode();

    /// <summary>Reflected Gray code of n.</summary>
    public static int Gray(int n) => n ^ (n >> 1);

    /// <summary>Inverse of <see cref="Gray"/> on 8-bit values.</summary>
    public static int InverseGray(int code)
    {
        int n = code & 0xFF;
        n ^= n >> 1;
        n ^= n >> 2;
        n ^= n >> 4;
        return n;
    }

    /// <summary>The 8-bit address of pipeline column 0..191; refuses other columns.</summary>
    public static byte Encode(int column)
    {
        if ((uint)column >= ApvFacts.PipelineColumns)
        {
            throw new ArgumentOutOfRangeException(nameof(column), column,
                string.Create(CultureInfo.InvariantCulture, $"pipeline column = {column} refused: the APV25 pipeline has columns 0..{ApvFacts.PipelineColumns - 1}"));
        }

        return EncodeTable[column];
    }

    /// <summary>The column 0..191 of an 8-bit address (higher bits ignored), or <see cref="Invalid"/>.</summary>
    public static int Decode(int address) => DecodeTable[address & 0xFF];

    public static bool IsValid(int address) => (uint)address <= 0xFF && DecodeTable[address] != Invalid;

    /// <summary>Column <paramref name="column"/> + <paramref name="steps"/> modulo 192.</summary>
    public static int Advance(int column, int steps) => (int)((uint)(column + (steps % ApvFacts.PipelineColumns) + ApvFacts.PipelineColumns) % ApvFacts.PipelineColumns);

    private static byte[] BuildEncode()
    {
        var table = new byte[ApvFacts.PipelineColumns];
        for (int c = 0; c < table.Length; c++)
        {
            table[c] = (byte)Gray(c + Offset);
        }

        return table;
    }

    private static short[] BuildDecode()
    {
        var table = new short[256];
        for (int code = 0; code < table.Length; code++)
        {
            int column = InverseGray(code) - Offset;
            table[code] = (short)((uint)column < ApvFacts.PipelineColumns ? column : Invalid);
        }

        return table;
    }
}
