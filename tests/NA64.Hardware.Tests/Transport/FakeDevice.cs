using System.Diagnostics;
using System.Text;
using NA64.Hardware.Transport;

namespace NA64.Hardware.Tests.Transport;

/// <summary>The device end of an in-memory duplex, driven by hand from a test: reads request lines, writes raw reply bytes.</summary>
internal sealed class FakeDevice : IAsyncDisposable
{
    private readonly Stream _stream;
    private readonly string _requestTerminator;
    private readonly StringBuilder _pending = new();

    public FakeDevice(Stream deviceSide, string requestTerminator = "\r\n")
    {
        _stream = deviceSide;
        _requestTerminator = requestTerminator;
    }

    /// <summary>Bytes received after the last complete request (must be empty while a reply is outstanding).</summary>
    public string Leftover => _pending.ToString();

    public async Task<string> ReadRequestAsync(CancellationToken cancellationToken = default)
    {
        var buffer = new byte[256];
        while (true)
        {
            var text = _pending.ToString();
            var end = text.IndexOf(_requestTerminator, StringComparison.Ordinal);
            if (end >= 0)
            {
                _pending.Remove(0, end + _requestTerminator.Length);
                return text[..end];
            }

            using var safety = Safety.Net(cancellationToken);
            var n = await _stream.ReadAsync(buffer, safety.Token);
            if (n == 0)
            {
                throw new EndOfStreamException("host side closed");
            }

            _pending.Append(Encoding.Latin1.GetString(buffer, 0, n));
        }
    }

    public Task WriteAsync(string latin1) => _stream.WriteAsync(Encoding.Latin1.GetBytes(latin1)).AsTask();

    public ValueTask DisposeAsync() => _stream.DisposeAsync();
}

/// <summary>
/// Test-side waiting without real-time assertions: a generous real-time limit only stops a broken test from
/// hanging the run; no test asserts on elapsed time.
/// </summary>
internal static class Safety
{
    public static readonly TimeSpan Limit = TimeSpan.FromSeconds(30);

    public static CancellationTokenSource Net(CancellationToken cancellationToken = default)
    {
        var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(Limit);
        return cts;
    }

    /// <summary>Yields until <paramref name="condition"/> holds (state reached by another task), failing after the safety limit.</summary>
    public static async Task Until(Func<bool> condition, string what)
    {
        var watch = Stopwatch.StartNew();
        while (!condition())
        {
            if (watch.Elapsed > Limit)
            {
                throw new TimeoutException($"Safety net: never reached: {what}");
            }

            await Task.Yield();
        }
    }

    public static async Task<T> Within<T>(Task<T> task)
    {
        using var cts = Net();
        return await task.WaitAsync(cts.Token);
    }

    public static async Task Within(Task task)
    {
        using var cts = Net();
        await task.WaitAsync(cts.Token);
    }
}
