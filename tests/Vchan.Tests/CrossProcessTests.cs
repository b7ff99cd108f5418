using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using Xen.Evtchn;
using Xen.Evtchn.Unix;
using Xen.Gnt.Unix;
using Vchan.Peer;
using Xen.Store;
using Xen.Store.Server;

namespace Vchan.Tests;

/// <summary>
/// A vchan between this process (domain 1) and a peer process (domain 2, <c>Vchan.Peer</c>) over the
/// Unix backends, meeting through an in-process Xenstore daemon on a private socket.
/// </summary>
[Collection("cross-process")]
public sealed class CrossProcessTests : IAsyncLifetime
{
    private const ushort Self = 1, Peer = 2;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    // The requirement: the survivor of a kill -9 sees it within a second (the dead end's unmap
    // notification clears its live byte and its event-channel socket ends at once).
    private static readonly TimeSpan NoticeBound = TimeSpan.FromSeconds(1);
    private readonly string _root = Path.Combine("/dev/shm", "mirage-vchan-test-" + Guid.NewGuid().ToString("N")[..12]);
    private readonly XenstoreServer _daemon = new();
    private readonly CancellationTokenSource _stop = new();
    private Task _serving = Task.CompletedTask;
    private UnixEvents _events;
    private UnixMemory _memory;
    private XenstoreClient? _store;

