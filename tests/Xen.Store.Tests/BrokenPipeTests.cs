using System.IO.Pipelines;
using System.Net.Sockets;
using Xen.Store.Server;

namespace Xen.Store.Tests;

/// <summary>A peer that died with bytes still to be sent to it: closing our end must not throw.</summary>
public sealed class BrokenPipeTests
{
    [Fact]
    public async Task Closing_a_client_whose_daemon_is_gone_does_not_throw()
    {
        var client = XenstoreClient.Connect(new BrokenPipe());

        // The send fails with EPIPE, so the request's bytes stay buffered in the transport's writer.
        await Assert.ThrowsAsync<XenstoreException>(() => client.WriteAsync("/x", "1", Timeouts.Token)).Within();

        // Closing must not throw trying to deliver them to a daemon that is gone.
        await client.DisposeAsync().AsTask().Within();
    }

    [Fact]
    public async Task A_server_whose_client_is_gone_ends_the_connection_without_throwing()
    {
        using var server = new XenstoreServer();
        var requests = new Pipe();
        var header = new byte[XsWireHeader.Size];
        var path = "/x\0"u8.ToArray();
        new XsWireHeader(XsMessageType.Read, 1, 0, (uint)path.Length).Write(header);
        await requests.Writer.WriteAsync(header);
        await requests.Writer.WriteAsync(path);
        var socket = new BrokenPipe();
        var serving = server.ServeAsync(new Duplex(requests.Reader, PipeWriter.Create(socket)));

        // The reply cannot be sent; then the request stream ends, and serving ends quietly.
        await socket.WriteFailed.Within();
        await requests.Writer.CompleteAsync();
        await serving.Within();
    }

    private sealed class Duplex(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;

        public PipeWriter Output { get; } = output;
    }

    /// <summary>A socket whose daemon has died: every write fails as a kernel's EPIPE does; reads wait.</summary>
    private sealed class BrokenPipe : Stream
    {
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            await Task.Delay(Timeout.Infinite, cancellationToken);
            return 0;
        }

        private readonly TaskCompletionSource _writeFailed = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task WriteFailed => _writeFailed.Task;

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            _writeFailed.TrySetResult();
            return ValueTask.FromException(new IOException("Broken pipe", new SocketException((int)SocketError.Shutdown)));
        }

        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new IOException("Broken pipe");
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
