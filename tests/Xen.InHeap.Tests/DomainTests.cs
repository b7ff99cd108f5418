using Xen.Evtchn;
using Xen.Evtchn.InHeap;
using Xen.Gnt;
using Xen.Gnt.InHeap;

namespace Xen.InHeap.Tests;

/// <summary><see cref="InHeapDomain"/>: one object for a domain, its memory wired to its events.</summary>
public sealed class DomainTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);
    private readonly InHeapEventHub _events = new();
    private readonly InHeapGrantHub _grants = new();

    public void Dispose()
    {
        _grants.Dispose();
        _events.Dispose();
    }

    private InHeapDomain Open(ushort id) =>
        InHeapDomain.Open(new InHeapDomainOptions { Domain = id, EventHub = _events, GrantHub = _grants });

    [Fact]
    public async Task A_domain_that_ends_with_a_page_mapped_still_sends_its_unmap_notification()
    {
        using var one = Open(1);
        var two = Open(2);
        var (port, sharer) = one.Events.Listen(2);
        var mapper = two.Events.Connect(1, port);
        using var share = one.Memory.Share(2, 1, writable: true);
        two.Memory.Map(1, share.Refs[0], writable: true, UnmapNotify.SendEvent(mapper.LocalPort.Value));
        two.Dispose();
        var seen = await one.Events.RecvAsync(sharer, EventCounter.Initial).AsTask().WaitAsync(Timeout);
        Assert.True(seen.Value >= 1);
    }

    [Fact]
    public void Without_hubs_in_the_options_a_domain_lives_on_the_process_wide_ones()
    {
        using var domain = InHeapDomain.Open(new InHeapDomainOptions { Domain = 4093 });
        Assert.Throws<InvalidOperationException>(() => InHeapBackend.EventHub.Open(4093));
    }
}
