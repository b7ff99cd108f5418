extern alias gnt;
extern alias xenctrl;
using System.Reflection;
using Xen.Evtchn;
using Xen.Evtchn.Xenctrl;
using Xen.Gnt;
using xenctrl::Xen.Xenctrl;
using XenctrlMemory = gnt::Xen.Gnt.Xenctrl.XenctrlMemory;

namespace Xen.Xenctrl.Tests;

/// <summary>Opening the domain, its id, and the packages' references.</summary>
public sealed class WiringTests
{
    private static string Missing(string name) => Path.Combine(Path.GetTempPath(), "no-xen-" + Guid.NewGuid().ToString("N"), name);

    [Fact]
    public async Task Opening_the_domain_without_the_event_device_fails_with_the_explained_error()
    {
        var path = Missing("evtchn");
        var e = await Assert.ThrowsAsync<EventChannelException>(() => XenctrlDomain.OpenAsync(new XenctrlDomainOptions { Domain = 3, EvtchnPath = path }));
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Opening_memory_without_the_devices_fails_with_the_explained_error()
    {
        var path = Missing("gntalloc");
        var e = Assert.Throws<GrantException>(() => XenctrlMemory.Open(3, path));
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_configured_domain_wins()
    {
        Assert.Equal((ushort)12, await XenctrlDomain.FindIdAsync(new XenctrlDomainOptions { Domain = 12 }, CancellationToken.None));
    }

    [Fact]
    public async Task Dom0_is_recognised_from_its_capabilities()
    {
        var capabilities = Path.GetTempFileName();
        try
        {
            File.WriteAllText(capabilities, "control_d\n");
            Assert.Equal((ushort)0, await XenctrlDomain.FindIdAsync(new XenctrlDomainOptions { CapabilitiesPath = capabilities, Xenstore = Missing("socket") }, CancellationToken.None));
        }
        finally
        {
            File.Delete(capabilities);
        }
    }

    [Fact]
    public async Task An_unknown_domain_id_says_what_to_set()
    {
        var capabilities = Path.GetTempFileName(); // empty: a domU
        try
        {
            var e = await Assert.ThrowsAsync<InvalidOperationException>(() =>
                XenctrlDomain.FindIdAsync(new XenctrlDomainOptions { CapabilitiesPath = capabilities, Xenstore = Missing("socket") }, CancellationToken.None));
            Assert.Contains("XenctrlDomainOptions.Domain", e.Message, StringComparison.Ordinal);
            Assert.Contains("xenstore-read domid", e.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(capabilities);
        }
    }

    [Theory]
    [InlineData(typeof(XenctrlEvents), "Xen.Evtchn")]
    [InlineData(typeof(XenctrlMemory), "Xen.Gnt")]
    public void A_backend_package_references_only_its_interface_package(Type backend, string interfacePackage)
    {
        var ours = backend.Assembly.GetReferencedAssemblies()
            .Select(r => r.Name!)
            .Where(n => !n.StartsWith("System", StringComparison.Ordinal) && n != "netstandard" && n != "mscorlib")
            .ToArray();
        Assert.Equal([interfacePackage], ours);
    }

    [Fact]
    public void The_composition_package_references_both_backends()
    {
        var names = typeof(XenctrlDomainOptions).Assembly.GetReferencedAssemblies().Select(r => r.Name).ToArray();
        Assert.Contains("Xen.Evtchn.Xenctrl", names);
        Assert.Contains("Xen.Gnt.Xenctrl", names);
        Assert.DoesNotContain(names, n => n!.Contains("Unix", StringComparison.Ordinal) || n.Contains("InHeap", StringComparison.Ordinal));
        _ = Assembly.GetExecutingAssembly();
    }
}
