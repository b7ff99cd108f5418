namespace Netif;

/// <summary>
/// One queue of a netfront: a tx ring to send frames on and an rx ring to receive them from.
/// One thread may send and another receive at the same time; each direction is driven by one
/// thread at a time. Nothing is allocated per frame: frames are copied into and out of pages
/// granted once when the queue was created.
/// </summary>
/// <remarks>
/// Batches: call <see cref="TrySend"/> for each frame, then <see cref="Flush"/> once, which publishes
/// them and notifies the backend only if it asked. Receive with <see cref="TryReceive"/> until it
/// returns false, then <see cref="WaitToReceiveAsync"/>.
/// </remarks>
public abstract class NetfrontQueue
{
    private protected NetfrontQueue(int index, int maxFrame)
    {
        Index = index;
        MaxFrame = maxFrame;
    }

    /// <summary>The queue's number.</summary>
    public int Index { get; }

    /// <summary>The largest frame this queue sends without GSO, and the receive buffer size that never drops a frame.</summary>
    public int MaxFrame { get; }

    /// <summary>
    /// Copies <paramref name="frame"/> onto the tx ring, unpublished until <see cref="Flush"/>.
    /// False, writing nothing, when the ring or the page pool is full: flush, then
    /// <see cref="WaitToSendAsync"/>.
    /// </summary>
    /// <exception cref="ArgumentException">The frame is empty, longer than <see cref="MaxFrame"/> without
    /// GSO or than 65535 bytes, needs scatter-gather the backend lacks, or asks for an offload it lacks.</exception>
    /// <exception cref="SharedMemoryRing.RingProtocolException">The backend broke the ring protocol.</exception>
    public abstract bool TrySend(ReadOnlySpan<byte> frame, FrameOffload offload = default);

    /// <summary>Publishes the frames written by <see cref="TrySend"/>, notifies the backend if it asked, and
    /// takes back the pages of the frames the backend has answered (counting any it refused). <see cref="TrySend"/>
    /// takes them back itself only when it runs short of room.</summary>
    /// <exception cref="Xen.Evtchn.PeerClosedException">The backend has gone.</exception>
    public abstract void Flush();

    /// <summary>Completes when a frame of up to <see cref="MaxFrame"/> bytes may be sent.</summary>
    public abstract ValueTask WaitToSendAsync(CancellationToken cancellationToken = default);

    /// <summary>Sends one frame and publishes it, waiting while the ring is full.</summary>
    [System.Runtime.CompilerServices.AsyncMethodBuilder(typeof(System.Runtime.CompilerServices.PoolingAsyncValueTaskMethodBuilder))]
    public async ValueTask SendAsync(ReadOnlyMemory<byte> frame, FrameOffload offload = default, CancellationToken cancellationToken = default)
    {
        while (!TrySend(frame.Span, offload))
        {
            Flush();
            await WaitToSendAsync(cancellationToken).ConfigureAwait(false);
        }
        Flush();
    }

    /// <summary>
    /// Copies the next received frame into <paramref name="destination"/>. False when none is waiting.
    /// Frames that are bad or larger than the destination are dropped, and counted.
    /// </summary>
    /// <exception cref="SharedMemoryRing.RingProtocolException">The backend broke the ring protocol.</exception>
    public abstract bool TryReceive(Span<byte> destination, out ReceivedFrame frame);

    /// <summary>Completes when a response is waiting on the rx ring (it may turn out to be a dropped frame).</summary>
    public abstract ValueTask WaitToReceiveAsync(CancellationToken cancellationToken = default);

    /// <summary>Receives one frame into <paramref name="destination"/>, waiting until one comes.</summary>
    [System.Runtime.CompilerServices.AsyncMethodBuilder(typeof(System.Runtime.CompilerServices.PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<ReceivedFrame> ReceiveAsync(Memory<byte> destination, CancellationToken cancellationToken = default)
    {
        while (true)
        {
            if (TryReceive(destination.Span, out var frame))
                return frame;
            await WaitToReceiveAsync(cancellationToken).ConfigureAwait(false);
        }
    }
}
