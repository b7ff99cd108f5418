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
    public async Task A_garbage_handshake_is_refused_and_the_listener_keeps_serving(byte[] request)
    {
        using var one = UnixEvents.Create(1, _root.Path);
        using var two = UnixEvents.Create(2, _root.Path);
        using (var rogue = new Socket(AddressFamily.Unix, SocketType.Seqpacket, ProtocolType.Unspecified))
        {
            rogue.Connect(new UnixDomainSocketEndPoint(Path.Combine(_root.Path, "1", "evtchn")));
            rogue.Send(request);
            rogue.ReceiveTimeout = 10_000;
            var reply = new byte[64];
            var n = rogue.Receive(reply);
            Assert.Equal(16, n);
            Assert.Equal(-4, BitConverter.ToInt16(reply, 6)); // bad request
        }
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
        using var rogue = new Socket(AddressFamily.Unix, SocketType.Seqpacket, ProtocolType.Unspecified);
        rogue.Connect(new UnixDomainSocketEndPoint(Path.Combine(_root.Path, "1", "evtchn")));
        var request = new byte[16];
        BitConverter.TryWriteBytes(request.AsSpan(0), 0x54564558u);
        BitConverter.TryWriteBytes(request.AsSpan(4), (ushort)1);
        BitConverter.TryWriteBytes(request.AsSpan(6), (ushort)2);
        BitConverter.TryWriteBytes(request.AsSpan(8), port.Value);
        BitConverter.TryWriteBytes(request.AsSpan(12), 1u);
        rogue.Send(request);
        rogue.ReceiveTimeout = 10_000;
        Assert.Equal(16, rogue.Receive(new byte[64]));
        var wait = one.RecvAsync(server, EventCounter.Initial).AsTask();
        var junk = new byte[200];
        for (var i = 0; i < 2_000; i++)
            rogue.Send(junk.AsSpan(0, 1 + (i % junk.Length)), SocketFlags.None, out _);
        // The backend has read every doorbell (none of the rogue's bytes is left unread), and still
        // waits: doorbells without a count are not events.
        await Until.TrueAsync(() => UnreadBytes(rogue) == 0, "the backend read every doorbell");
        Assert.False(wait.IsCompleted);
        rogue.Close();
        await Assert.ThrowsAsync<PeerClosedException>(() => wait.WaitAsync(TimeSpan.FromSeconds(10)));
    }

    // Bytes a socket sent that its peer has not read yet (SIOCOUTQ, include/uapi/asm-generic/ioctls.h).
    private static int UnreadBytes(Socket socket) =>
        Ioctl((int)socket.Handle, 0x5411, out var bytes) == 0 ? bytes : throw new IOException($"SIOCOUTQ failed: errno {Marshal.GetLastPInvokeError()}");

    [LibraryImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    private static partial int Ioctl(int fd, nuint request, out int value);
}
