using NA64.Hardware.Transport;

namespace NA64.Hardware.Tests.Transport;

public sealed class FifoGateTests
{
    [Fact]
    public async Task Waiters_are_admitted_in_arrival_order_and_cancelled_ones_are_skipped()
    {
        var gate = new FifoGate();
        var holder = await gate.EnterAsync(CancellationToken.None);
        var admitted = new List<int>();
        var sources = new List<CancellationTokenSource>();
        var waiters = new List<Task>();
        for (var i = 0; i < 100; i++)
        {
            var id = i;
            var cts = new CancellationTokenSource();
            sources.Add(cts);
            waiters.Add(EnterAndRecordAsync(gate, id, admitted, cts.Token));
        }

        Assert.Equal(100, gate.QueueLength);
        for (var i = 0; i < 100; i += 3)
        {
            await sources[i].CancelAsync();
        }

        Assert.Equal(100 - 34, gate.QueueLength);
        holder.Dispose();
        for (var i = 0; i < 100; i++)
        {
            if (i % 3 == 0)
            {
                await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Safety.Within(waiters[i]));
            }
            else
            {
                await Safety.Within(waiters[i]);
            }
        }

        Assert.Equal(Enumerable.Range(0, 100).Where(i => i % 3 != 0), admitted);
        Assert.Equal(0, gate.QueueLength);
        using (await gate.EnterAsync(CancellationToken.None))
        {
            Assert.Equal(0, gate.QueueLength);
        }

        foreach (var cts in sources)
        {
            cts.Dispose();
        }
    }

    private static async Task EnterAndRecordAsync(FifoGate gate, int id, List<int> admitted, CancellationToken cancellationToken)
    {
        using (await gate.EnterAsync(cancellationToken))
        {
            // Only one holder at a time, so the list needs no lock; a second holder would break the order check.
            admitted.Add(id);
            await Task.Yield();
        }
    }

    [Fact]
    public async Task An_already_cancelled_token_never_enters()
    {
        var gate = new FifoGate();
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await gate.EnterAsync(cts.Token));
        using (await gate.EnterAsync(CancellationToken.None))
        {
            Assert.Equal(0, gate.QueueLength);
        }
    }
}
