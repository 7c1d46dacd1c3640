namespace NA64.Integration.Tests;

/// <summary>
/// Real-time safety net for awaits on real I/O (pty, TCP): a hang fails the test instead of blocking the run.
/// It is never an assertion about timing; everything the tests check runs on a FakeTimeProvider.
/// </summary>
internal static class Safety
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    public static Task Within(Task task) => task.WaitAsync(Timeout);

    public static Task<T> Within<T>(Task<T> task) => task.WaitAsync(Timeout);
}
