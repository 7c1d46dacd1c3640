using System.Text;

namespace NA64.Hardware.Tests.Hv.CaenN1470;

/// <summary>
/// A scripted stand-in for a CAEN board on the device side of an in-memory duplex: it records every request line
/// and every byte, and answers through a responder (null = silence). No physics: tests that need a believable
/// board use the simulator; these tests need exact control over each reply.
/// </summary>
internal sealed class ScriptedCaenDevice : IAsyncDisposable
{
    private readonly Stream _stream;
    private readonly Func<string, string?> _respond;
    private readonly Lock _lock = new();
    private readonly List<string> _requests = [];
    private readonly MemoryStream _received = new();
    private readonly List<(Func<string, bool> Match, TaskCompletionSource<string> Done)> _waiters = [];
    private readonly Task _loop;

    public ScriptedCaenDevice(Stream deviceSide, Func<string, string?> respond)
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

    public byte[] ReceivedBytes
    {
        get
        {
            lock (_lock)
            {
                return _received.ToArray();
            }
        }
    }

    /// <summary>Completes when a request matching <paramref name="match"/> has arrived (at once if it already has).</summary>
    public Task<string> WaitForRequestAsync(Func<string, bool> match)
    {
        lock (_lock)
        {
            foreach (string r in _requests)
            {
                if (match(r))
                {
                    return Task.FromResult(r);
                }
            }

            var done = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Add((match, done));
            return done.Task;
        }
    }

    public Task<string> WaitForRequestAsync(string request) => WaitForRequestAsync(r => r == request);

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

            lock (_lock)
            {
                _received.Write(buffer, 0, n);
            }

            for (int i = 0; i < n; i++)
            {
                line.Add(buffer[i]);
                if (line.Count >= 2 && line[^2] == '\r' && line[^1] == '\n')
                {
                    string request = Encoding.Latin1.GetString(line.ToArray(), 0, line.Count - 2);
                    line.Clear();
                    string? reply = _respond(request);
                    if (reply is not null)
                    {
                        await _stream.WriteAsync(Encoding.Latin1.GetBytes(reply + "\r\n"));
                    }

                    // Recorded after the reply is written, so a test that saw the request also sees its reply sent.
                    Record(request);
                }
            }
        }
    }

    private void Record(string request)
    {
        List<TaskCompletionSource<string>> done = [];
        lock (_lock)
        {
            _requests.Add(request);
            for (int i = _waiters.Count - 1; i >= 0; i--)
            {
                if (_waiters[i].Match(request))
                {
                    done.Add(_waiters[i].Done);
                    _waiters.RemoveAt(i);
                }
            }
        }

        foreach (var d in done)
        {
            d.TrySetResult(request);
        }
    }
}

/// <summary>
/// Canned replies of a four-channel N1470 at one address: identity, ranges and a poll snapshot, all in the
/// zero-padded wire formats of device-protocols.md §1.4. SETs are acknowledged unless a test says otherwise.
/// </summary>
internal sealed class CannedN1470
{
    private readonly string _bd;

    public CannedN1470(int board = 0)
    {
        _bd = board.ToString("00", System.Globalization.CultureInfo.InvariantCulture);
        Board("BDNAME", "N1470");
        Board("BDNCH", "4");
        Board("BDFREL", "1.08");
        Board("BDSNUM", "0123");
        All("VMIN", "0000.0;0000.0;0000.0;0000.0");
        All("VMAX", "8000.0;8000.0;8000.0;5500.0");
        All("VDEC", "1;1;1;1");
        All("IMIN", "0000.00;0000.00;0000.00;0000.00");
        All("IMAX", "3000.00;3000.00;3000.00;3000.00");
        All("ISDEC", "2;2;2;2");
        All("RUPMIN", "001;001;001;001");
        All("RUPMAX", "500;500;500;500");
        All("RDWMIN", "001;001;001;001");
        All("RDWMAX", "500;500;500;500");
        All("TRIPMIN", "0000.0;0000.0;0000.0;0000.0");
        All("TRIPMAX", "1000.0;1000.0;1000.0;1000.0");
        All("MVMIN", "0000;0000;0000;0000");
        All("MVMAX", "8100;8100;8100;8100");
        All("VSET", "0000.0;1500.0;0010.0;0000.0");
        All("VMON", "0000.0;1499.8;0010.0;0000.0");
        All("ISET", "0010.00;0001.10;0002.00;0010.00");
        All("IMON", "0000.00;0000.52;0000.01;0000.00");
        All("STAT", "00000;00011;02048;00128");
        Board("BDILK", "NO");
        Board("BDCTR", "REMOTE");
        Board("BDALARM", "00008");
    }

    /// <summary>Request line (no terminator) to reply line (no terminator); absent requests get CMD:ERR.</summary>
    public Dictionary<string, string> Replies { get; } = new(StringComparer.Ordinal);

    /// <summary>Requests answered with silence.</summary>
    public HashSet<string> Silent { get; } = new(StringComparer.Ordinal);

    public string Prefix => "#BD:" + _bd + ",";

    public void Board(string parameter, string value) =>
        Replies[$"$BD:{_bd},CMD:MON,PAR:{parameter}"] = $"#BD:{_bd},CMD:OK,VAL:{value}";

    public void All(string parameter, string values) =>
        Replies[$"$BD:{_bd},CMD:MON,CH:4,PAR:{parameter}"] = $"#BD:{_bd},CMD:OK,VAL:{values}";

    public void Channel(int channel, string parameter, string value) =>
        Replies[$"$BD:{_bd},CMD:MON,CH:{channel},PAR:{parameter}"] = $"#BD:{_bd},CMD:OK,VAL:{value}";

    public string? Respond(string request)
    {
        if (Silent.Contains(request))
        {
            return null;
        }

        if (Replies.TryGetValue(request, out string? reply))
        {
            return reply;
        }

        return request.Contains(",CMD:SET,", StringComparison.Ordinal) ? $"#BD:{_bd},CMD:OK" : $"#BD:{_bd},CMD:ERR";
    }
}
