using System.IO.Pipelines;
using System.Net.Sockets;

namespace Xen.Store;

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
    public async Task ListenAsync(string socketPath, Action? ready = null, CancellationToken cancellationToken = default)
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
        Log($"listening on {socketPath}");
        ready?.Invoke();
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stopping.Token);
        try
        {
            while (true)
            {
                var socket = await listener.AcceptAsync(linked.Token).ConfigureAwait(false);
                var stream = new NetworkStream(socket, ownsSocket: true);
                var transport = new DuplexPipe(
                    PipeReader.Create(stream, new StreamPipeReaderOptions(leaveOpen: true)),
                    PipeWriter.Create(stream, new StreamPipeWriterOptions(leaveOpen: false)));
                _ = ServeAsync(transport, 0, linked.Token);
            }
        }
        catch (OperationCanceledException)
        {
        }
        finally
        {
            File.Delete(socketPath);
            Log($"stopped listening on {socketPath}");
        }
    }
}
