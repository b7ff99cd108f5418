using System.Net.Sockets;

namespace Xen.Evtchn.Unix;

/// <summary>
/// A connected channel's two resources: the socket and the mapped counter page.
/// </summary>
/// <remarks>
/// Sends and spinning receives touch the page with no reference count: on a spinning round trip the
/// count's two locked instructions per look at the page were as much as the work itself. Instead the
/// page's address stays mapped for as long as anything can hold this object. <see cref="Dispose"/>
/// (the channel's close) closes the socket and puts a private zero page in the shared page's place at
/// the same address, in one <c>mmap</c>: the shared memory is let go at once, and a send that raced
/// with the close lands in the zero page. The finalizer unmaps the address once the garbage collector
/// has proven that no thread holds the link any more; code that uses <see cref="Page"/> keeps the
/// link alive (<see cref="GC.KeepAlive"/>) until its last access.
/// </remarks>
internal sealed unsafe class ChannelLink : IDisposable
{
    private readonly nint _page;
    private int _disposed;

    public ChannelLink(Socket socket, byte* page)
    {
        Socket = socket;
        _page = (nint)page;
    }

    public Socket Socket { get; }

    public byte* Page => (byte*)_page;

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
            return;
        Socket.Dispose();
        // MAP_FIXED replaces the mapping atomically: the address is never unmapped while a sender may
        // use it. Should even a page be refused, the shared page stays mapped until the finalizer.
        _ = Interop.Libc.MMapAnonymous(_page, CounterPage.Size, Interop.Libc.PROT_READ | Interop.Libc.PROT_WRITE,
            Interop.Libc.MAP_PRIVATE | Interop.Libc.MAP_FIXED);
    }

    ~ChannelLink() => Interop.Libc.MUnmap(_page, CounterPage.Size);
}
