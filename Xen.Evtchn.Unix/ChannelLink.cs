using System.Net.Sockets;

namespace Xen.Evtchn.Unix;

/// <summary>
/// A connected channel's resources: the socket, the mapped counter page, and the peer's mapped doorbell.
/// </summary>
/// <remarks>
/// Sends and spinning receives touch the pages with no reference count: on a spinning round trip the
/// count's two locked instructions per look at the page were as much as the work itself. Instead the
/// pages' addresses stay mapped for as long as anything can hold this object. <see cref="Dispose"/>
/// (the channel's close) closes the socket and detaches both pages (<see cref="PageFile.Detach"/>): the
/// shared memory is let go at once, and a send that raced with the close lands in a private zero page.
/// The finalizer unmaps the addresses once the garbage collector has proven that no thread holds the
/// link any more; code that uses <see cref="Page"/> or <see cref="PeerDoorbell"/> keeps the link alive
/// (<see cref="GC.KeepAlive"/>) until its last access.
/// </remarks>
internal sealed unsafe class ChannelLink : IDisposable
{
    private readonly nint _page;
    private readonly nint _peerDoorbell;
    private int _disposed;

    public ChannelLink(Socket socket, byte* page, byte* peerDoorbell)
    {
        Socket = socket;
        _page = (nint)page;
        _peerDoorbell = (nint)peerDoorbell;
    }

    public Socket Socket { get; }

    public byte* Page => (byte*)_page;

    public byte* PeerDoorbell => (byte*)_peerDoorbell;

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
            return;
        Socket.Dispose();
        PageFile.Detach(Page);
        PageFile.Detach(PeerDoorbell);
    }

    ~ChannelLink()
    {
        PageFile.Unmap(Page);
        PageFile.Unmap(PeerDoorbell);
    }
}
