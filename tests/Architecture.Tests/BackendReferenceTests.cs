using System.Reflection;

namespace Architecture.Tests;

/// <summary>The one hard rule of the design: a driver never references a backend, even indirectly.</summary>
public sealed class BackendReferenceTests
{
    private static readonly string[] InterfaceAssemblies = ["Xen.Evtchn", "Xen.Gnt"];
    private static readonly string[] BackendAggregates = ["Xen.InHeap", "Xen.Unix", "Xen.Xenctrl", "Xen.Xen"];

    public static TheoryData<string> Drivers => new(DriverAssemblies.Names);

    [Theory]
    [MemberData(nameof(Drivers))]
    public void A_driver_references_no_backend(string driver)
    {
        var backends = ReferencedBackends(LoadOrFail(driver));
        Assert.True(backends.Count == 0,
            $"{driver} references backend assemblies: {string.Join(", ", backends)}. Drivers may use only the interface packages.");
    }

    [Fact]
    public void The_check_catches_a_backend_reference()
    {
        // Xen.InHeap is a backend that references both in-heap backends: a driver that did so must fail.
        var backends = ReferencedBackends(LoadOrFail("Xen.InHeap"));
        Assert.Contains("Xen.Evtchn.InHeap", backends);
        Assert.Contains("Xen.Gnt.InHeap", backends);
    }

    [Fact]
    public void Backend_names_are_recognised_and_interfaces_are_not()
    {
        Assert.True(IsBackend("Xen.Evtchn.Unix"));
        Assert.True(IsBackend("Xen.Gnt.Xenctrl"));
        Assert.True(IsBackend("Xen.Xen"));
        Assert.False(IsBackend("Xen.Evtchn"));
        Assert.False(IsBackend("Xen.Gnt"));
        Assert.False(IsBackend("Xen.Store"));
    }

    [Fact]
    public void Every_listed_driver_is_built_and_referenced()
    {
        Assert.NotEmpty(DriverAssemblies.Names);
        foreach (var driver in DriverAssemblies.Names)
            LoadOrFail(driver);
    }

    internal static bool IsBackend(string name) =>
        (name.StartsWith("Xen.Evtchn.", StringComparison.Ordinal) || name.StartsWith("Xen.Gnt.", StringComparison.Ordinal)
            || BackendAggregates.Contains(name, StringComparer.Ordinal))
        && !InterfaceAssemblies.Contains(name, StringComparer.Ordinal);

    private static Assembly LoadOrFail(string name)
    {
        try
        {
            return Assembly.Load(new AssemblyName(name));
        }
        catch (FileNotFoundException e)
        {
            Assert.Fail($"The assembly {name} is missing: add its ProjectReference to Architecture.Tests.csproj ({e.Message}).");
            throw;
        }
    }

    // Every backend the assembly references, directly or through another of the project's assemblies.
    private static SortedSet<string> ReferencedBackends(Assembly root)
    {
        var backends = new SortedSet<string>(StringComparer.Ordinal);
        var seen = new HashSet<string>(StringComparer.Ordinal) { root.GetName().Name! };
        var pending = new Stack<Assembly>([root]);
        while (pending.TryPop(out var assembly))
        {
            foreach (var reference in assembly.GetReferencedAssemblies())
            {
                var name = reference.Name!;
                if (!seen.Add(name) || IsFramework(name))
                    continue;
                if (IsBackend(name))
                    backends.Add(name);
                pending.Push(LoadOrFail(name));
            }
        }
        return backends;
    }

    private static bool IsFramework(string name) =>
        name.StartsWith("System", StringComparison.Ordinal) || name.StartsWith("Microsoft.", StringComparison.Ordinal)
        || name is "netstandard" or "mscorlib" or "FSharp.Core";
}
