using System.Net.Sockets;
using System.Runtime.InteropServices;
using TestSupport;
using Xen.Evtchn;
using Xen.Evtchn.Unix;
using Xen.Gnt;
using Xen.Gnt.Unix;

namespace Xen.Unix.Tests;

/// <summary>What a broken or hostile peer may put on the sockets or in the files gets an error, never a crash or a hang.</summary>
public sealed partial class HostilePeerTests : IDisposable
{
    private readonly TempRoot _root = new();

    public void Dispose() => _root.Dispose();

    [Theory]
    [InlineData(new byte[] { 1, 2, 3 })]
    [InlineData(new byte[] { 0x58, 0x45, 0x56, 0x54, 9, 0, 2, 0, 1, 0, 0, 0, 1, 0, 0, 0 })] // right magic, wrong version
    [InlineData(new byte[] { 0x58, 0x45, 0x56, 0x54, 1, 0, 2, 0, 1, 0, 0, 0, 1, 0, 0, 0 })] // version 1, which rang the socket
    public async Task A_garbage_handshake_is_refused_and_the_listener_keeps_serving(byte[] request)
    {
        using var one = UnixEvents.Create(1, _root.Path);
        using var two = UnixEvents.Create(2, _root.Path);
        using (SendByHand(request, out var status))
            Assert.Equal(-4, status); // bad request
        var (port, server) = one.Listen(2);
        var client = two.Connect(1, port);
        two.Send(client);
        Assert.Equal(1UL, (await one.RecvAsync(server, EventCounter.Initial).AsTask().WaitAsync(TimeSpan.FromSeconds(10))).Value);
    }

    [Fact]
    public async Task A_dying_mapper_clears_a_byte_only_in_a_share_granted_writable_to_its_domain()
    {
        using var one = UnixMemory.Create(1, _root.Path);
        using var toTwo = one.Share(2, 1, writable: true);
        using var readOnly = one.Share(2, 1, writable: false);
        toTwo.Span[5] = toTwo.Span[6] = readOnly.Span[5] = 0xAA;
        // Connections that claim a mapping and die without UNMAP: the first two must clear nothing.
        DieAfterMap(domain: 3, toTwo.Refs[0], 5);
        DieAfterMap(domain: 2, readOnly.Refs[0], 5);
        // The one that may: once its byte is cleared, the granter has seen the deaths before it.
        DieAfterMap(domain: 2, toTwo.Refs[0], 6);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (Volatile.Read(ref toTwo.Span[6]) != 0)
            await Task.Delay(5, timeout.Token);
        Assert.Equal(0xAA, toTwo.Span[5]);
        Assert.Equal(0xAA, readOnly.Span[5]);
    }

    private void DieAfterMap(ushort domain, GrantRef notifyRef, int offset)
    {
        using var rogue = new Socket(AddressFamily.Unix, SocketType.Seqpacket, ProtocolType.Unspecified);
        rogue.Connect(new UnixDomainSocketEndPoint(Path.Combine(_root.Path, "1", MemoryDomain.SocketPrefix + Environment.ProcessId)));
        var message = new byte[MapperMessage.Size];
        new MapperMessage(MapperMessage.Map, domain, notifyRef.Value, offset).Write(message);
        rogue.Send(message);
    }

    [Fact]
    public async Task Connecting_to_a_domain_that_never_accepts_fails_instead_of_hanging()
    {
        using var two = UnixEvents.Create(2, _root.Path);
        var path = Path.Combine(_root.Path, "3", "evtchn");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        using var stuck = new Socket(AddressFamily.Unix, SocketType.Seqpacket, ProtocolType.Unspecified);
        stuck.Bind(new UnixDomainSocketEndPoint(path));
        stuck.Listen(0);
        // One connection fills a backlog of 0; nobody accepts it.
        using var filler = new Socket(AddressFamily.Unix, SocketType.Seqpacket, ProtocolType.Unspecified);
        filler.Connect(new UnixDomainSocketEndPoint(path));
        var e = await Assert.ThrowsAsync<PortNotBoundException>(() => Task.Run(() => two.Connect(3, new Port(1))).WaitAsync(TimeSpan.FromSeconds(60)));
        Assert.Contains("not accepting", e.Message);
    }

