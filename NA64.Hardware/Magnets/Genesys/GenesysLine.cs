using System.Runtime.CompilerServices;
using NA64.Hardware.Transport;

namespace NA64.Hardware.Magnets.Genesys;

/// <summary>
/// What the Genesys supplies sharing one RS-485 line know together: which unit the last <c>ADR</c> selected, and a
/// turn so that the <c>ADR</c> and the command after it are not split by another unit's exchange. One per
/// transport, found through <see cref="For"/> so that supplies built independently share it.
/// </summary>
public sealed class GenesysLine
{
    private static readonly ConditionalWeakTable<LineTransport, GenesysLine> Lines = new();

    private readonly SemaphoreSlim _turn = new(1, 1);
    private int _addressed = -1;

    private GenesysLine(LineTransport transport)
    {
        Transport = transport;
        // After a re-open nothing is known about the selection (the far end may be a restarted unit).
        transport.Reconnected += (_, _) => Forget();
    }

    public LineTransport Transport { get; }

    /// <summary>The unit the last acknowledged <c>ADR</c> selected; null when unknown (start, reconnect, a lost reply).</summary>
    public int? Addressed => Volatile.Read(ref _addressed) is var a and >= 0 ? a : null;

    /// <summary>The shared state of <paramref name="transport"/>.</summary>
    public static GenesysLine For(LineTransport transport)
    {
        ArgumentNullException.ThrowIfNull(transport);
        return Lines.GetValue(transport, t => new GenesysLine(t));
    }

    /// <summary>Waits for this line's turn; dispose the result to give it back.</summary>
    public async Task<IDisposable> EnterAsync(CancellationToken cancellationToken)
    {
        await _turn.WaitAsync(cancellationToken).ConfigureAwait(false);
        return new Turn(_turn);
    }

    internal void Selected(int address) => Volatile.Write(ref _addressed, address);

    /// <summary>The selection is no longer known: the next command sends <c>ADR</c> first.</summary>
    public void Forget() => Volatile.Write(ref _addressed, -1);

    private sealed class Turn(SemaphoreSlim turn) : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                turn.Release();
            }
        }
    }
}
