namespace Xen.Xenctrl.Checks;

/// <summary>A failed expectation inside a check.</summary>
internal sealed class CheckFailedException(string message) : Exception(message);

/// <summary>Small assertions for the checks, which run without a test framework inside dom0.</summary>
internal static class Check
{
    /// <summary>How long any single wait may take before the check fails instead of hanging.</summary>
    internal static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    internal static void That(bool condition, string what)
    {
        if (!condition)
            throw new CheckFailedException(what);
    }

    internal static void Equal<T>(T expected, T actual, string what)
    {
        if (!EqualityComparer<T>.Default.Equals(expected, actual))
            throw new CheckFailedException($"{what}: expected {expected}, got {actual}");
    }

    internal static TException Throws<TException>(Action action, string what) where TException : Exception
    {
        try
        {
            action();
        }
        catch (TException e)
        {
            return e;
        }
        catch (Exception e)
        {
            throw new CheckFailedException($"{what}: expected {typeof(TException).Name}, got {e.GetType().Name}: {e.Message}");
        }
        throw new CheckFailedException($"{what}: expected {typeof(TException).Name}, nothing was thrown");
    }

    internal static async Task<TException> ThrowsAsync<TException>(Func<Task> action, string what) where TException : Exception
    {
        try
        {
            await action();
        }
        catch (TException e)
        {
            return e;
        }
        catch (Exception e)
        {
            throw new CheckFailedException($"{what}: expected {typeof(TException).Name}, got {e.GetType().Name}: {e.Message}");
        }
        throw new CheckFailedException($"{what}: expected {typeof(TException).Name}, nothing was thrown");
    }

    /// <summary>Polls <paramref name="condition"/> until it holds or <see cref="Patience"/> runs out.</summary>
    internal static async Task Eventually(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
                throw new CheckFailedException($"{what} (waited {Patience.TotalSeconds:0} s)");
            await Task.Delay(10);
        }
    }
}
