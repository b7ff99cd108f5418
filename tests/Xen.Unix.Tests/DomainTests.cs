using Xen.Evtchn;
using Xen.Gnt;
using Xen.Store;
using Xen.Store.Server;

namespace Xen.Unix.Tests;

/// <summary><see cref="UnixDomain"/>: one object for a domain, its memory wired to its events.</summary>
public sealed class DomainTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);
    private readonly TempRoot _root = new();

    public void Dispose() => _root.Dispose();

    private UnixDomain Open(ushort id, string? xenstore = null) =>
        UnixDomain.Open(new UnixDomainOptions { Domain = id, Root = _root.Path, Xenstore = xenstore });

    // Domain 1 shares a page with domain 2 and listens; domain 2 maps it, asking for an event on its
    // end of the channel when the mapping goes.
    private static (Channel Sharer, Mapping Mapping, Share Share) MapWithUnmapEvent(UnixDomain one, UnixDomain two)
    {
        var (port, sharer) = one.Events.Listen(2);
        var mapper = two.Events.Connect(1, port);
        var share = one.Memory.Share(2, 1, writable: true);
        var mapping = two.Memory.Map(1, share.Refs[0], writable: true, UnmapNotify.SendEvent(mapper.LocalPort.Value));
        return (sharer, mapping, share);
    }

    [Fact]
    public async Task An_unmap_notification_reaches_the_sharer_through_the_mappers_events()
    {
        using var one = Open(1);
        using var two = Open(2);
        var (sharer, mapping, share) = MapWithUnmapEvent(one, two);
        using (share)
        {
            two.Memory.Unmap(mapping);
            var seen = await one.Events.RecvAsync(sharer, EventCounter.Initial).AsTask().WaitAsync(Timeout);
            Assert.True(seen.Value >= 1);
        }
    }

    [Fact]
    public async Task A_domain_that_ends_with_a_page_mapped_still_sends_its_unmap_notification()
    {
        using var one = Open(1);
        var two = Open(2);
        var (sharer, _, share) = MapWithUnmapEvent(one, two);
        using (share)
        {
            // Memory goes first, while the events can still carry the notification.
            two.Dispose();
            var seen = await one.Events.RecvAsync(sharer, EventCounter.Initial).AsTask().WaitAsync(Timeout);
            Assert.True(seen.Value >= 1);
        }
    }

    [Fact]
    public void Both_halves_act_as_the_domain_the_options_name()
    {
        using var domain = Open(7);
        Assert.Equal((ushort)7, domain.Id);
        Assert.Equal((ushort)7, domain.Events.LocalDomain);
        Assert.Equal((ushort)7, domain.Memory.LocalDomain);
    }

    [Fact]
    public void A_second_open_of_a_live_domain_fails_and_leaves_the_first_working()
    {
        using var first = Open(3);
        Assert.Throws<InvalidOperationException>(() => Open(3));
        using var peer = Open(4);
        var (port, _) = first.Events.Listen(4);
        peer.Events.Connect(3, port);
    }

    [Fact]
    public async Task Its_Xenstore_connection_acts_as_the_domain()
    {
        using var server = new XenstoreServer();
        var socket = Path.Combine(_root.Path, "xenstored");
        using var stop = new CancellationTokenSource();
        var ready = new TaskCompletionSource();
        var listening = server.ListenAsync(socket, ready.SetResult, stop.Token);
        await ready.Task.WaitAsync(Timeout);
        await using (var dom0 = await XenstoreClient.OpenAsync(socket))
        {
            await dom0.WriteAsync("/local/domain/5/name", "five");
            await dom0.SetPermissionsAsync("/local/domain/5/name", XsPermissions.Create(0, XsAccess.None, new XsPermission(5, XsAccess.Read)));
            await dom0.WriteAsync("/secret", "dom0 only");
        }
        using (var domain = Open(5, socket))
        {
            await using var store = await domain.OpenXenstoreAsync();
            Assert.Equal("five", await store.ReadAsync("name"));
            Assert.Equal(XsError.EACCES, (await Assert.ThrowsAsync<XenstoreException>(() => store.ReadAsync("/secret"))).Error);
        }
        await stop.CancelAsync();
        await listening.WaitAsync(Timeout);
    }
}
