using System.IO.Pipelines;
using System.Net.Sockets;

namespace Xen.Store.Server;

public sealed partial class XenstoreServer
{
    /// <summary>
    /// Listens on a Unix domain socket at <paramref name="socketPath"/> until
    /// <paramref name="cancellationToken"/> fires, then removes the socket. Every connection acts as
    /// dom0, as with the real daemon's socket; see <see cref="XenstoreClient.ActAsDomainAsync"/> to act as another.
    /// </summary>
    /// <param name="socketPath">Where to listen; a stale socket there is replaced.</param>
    /// <param name="ready">Called once the socket accepts connections.</param>
    /// <param name="cancellationToken">Stops listening.</param>
    public Task ListenAsync(string socketPath, Action? ready = null, CancellationToken cancellationToken = default) =>
        ListenAsync(socketPath, 0, ready, cancellationToken);

    /// <summary>
    /// Listens on a Unix domain socket at <paramref name="socketPath"/> whose every connection acts as
    /// <paramref name="domain"/> from the start, as a guest's connection through its Xenbus device
    /// does. This is how a program on Xen's own libxenstore, which opens its connections itself and
    /// has no way to restrict them, plays another domain: it is given this socket in
    /// <c>XENSTORED_PATH</c>. The socket is removed when <paramref name="cancellationToken"/> fires.
    /// </summary>
    /// <param name="socketPath">Where to listen; a stale socket there is replaced.</param>
    /// <param name="domain">The domain every connection acts as; 0 is the usual privileged socket.</param>
    /// <param name="ready">Called once the socket accepts connections.</param>
    /// <param name="cancellationToken">Stops listening.</param>
    public async Task ListenAsync(string socketPath, ushort domain, Action? ready = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(socketPath);
        var directory = Path.GetDirectoryName(Path.GetFullPath(socketPath));
        if (directory is not null)
            Directory.CreateDirectory(directory);
        if (File.Exists(socketPath))
            File.Delete(socketPath);
        using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(socketPath));
        listener.Listen(128);
        Log.Listening(_logger, socketPath, domain);
        ready?.Invoke();
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stopping.Token);
        try
        {
            while (true)
            {
                var socket = await listener.AcceptAsync(linked.Token).ConfigureAwait(false);
                _ = ServeAsync(new XenstoreSocketTransport(socket, "Xenstore connection"), domain, linked.Token);
            }
        }
        catch (OperationCanceledException)
        {
        }
        finally
        {
            File.Delete(socketPath);
            Log.StoppedListening(_logger, socketPath);
        }
    }
}
