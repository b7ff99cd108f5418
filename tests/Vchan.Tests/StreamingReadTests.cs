using Xen.Evtchn;

namespace Vchan.Tests;

/// <summary>
/// A waiting read that has taken a whole ring's worth tells a writer waiting for room at once, and
/// takes what that writer adds before it returns, rather than returning one ring at a time.
/// </summary>
public class StreamingReadTests
{
    // The server's event channel, with a hook that runs inside each send: here the peer answers an
    // event at once, on the sending thread, so the test needs no second thread and no timing.
    private sealed class HookedEvents(IEvents inner) : IEvents
    {
        public Action? OnSend { get; set; }

        public ushort LocalDomain => inner.LocalDomain;

        public (Port Port, Channel Channel) Listen(ushort remoteDomain) => inner.Listen(remoteDomain);

        public Channel Connect(ushort remoteDomain, Port remotePort) => inner.Connect(remoteDomain, remotePort);

        public void Send(Channel channel)
        {
            inner.Send(channel);
            OnSend?.Invoke();
        }

        public ValueTask<EventCounter> RecvAsync(Channel channel, EventCounter lastSeen, CancellationToken cancellationToken = default) =>
            inner.RecvAsync(channel, lastSeen, cancellationToken);

        public void Close(Channel channel) => inner.Close(channel);

        public void Dispose() => inner.Dispose();
    }

    private static byte[] Bytes(int count, int seed)
    {
        var bytes = new byte[count];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    [Fact]
    public void A_read_that_took_a_whole_ring_wakes_the_waiting_writer_and_takes_what_it_writes()
    {
        using var b = VchanPair.CreateBackends();
        var events = new HookedEvents(b.ServerEvents);
        using var server = VchanEndpoint.Listen(events, b.ServerMemory, VchanPair.ClientDomain);
        using var client = VchanEndpoint.Connect(b.ClientEvents, b.ClientMemory, VchanPair.ServerDomain, server.Rendezvous);
        Assert.Equal(1024, server.ReadRingSize);
        var first = Bytes(1024, 1);
        var second = Bytes(1024, 2);
        Assert.Equal(1024, client.TryWrite(first));
        // The client waits for room: it asks the server for an event on its next read.
        Assert.Equal(0, client.BufferSpace);
        var answered = 0;
        events.OnSend = () =>
        {
            if (answered++ == 0)
                Assert.Equal(1024, client.TryWrite(second));
        };

        var buffer = new byte[4096];
        var n = server.Read(buffer);

        Assert.Equal(1, answered);
        Assert.Equal(2048, n);
        Assert.Equal(first.Concat(second), buffer.Take(n));
    }

    [Fact]
    public void A_read_that_took_less_than_a_ring_returns_without_waiting_for_more()
    {
        using var b = VchanPair.CreateBackends();
        var events = new HookedEvents(b.ServerEvents);
        using var server = VchanEndpoint.Listen(events, b.ServerMemory, VchanPair.ClientDomain);
        using var client = VchanEndpoint.Connect(b.ClientEvents, b.ClientMemory, VchanPair.ServerDomain, server.Rendezvous);
        Assert.Equal(1000, client.TryWrite(Bytes(1000, 3)));
        _ = client.BufferSpace;                             // asks for an event on the server's next read
        var answered = 0;
        events.OnSend = () =>
        {
            if (answered++ == 0)
                Assert.Equal(100, client.TryWrite(Bytes(100, 4)));
        };

        // A message, not a stream: the read returns it, and the writer hears of the room afterwards.
        Assert.Equal(1000, server.Read(new byte[4096]));
        Assert.Equal(1, answered);
        Assert.Equal(100, server.TryRead(new byte[4096]));
    }
}
