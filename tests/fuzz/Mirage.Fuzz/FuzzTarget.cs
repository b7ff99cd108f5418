namespace Mirage.Fuzz;

/// <summary>
/// One fuzz target: feeds bytes to the library the way a hostile peer's bytes would arrive. It returns
/// when the library took the input or rejected it in a documented way, and throws
/// <see cref="FuzzFinding"/> (or lets any other exception out) when the library did something else.
/// </summary>
public abstract class FuzzTarget
{
    /// <summary>The name on the command line, in the corpus folder and in run.sh's report.</summary>
    public abstract string Name { get; }

    /// <summary>Runs one input. Must not leave threads running or memory mapped behind it.</summary>
    public abstract void Run(ReadOnlySpan<byte> input);

    /// <summary>A few small valid inputs that reach the interesting code: the seed corpus.</summary>
    public abstract IEnumerable<(string Name, byte[] Input)> Seeds();
}

/// <summary>The library broke a rule the fuzz target checks: a crash to keep as a regression test.</summary>
public sealed class FuzzFinding : Exception
{
    /// <summary>Creates the finding.</summary>
    public FuzzFinding(string message) : base(message) { }

    /// <summary>Creates the finding with the exception that showed it.</summary>
    public FuzzFinding(string message, Exception innerException) : base(message, innerException) { }

    /// <summary>Creates a finding with no message.</summary>
    public FuzzFinding() { }
}

/// <summary>Every target, by name.</summary>
public static class FuzzTargets
{
    /// <summary>The targets in the order run.sh runs them.</summary>
    public static IReadOnlyList<FuzzTarget> All { get; } =
    [
        new RingIndexTarget(),
        new XenstoreWireTarget(),
        new XenstorePathTarget(),
        new NetbackTxTarget(),
        new NetfrontRxTarget(),
        new BlkbackRequestTarget(),
        new VchanControlTarget(),
    ];

    /// <summary>The target called <paramref name="name"/>, or null.</summary>
    public static FuzzTarget? Find(string name) => All.FirstOrDefault(t => t.Name == name);
}
