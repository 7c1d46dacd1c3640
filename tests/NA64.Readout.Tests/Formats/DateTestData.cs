using Microsoft.Extensions.Time.Testing;
using NA64.Hardware.Digitizers.Msadc.Format;
using NA64.Readout.Formats;

namespace NA64.Readout.Tests.Formats;

internal static class DateTestData
{
    public const uint Run = 4242;
    public const long Timestamp = 1_750_000_000;

    /// <summary>The S-Link block of data-formats §6.11.</summary>
    public static readonly uint[] SlinkWords =
    [
        0x026F0009, 0x011004D2, 0x00000800, 0xEA0054D2, 0x4C060A5C, 0x400D60D2, 0x805DC2BC, 0x80190384, 0x300014D2,
    ];

    public static readonly ushort[] Samples = [210, 214, 700, 1500, 900, 400];

    public static DateEventBuilder Builder(DateWriterOptions? options = null) =>
        new(new FakeTimeProvider(DateTimeOffset.FromUnixTimeSeconds(Timestamp)), options);

    /// <summary>One physics event in spill <paramref name="burst"/> with one SADC source written straight into the builder.</summary>
    public static byte[] Event(DateEventBuilder b, int burst, int nbInBurst, uint nbInRun, params int[] sourceIds)
    {
        b.Begin(DateEventType.Physics, Run, nbInRun, burst, nbInBurst, triggerMask: 1);
        foreach (int src in sourceIds)
        {
            Span<byte> room = b.GetEquipmentSpan(SadcBlockWriter.LatchAllBytes(1, Samples.Length, 1));
            var w = new SadcBlockWriter(room, src, nbInBurst, SlinkHeader.SpillFromBurst(burst));
            w.BeginAdc(5, 1);
            w.AddChannel(3, Samples, SadcSumMode.PedestalSubtracted, 212f, 212f);
            w.AddMissingModule(6, 0);
            b.CommitEquipment(w.Finish());
        }

        return b.Finish().ToArray();
    }

    public static byte[] File(params byte[][] events) => events.SelectMany(e => e).ToArray();

    public static void SetWord(byte[] bytes, int byteOffset, uint value) =>
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(byteOffset), value);

    public static uint Word(byte[] bytes, int byteOffset) =>
        System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(byteOffset));
}
