using System.Text;
using Microsoft.Extensions.Time.Testing;
using NA64.Hardware.Transport;
using NA64.Simulators.Serving;

namespace NA64.Simulators.Tests.Hv.CaenN1470.LineServing;

/// <summary>
/// A TimeProvider over a FakeTimeProvider that tells the test when a timer has been created, so the test can
/// advance simulated time only once the server really waits (no race between test and server threads).
/// </summary>
internal sealed class SignallingTime(FakeTimeProvider fake) : TimeProvider
{
    private readonly SemaphoreSlim _timers = new(0);

    public override long TimestampFrequency => fake.TimestampFrequency;

    public override long GetTimestamp() => fake.GetTimestamp();

    public override DateTimeOffset GetUtcNow() => fake.GetUtcNow();

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = fake.CreateTimer(callback, state, dueTime, period);
        _timers.Release();
        return timer;
    }

    /// <summary>Waits (real time, as a hang guard only) until the next timer has been created.</summary>
    public Task WaitForTimerAsync() => _timers.WaitAsync(ServingHarness.Guard);
}

/// <summary>A CAEN board served by a <see cref="LineDeviceServer"/> on one side of an in-memory duplex.</summary>
internal sealed class ServingHarness : IAsyncDisposable
{
    /// <summary>Real-time bound on awaits, so that a broken server fails the test instead of hanging it.</summary>
    public static readonly TimeSpan Guard = TimeSpan.FromSeconds(20);

    private readonly CancellationTokenSource _stop = new();
    private readonly List<byte> _received = [];

    public ServingHarness(int? baudRate = null)
    {
        Time = new SignallingTime(Caen.Time);
        Server = new LineDeviceServer(Caen.Wire, Time, baudRate: baudRate);
        (Host, Device) = InMemoryDuplex.CreatePair();
        Serving = Server.ServeAsync(Device, _stop.Token);
    }

    public CaenTestBoard Caen { get; } = new();

    public SignallingTime Time { get; }

    public LineDeviceServer Server { get; }

    public LineFaults Faults => Server.Faults;

    public Stream Host { get; }

    public Stream Device { get; }

    public Task Serving { get; }

    public void Advance(TimeSpan span) => Caen.Time.Advance(span);

    public Task SendAsync(string text) => Host.WriteAsync(Encoding.ASCII.GetBytes(text)).AsTask();

    /// <summary>Starts reading the next line (through "\r\n") from the host side.</summary>
    public Task<string> ReadLineAsync() => ReadLineCoreAsync().WaitAsync(Guard);

    public Task<string> AskAsync(string request)
    {
        var reply = ReadLineAsync();
        return SendAsync(request + "\r\n").ContinueWith(_ => reply, TaskScheduler.Default).Unwrap();
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Serving.WaitAsync(Guard));
        await Host.DisposeAsync();
        await Device.DisposeAsync();
        _stop.Dispose();
    }

    private async Task<string> ReadLineCoreAsync()
    {
        var buffer = new byte[256];
        while (true)
        {
            var text = Encoding.Latin1.GetString([.. _received]);
            var end = text.IndexOf("\r\n", StringComparison.Ordinal);
            if (end >= 0)
            {
                _received.RemoveRange(0, end + 2);
                return text[..(end + 2)];
            }

            var n = await Host.ReadAsync(buffer);
            if (n == 0)
            {
                throw new EndOfStreamException($"server closed the stream; unterminated bytes: '{text}'");
            }

            _received.AddRange(buffer.AsSpan(0, n));
        }
    }
}
