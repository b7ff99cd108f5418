using SharedMemoryRing;
using Xen.Evtchn;
using Xen.Evtchn.InHeap;
using Xen.Gnt;
using Xen.Gnt.InHeap;
using Xen.InHeap;

namespace Netif.Tests;

/// <summary>
/// The wait for tx room when the backend answers everything at once: the answers that make the room
/// can be taken by the wait's own flush, and then no further response is ever coming.
/// </summary>
public sealed class TxRoomTests
{
    [Fact]
    public async Task A_wait_for_room_completes_when_its_flush_takes_the_last_responses()
    {
        await using var b = new AnsweringBackend();
        var frame = new byte[60];
        var sent = 0;
        while (b.Queue.TrySend(frame))
            sent++;
        Assert.Equal(NetifConstants.TxRingSize, sent);

        // Nothing is published yet, so nothing is answered: the wait finds no room and flushes. The
        // flush's event reaches the backend, which answers every request before the flush goes on to
        // collect; the flush then takes all the room there will ever be.
        var wait = b.Queue.WaitToSendAsync(Timeouts.Short);

        Assert.Equal(1, b.Notifications);
        Assert.Equal(NetifConstants.TxRingSize, b.Answered);
        Assert.True(wait.IsCompletedSuccessfully, "The wait awaits a response that no request will bring.");
        Assert.True(b.Queue.TrySend(frame));
    }

    /// <summary>
    /// A backend written by hand that answers every pushed tx request inside the frontend's own
    /// <see cref="IEvents.Send"/>: the fastest backend there can be, as deterministic as a test needs.
    /// </summary>
    private sealed class AnsweringBackend : IAsyncDisposable
    {
        private readonly InHeapEventHub _events = new();
        private readonly InHeapGrantHub _grants = new();
        private readonly InHeapDomain _back, _front;
        private readonly Mapping _txRing;
        private readonly BackRing<NetifTxRequest, NetifTxResponse> _tx;

        public AnsweringBackend()
        {
            _back = InHeapDomain.Open(_events, _grants, 0);
            _front = InHeapDomain.Open(_events, _grants, 1);
            Netfront = Netfront<AnsweringEvents, InHeapMemory>.Create(new AnsweringEvents(_front.Events, Answer), _front.Memory, 0,
                new NetbackFeatures { SplitEventChannels = false, MaxQueues = 1 });
            _txRing = _back.Memory.Map(1, Netfront.Rendezvous.Queues[0].TxRingRef, writable: true);
            _tx = BackRing<NetifTxRequest, NetifTxResponse>.Attach(_txRing);
            _back.Events.Connect(1, Netfront.Rendezvous.Queues[0].TxEventChannel);
        }

        public Netfront<AnsweringEvents, InHeapMemory> Netfront { get; }
        public NetfrontQueue Queue => Netfront.Queues[0];
        public int Notifications { get; private set; }
        public int Answered { get; private set; }

        private void Answer()
        {
            Notifications++;
            while (_tx.TryReadRequest(out var request))
            {
                _tx.WriteResponse(new NetifTxResponse { Id = request.Id, Status = NetifStatus.Okay });
                Answered++;
            }
            _tx.PushResponses();
            // Ask for the next push's event, as a backend going idle does.
            _tx.FinalCheckForRequests();
        }

        public async ValueTask DisposeAsync()
        {
            Netfront.Dispose();
            _back.Memory.Unmap(_txRing);
            _front.Dispose();
            _back.Dispose();
            _grants.Dispose();
            _events.Dispose();
            await Task.CompletedTask;
        }
    }

    /// <summary>The frontend's in-heap events, with the backend's answer run inside every send.</summary>
    internal sealed class AnsweringEvents(InHeapEvents inner, Action onSend) : IEvents
    {
        public ushort LocalDomain => inner.LocalDomain;
        public (Port Port, Channel Channel) Listen(ushort remoteDomain) => inner.Listen(remoteDomain);
        public Channel Connect(ushort remoteDomain, Port remotePort) => inner.Connect(remoteDomain, remotePort);

        public void Send(Channel channel)
        {
            onSend();
            inner.Send(channel);
        }

        public ValueTask<EventCounter> RecvAsync(Channel channel, EventCounter lastSeen, CancellationToken cancellationToken = default) =>
            inner.RecvAsync(channel, lastSeen, cancellationToken);

        public void Close(Channel channel) => inner.Close(channel);
        public void Dispose() => inner.Dispose();
    }
}
