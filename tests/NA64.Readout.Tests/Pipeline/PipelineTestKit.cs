using System.Buffers.Binary;
using NA64.Readout.Pipeline;
using Microsoft.Extensions.Time.Testing;
using NA64.Readout.Sinks;

namespace NA64.Readout.Tests.Pipeline;

/// <summary>Fragments, receivers, assemblers and sinks for pipeline tests.</summary>
internal static class PipelineTestKit
{
    public const uint Run = 3661;

    /// <summary>Safety limit on real-time waits; a correct pipeline never comes near it.</summary>
    public static readonly TimeSpan Safety = TimeSpan.FromSeconds(30);

    public static EventMetadata FragmentMeta(int source, uint spill, uint eventInSpill) =>
        new(Run, spill, eventInSpill, (spill * 10_000) + eventInSpill, 0b101, 1_700_000_000 + spill, source, 7);

    /// <summary>An S-Link-like fragment: 3 header words (size|source, spill|event, TCS ok) + payload words.</summary>
    public static byte[] FragmentBytes(int source, uint spill, uint eventInSpill, int payloadWords = 4)
    {
        var words = 3 + payloadWords;
        var bytes = new byte[words * 4];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, (uint)words | ((uint)source << 16));
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(4), ((spill & 0x7FF) << 20) | eventInSpill);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(8), 0x08u << 8);
        for (var w = 3; w < words; w++)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(w * 4), (uint)((source * 1000) + w) ^ eventInSpill);
        }

        return bytes;
    }

    public static Fragment Frag(int source, uint spill, uint ev) => new(FragmentMeta(source, spill, ev), FragmentBytes(source, spill, ev));

    /// <summary>Every source, every event of every spill, sources round-robin per event (the ideal order).</summary>
    public static List<Fragment> AllFragments(int[] sources, uint spills, uint eventsPerSpill)
    {
        var list = new List<Fragment>();
        for (uint spill = 1; spill <= spills; spill++)
        {
            for (uint ev = 1; ev <= eventsPerSpill; ev++)
            {
                foreach (var s in sources)
                {
                    list.Add(Frag(s, spill, ev));
                }
            }
        }

        return list;
    }

    /// <summary>The real DATE 3.6 encoder (formats) behind the pipeline's assembler seam, on a fixed test clock.</summary>
    public static EventAssembler NewAssembler() =>
        new DateEventAssembler(new FakeTimeProvider(new DateTimeOffset(2018, 7, 1, 12, 0, 0, TimeSpan.Zero))).Assemble;

    /// <summary>One built DATE event for sink tests: one equipment (source 623) holding a 7-word S-Link block.</summary>
    public static byte[] DateEvent(uint spill, uint ev, int payloadWords = 4)
    {
        var fragment = FragmentBytes(623, spill, ev, payloadWords);
        var destination = new byte[68 + 28 + fragment.Length];
        var length = NewAssembler()(FragmentMeta(EventMetadata.BuiltEventSource, spill, ev), fragment, [new SourceFragment(623, 0, fragment.Length)], destination);
        Assert.Equal(destination.Length, length);
        return destination;
    }

    public static ReadoutPipelineOptions Options(int[] sources, MissingSourcePolicy policy = MissingSourcePolicy.SkipRestOfSpill,
        int recordsPerBatch = 16, int queueCapacity = 2, int timeoutEvents = 8) => new()
    {
        Builder = new EventBuilderOptions { SourceIds = sources, MissingSourcePolicy = policy, TimeoutEvents = timeoutEvents },
        RecordsPerBatch = recordsPerBatch,
        BytesPerBatch = 4096,
        QueueCapacity = queueCapacity,
    };

    /// <summary>Event keys (spill, event) in the order a sink received them.</summary>
    public static List<(uint Spill, uint Event)> Keys(InProcessSink sink) =>
        sink.Events.Select(e => (e.Metadata.Spill, e.Metadata.EventInSpill)).ToList();
}

internal sealed record Fragment(EventMetadata Metadata, byte[] Bytes);

/// <summary>Plays back a fixed list of fragments, up to a batch per call.</summary>
internal sealed class ScriptedReceiver(IReadOnlyList<Fragment> fragments, int perCall = int.MaxValue)
{
    private int _next;
    private int _calls;

    public int Calls => Volatile.Read(ref _calls);

    /// <summary>Called at the start of every FillAsync, with the call number (1-based).</summary>
    public Action<int>? OnCall { get; init; }

    public ValueTask<bool> FillAsync(EventBatch batch, CancellationToken cancellationToken)
    {
        var call = Interlocked.Increment(ref _calls);
        OnCall?.Invoke(call);
        var added = 0;
        while (_next < fragments.Count && added < perCall)
        {
            var f = fragments[_next];
            if (!batch.TryAdd(f.Metadata, f.Bytes))
            {
                break;
            }

            _next++;
            added++;
        }

        return ValueTask.FromResult(_next < fragments.Count);
    }
}

/// <summary>A sink that holds every batch until the test opens its gate (a slow disk, a stuck network).</summary>
internal sealed class GatedSink(string name = "gated") : IEventSink
{
    private readonly SemaphoreSlim _gate = new(0);
    private long _written;

    public string Name { get; } = name;

    public long Written => Interlocked.Read(ref _written);

    public void Open(int batches = int.MaxValue / 2) => _gate.Release(batches);

    public async ValueTask<SinkWriteResult> WriteAsync(EventBatch events, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        Interlocked.Add(ref _written, events.Count);
        return SinkWriteResult.All(events);
    }

    public ValueTask FlushAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;
}

/// <summary>A sink that fails on its n-th batch (a full disk).</summary>
internal sealed class FailingSink(int failOnBatch) : IEventSink
{
    private int _batches;

    public string Name => "failing";

    public ValueTask<SinkWriteResult> WriteAsync(EventBatch events, CancellationToken cancellationToken)
    {
        if (++_batches == failOnBatch)
        {
            throw new IOException("No space left on device (test)");
        }

        return ValueTask.FromResult(SinkWriteResult.All(events));
    }

    public ValueTask FlushAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;
}
