using NA64.Readout.Formats;
using Serilog;

namespace NA64.Readout.Pipeline;

/// <summary>
/// A <see cref="FragmentReceiver"/> that replays a raw DATE file: every equipment of every data event
/// (physics, calibration, end of burst) becomes one fragment, with the metadata from the DATE header and
/// the equipment id as source id. Used to re-process recorded runs (new pedestals, new thresholds) through
/// the same pipeline, and to check that pipeline + encoder reproduce a file exactly. Events without
/// equipments (start/end of run, start of burst) are counted and skipped. A truncated or unreadable file
/// ends the replay with the reader's <c>FrameFormatException</c>, which the pipeline logs and lists as a fault.
/// </summary>
public sealed class DateFileReplayReceiver : IDisposable
{
    private readonly DateFileReader _reader;
    private readonly ILogger _log;
    private DateEventView? _current;
    private int _nextEquipment;
    private long _nonDataEvents;
    private long _eventsWithProblems;

    public DateFileReplayReceiver(DateFileReader reader, ILogger? log = null)
    {
        _reader = reader ?? throw new ArgumentNullException(nameof(reader));
        _log = log ?? Serilog.Core.Logger.None;
    }

    /// <summary>DATE events read from the file.</summary>
    public long EventsRead => _reader.EventsRead;

    /// <summary>Events skipped because their type carries no equipments.</summary>
    public long NonDataEvents => Interlocked.Read(ref _nonDataEvents);

    /// <summary>Events whose equipment walk reported problems (the equipments that parsed are still replayed).</summary>
    public long EventsWithProblems => Interlocked.Read(ref _eventsWithProblems);

    /// <summary>Matches <see cref="FragmentReceiver"/>: pass <c>replay.FillAsync</c> to the pipeline.</summary>
    public ValueTask<bool> FillAsync(EventBatch batch, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(batch);
        while (!cancellationToken.IsCancellationRequested)
        {
            if (_current is null)
            {
                _current = _reader.ReadNext();
                _nextEquipment = 0;
                if (_current is null)
                {
                    return ValueTask.FromResult(false);
                }

                if (!_current.Header.CarriesEquipments)
                {
                    Interlocked.Increment(ref _nonDataEvents);
                    _current = null;
                    continue;
                }

                if (_current.Problems.Count > 0)
                {
                    Interlocked.Increment(ref _eventsWithProblems);
                    _log.Warning("DATE event at byte {Offset}: {Problems}", _current.ByteOffset, _current.Problems.Select(p => p.Message).ToArray());
                }
            }

            var header = _current.Header;
            var equipments = _current.Equipments;
            while (_nextEquipment < equipments.Length)
            {
                var equipment = equipments[_nextEquipment];
                var metadata = new EventMetadata(header.RunNumber, (uint)header.Burst, (uint)header.NbInBurst, header.NbInRun,
                    header.TriggerMask, header.Timestamp, equipment.SourceId, (byte)header.Type);
                if (!batch.TryAdd(metadata, _current.Payload(equipment)))
                {
                    return ValueTask.FromResult(true);   // batch full: the rest of this event goes into the next one
                }

                _nextEquipment++;
            }

            _current = null;
            if (batch.IsFull)
            {
                return ValueTask.FromResult(true);
            }
        }

        return ValueTask.FromResult(true);
    }

    public void Dispose() => _reader.Dispose();
}
