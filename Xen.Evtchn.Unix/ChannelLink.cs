using System.Net.Sockets;
using Microsoft.Win32.SafeHandles;
using Xen.Unix;

namespace Xen.Evtchn.Unix;

/// <summary>
/// A connected channel's two resources, the socket and the mapped counter page, released together
/// once nobody uses them: a send on one thread and a close on another never touch unmapped memory
/// or a reused descriptor.
/// </summary>
internal sealed unsafe class ChannelLink : SafeHandleZeroOrMinusOneIsInvalid
{
    public ChannelLink(Socket socket, byte* page) : base(ownsHandle: true)
    {
        Socket = socket;
        SetHandle((nint)page);
    }

    public Socket Socket { get; }

    public byte* Page => (byte*)handle;

    protected override bool ReleaseHandle()
    {
        Interop.Libc.MUnmap(handle, CounterPage.Size);
        Socket.Dispose();
        return true;
    }
}
