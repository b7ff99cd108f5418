using SharedMemoryRing;
using Xen.Evtchn;
using Xen.Evtchn.InHeap;
using Xen.Gnt;
using Xen.Gnt.InHeap;
using Xen.Store.Server;

namespace Xen.Store.Tests;

/// <summary>Guests on the Xenstore shared page and an event channel, as under Xen, over the in-heap backends.</summary>
public sealed class SharedPageTests : IAsyncLifetime
{
    private readonly InHeapEventHub _eventHub = new();
    private readonly InHeapGrantHub _grantHub = new();
    private readonly XenstoreServer _server = new();
    private InHeapEvents _events1;
    private InHeapMemory _memory1;
    private XenstoreClient _dom0 = null!;

    public async Task InitializeAsync()
    {
        _server.AcceptDomainPages(_eventHub.Open(0), _grantHub.Open(0));
        _events1 = _eventHub.Open(1);
        _memory1 = _grantHub.Open(1);
        _dom0 = XenstoreClient.Connect(_server.Connect());
        await _dom0.MkdirAsync("/local/domain/1");
        await _dom0.SetPermissionsAsync("/local/domain/1", XsPermissions.Create(1));
    }

    public async Task DisposeAsync()
    {
        await _dom0.DisposeAsync();
        _server.Dispose();
        _eventHub.Dispose();
        _grantHub.Dispose();
    }

    /// <summary>What a guest does at boot: share a page and offer a port to the daemon's domain; dom0 introduces them.</summary>
    private async Task<(XenstoreClient Client, Share Page, Channel Channel)> BootGuestAsync()
    {
        var page = _memory1.Share(remoteDomain: 0, pageCount: 1, writable: true);
        var (port, channel) = _events1.Listen(remoteDomain: 0);
        var client = XenstoreClient.ConnectPage(_events1, channel, page);
        await _dom0.IntroduceAsync(1, page.Refs[0].Value, port.Value);
        return (client, page, channel);
    }

    /// <summary>The same boot without a client: the test writes the page itself, as a hostile guest would.</summary>
    private async Task<(Share Page, Channel Channel)> IntroduceRawGuestAsync()
    {
        var page = _memory1.Share(remoteDomain: 0, pageCount: 1, writable: true);
        var (port, channel) = _events1.Listen(remoteDomain: 0);
        await _dom0.IntroduceAsync(1, page.Refs[0].Value, port.Value);
        return (page, channel);
    }

    [Fact]
    public async Task A_guest_talks_over_its_page_as_its_own_domain()
    {
        var (guest, page, _) = await BootGuestAsync();
        await guest.WriteAsync("data/greeting", "hello");
        Assert.Equal("hello", await _dom0.ReadAsync("/local/domain/1/data/greeting"));
        Assert.Equal(1, (await _dom0.GetPermissionsAsync("/local/domain/1/data/greeting")).Owner);
        await _dom0.WriteAsync("/secret", "dom0 only");
        var e = await Assert.ThrowsAsync<XenstoreException>(() => guest.ReadAsync("/secret"));
        Assert.Equal(XsError.EACCES, e.Error);
        await guest.DisposeAsync();
        page.Dispose();
    }

