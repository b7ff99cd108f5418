using System.Net.Sockets;

namespace Xen.Store.Tests;

/// <summary>
/// The socket transport's reading thread: it must end with the connection whichever side ends it,
/// or every closed client and every departed daemon connection would leave a thread blocked in poll.
/// </summary>
public sealed class SocketTransportTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Completing_the_output_ends_the_read_thread_while_the_peer_stays()
    {
        var (ours, peer) = SocketPair.Create();
        using (peer)
        {
            var transport = new XenstoreSocketTransport(ours, "test transport");
            // A byte through first, so the thread has gone round and waits in poll again when the
            // output completes (the pause makes that likely; it decides nothing when the code is right).
            peer.Send("x"u8);
            var first = await transport.Input.ReadAsync().AsTask().Within();
            transport.Input.AdvanceTo(first.Buffer.End);
            Thread.Sleep(100);
            await transport.Output.CompleteAsync();
            Assert.True(transport.ReadThread.Join(Bound), "the read thread still waits on a closed socket");
            var end = await transport.Input.ReadAsync().AsTask().Within();
            Assert.True(end.IsCompleted);
        }
    }

    [Fact]
    public async Task The_peer_closing_completes_the_input_after_the_bytes_it_sent()
    {
        var (ours, peer) = SocketPair.Create();
        var transport = new XenstoreSocketTransport(ours, "test transport");
        peer.Send("last words"u8);
        peer.Dispose();
        var received = new List<byte>();
        while (true)
        {
            var result = await transport.Input.ReadAsync().AsTask().Within();
            foreach (var segment in result.Buffer)
                received.AddRange(segment.ToArray());
            transport.Input.AdvanceTo(result.Buffer.End);
            if (result.IsCompleted)
                break;
        }
        Assert.Equal("last words"u8.ToArray(), received);
        // Off the read thread: the pipe ran this continuation on it.
        Assert.True(await Task.Run(() => transport.ReadThread.Join(Bound)));
        await transport.Output.CompleteAsync();
    }
}
