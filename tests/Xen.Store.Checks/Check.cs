namespace Xen.Store.Checks;

/// <summary>A failed expectation inside a check.</summary>
internal sealed class CheckFailedException(string message) : Exception(message);

/// <summary>Small helpers for the checks, which run without a test framework inside dom0.</summary>
internal static class Check
{
    /// <summary>How long any single wait may take before the check fails instead of hanging.</summary>
    internal static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    internal static void That(bool condition, string what)
    {
        if (!condition)
            throw new CheckFailedException(what);
    }

    internal static CancellationToken Timeout => new CancellationTokenSource(Patience).Token;
}
