namespace TestSupport;

/// <summary>
/// Waits for a state another thread reaches, such as a receiver asleep on its channel, so that a test
/// checks "still waiting" only once the waiting has begun, not after a sleep that hopes it has.
/// </summary>
public static class Until
{
    /// <summary>Polls <paramref name="condition"/> every millisecond; throws if it does not hold within 30 s.</summary>
    public static async Task TrueAsync(Func<bool> condition, string what)
    {
        ArgumentNullException.ThrowIfNull(condition);
        using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (!condition())
        {
            if (bound.IsCancellationRequested)
                throw new TimeoutException($"Never saw {what}.");
            await Task.Delay(1, CancellationToken.None);
        }
    }
}