    [Fact]
    public void Damaged_grant_metadata_is_a_general_error()
    {
        using var one = UnixMemory.Create(1, _root.Path);
        using var two = UnixMemory.Create(2, _root.Path);
        using var share = one.Share(2, 1, writable: true);
        File.WriteAllBytes(Path.Combine(_root.Path, "1", "gnt", share.Refs[0] + ".grant"), new byte[32]);
        var error = Assert.Throws<GrantException>(() => two.Map(1, share.Refs[0], writable: true));
        Assert.Equal(GrantStatus.GeneralError, error.Status);
    }

    [Fact]
    public void A_page_file_of_the_wrong_size_is_refused_before_it_is_mapped()
    {
        using var one = UnixMemory.Create(1, _root.Path);
        using var two = UnixMemory.Create(2, _root.Path);
        using var share = one.Share(2, 1, writable: true);
        File.WriteAllBytes(Path.Combine(_root.Path, "1", "gnt", "500"), new byte[100]);
        File.Copy(Path.Combine(_root.Path, "1", "gnt", share.Refs[0] + ".grant"), Path.Combine(_root.Path, "1", "gnt", "500.grant"));
        var error = Assert.Throws<GrantException>(() => two.Map(1, new GrantRef(500), writable: true));
        Assert.Equal(GrantStatus.BadPage, error.Status);
    }

    [Fact]
    public async Task Sends_while_nobody_waits_never_block_and_are_all_counted()
    {
        using var one = UnixEvents.Create(1, _root.Path);
        using var two = UnixEvents.Create(2, _root.Path);
        var (port, server) = one.Listen(2);
        var client = two.Connect(1, port);
        for (var i = 0; i < 100_000; i++)
            two.Send(client);
        Assert.Equal(100_000UL, (await one.RecvAsync(server, new EventCounter(99_999)).AsTask().WaitAsync(TimeSpan.FromSeconds(10))).Value);
    }

