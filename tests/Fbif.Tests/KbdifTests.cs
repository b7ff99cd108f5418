using Kbdif;
using Xen.Evtchn.InHeap;
using Xen.Gnt.InHeap;

namespace Fbif.Tests;

/// <summary>Kbdfront and kbdback on the in-heap backend: events in order, none dropped when the ring fills.</summary>
public sealed class KbdifTests : IAsyncLifetime
{
    private readonly InHeapPair _pair = new();
    private Kbdback<InHeapEvents, InHeapMemory, InHeapFrames> _back = null!;
    private Kbdfront<InHeapEvents, InHeapMemory> _front = null!;

    public Task InitializeAsync()
    {
        _back = new Kbdback<InHeapEvents, InHeapMemory, InHeapFrames>(_pair.Back.Events, _pair.Back.Memory, _pair.Back.Frames);
        _front = Kbdfront<InHeapEvents, InHeapMemory>.Allocate(_pair.Front.Events, _pair.Front.Memory, InHeapPair.BackendDomain, requestAbsPointer: true);
        _back.Connect(InHeapPair.FrontendDomain, _front.Info);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _back.DisposeAsync();
        await _front.DisposeAsync();
        _pair.Dispose();
    }

    [Fact]
    public async Task Many_more_events_than_the_ring_holds_arrive_in_order()
    {
        Assert.True(_back.AbsolutePointer);
        const int Count = 500;
        var sender = Task.Run(async () =>
        {
            for (var i = 0; i < Count; i++)
                await _back.SendAsync(i % 2 == 0 ? KbdifEvent.Key((uint)(i % 200), pressed: true) : KbdifEvent.Position(i, -i, 1));
        });
        for (var i = 0; i < Count; i++)
        {
            var e = await _front.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30));
            Assert.Equal(i % 2 == 0 ? KbdifEvent.Key((uint)(i % 200), pressed: true) : KbdifEvent.Position(i, -i, 1), e);
        }
        await sender.WaitAsync(TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task A_key_code_past_KEY_MAX_is_refused()
    {
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => _back.SendAsync(KbdifEvent.Key(0x300, true)).AsTask());
    }

    [Fact]
    public void The_frontend_publishes_its_page_by_grant()
    {
        var keys = KbdifXenstoreKeys.Frontend(_front.Info).ToDictionary(k => k.Key, k => k.Value);
        Assert.Equal(_front.Info.PageGref.ToString(), keys["page-gref"]);
        Assert.Equal("1", keys["request-abs-pointer"]);
        Assert.Equal(_front.Info, KbdifXenstoreKeys.ParseFrontend(keys.GetValueOrDefault));
    }
}
