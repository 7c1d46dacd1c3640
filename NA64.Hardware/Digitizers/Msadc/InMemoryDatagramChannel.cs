using System.Buffers;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Threading.Channels;

namespace NA64.Hardware.Digitizers.Msadc;

/// <summary>
/// One end of an in-process datagram pair. Datagrams keep their boundaries and order; nothing is lost. A bounded pair
/// gives back-pressure: a sender waits while the peer has <c>capacity</c> datagrams unread (a simulated data source
/// then runs no faster than the host reads, and tests stay deterministic). Datagram bytes travel in
/// <see cref="ArrayPool{T}"/> buffers, so a steady stream allocates nothing per datagram.
/// </summary>
public sealed class InMemoryDatagramChannel : IDatagramChannel
{
    private readonly Channel<Datagram> _inbox;
    private readonly Channel<Datagram> _outbox;
    private long _sent;

    private InMemoryDatagramChannel(string address, Channel<Datagram> inbox, Channel<Datagram> outbox)
    {
        Address = address;
        _inbox = inbox;
        _outbox = outbox;
    }

    public string Address { get; }

    /// <summary>Datagrams this end has sent.</summary>
    public long SentCount => Interlocked.Read(ref _sent);

    /// <summary>Datagrams waiting at this end, not yet received.</summary>
    public int PendingCount => _inbox.Reader.Count;

    /// <summary>Two connected ends with unbounded queues: what one sends, the other receives.</summary>
    public static (InMemoryDatagramChannel Host, InMemoryDatagramChannel Device) CreatePair(string name = "mem") =>
        Create(name, Channel.CreateUnbounded<Datagram>(), Channel.CreateUnbounded<Datagram>());

    /// <summary>Two connected ends whose queues hold at most <paramref name="capacity"/> datagrams each; a sender waits for room.</summary>
    public static (InMemoryDatagramChannel Host, InMemoryDatagramChannel Device) CreatePair(string name, int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        var options = new BoundedChannelOptions(capacity) { FullMode = BoundedChannelFullMode.Wait };
        return Create(name, Channel.CreateBounded<Datagram>(options), Channel.CreateBounded<Datagram>(options));
    }

    private static (InMemoryDatagramChannel, InMemoryDatagramChannel) Create(string name, Channel<Datagram> toDevice, Channel<Datagram> toHost) =>
        (new InMemoryDatagramChannel($"mem:{name}/device", toHost, toDevice),
         new InMemoryDatagramChannel($"mem:{name}/host", toDevice, toHost));

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    public async ValueTask SendAsync(ReadOnlyMemory<byte> datagram, CancellationToken cancellationToken)
    {
        var bytes = ArrayPool<byte>.Shared.Rent(Math.Max(datagram.Length, 1));
        datagram.Span.CopyTo(bytes);
        try
        {
            await _outbox.Writer.WriteAsync(new Datagram(bytes, datagram.Length), cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            // Not queued (cancelled, or the peer closed): the buffer goes back to the pool, and the caller sees why.
            ArrayPool<byte>.Shared.Return(bytes);
            throw;
        }

        Interlocked.Increment(ref _sent);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<int> ReceiveAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        var datagram = await _inbox.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        return Take(datagram, buffer.Span);
    }

    public bool TryReceive(Span<byte> buffer, out int length)
    {
        length = 0;
        if (!_inbox.Reader.TryRead(out var datagram))
            return false;
        length = Take(datagram, buffer);
        return true;
    }

    /// <summary>Completes the other end's receive with <see cref="ChannelClosedException"/>.</summary>
    public void Dispose() => _outbox.Writer.TryComplete();

    private static int Take(Datagram datagram, Span<byte> buffer)
    {
        try
        {
            if (datagram.Length > buffer.Length)
                throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                    $"datagram of {datagram.Length} bytes does not fit the {buffer.Length}-byte receive buffer"), nameof(buffer));
            datagram.Bytes.AsSpan(0, datagram.Length).CopyTo(buffer);
            return datagram.Length;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(datagram.Bytes);
        }
    }

    private readonly record struct Datagram(byte[] Bytes, int Length);
}
