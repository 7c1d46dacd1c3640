using System.Text;

namespace NA64.Hardware.Tests.Magnets.Danfysik8500;

/// <summary>
/// A scripted stand-in for a Danfysik 8500 on the device side of an in-memory duplex, written from the manual's framing
/// (requests end CR, replies end LF CR): records every request and answers through a responder (null = silence).
/// No physics: these tests need exact control over each reply.
/// </summary>
internal sealed class ScriptedDanfysikDevice : IAsyncDisposable
{
    private readonly Stream _stream;
    private readonly Func<string, string?> _respond;
    private readonly Lock _lock = new();
    private readonly List<string> _requests = [];
    private readonly Task _loop;

    public ScriptedDanfysikDevice(Stream deviceSide, Func<string, string?> respond)
    {
        _stream = deviceSide;
        _respond = respond;
        _loop = Task.Run(ReadLoopAsync);
    }

    public IReadOnlyList<string> Requests
    {
        get
        {
            lock (_lock)
            {
                return _requests.ToArray();
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stream.DisposeAsync();
        await _loop;
    }

    private async Task ReadLoopAsync()
    {
        var buffer = new byte[1024];
        var line = new List<byte>();
        while (true)
        {
            int n;
            try
            {
                n = await _stream.ReadAsync(buffer);
            }
            catch (ObjectDisposedException)
            {
                return; // this side was closed by the test
            }

            if (n == 0)
            {
                return;
            }

            for (var i = 0; i < n; i++)
            {
                if (buffer[i] != '\r')
                {
                    line.Add(buffer[i]);
                    continue;
                }

                var request = Encoding.Latin1.GetString(line.ToArray());
                line.Clear();
                lock (_lock)
                {
                    _requests.Add(request);
                }

                var reply = _respond(request);
                if (reply is not null)
                {
                    await _stream.WriteAsync(Encoding.Latin1.GetBytes(reply + "\n\r"));
                }
            }
        }
    }
}