    [Fact]
    public async Task Messages_larger_than_the_rings_go_through_whole()
    {
        var (guest, page, _) = await BootGuestAsync();
        var value = new string('x', 4000);
        await Task.WhenAll(Enumerable.Range(0, 8).Select(i => guest.WriteAsync($"big/{i}", value)));
        var back = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => guest.ReadAsync($"big/{i}")));
        Assert.All(back, v => Assert.Equal(value, v));
        await guest.DisposeAsync();
        page.Dispose();
    }

    [Fact]
    public async Task A_guest_watch_fires_over_the_page()
    {
        var (guest, page, _) = await BootGuestAsync();
        await using (var events = guest.WatchAsync("device", Timeouts.Token).GetAsyncEnumerator())
        {
            Assert.True(await events.MoveNextAsync().AsTask().Within());
            Assert.Equal("device", events.Current.Path);
            await _dom0.WriteAsync("/local/domain/1/device/vif/0/state", "1");
            Assert.True(await events.MoveNextAsync().AsTask().Within());
            Assert.Equal("device/vif/0/state", events.Current.Path);
        }
        await guest.DisposeAsync();
        page.Dispose();
    }

    [Fact]
    public async Task Release_disconnects_the_guest()
    {
        var (guest, page, _) = await BootGuestAsync();
        await guest.WriteAsync("x", "1");
        await _dom0.ReleaseAsync(1);
        await Assert.ThrowsAsync<XenstoreException>(() => guest.ReadAsync("x").Within());
        await guest.DisposeAsync();
        page.Dispose();
    }

    [Fact]
    public async Task Introducing_a_page_that_was_not_granted_is_EINVAL()
    {
        var (_, channel) = _events1.Listen(remoteDomain: 0);
        var e = await Assert.ThrowsAsync<XenstoreException>(() => _dom0.IntroduceAsync(1, 4000, channel.LocalPort.Value));
        Assert.Equal(XsError.EINVAL, e.Error);
        Assert.False(await _dom0.IsDomainIntroducedAsync(1));
    }

    [Fact]
    public async Task A_guest_that_corrupts_the_ring_indices_is_dropped_with_the_error_set()
    {
        var (page, channel) = await IntroduceRawGuestAsync();
        Corrupt(page);
        _events1.Send(channel);
        for (var i = 0; i < 500 && ErrorOf(page) == 0; i++)
            await Task.Delay(10);
        Assert.Equal(2u, ErrorOf(page));
        Assert.Equal("/local/domain/0", await _dom0.GetDomainPathAsync(0));
        page.Dispose();
    }

    [Fact]
    public async Task A_guest_that_sends_a_length_above_4096_is_disconnected()
    {
        var (page, channel) = await IntroduceRawGuestAsync();
        var header = new byte[16];
        new XsWireHeader(XsMessageType.Read, 1, 0, 5000).Write(header);
        Assert.Equal(16, Requests(page).Write(header));
        _events1.Send(channel);
        // The daemon closes its end of the channel when it drops the guest.
        await Assert.ThrowsAsync<PeerClosedException>(async () =>
        {
            var seen = EventCounter.Initial;
            while (true)
                seen = await _events1.RecvAsync(channel, seen, Timeouts.Token);
        });
        Assert.Equal("/local/domain/0", await _dom0.GetDomainPathAsync(0));
        page.Dispose();
    }

    [Fact]
    public async Task A_guest_that_floods_watches_on_its_page_gets_E2BIG_past_its_quota_and_the_host_goes_on()
    {
        var (page, channel) = await IntroduceRawGuestAsync();
        // 129 WATCH requests written straight into the ring, as fast as it has room, without a client.
        var requests = Enumerable.Range(0, 129).Select(i => Raw.Message(XsMessageType.Watch, (uint)i, 0, Raw.Args($"w{i}", $"t{i}"))).ToList();
        var replies = await ExchangeAsync(page, channel, requests, until: r => r.Count(m => m.Type is XsMessageType.Watch or XsMessageType.Error) == 129);
        var answers = replies.Where(m => m.Type != XsMessageType.WatchEvent).ToList();
        Assert.Equal(128, answers.Count(m => m.Type == XsMessageType.Watch));
        Assert.Equal((XsMessageType.Error, 128u, "E2BIG\0"), (answers[^1].Type, answers[^1].ReqId, answers[^1].Payload));
        Assert.Equal("/local/domain/0", await _dom0.GetDomainPathAsync(0));
        page.Dispose();
    }

    [Fact]
    public async Task A_guest_that_never_reads_its_responses_is_stopped_at_the_output_bound_and_the_host_goes_on()
    {
        var (page, channel) = await IntroduceRawGuestAsync();
        await _dom0.WriteAsync("/local/domain/1/big", new string('x', 4000));
        // Reads of a 4000-byte value, written into the ring whenever it has room; the responses are never read.
        var read = Raw.Message(XsMessageType.Read, 1, 0, Raw.Args("big"));
        var bound = new XenstoreServerOptions().MaxPendingOutputBytes;
        long written = 0;
        for (var idle = 0; idle < 200 && written < 20_000; idle++)
        {
            while (Requests(page).Free >= read.Length && written < 20_000)
            {
                Assert.Equal(read.Length, Requests(page).Write(read));
                written++;
                idle = 0;
            }
            _events1.Send(channel);
            await Task.Delay(10);
        }
        // The daemon stopped taking requests (the ring stayed full for two seconds of kicks) with what it
        // queued for the guest within the bound (plus the one reply that crossed it): held back by the
        // bound, or earlier by the page transport's own back-pressure, whichever comes first.
        Assert.True(written < 20_000, $"the daemon took {written} reads of 4000 bytes from a guest that reads nothing");
        Assert.True(Requests(page).Free < read.Length, "the guest's requests were not held back");
        Assert.True(_server.PendingOutputBytes <= bound + 4016, $"{_server.PendingOutputBytes} bytes queued for a guest that reads nothing");
        Assert.Equal("/local/domain/0", await _dom0.GetDomainPathAsync(0));
        await _dom0.WriteAsync("/host-goes-on", "yes");
        Assert.Equal("yes", await _dom0.ReadAsync("/host-goes-on"));
        page.Dispose();
    }

    /// <summary>Writes the requests into the page's ring as it has room and reads whole responses, as a guest's own code would, until <paramref name="until"/>.</summary>
    private async Task<List<(XsMessageType Type, uint ReqId, string Payload)>> ExchangeAsync(PageBuffer page, Channel channel, List<byte[]> requests,
        Func<List<(XsMessageType Type, uint ReqId, string Payload)>, bool> until)
    {
        var replies = new List<(XsMessageType, uint, string)>();
        var received = new List<byte>();
        var next = 0;
        var chunk = new byte[1024];
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (!until(replies))
        {
            Assert.True(DateTime.UtcNow < deadline, $"{replies.Count} replies to {next} requests in a minute");
            while (next < requests.Count && Requests(page).Free >= requests[next].Length)
                Requests(page).Write(requests[next++]);
            var n = Responses(page).Read(chunk);
            received.AddRange(chunk.AsSpan(0, n));
            while (received.Count >= XsWireHeader.Size)
            {
                var header = XsWireHeader.Read(received.GetRange(0, XsWireHeader.Size).ToArray());
                if (received.Count < XsWireHeader.Size + header.Len)
                    break;
                replies.Add((header.Type, header.ReqId, System.Text.Encoding.ASCII.GetString(received.GetRange(XsWireHeader.Size, (int)header.Len).ToArray())));
                received.RemoveRange(0, XsWireHeader.Size + (int)header.Len);
            }
            _events1.Send(channel);
            if (n == 0)
                await Task.Delay(1);
        }
        return replies;
    }

    private static unsafe void Corrupt(PageBuffer page) =>
        *(uint*)(page.Pointer + XenstoreRingLayout.ReqProdOffset) = 5000;

    private static unsafe uint ErrorOf(PageBuffer page) => Volatile.Read(ref *(uint*)(page.Pointer + XenstoreRingLayout.ErrorOffset));

    private static unsafe ByteRing Requests(PageBuffer page) => new XenstorePage(page.Pointer).Requests;

    private static unsafe ByteRing Responses(PageBuffer page) => new XenstorePage(page.Pointer).Responses;
}
