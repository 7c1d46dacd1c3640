using System.Globalization;
using NA64.Hardware.Errors;

namespace NA64.Hardware.Digitizers.Apv;

/// <summary>One register whose read-back differs from what was written.</summary>
public readonly record struct ApvAdcRegisterMismatch(ushort Address, string Register, uint Written, uint ReadBack)
{
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"register {Register} (0x{Address:X4}) written {Written}, read back {ReadBack}");
}

/// <summary>
/// A write that did not stick: the module accepted it but reads back something else. Names every such register with
/// both values; the message names the first one and how many there were.
/// </summary>
public sealed class ApvAdcReadBackException : DeviceReplyException
{
    public ApvAdcReadBackException(string module, IReadOnlyList<ApvAdcRegisterMismatch> mismatches, int checkedCount,
        string request, string rawReply)
        : base(Describe(module, mismatches, checkedCount), request, rawReply)
    {
        Module = module;
        Mismatches = mismatches;
        CheckedCount = checkedCount;
    }

    public string Module { get; }
    public IReadOnlyList<ApvAdcRegisterMismatch> Mismatches { get; }
    /// <summary>How many registers were read back in the check that failed.</summary>
    public int CheckedCount { get; }

    private static string Describe(string module, IReadOnlyList<ApvAdcRegisterMismatch> mismatches, int checkedCount)
    {
        ArgumentOutOfRangeException.ThrowIfZero(mismatches.Count, nameof(mismatches));
        string first = string.Create(CultureInfo.InvariantCulture, $"{module}: {mismatches[0]}");
        return mismatches.Count == 1
            ? first
            : string.Create(CultureInfo.InvariantCulture, $"{first}; {mismatches.Count} of {checkedCount} registers differ");
    }
}