    private string StoreSocket => _root + ".xenstored";

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_root, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var ready = new TaskCompletionSource();
        _serving = _daemon.ListenAsync(StoreSocket, ready.SetResult, _stop.Token);
        await ready.Task.WaitAsync(Timeout);
        _events = UnixEvents.Create(Self, _root);
        var events = _events;
        _memory = UnixMemory.Create(Self, _root, events.SendOnPort());
        _store = await VchanXenstore.ConnectAsDomainAsync(StoreSocket, Self);
    }

    public async Task DisposeAsync()
    {
        if (_store is not null)
            await _store.DisposeAsync();
        _memory.Dispose();
        _events.Dispose();
        await _stop.CancelAsync();
        try
        {
            await _serving;
        }
        catch (OperationCanceledException)
        {
        }
        _daemon.Dispose();
        Directory.Delete(_root, recursive: true);
        File.Delete(StoreSocket);
    }

    [Fact]
    public async Task One_gibibyte_each_way_at_once_arrives_intact()
    {
        const long size = 1L << 30;
        await using var server = await VchanXenstore.ListenAsync(_events, _memory, _store!, Peer, "gib", 1 << 20, 1 << 20);
        using var peer = StartPeer("connect", "gib", "hash", size);
        await server.WaitForConnectionAsync().AsTask().WaitAsync(Timeout);
        var sending = Task.Run(() => Patterns.SendAsync(server, size, seed: Self));
        var receiving = Task.Run(async () =>
        {
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            var buffer = new byte[1 << 18];
            long total = 0;
            while (total < size)
            {
                var n = await server.ReadAsync(buffer);
                Assert.NotEqual(0, n);
                hash.AppendData(buffer, 0, n);
                total += n;
            }
            return hash.GetHashAndReset();
        });
        var sent = await sending.WaitAsync(Timeout);
        var received = await receiving.WaitAsync(Timeout);
        await server.DisposeAsync();
        var lines = await peer.ReadToEndAsync(Timeout);
        Assert.Contains($"received {Convert.ToHexString(sent)} {size}", lines);
        Assert.Contains($"sent {Convert.ToHexString(received)}", lines);
    }

    [Fact]
    public async Task Bytes_a_peer_writes_before_closing_are_all_read_then_the_end()
    {
        const long size = 5 << 20;
        await using var server = await VchanXenstore.ListenAsync(_events, _memory, _store!, Peer, "close", 65536, 65536);
        using var peer = StartPeer("connect", "close", "write-close", size);
        var (hash, count) = await Patterns.ReceiveAsync(server).WaitAsync(Timeout);
        Assert.Equal(size, count);
        Assert.Equal(Patterns.Expected(size, Peer), hash);
        Assert.Equal(VchanState.Closed, server.State);
        await peer.ExitAsync(Timeout);
    }

    [Fact]
    public async Task The_server_removes_its_xenstore_entries_when_it_closes()
    {
        var server = await VchanXenstore.ListenAsync(_events, _memory, _store!, Peer, "tidy");
        var path = VchanXenstore.PathOf(Self, Peer, "tidy");
        Assert.NotNull(await _store!.TryReadAsync(path + "/ring-ref"));
        await server.DisposeAsync();
        Assert.Null(await _store.TryReadAsync(path + "/ring-ref"));
        Assert.Null(await _store.TryReadAsync(path + "/event-channel"));
    }

    [Fact]
    public async Task The_rendezvous_is_readable_by_the_client_alone()
    {
        await using var server = await VchanXenstore.ListenAsync(_events, _memory, _store!, Peer, "perms");
        var path = VchanXenstore.PathOf(Self, Peer, "perms") + "/ring-ref";
        var permissions = await _store!.GetPermissionsAsync(path);
        Assert.Equal(XsPermissions.Create(Self, XsAccess.None, new XsPermission(Peer, XsAccess.Read)), permissions);
    }

    [Fact]
    public async Task A_client_gives_up_when_no_server_appears()
    {
        await using var store = await VchanXenstore.ConnectAsDomainAsync(StoreSocket, 3);
        using var events = UnixEvents.Create(3, _root);
        using var memory = UnixMemory.Create(3, _root);
        await Assert.ThrowsAsync<TimeoutException>(() =>
            VchanXenstore.ConnectAsync(events, memory, store, Self, "nobody", TimeSpan.FromMilliseconds(300)));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Killing_either_end_ends_the_others_reads_after_its_bytes_and_fails_its_writes(bool peerIsServer)
    {
        var port = peerIsServer ? "kill-server" : "kill-client";
        PeerProcess peer;
        VchanEndpoint ours;
        if (peerIsServer)
        {
            peer = StartPeer("listen", port, "write-hang", 10_000);
            await peer.WaitForLineAsync("ready", Timeout);
            ours = await VchanXenstore.ConnectAsync(_events, _memory, _store!, Peer, port, Timeout);
        }
        else
        {
            ours = await VchanXenstore.ListenAsync(_events, _memory, _store!, Peer, port, 65536, 65536);
            peer = StartPeer("connect", port, "write-hang", 10_000);
        }
        using (peer)
        await using (ours)
        {
            await peer.WaitForLineAsync("written", Timeout);
            peer.Kill();
            var clock = Stopwatch.StartNew();
            var (hash, count) = await Patterns.ReceiveAsync(ours).WaitAsync(Timeout);
            var readEnded = clock.Elapsed;
            // Every byte the dead end wrote is read, then the end.
            Assert.Equal(10_000, count);
            Assert.Equal(Patterns.Expected(10_000, Peer), hash);
            await Assert.ThrowsAnyAsync<IOException>(async () =>
            {
                for (var i = 0; i < 100; i++)
                    await ours.WriteAsync(new byte[65536]);
            });
            Assert.True(readEnded < NoticeBound, $"the death was seen after {readEnded.TotalMilliseconds:F0} ms");
        }
    }

    [Fact]
    public async Task A_peer_writing_a_nonsense_index_is_a_protocol_error()
    {
        using var peer = StartPeer("listen", "hostile", "hostile-index", 0);
        await peer.WaitForLineAsync("ready", Timeout);
        await using var client = await VchanXenstore.ConnectAsync(_events, _memory, _store!, Peer, "hostile", Timeout);
        await peer.WaitForLineAsync("written", Timeout);
        await Assert.ThrowsAsync<VchanProtocolException>(async () => await client.ReadAsync(new byte[10]).AsTask().WaitAsync(Timeout));
    }

    [Fact]
    public async Task Two_named_services_run_at_once_over_one_vchan_to_another_process()
    {
        await using var server = await VchanXenstore.ListenAsync(_events, _memory, _store!, Peer, "mux", 4096, 4096);
        using var peer = StartPeer("connect", "mux", "mux-serve", 0);
        await server.WaitForConnectionAsync().AsTask().WaitAsync(Timeout);
        await using var mux = await VchanMultiplexing.CreateAsync(server).WaitAsync(Timeout);
        var echo = await mux.OfferChannelAsync("echo").WaitAsync(Timeout);
        var upper = await mux.OfferChannelAsync("upper").WaitAsync(Timeout);
        // More than the rings hold, so that the two channels' frames interleave on the one vchan.
        var noise = RandomNumberGenerator.GetBytes(200_000);
        var text = System.Text.Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat("one vchan, two services; ", 8000)));
        var echoed = MultiplexingTests.ExchangeAsync(echo, noise);
        var shouted = MultiplexingTests.ExchangeAsync(upper, text);
        Assert.Equal(noise, await echoed.WaitAsync(Timeout));
        Assert.Equal(System.Text.Encoding.ASCII.GetBytes(System.Text.Encoding.ASCII.GetString(text).ToUpperInvariant()), await shouted.WaitAsync(Timeout));
        await peer.WaitForLineAsync("served", Timeout);
    }

    private PeerProcess StartPeer(string role, string port, string mode, long bytes) =>
        new(_root, StoreSocket, role, Peer, Self, port, mode, bytes);
}
