using Microsoft.Extensions.DependencyInjection;
using Xen.Evtchn;
using Xen.Evtchn.Unix;
using Xen.Gnt;
using Xen.Gnt.Unix;
using Xen.Unix.Selection;

namespace Xen.Unix.Tests;

public sealed class DependencyInjectionTests
{
    [Fact]
    public void AddXenUnix_gives_both_backends_as_the_configured_domain()
    {
        using var root = new TempRoot();
        using (var provider = new ServiceCollection().AddXenUnix(o => { o.Root = root.Path; o.Domain = 4; }).BuildServiceProvider())
        {
            Assert.Equal(4, provider.GetRequiredService<UnixEvents>().LocalDomain);
            Assert.Equal(4, provider.GetRequiredService<UnixMemory>().LocalDomain);
            Assert.Equal(root.Path, provider.GetRequiredService<UnixEvents>().Root);
            Assert.Equal(root.Path, provider.GetRequiredService<UnixMemory>().Root);
        }
        Assert.Empty(root.Leftovers());
    }

    [Fact]
    public void AddXenUnix_registers_the_backend_structs_as_singletons_and_not_their_interfaces()
    {
        var services = new ServiceCollection().AddXenUnix().AddXenUnix();
        foreach (var type in new[] { typeof(UnixEvents), typeof(UnixMemory) })
            Assert.Equal(ServiceLifetime.Singleton, Assert.Single(services, d => d.ServiceType == type).Lifetime);
        Assert.DoesNotContain(services, d => d.ServiceType == typeof(IEvents) || d.ServiceType == typeof(IMemory));
    }

    [Fact]
    public async Task The_memorys_unmap_notification_is_sent_through_the_events_backend()
    {
        using var root = new TempRoot();
        using var provider = new ServiceCollection().AddXenUnix(o => { o.Root = root.Path; o.Domain = 4; }).BuildServiceProvider();
        var events = provider.GetRequiredService<UnixEvents>();
        var memory = provider.GetRequiredService<UnixMemory>();
        using var peerEvents = UnixEvents.Create(5, root.Path);
        using var peerMemory = UnixMemory.Create(5, root.Path);
        var (port, server) = peerEvents.Listen(4);
        var client = events.Connect(5, port);
        using var share = peerMemory.Share(4, 1, writable: true);
        var mapping = memory.Map(5, share.Refs[0], writable: true, UnmapNotify.SendEvent(client.LocalPort.Value));
        memory.Unmap(mapping);
        var seen = await peerEvents.RecvAsync(server, EventCounter.Initial).AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(1UL, seen.Value);
    }

    [Fact]
    public async Task Disposing_the_container_unmaps_while_the_events_can_still_send_the_notification()
    {
        using var root = new TempRoot();
        using var peerEvents = UnixEvents.Create(5, root.Path);
        using var peerMemory = UnixMemory.Create(5, root.Path);
        var provider = new ServiceCollection().AddXenUnix(o => { o.Root = root.Path; o.Domain = 4; }).BuildServiceProvider();
        var memory = provider.GetRequiredService<UnixMemory>();   // memory first: the container must still dispose it first
        var events = provider.GetRequiredService<UnixEvents>();
        var (port, server) = peerEvents.Listen(4);
        var client = events.Connect(5, port);
        using var share = peerMemory.Share(4, 1, writable: true);
        memory.Map(5, share.Refs[0], writable: true, UnmapNotify.SendEvent(client.LocalPort.Value));
        provider.Dispose();
        var seen = await peerEvents.RecvAsync(server, EventCounter.Initial).AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(1UL, seen.Value);
    }

    [Fact]
    public void AddXenBackend_registers_the_unix_backends_as_the_given_domain()
    {
        using var root = new TempRoot();
        using var provider = new ServiceCollection().AddXenBackend(6).Configure<UnixXenOptions>(o => o.Root = root.Path).BuildServiceProvider();
        Assert.Equal(6, provider.GetRequiredService<UnixEvents>().LocalDomain);
        Assert.Equal(6, provider.GetRequiredService<UnixMemory>().LocalDomain);
    }

    [Fact]
    public void Without_a_domain_id_resolving_the_backend_says_how_to_give_one()
    {
        using var root = new TempRoot();
        if (Environment.GetEnvironmentVariable("XEN_DOMID") is not null)
            return; // the environment gives one
        using var provider = new ServiceCollection().AddXenUnix(o => o.Root = root.Path).BuildServiceProvider();
        var error = Assert.Throws<InvalidOperationException>(() => provider.GetRequiredService<UnixMemory>());
        Assert.Contains("XEN_DOMID", error.Message);
    }
}
