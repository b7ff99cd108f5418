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
using XenctrlSelection = xenctrl::Xen.Xenctrl.Selection.XenBackendServiceCollectionExtensions;

namespace Xen.Xenctrl.Tests;

/// <summary><c>AddXenctrl</c>, the factory, the domain id, and the packages' references.</summary>
public sealed class WiringTests
{
    private static string Missing(string name) => Path.Combine(Path.GetTempPath(), "no-xen-" + Guid.NewGuid().ToString("N"), name);

    [Fact]
    public void AddXenctrl_registers_the_backend_structs_as_singletons_and_not_their_interfaces()
    {
        var services = new ServiceCollection().AddXenctrl().AddXenctrl();
        foreach (var type in new[] { typeof(XenctrlEvents), typeof(XenctrlMemory) })
            Assert.Equal(ServiceLifetime.Singleton, Assert.Single(services, d => d.ServiceType == type).Lifetime);
        Assert.DoesNotContain(services, d => d.ServiceType == typeof(IEvents) || d.ServiceType == typeof(IMemory));
    }

    [Fact]
    public void AddXenBackend_registers_xenctrl_for_the_given_domain()
    {
        using var provider = XenctrlSelection.AddXenBackend(new ServiceCollection(), 9).BuildServiceProvider();
        Assert.Equal((ushort)9, provider.GetRequiredService<IOptions<XenctrlOptions>>().Value.LocalDomain);
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
        var e = Assert.Throws<EventChannelException>(() => provider.GetRequiredService<XenctrlEvents>());
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Resolving_memory_opens_the_events_first_so_that_the_container_disposes_the_memory_before_them()
    {
        var evtchn = Missing("evtchn");
        var gntalloc = Missing("gntalloc");
        using var provider = new ServiceCollection().AddXenctrl(o => { o.LocalDomain = 3; o.EvtchnPath = evtchn; o.GntallocPath = gntalloc; }).BuildServiceProvider();
        var e = Assert.Throws<EventChannelException>(() => provider.GetRequiredService<XenctrlMemory>());
        Assert.Contains(evtchn, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Opening_memory_without_the_devices_fails_with_the_explained_error()
    {
        var path = Missing("gntalloc");
        var e = Assert.Throws<GrantException>(() => XenctrlBackends.OpenMemory(new XenctrlOptions { LocalDomain = 3, GntallocPath = path }));
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
