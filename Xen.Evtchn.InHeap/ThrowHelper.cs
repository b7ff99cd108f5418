using System.Diagnostics.CodeAnalysis;

namespace Xen.Evtchn.InHeap;

// Cold throws kept out of the hot methods so that those stay small and inline.
internal static class ThrowHelper
{
    [DoesNotReturn]
    public static EventDomain ThrowNotOpened() =>
        throw new InvalidOperationException("This InHeapEvents was not obtained from InHeapEventHub.Open.");

    [DoesNotReturn]
    public static void ThrowChannelClosed(Channel channel) => throw new ChannelClosedException(channel);

    [DoesNotReturn]
    public static void ThrowPeerClosed(Channel channel) => throw new PeerClosedException(channel);
}
