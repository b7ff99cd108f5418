using Kbdif;
using Xen.Evtchn;
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

    [Fact]
    public async Task Disposal_keeps_the_page_until_a_read_under_way_has_left()
    {
        var events = new HeldEvents(_pair.Front.Events);
        var front = Kbdfront<HeldEvents, InHeapMemory>.Allocate(events, _pair.Front.Memory, InHeapPair.BackendDomain, requestAbsPointer: false);
        var shares = _pair.Grants.LiveShares;
        var read = front.ReadAsync().AsTask();
        await events.Entered.Task.WaitAsync(TimeSpan.FromSeconds(30));

        var disposal = front.DisposeAsync().AsTask();
        Assert.False(disposal.IsCompleted);
        Assert.Equal(shares, _pair.Grants.LiveShares);

        events.Leave.SetResult();
        await Assert.ThrowsAsync<ObjectDisposedException>(() => read.WaitAsync(TimeSpan.FromSeconds(30)));
        await disposal.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(shares - 1, _pair.Grants.LiveShares);
    }

    /// <summary>
    /// Events whose wait stays inside until told to leave, deaf to the close: a reader still at work
    /// on the ring (past its check of the frontend's disposal) when the disposal starts.
    /// </summary>
    private sealed class HeldEvents(InHeapEvents inner) : IEvents
    {
        public TaskCompletionSource Entered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Leave { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public ushort LocalDomain => inner.LocalDomain;

        public (Port Port, Channel Channel) Listen(ushort remoteDomain) => inner.Listen(remoteDomain);

        public Channel Connect(ushort remoteDomain, Port remotePort) => inner.Connect(remoteDomain, remotePort);

        public void Send(Channel channel) => inner.Send(channel);

        public async ValueTask<EventCounter> RecvAsync(Channel channel, EventCounter lastSeen, CancellationToken cancellationToken = default)
        {
            Entered.TrySetResult();
            await Leave.Task.ConfigureAwait(false);
            return new EventCounter(lastSeen.Value + 1);
        }

        public void Close(Channel channel) => inner.Close(channel);

        public void Dispose() => inner.Dispose();
    }
}
