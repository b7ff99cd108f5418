using Microsoft.Extensions.DependencyInjection;
using Xen.Evtchn;
using Xen.Evtchn.InHeap;
using Xen.Gnt;
using Xen.Gnt.InHeap;
using Xen.InHeap.Selection;

namespace Xen.InHeap.Tests;

public sealed class DependencyInjectionTests
{
    [Fact]
    public void AddXenInHeap_registers_events_and_memory_for_the_configured_domain()
    {
        using var provider = new ServiceCollection().AddXenInHeap(options => options.Domain = 3).BuildServiceProvider();
        Assert.Equal((ushort)3, provider.GetRequiredService<InHeapEvents>().LocalDomain);
        Assert.Equal((ushort)3, provider.GetRequiredService<InHeapMemory>().LocalDomain);
        Assert.Same(provider.GetRequiredService<InHeapEventHub>(), provider.GetRequiredService<InHeapEventHub>());
        Assert.True(provider.GetRequiredService<InHeapGrantHub>().IsOpen(3));
    }

    [Fact]
    public void AddXenInHeap_registers_the_backend_structs_as_singletons_and_not_their_interfaces()
    {
        var services = new ServiceCollection().AddXenInHeap().AddXenInHeap();
        foreach (var type in new[] { typeof(InHeapEvents), typeof(InHeapMemory) })
            Assert.Equal(ServiceLifetime.Singleton, Assert.Single(services, d => d.ServiceType == type).Lifetime);
        Assert.DoesNotContain(services, d => d.ServiceType == typeof(IEvents) || d.ServiceType == typeof(IMemory));
    }

    [Fact]
    public void The_domain_defaults_to_0()
    {
        using var provider = new ServiceCollection().AddXenInHeap().BuildServiceProvider();
        Assert.Equal((ushort)0, provider.GetRequiredService<InHeapEvents>().LocalDomain);
    }

    [Fact]
    public async Task The_memorys_unmap_notifications_are_sent_on_the_events()
    {
        var eventHub = new InHeapEventHub();
        var grantHub = new InHeapGrantHub();
        using var peer = InHeapDomain.Open(eventHub, grantHub, 1);
        using (var provider = new ServiceCollection()
            .AddSingleton(eventHub).AddSingleton(grantHub)
            .AddXenInHeap(options => options.Domain = 2).BuildServiceProvider())
        {
            var events = provider.GetRequiredService<InHeapEvents>();
            var memory = provider.GetRequiredService<InHeapMemory>();
            var (port, peerChannel) = peer.Events.Listen(2);
            var channel = events.Connect(1, port);
            using var share = peer.Memory.Share(2, 1, writable: true);
            var mapping = memory.Map(1, share.Refs[0], writable: true, UnmapNotify.SendEvent(channel.LocalPort.Value));
            memory.Unmap(mapping);
            var seen = await peer.Events.RecvAsync(peerChannel, EventCounter.Initial).AsTask().WaitAsync(TimeSpan.FromSeconds(10));
            Assert.Equal(1ul, seen.Value);
        }
        eventHub.Dispose();
        grantHub.Dispose();
    }

    [Fact]
    public async Task Disposing_the_container_unmaps_while_the_events_can_still_send_the_notification()
    {
        // Memory resolved first: whatever the order, the container must dispose it before the events.
        using var eventHub = new InHeapEventHub();
        using var grantHub = new InHeapGrantHub();
        using var peer = InHeapDomain.Open(eventHub, grantHub, 1);
        var provider = new ServiceCollection().AddSingleton(eventHub).AddSingleton(grantHub)
            .AddXenInHeap(options => options.Domain = 2).BuildServiceProvider();
        var memory = provider.GetRequiredService<InHeapMemory>();
        var events = provider.GetRequiredService<InHeapEvents>();
        var (port, peerChannel) = peer.Events.Listen(2);
        var channel = events.Connect(1, port);
        using var share = peer.Memory.Share(2, 1, writable: true);
        memory.Map(1, share.Refs[0], writable: true, UnmapNotify.SendEvent(channel.LocalPort.Value));
        provider.Dispose();
        var seen = await peer.Events.RecvAsync(peerChannel, EventCounter.Initial).AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(1ul, seen.Value);
    }

    [Fact]
    public async Task Disposing_the_container_ends_the_domain_and_its_peers_see_it()
    {
        var eventHub = new InHeapEventHub();
        using var peer = eventHub.Open(1);
        var provider = new ServiceCollection().AddSingleton(eventHub).AddXenInHeap(options => options.Domain = 2).BuildServiceProvider();
        var (port, peerChannel) = peer.Listen(2);
        provider.GetRequiredService<InHeapEvents>().Connect(1, port);
        var wait = peer.RecvAsync(peerChannel, EventCounter.Initial).AsTask();
        provider.Dispose();
        await Assert.ThrowsAsync<PeerClosedException>(() => wait.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.False(eventHub.IsOpen(2));
        eventHub.Dispose();
    }

    [Fact]
    public void Disposing_the_container_releases_the_memory()
    {
        var provider = new ServiceCollection().AddXenInHeap(options => options.Domain = 4).BuildServiceProvider();
        var hub = provider.GetRequiredService<InHeapGrantHub>();
        provider.GetRequiredService<InHeapMemory>().Share(5, 2, writable: true);
        Assert.Equal(2, hub.PagesHeld);
        provider.Dispose();
        Assert.Equal(0, hub.PagesHeld);
        Assert.False(hub.IsOpen(4));
    }

    [Fact]
    public void AddXenBackend_opens_the_domain_on_the_process_wide_hubs_and_leaves_them_open()
    {
        // Domain ids unused elsewhere in this assembly: the hubs are shared by the whole process.
        using (var provider = new ServiceCollection().AddXenBackend(301).BuildServiceProvider())
        {
            Assert.Same(InHeapBackend.EventHub, provider.GetRequiredService<InHeapEventHub>());
            Assert.Same(InHeapBackend.GrantHub, provider.GetRequiredService<InHeapGrantHub>());
            Assert.Equal((ushort)301, provider.GetRequiredService<InHeapMemory>().LocalDomain);
            Assert.True(InHeapBackend.EventHub.IsOpen(301));
        }
        Assert.False(InHeapBackend.EventHub.IsOpen(301));
        Assert.False(InHeapBackend.GrantHub.IsOpen(301));
        using var reopened = InHeapBackend.OpenEvents(301);   // the hubs are not disposed with the container
        Assert.Equal((ushort)301, reopened.LocalDomain);
    }

    [Fact]
    public void Two_containers_with_AddXenBackend_are_two_domains_that_meet()
    {
        using var one = new ServiceCollection().AddXenBackend(311).BuildServiceProvider();
        using var two = new ServiceCollection().AddXenBackend(312).BuildServiceProvider();
        var memoryOne = one.GetRequiredService<InHeapMemory>();
        using var share = memoryOne.Share(312, 1, writable: true);
        share.Span[0] = 42;
        var mapping = two.GetRequiredService<InHeapMemory>().Map(311, share.Refs[0], writable: false);
        Assert.Equal(42, mapping.ReadOnlySpan[0]);
        two.GetRequiredService<InHeapMemory>().Unmap(mapping);
    }
}
