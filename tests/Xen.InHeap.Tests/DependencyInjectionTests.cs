using Microsoft.Extensions.DependencyInjection;
using Xen.Evtchn;
using Xen.Evtchn.InHeap;
using Xen.Gnt;
using Xen.Gnt.InHeap;

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
}
