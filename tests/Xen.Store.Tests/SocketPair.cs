using System.Net.Sockets;

namespace Xen.Store.Tests;

internal static class SocketPair
{
    /// <summary>Two connected Unix stream sockets, through a listener at a temporary path that is gone again.</summary>
    public static (Socket Connected, Socket Accepted) Create()
    {
        var path = Path.Combine(Path.GetTempPath(), "xs-pair-" + Guid.NewGuid().ToString("N")[..12]);
        using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(path));
        listener.Listen();
        var connected = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        connected.Connect(new UnixDomainSocketEndPoint(path));
        var accepted = listener.Accept();
        File.Delete(path);
        return (connected, accepted);
    }
}
