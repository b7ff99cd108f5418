extern alias gnt;
extern alias xenctrl;
using System.Reflection;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Xen.Evtchn;
using Xen.Evtchn.Xenctrl;
using Xen.Gnt;
using xenctrl::Xen.Xenctrl;
using XenctrlMemory = gnt::Xen.Gnt.Xenctrl.XenctrlMemory;

namespace Xen.Xenctrl.Tests;

/// <summary><c>AddXenctrl</c>, the factory, the domain id, and the packages' references.</summary>
public sealed class WiringTests
{
    private static string Missing(string name) => Path.Combine(Path.GetTempPath(), "no-xen-" + Guid.NewGuid().ToString("N"), name);

    [Fact]
    public void AddXenctrl_registers_both_backends_and_their_interfaces_as_singletons()
    {
        var services = new ServiceCollection().AddXenctrl();
        foreach (var type in new[] { typeof(IEvents), typeof(IMemory), typeof(XenctrlEvents), typeof(XenctrlMemory) })
        {
            var descriptor = Assert.Single(services, d => d.ServiceType == type);
            Assert.Equal(ServiceLifetime.Singleton, descriptor.Lifetime);
        }
    }

    [Fact]
    public void AddXenctrl_applies_the_configured_options()
    {
        using var provider = new ServiceCollection().AddXenctrl(o => { o.LocalDomain = 7; o.EvtchnPath = "/x/evtchn"; }).BuildServiceProvider();
        var options = provider.GetRequiredService<IOptions<XenctrlOptions>>().Value;
        Assert.Equal((ushort)7, options.LocalDomain);
        Assert.Equal("/x/evtchn", options.EvtchnPath);
    }

    [Fact]
    public void Resolving_events_without_the_device_fails_with_the_explained_error()
    {
        var path = Missing("evtchn");
        using var provider = new ServiceCollection().AddXenctrl(o => { o.LocalDomain = 3; o.EvtchnPath = path; }).BuildServiceProvider();
        var e = Assert.Throws<EventChannelException>(() => provider.GetRequiredService<IEvents>());
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Resolving_memory_without_the_devices_fails_with_the_explained_error()
    {
        var path = Missing("gntalloc");
        using var provider = new ServiceCollection().AddXenctrl(o => { o.LocalDomain = 3; o.GntallocPath = path; }).BuildServiceProvider();
        var e = Assert.Throws<GrantException>(() => provider.GetRequiredService<IMemory>());
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_configured_local_domain_wins()
    {
        Assert.Equal((ushort)12, XenctrlBackends.ResolveLocalDomain(new XenctrlOptions { LocalDomain = 12 }));
    }

    [Fact]
    public void Dom0_is_recognised_from_its_capabilities()
    {
        var capabilities = Path.GetTempFileName();
        try
        {
            File.WriteAllText(capabilities, "control_d\n");
            Assert.Equal((ushort)0, XenctrlBackends.ResolveLocalDomain(new XenctrlOptions { CapabilitiesPath = capabilities, XenbusPath = Missing("xenbus") }));
        }
        finally
        {
            File.Delete(capabilities);
        }
    }

    [Fact]
    public void An_unknown_domain_id_says_what_to_set()
    {
        var capabilities = Path.GetTempFileName(); // empty: a domU
        try
        {
            var e = Assert.Throws<InvalidOperationException>(() =>
                XenctrlBackends.ResolveLocalDomain(new XenctrlOptions { CapabilitiesPath = capabilities, XenbusPath = Missing("xenbus") }));
            Assert.Contains("LocalDomain", e.Message, StringComparison.Ordinal);
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
        var names = typeof(XenctrlOptions).Assembly.GetReferencedAssemblies().Select(r => r.Name).ToArray();
        Assert.Contains("Xen.Evtchn.Xenctrl", names);
        Assert.Contains("Xen.Gnt.Xenctrl", names);
        Assert.DoesNotContain(names, n => n!.Contains("Unix", StringComparison.Ordinal) || n.Contains("InHeap", StringComparison.Ordinal));
        _ = Assembly.GetExecutingAssembly();
    }
}
