using System.IO.Pipelines;
using System.Net.Sockets;

namespace Xen.Store;

/// <summary>
/// A connected Unix stream socket to or from a Xenstore daemon as a duplex pipe whose reading has a
/// thread of its own. The thread waits in <c>poll</c>, reads what came and runs the pipe's reader (the
/// client's reply loop, the daemon's request loop) at once on itself, so a message costs one wake-up,
/// as in a C peer. The runtime's own socket reads wake its event thread, then a pool thread, and keep
/// idle pool threads spinning for more: three times the CPU per round trip of a C client and daemon.
/// Writes use the runtime's socket as before: they complete at once, and wait without a thread only
/// when the socket's buffer is full.
/// </summary>
/// <remarks>
/// Completing <see cref="Output"/> closes the socket, which also ends the thread: the runtime shuts a
/// socket down first when another thread waits on it.
/// </remarks>
internal sealed class XenstoreSocketTransport : IDuplexPipe
{
    // A read takes what the socket holds up to this: a few pipelined messages, or a whole large one in a few reads.
    private const int ReadSize = 16 * 1024;
    private readonly Socket _socket;
    private readonly Pipe _incoming = new(new PipeOptions(readerScheduler: PipeScheduler.Inline, writerScheduler: PipeScheduler.Inline, useSynchronizationContext: false));

    /// <summary>Takes <paramref name="socket"/>, connected; its reading starts at once.</summary>
    public XenstoreSocketTransport(Socket socket, string threadName)
    {
        _socket = socket;
        Output = PipeWriter.Create(new NetworkStream(socket, ownsSocket: true));
        ReadThread = new Thread(ReadLoop) { IsBackground = true, Name = threadName };
        ReadThread.Start();
    }

    public PipeReader Input => _incoming.Reader;

    /// <summary>The thread that reads the socket; it ends with the connection.</summary>
    internal Thread ReadThread { get; }

    /// <summary>Writes to the socket; completing it closes the socket.</summary>
    public PipeWriter Output { get; }

    private void ReadLoop() => PipeFeed.Run(_incoming.Writer, ReadSize, ReceiveOnce);

    private int ReceiveOnce(Span<byte> buffer)
    {
        // True on data, end of stream, an error, or the shutdown that closing the socket begins with.
        if (!_socket.Poll(-1, SelectMode.SelectRead))
            return -1;
        var read = _socket.Receive(buffer, SocketFlags.None, out var error);
        if (error is SocketError.WouldBlock or SocketError.Interrupted)
            return -1;
        return error == SocketError.Success ? read : throw new SocketException((int)error);
    }
}
