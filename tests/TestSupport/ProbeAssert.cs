using Xunit;

namespace TestSupport;

/// <summary>Compares what a C probe printed with the C# definitions, naming every mismatch at once.</summary>
public static class ProbeAssert
{
    /// <summary>
    /// Asserts that each expected <c>name=value</c> pair equals the probe's, and that the probe printed
    /// nothing the test forgot to check.
    /// </summary>
    public static void Matches(IReadOnlyDictionary<string, long> probe, IReadOnlyDictionary<string, long> expected)
    {
        var problems = new List<string>();
        foreach (var (name, value) in expected)
        {
            if (!probe.TryGetValue(name, out var actual))
                problems.Add($"{name}: the probe does not print it");
            else if (actual != value)
                problems.Add($"{name}: C says {actual}, C# says {value}");
        }
        foreach (var name in probe.Keys.Where(k => !expected.ContainsKey(k)))
            problems.Add($"{name}: printed by the probe but not compared");
        Assert.True(problems.Count == 0, "Layout or constant mismatches:\n" + string.Join('\n', problems));
    }
}
