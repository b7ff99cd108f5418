using System.IO.Pipelines;
using System.Net.Sockets;

namespace Xen.Store;

/// <summary>
/// A connected Unix stream socket to or from a Xenstore daemon as a duplex pipe whose reading has a
/// thread of its own. The thread waits in <c>poll</c>, reads what came and runs the pipe's reader (the
/// client's reply loop, the daemon's request loop) at once on itself, so a message costs one wake-up,
/// as in a C peer. The runtime's own socket reads wake its event thread, then a pool thread, and keep
/// idle pool threads spinning for more: three times the CPU per round trip of a C client and daemon.
/// Writes are <c>send</c>s with <c>MSG_DONTWAIT</c> on the thread that flushes.
/// </summary>
/// <remarks>
/// <para>
/// The thread waits in <c>poll</c> rather than in a blocking <c>recv</c>: a thread blocked in
/// <c>recv</c> on a Unix socket is also woken, for nothing, each time the peer takes a message this
/// end sent (the kernel wakes every waiter on the socket when room frees up), while <c>poll</c> for
/// input sleeps through that. Measured, the blocking <c>recv</c> took 3.2 context switches per
/// request and reply against 1.8, and more CPU.
/// </para>
/// <para>
/// A send that finds the socket's buffer full (a peer that does not read) hands the rest to the
/// runtime's asynchronous send, which waits for room without a thread and without the caller's locks.
/// </para>
/// <para>
/// Completing <see cref="Output"/> closes the socket, which also ends the thread: the runtime shuts a
/// socket down first when another thread waits on it.
/// </para>
/// </remarks>
internal sealed class XenstoreSocketTransport : IDuplexPipe
{
    // A read takes what the socket holds up to this: a few pipelined messages, or a whole large one in a few reads.
    private const int ReadSize = 16 * 1024;
    private readonly Socket _socket;
    private readonly SafeSocketHandle _handle;
    private readonly Pipe _incoming = new(new PipeOptions(readerScheduler: PipeScheduler.Inline, writerScheduler: PipeScheduler.Inline, useSynchronizationContext: false));

    /// <summary>Takes <paramref name="socket"/>, connected; its reading starts at once.</summary>
    public XenstoreSocketTransport(Socket socket, string threadName)
    {
        _socket = socket;
        _handle = socket.SafeHandle;
        Output = PipeWriter.Create(new SendStream(socket, _handle));
        ReadThread = new Thread(ReadLoop) { IsBackground = true, Name = threadName };
        ReadThread.Start();
    }

    public PipeReader Input => _incoming.Reader;

    /// <summary>The thread that reads the socket; it ends with the connection.</summary>
    internal Thread ReadThread { get; }

    /// <summary>Writes to the socket; completing it closes the socket.</summary>
    public PipeWriter Output { get; }

    private void ReadLoop() => PipeFeed.Run(_incoming.Writer, ReadSize, ReceiveOnce);

    private unsafe int ReceiveOnce(Span<byte> buffer)
    {
        // True on data, the end, an error, or the shutdown that closing begins with.
        if (!_socket.Poll(-1, SelectMode.SelectRead))
            return -1;
        nint read;
        fixed (byte* bytes = buffer)
            read = Interop.Libc.Recv(_handle, bytes, (nuint)buffer.Length, Interop.Libc.MSG_DONTWAIT);
        if (read >= 0)
            return (int)read;
        var errno = Interop.Errno.Last;
        return errno is Interop.Errno.EAGAIN or Interop.Errno.EINTR ? -1 : throw Interop.Errno.Fail("recv");
    }

    /// <summary>
    /// The socket's sending side as the stream under <see cref="Output"/>: each write is sent at once
    /// without blocking, and only a full socket makes it wait, asynchronously.
    /// </summary>
    private sealed class SendStream(Socket socket, SafeSocketHandle handle) : Stream
    {
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            while (!buffer.IsEmpty)
            {
                var sent = TrySend(buffer.Span);
                if (sent == 0)
                    return SendWhenRoomAsync(buffer, cancellationToken);
                buffer = buffer[sent..];
            }
            return default;
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        // Completing the pipe synchronously flushes what it holds through this; only a full socket waits.
        public override void Write(byte[] buffer, int offset, int count) =>
            WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

        public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public override void Flush()
        {
        }

        // The bytes sent, 0 when the socket's buffer is full.
        private unsafe int TrySend(ReadOnlySpan<byte> bytes)
        {
            while (true)
            {
                nint sent;
                fixed (byte* start = bytes)
                    sent = Interop.Libc.Send(handle, start, (nuint)bytes.Length, Interop.Libc.MSG_DONTWAIT | Interop.Libc.MSG_NOSIGNAL);
                if (sent >= 0)
                    return (int)sent;
                switch (Interop.Errno.Last)
                {
                    case Interop.Errno.EINTR:
                        continue;
                    case Interop.Errno.EAGAIN:
                        return 0;
                    default:
                        throw Interop.Errno.Fail("send");
                }
            }
        }

        // The runtime's send waits for room on its event thread, holding no thread and no lock of ours.
        private async ValueTask SendWhenRoomAsync(ReadOnlyMemory<byte> rest, CancellationToken cancellationToken)
        {
            while (!rest.IsEmpty)
                rest = rest[await socket.SendAsync(rest, SocketFlags.None, cancellationToken).ConfigureAwait(false)..];
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
                socket.Dispose();
            base.Dispose(disposing);
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
