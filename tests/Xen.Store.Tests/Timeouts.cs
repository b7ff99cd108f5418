namespace Xen.Store.Tests;

internal static class Timeouts
{
    /// <summary>A generous bound so that a broken test fails instead of hanging.</summary>
    public static CancellationToken Token => new CancellationTokenSource(TimeSpan.FromSeconds(30)).Token;

    public static Task<T> Within<T>(this Task<T> task) => task.WaitAsync(TimeSpan.FromSeconds(30));

    public static Task Within(this Task task) => task.WaitAsync(TimeSpan.FromSeconds(30));
}
