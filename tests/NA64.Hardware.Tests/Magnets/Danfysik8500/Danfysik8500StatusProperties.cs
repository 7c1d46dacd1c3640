using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using NA64.Hardware.Magnets;
using NA64.Hardware.Magnets.Danfysik8500;

namespace NA64.Hardware.Tests.Magnets.Danfysik8500;

/// <summary>A string of '!' and '.' (and now and then something else) of a length near 24.</summary>
public sealed record S1Like(string Line);

public static class Danfysik8500Arbitraries
{
    public static Arbitrary<S1Like> S1Like() =>
        Arb.From(
            from length in Gen.Choose(20, 28)
            from chars in Gen.ArrayOf(Gen.Frequency((20, Gen.Constant('!')), (20, Gen.Constant('.')), (1, Gen.Elements(' ', '\r', '\n', 'x', '0'))), length)
            select new S1Like(new string(chars)));
}

public class Danfysik8500StatusProperties
{
    [Property(MaxTest = 1000)]
    public bool Any_24_conditions_round_trip_through_S1(int bits)
    {
        var conditions = (Danfysik8500Conditions)(bits & 0xFFFFFF);
        var s1 = Danfysik8500Codec.EncodeStatus(conditions);
        return s1.Length == 24 && Danfysik8500Codec.DecodeStatus("S1", s1).Conditions == conditions;
    }

    [Property(MaxTest = 2000, Arbitrary = [typeof(Danfysik8500Arbitraries)])]
    public bool S1_like_lines_decode_iff_24_bangs_and_dots(S1Like line)
    {
        var valid = line.Line.Length == 24 && line.Line.All(c => c is '!' or '.');
        try
        {
            var status = Danfysik8500Codec.DecodeStatus("S1", line.Line);
            return valid && status.Raw == line.Line && Danfysik8500Codec.EncodeStatus(status.Conditions) == line.Line;
        }
        catch (Danfysik8500ReplyException e)
        {
            return !valid && e.RawReply == line.Line && e.Request == "S1";
        }
    }

    [Property(MaxTest = 500)]
    public bool Any_string_decodes_or_gives_a_reply_error(NonNull<string> text)
    {
        try
        {
            Danfysik8500Codec.DecodeStatus("S1", text.Get);
            return text.Get.Length == 24;
        }
        catch (Danfysik8500ReplyException e)
        {
            return e.RawReply == text.Get;
        }
    }

    [Property(MaxTest = 1000)]
    public bool Output_is_fault_exactly_when_a_fault_position_is_set(int bits)
    {
        var conditions = (Danfysik8500Conditions)(bits & 0xFFFFFF);
        var output = Danfysik8500Codec.MapOutput(conditions);
        var fault = (conditions & Danfysik8500Codec.FaultConditions) != 0;
        return fault ? output == MagnetOutput.Fault
            : output == (conditions.HasFlag(Danfysik8500Conditions.MainPowerOff) ? MagnetOutput.Off : MagnetOutput.On);
    }

    [Property(MaxTest = 500)]
    public bool Any_int_text_parses_back(int value) =>
        Danfysik8500Codec.ParseInteger("RA", value.ToString(System.Globalization.CultureInfo.InvariantCulture)) == value;
}
