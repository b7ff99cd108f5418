namespace Netif;

/// <summary>
/// The other side of a netback: where the frames the frontend sends go, and where the frames it
/// receives come from. In the shape of a channel's reader and writer: try, and wait when that fails.
/// Implementations: <see cref="Links.NetworkLink.CreatePair"/> (another endpoint in the same process),
/// <see cref="Links.NetworkLink.CreateLoopback"/> (frames come back), and a Linux TAP device (<see cref="Links.TapLink"/>).
/// </summary>
/// <remarks>Several netback queues may use one link at once: implementations are thread-safe.</remarks>
public interface INetworkLink
{
    /// <summary>Passes a frame the frontend sent to the outside. False, taking nothing, when the link is full.
    /// The span is valid only during the call, and may be the frontend's own page (a kept mapping), which
    /// it could be writing meanwhile: copy the frame, and read what decides anything from the copy.</summary>
    bool TryWrite(ReadOnlySpan<byte> frame, FrameOffload offload);

    /// <summary>Completes with true when a write may succeed, false when the link is closed.</summary>
    ValueTask<bool> WaitToWriteAsync(CancellationToken cancellationToken = default);

    /// <summary>Copies the next frame from the outside into <paramref name="destination"/>. False when none
    /// is waiting (<paramref name="frame"/>'s length 0), or when the next is longer than the destination: then
    /// it stays next, <paramref name="frame"/> says how long it is, and a read with room takes it. A link's
    /// frames are at most <see cref="Frames.MaxFrame"/> bytes, so a destination that long always has room.</summary>
    /// <remarks>A netback that keeps the frontend's pages mapped offers the page of its next request first,
    /// so that a frame that fits is copied once, straight into the page, and a longer one next into its own
    /// buffer.</remarks>
    bool TryRead(Span<byte> destination, out ReceivedFrame frame);

    /// <summary>Completes with true when a frame is waiting, false when the link is closed and drained.</summary>
    ValueTask<bool> WaitToReadAsync(CancellationToken cancellationToken = default);
}