    [Fact]
    public async Task A_peer_flooding_the_socket_with_junk_wakes_nobody_falsely_and_its_close_is_seen()
    {
        using var one = UnixEvents.Create(1, _root.Path);
        var (port, server) = one.Listen(2);
        using var rogue = ConnectAsDomainTwo(port);
        var wait = one.RecvAsync(server, EventCounter.Initial).AsTask();
        var junk = new byte[200];
        for (var i = 0; i < 2_000; i++)
            rogue.Send(junk.AsSpan(0, 1 + (i % junk.Length)), SocketFlags.None, out _);
        // The backend has read every message (none of the rogue's bytes is left unread), and still
        // waits: the socket carries no events.
        await Until.TrueAsync(() => UnreadBytes(rogue) == 0, "the backend read every message");
        Assert.False(wait.IsCompleted);
        rogue.Close();
        await Assert.ThrowsAsync<PeerClosedException>(() => wait.WaitAsync(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task A_connector_with_no_doorbell_is_refused_and_the_port_stays_offered()
    {
        using var one = UnixEvents.Create(1, _root.Path);
        var (port, server) = one.Listen(7);
        // Claims to be domain 7, which has no doorbell: nobody could wake it.
        using (ConnectByHand(fromDomain: 7, port, out var status))
            Assert.Equal(-4, status); // bad request
        Assert.False(File.Exists(Path.Combine(_root.Path, "1", "evtchn-" + port.Value)), "the refused channel's counter page is left behind");
        using var seven = UnixEvents.Create(7, _root.Path);
        var client = seven.Connect(1, port);
        seven.Send(client);
        Assert.Equal(1UL, (await one.RecvAsync(server, EventCounter.Initial).AsTask().WaitAsync(TimeSpan.FromSeconds(10))).Value);
    }

    [Fact]
    public async Task A_peer_ringing_or_overwriting_the_doorbell_wakes_nobody_falsely_and_hides_no_other_ring()
    {
        using var one = UnixEvents.Create(1, _root.Path);
        using var two = UnixEvents.Create(2, _root.Path);
        using var three = UnixEvents.Create(3, _root.Path);
        var (fromTwo, atTwo) = one.Listen(2);
        two.Connect(1, fromTwo);
        var (fromThree, atThree) = one.Listen(3);
        var toOne = three.Connect(1, fromThree);
        var waitTwo = one.RecvAsync(atTwo, EventCounter.Initial).AsTask();
        var waitThree = one.RecvAsync(atThree, EventCounter.Initial).AsTask();
        // Domain 2 turns rogue: it maps domain 1's doorbell, as every peer of domain 1 does.
        using var doorbell = new PageView(Path.Combine(_root.Path, "1", "evtchn-doorbell"));

        // Rings with no event behind them are no events.
        await doorbell.WhileAsync(ring: true, TimeSpan.FromMilliseconds(300));
        Assert.False(waitTwo.IsCompleted);
        Assert.False(waitThree.IsCompleted);

        // A word kept at zero hides no honest ring: the ring wakes the thread, whatever the word says.
        // (The rogue rings once first, so that the thread goes back to sleep having read zero.)
        var rogue = doorbell.WhileAsync(ring: false, TimeSpan.FromSeconds(2));
        await Until.TrueAsync(() => doorbell.Word == 0, "the rogue keeps the word at zero");
        await Task.Delay(200);
        three.Send(toOne);
        Assert.Equal(1UL, (await waitThree.WaitAsync(TimeSpan.FromSeconds(10))).Value);
        await rogue;
        Assert.False(waitTwo.IsCompleted);
    }

    // Not hostile, only late: a sender counts, then takes the waiting word and rings, and between the two
    // the receiver may see the count and wait for the next one, saying so in the word. The ring then
    // takes that word for a wait it does not end; the receiver must say again that it waits, or the
    // next send rings nobody (docs/unix-backend.md, "Receive").
    [Fact]
    public async Task A_late_ring_for_an_event_already_seen_does_not_keep_the_next_from_waking_the_receiver()
    {
        using var one = UnixEvents.Create(1, _root.Path);
        var (port, server) = one.Listen(2);
        using var peer = ConnectAsDomainTwo(port);
        using var counters = new PageView(Path.Combine(_root.Path, "1", "evtchn-" + port.Value));
        using var doorbell = new PageView(Path.Combine(_root.Path, "1", "evtchn-doorbell"));

        counters.Count(CounterPage.ListenerEvents);
        Assert.Equal(1UL, (await one.RecvAsync(server, EventCounter.Initial).AsTask().WaitAsync(TimeSpan.FromSeconds(10))).Value);
        var next = one.RecvAsync(server, new EventCounter(1)).AsTask();
        Assert.Equal(1u, counters.Take(CounterPage.ListenerWaiting)); // the wait for the next said so
        doorbell.Ring();
        await Until.TrueAsync(() => counters.WordAt(CounterPage.ListenerWaiting) == 1, "the receiver say again that it waits");

        counters.Count(CounterPage.ListenerEvents);
        if (counters.Take(CounterPage.ListenerWaiting) != 0)
            doorbell.Ring();
        Assert.Equal(2UL, (await next.WaitAsync(TimeSpan.FromSeconds(10))).Value);
    }

    /// <summary>Connects to <paramref name="port"/> of domain 1 as domain 2, played by hand: its doorbell first,
    /// which the listener maps before it answers.</summary>
    private Socket ConnectAsDomainTwo(Port port)
    {
        Directory.CreateDirectory(Path.Combine(_root.Path, "2"));
        File.WriteAllBytes(Path.Combine(_root.Path, "2", "evtchn-doorbell"), new byte[4096]);
        var socket = ConnectByHand(fromDomain: 2, port, out var status);
        Assert.Equal(0, status);
        return socket;
    }

    /// <summary>Asks domain 1 for <paramref name="port"/> as domain <paramref name="fromDomain"/>, by hand
    /// (docs/unix-backend.md, "Opening a channel"); the reply's status comes back.</summary>
    private Socket ConnectByHand(ushort fromDomain, Port port, out short status)
    {
        var request = new byte[16];
        BitConverter.TryWriteBytes(request.AsSpan(0), 0x54564558u);
        BitConverter.TryWriteBytes(request.AsSpan(4), (ushort)2);
        BitConverter.TryWriteBytes(request.AsSpan(6), fromDomain);
        BitConverter.TryWriteBytes(request.AsSpan(8), port.Value);
        BitConverter.TryWriteBytes(request.AsSpan(12), 1u);
        return SendByHand(request, out status);
    }

    /// <summary>Sends <paramref name="request"/> on a new connection to domain 1's <c>evtchn</c> socket; the
    /// 16-byte reply's status comes back.</summary>
    private Socket SendByHand(byte[] request, out short status)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Seqpacket, ProtocolType.Unspecified);
        socket.Connect(new UnixDomainSocketEndPoint(Path.Combine(_root.Path, "1", "evtchn")));
        socket.Send(request);
        socket.ReceiveTimeout = 10_000;
        var reply = new byte[64];
        Assert.Equal(16, socket.Receive(reply));
        status = BitConverter.ToInt16(reply, 6);
        return socket;
    }

    /// <summary>A page file mapped shared, as a peer maps it.</summary>
    private sealed unsafe class PageView : IDisposable
    {
        private readonly System.IO.MemoryMappedFiles.MemoryMappedFile _file;
        private readonly System.IO.MemoryMappedFiles.MemoryMappedViewAccessor _view;
        private readonly byte* _page;

        public PageView(string path)
        {
            _file = System.IO.MemoryMappedFiles.MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0);
            _view = _file.CreateViewAccessor(0, 4096);
            _view.SafeMemoryMappedViewHandle.AcquirePointer(ref _page);
        }

        public uint Word => WordAt(0);

        public uint WordAt(int offset) => Volatile.Read(ref *(uint*)(_page + offset));

        /// <summary>Counts an event in the u64 at <paramref name="offset"/>, as a sender does.</summary>
        public void Count(int offset) => Interlocked.Increment(ref *(ulong*)(_page + offset));

        /// <summary>Takes the waiting word at <paramref name="offset"/>, as a sender does before it rings.</summary>
        public uint Take(int offset) => Interlocked.Exchange(ref *(uint*)(_page + offset), 0);

        public void Ring() => Doorbell.Ring(_page);

        /// <summary>For <paramref name="time"/>, as fast as a thread can: rings the doorbell, or (after one
        /// ring) stores 0 in its word.</summary>
        public Task WhileAsync(bool ring, TimeSpan time) => Task.Run(() =>
        {
            Ring();
            var until = DateTime.UtcNow + time;
            while (DateTime.UtcNow < until)
            {
                for (var i = 0; i < 1000; i++)
                {
                    if (ring)
                        Ring();
                    else
                        Volatile.Write(ref *(uint*)_page, 0);
                }
            }
        });

        public void Dispose()
        {
            _view.SafeMemoryMappedViewHandle.ReleasePointer();
            _view.Dispose();
            _file.Dispose();
        }
    }

    // Bytes a socket sent that its peer has not read yet (SIOCOUTQ, include/uapi/asm-generic/ioctls.h).
    private static int UnreadBytes(Socket socket) =>
        Ioctl((int)socket.Handle, 0x5411, out var bytes) == 0 ? bytes : throw new IOException($"SIOCOUTQ failed: errno {Marshal.GetLastPInvokeError()}");

    [LibraryImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    private static partial int Ioctl(int fd, nuint request, out int value);
}
