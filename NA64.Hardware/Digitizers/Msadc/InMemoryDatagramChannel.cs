using System.Globalization;
using System.Threading.Channels;

namespace NA64.Hardware.Digitizers.Msadc;

/// <summary>One end of an in-process datagram pair. Datagrams keep their boundaries and order; nothing is lost.</summary>
public sealed class InMemoryDatagramChannel : IDatagramChannel
{
    private readonly Channel<byte[]> _inbox;
    private readonly Channel<byte[]> _outbox;
    private long _sent;

    private InMemoryDatagramChannel(string address, Channel<byte[]> inbox, Channel<byte[]> outbox)
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

    /// <summary>Two connected ends: what one sends, the other receives.</summary>
    public static (InMemoryDatagramChannel Host, InMemoryDatagramChannel Device) CreatePair(string name = "mem")
    {
        var toDevice = Channel.CreateUnbounded<byte[]>();
        var toHost = Channel.CreateUnbounded<byte[]>();
        return (new InMemoryDatagramChannel($"mem:{name}/device", toHost, toDevice),
                new InMemoryDatagramChannel($"mem:{name}/host", toDevice, toHost));
    }

    public ValueTask SendAsync(ReadOnlyMemory<byte> datagram, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _sent);
        return _outbox.Writer.WriteAsync(datagram.ToArray(), cancellationToken);
    }

    public async ValueTask<int> ReceiveAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        byte[] datagram = await _inbox.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        if (datagram.Length > buffer.Length)
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                $"datagram of {datagram.Length} bytes does not fit the {buffer.Length}-byte receive buffer"), nameof(buffer));
        datagram.CopyTo(buffer);
        return datagram.Length;
    }

    /// <summary>Completes the other end's receive with <see cref="ChannelClosedException"/>.</summary>
    public void Dispose() => _outbox.Writer.TryComplete();
}
