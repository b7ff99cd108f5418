using System.Reflection;
using Xen.Evtchn.Xen;
using Xen.Gnt.Xen;

namespace Xen.Guest.Tests;

/// <summary>The guest backends run with no operating system underneath: no native calls, and no package of ours but their interface.</summary>
public sealed class PackageRulesTests
{
    [Theory]
    [InlineData(typeof(XenEvents), "Xen.Evtchn")]
    [InlineData(typeof(XenMemory), "Xen.Gnt")]
    public void A_guest_backend_references_only_its_interface_package(Type backend, string interfacePackage)
    {
        var ours = backend.Assembly.GetReferencedAssemblies()
            .Select(a => a.Name!)
            .Where(n => !n.StartsWith("System", StringComparison.Ordinal) && n != "netstandard" && n != "mscorlib");

        Assert.Equal([interfacePackage], ours);
    }

    [Theory]
    [InlineData(typeof(XenEvents))]
    [InlineData(typeof(XenMemory))]
    public void A_guest_backend_makes_no_native_calls(Type backend)
    {
        const BindingFlags all = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static | BindingFlags.Instance | BindingFlags.DeclaredOnly;
        var native = backend.Assembly.GetTypes()
            .SelectMany(t => t.GetMethods(all))
            .Where(m => (m.Attributes & MethodAttributes.PinvokeImpl) != 0 || m.GetMethodImplementationFlags().HasFlag(MethodImplAttributes.InternalCall))
            .Select(m => $"{m.DeclaringType}.{m.Name}");

        Assert.Empty(native);
    }
}
