using System.Globalization;
using NA64.Readout.Formats;

namespace NA64.Readout.Pipeline;

/// <summary>
/// The <see cref="EventAssembler"/> for NA64 data: a flat DATE 3.6 event, one equipment per source in
/// <see cref="EventBuilderOptions.SourceIds"/> order, written by the formats' <see cref="DateEventBuilder"/>
/// (which checks each S-Link block: size, event number = nbInBurst). The DATE timestamp comes from the
/// injected clock at build time. One instance per pipeline (it keeps the encoder's buffer).
/// </summary>
public sealed class DateEventAssembler
{
    private readonly DateEventBuilder _date;

    public DateEventAssembler(TimeProvider time, DateWriterOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(time);
        _date = new DateEventBuilder(time, options);
    }

    /// <summary>Matches <see cref="EventAssembler"/>: pass <c>assembler.Assemble</c> to the pipeline.</summary>
    public int Assemble(in EventMetadata metadata, ReadOnlySpan<byte> fragmentBytes, ReadOnlySpan<SourceFragment> fragments, Span<byte> destination)
    {
        if (metadata.Spill > EventMetadata.MaxSpill || metadata.EventInSpill > EventMetadata.MaxEventInSpill)
        {
            throw new ArgumentOutOfRangeException(nameof(metadata), metadata, string.Create(CultureInfo.InvariantCulture,
                $"spill {metadata.Spill} (limit {EventMetadata.MaxSpill}) or event in spill {metadata.EventInSpill} (limit {EventMetadata.MaxEventInSpill}) does not fit the DATE header"));
        }

        _date.Begin((DateEventType)metadata.EventType, metadata.Run, metadata.EventInRun, (int)metadata.Spill, (int)metadata.EventInSpill, metadata.TriggerMask);
        foreach (var fragment in fragments)
        {
            _date.AddEquipment(fragmentBytes.Slice(fragment.Offset, fragment.Length));
        }

        var dateEvent = _date.Finish();
        if (dateEvent.Length > destination.Length)
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                $"DATE event of {dateEvent.Length} bytes exceeds the {destination.Length} bytes reserved (EventBuilderOptions.AssemblyOverheadBytes too small)"), nameof(destination));
        }

        dateEvent.CopyTo(destination);
        return dateEvent.Length;
    }
}
