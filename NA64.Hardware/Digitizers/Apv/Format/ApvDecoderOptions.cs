using System.Globalization;

namespace NA64.Hardware.Digitizers.Apv.Format;

/// <summary>
/// Per-source options of <see cref="ApvDecoder"/> (data-formats §7.8, §7.10, §11): the sparse amplitude variant, the CM
/// word forced by the map (CMC_always), the time-tag comparison across ADC blocks, and the ADC ids the setup expects.
/// </summary>
public sealed record ApvDecoderOptions
{
    public static ApvDecoderOptions Default { get; } = new();

    /// <summary>Sparse amplitude decoding; GEM/Si is DDD's default, two-slope is the map option rich_adc.</summary>
    public ApvSparseVariant SparseVariant { get; init; } = ApvSparseVariant.GemSi;

    /// <summary>Every APV block ends with a CM word even without format bit 3 (map option CMC_always).</summary>
    public bool CommonModeAlways { get; init; }

    /// <summary>Compare time_tag across the ADC blocks of the source ("local time tag"); DDD lets a source switch it off.</summary>
    public bool CheckTimeTag { get; init; } = true;

    private readonly IReadOnlySet<int>? _expectedAdcIds;

    /// <summary>ADC ids (0..255) the maps/setup expect in this source; null = no missing/unexpected check.</summary>
    public IReadOnlySet<int>? ExpectedAdcIds
    {
        get => _expectedAdcIds;
        init
        {
            ExpectedAdcMask = null;
            if (value is null)
            {
                _expectedAdcIds = null;
                return;
            }

            // A 256-bit mask, built once, so the per-event missing/unexpected check allocates nothing.
            var mask = new ulong[4];
            foreach (int id in value)
            {
                if ((uint)id > ApvWords.MaxAdcId)
                {
                    throw new ArgumentOutOfRangeException(nameof(ExpectedAdcIds), id,
                        string.Create(CultureInfo.InvariantCulture, $"expected adc_id = {id} refused: the ADC header field holds 0..{ApvWords.MaxAdcId}"));
                }

                mask[id >> 6] |= 1UL << (id & 63);
            }

            _expectedAdcIds = value;
            ExpectedAdcMask = mask;
        }
    }

    /// <summary>The expected ADC ids as 4 × 64 bits, or null.</summary>
    internal ulong[]? ExpectedAdcMask { get; private init; }
}
