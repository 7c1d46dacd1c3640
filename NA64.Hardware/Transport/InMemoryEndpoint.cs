namespace NA64.Hardware.Transport;

/// <summary>
/// An endpoint whose stream is the host side of an in-memory duplex (or any stream a factory makes). The factory
/// is called on every open, so a transport that lost its stream (simulator dropped the device side) can re-open:
/// typically it creates a new <see cref="InMemoryDuplex"/> pair and hands the device side to a simulator.
/// </summary>
public sealed class InMemoryEndpoint : IStreamEndpoint
{
    private readonly Func<Stream> _open;
    private int _openCount;

    public InMemoryEndpoint(Func<Stream> openHostSide, string address = "sim")
    {
        ArgumentNullException.ThrowIfNull(openHostSide);
        ArgumentException.ThrowIfNullOrWhiteSpace(address);
        _open = openHostSide;
        Address = address;
    }

    public string Address { get; }

    /// <summary>Times the stream was opened (first open included).</summary>
    public int OpenCount => Volatile.Read(ref _openCount);

    public ValueTask<Stream> OpenAsync(CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var stream = _open() ?? throw new InvalidOperationException($"The stream factory of {Address} returned null");
        Interlocked.Increment(ref _openCount);
        return ValueTask.FromResult(stream);
    }
}
