using FsCheck.Xunit;
using NA64.Hardware.Digitizers.Msadc.Format;
using NA64.Hardware.Errors;
using NA64.Readout.Formats;

namespace NA64.Readout.Tests.Formats;

/// <summary>Garbage into the DATE reader: events, FormatProblems or FrameFormatException, nothing else, and it ends.</summary>
public class DatePropertyTests
{
    private static void ReadEverything(byte[] file)
    {
        using var r = new DateFileReader(new MemoryStream(file), new DateReaderOptions { MaxEventBytes = 1 << 20 });
        var sadc = new SadcEventData();
        try
        {
            for (int guard = 0; guard <= file.Length; guard++)
            {
                var e = r.ReadNext();
                if (e is null)
                {
                    return;
                }

                foreach (var eq in e.Equipments)
                {
                    sadc.Clear();
                    SadcDecoder.Decode(e.Payload(eq), sadc, e.Header.NbInBurst, eq.ByteOffset + DateEquipmentHeader.Bytes);
                }
            }

            Assert.Fail("the reader did not end");
        }
        catch (FrameFormatException e)
        {
            Assert.InRange(e.ByteOffset, 0, file.Length);
            Assert.Null(r.ReadNext());
        }
    }

    [Property(MaxTest = 500)]
    public void Random_bytes(byte[] data) => ReadEverything(data);

    [Property(MaxTest = 500)]
    public void Random_bytes_behind_a_valid_date_prefix(byte[] tail, bool superEvent)
    {
        byte[] e = DateTestData.Event(DateTestData.Builder(), 1, 1, 1, 623);
        byte[] file = [.. e.AsSpan(0, 68), .. tail];
        int size = 68 + (tail.Length & ~3);
        DateTestData.SetWord(file, 0, (uint)size);
        if (superEvent)
        {
            DateTestData.SetWord(file, 52, DateEventHeader.SuperEventAttributeBit);
        }

        ReadEverything(file);
    }

    [Property(MaxTest = 300)]
    public void Bit_flips_in_a_valid_file(int seed, byte flips)
    {
        var b = DateTestData.Builder();
        byte[] file = DateTestData.File(DateTestData.Event(b, 1, 1, 1, 623, 624), DateTestData.Event(b, 1, 2, 2, 623));
        var r = new Random(seed);
        for (int i = 0; i <= flips % 6; i++)
        {
            int bit = r.Next(file.Length * 8);
            file[bit / 8] ^= (byte)(1 << (bit % 8));
        }

        ReadEverything(file);
    }
}
