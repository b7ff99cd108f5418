using System.Globalization;
using Xen.Evtchn;
using Xen.Evtchn.Unix;
using Xen.Gnt.Unix;
using Xen.Store;
using Xen.Store.Server;

namespace Vchan.Tests;

/// <summary>
/// Our vchan (domain 1, this process) against a C program on Xen's real libxenvchan (domain 2),
/// which runs on the Unix shims in <c>xenvchan/</c> and on Xen's real libxenstore, talking to our
/// Xenstore daemon through a socket whose connections act as domain 2.
/// </summary>
[Collection("cross-process")]
public sealed class LibxenvchanTests : IAsyncLifetime
{
    private const ushort Self = 1, Peer = 2;
    private const long Size = 3 << 20;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private readonly string _root = Path.Combine("/dev/shm", "mirage-xenvchan-" + Guid.NewGuid().ToString("N")[..12]);
    private readonly XenstoreServer _daemon = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _serving = [];
    private UnixEvents _events;
    private UnixMemory _memory;
    private XenstoreClient? _store;

    private string Dom0Socket => _root + ".xenstored";

    private string PeerSocket => _root + ".xenstored-2";

    public async Task InitializeAsync()
    {
        if (Libxenvchan.Missing is not null)
            return;
        _ = Libxenvchan.Peer; // build first, outside every test's timeout
        Directory.CreateDirectory(_root, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        foreach (var (socket, domain) in new[] { (Dom0Socket, (ushort)0), (PeerSocket, Peer) })
        {
            var ready = new TaskCompletionSource();
            _serving.Add(_daemon.ListenAsync(socket, domain, ready.SetResult, _stop.Token));
            await ready.Task.WaitAsync(Timeout);
        }
        await using (var dom0 = await XenstoreClient.ConnectAsync(Dom0Socket))
            await VchanXenstore.PrepareDomainAsync(dom0, Peer);
        _events = UnixEvents.Create(Self, _root);
        var events = _events;
        _memory = UnixMemory.Create(Self, _root, events.SendOnPort());
        _store = await VchanXenstore.ConnectAsDomainAsync(Dom0Socket, Self);
    }

    public async Task DisposeAsync()
    {
        if (Libxenvchan.Missing is not null)
            return;
        if (_store is not null)
            await _store.DisposeAsync();
        _memory.Dispose();
        _events.Dispose();
        await _stop.CancelAsync();
        foreach (var serving in _serving)
        {
            try
            {
                await serving;
            }
            catch (OperationCanceledException)
            {
            }
        }
        _daemon.Dispose();
        Directory.Delete(_root, recursive: true);
    }

    [LibxenvchanFact]
    public void The_C_peer_runs_the_real_libxenvchan_on_the_unix_shims()
    {
        using var peer = StartPeer("client", Self.ToString(CultureInfo.InvariantCulture), "/nowhere", "both", "0");
        var libs = WaitForLine(peer, "libs ").Split(' ');
        // Xen's own libxenvchan from the system's folders (/lib is /usr/lib on Debian) ...
        Assert.Matches("^(/usr)?/lib/.*/libxenvchan\\.so\\.4", libs[1]);
        // ... calling into the shims.
        Assert.Equal(Path.Combine(Libxenvchan.ShimFolder, "libxenevtchn.so.1"), libs[2]);
        Assert.Equal(Path.Combine(Libxenvchan.ShimFolder, "libxengnttab.so.1"), libs[3]);
    }

    [LibxenvchanTheory]
    [InlineData(1024, 2048, 10, 11)]
    [InlineData(4096, 4096, 12, 12)]
    [InlineData(65536, 1 << 20, 16, 20)]
    public async Task A_C_client_and_our_server_exchange_bytes_both_ways(int leftMin, int rightMin, int leftOrder, int rightOrder)
    {
        var port = "ours" + leftOrder + "-" + rightOrder;
        await using var server = await VchanXenstore.ListenAsync(_events, _memory, _store!, Peer, port, leftMin, rightMin);
        Assert.Equal((leftOrder, rightOrder), (server.LeftOrder, server.RightOrder));
        using var peer = StartPeer("client", S(Self), VchanXenstore.PathOf(Self, Peer, port), "both", S(Size));
        await server.WaitForConnectionAsync().AsTask().WaitAsync(Timeout);
        // The client writes the left ring and reads the right one.
        Assert.Equal($"orders {rightOrder} {leftOrder}", WaitForLine(peer, "orders "));
        await ExchangeAsync(server, peer);
    }

    [LibxenvchanTheory]
    [InlineData(1024, 2048, 10, 11)]
    [InlineData(4096, 4096, 12, 12)]
    [InlineData(100_000, 2048, 17, 11)]
    public async Task A_C_server_and_our_client_exchange_bytes_both_ways(int leftMin, int rightMin, int leftOrder, int rightOrder)
    {
        var port = "theirs" + leftOrder + "-" + rightOrder;
        using var peer = StartPeer("server", S(Self), VchanXenstore.PathOf(Peer, Self, port), S(leftMin), S(rightMin), "both", S(Size));
        await using var client = await VchanXenstore.ConnectAsync(_events, _memory, _store!, Peer, port, Timeout);
        // libxenvchan chose the orders; ours would have chosen the same.
        Assert.Equal((leftOrder, rightOrder), (client.LeftOrder, client.RightOrder));
        Assert.Equal((leftOrder, rightOrder), VchanOrders.Choose(leftMin, rightMin));
        Assert.Equal($"orders {leftOrder} {rightOrder}", WaitForLine(peer, "orders "));
        await ExchangeAsync(client, peer);
    }

    [LibxenvchanFact]
    public async Task Bytes_a_C_client_writes_before_closing_are_all_read_then_the_end()
    {
        await using var server = await VchanXenstore.ListenAsync(_events, _memory, _store!, Peer, "cclose", 4096, 4096);
        using var peer = StartPeer("client", S(Self), VchanXenstore.PathOf(Self, Peer, "cclose"), "write-close", S(Size));
        var (hash, count) = await ReceiveToEndAsync(server).WaitAsync(Timeout);
        Assert.Equal(Size, count);
        Assert.Equal(XorshiftPattern.Expected(Peer, Size), hash);
        Assert.Equal(VchanState.Closed, server.State);
        await peer.ExitAsync(Timeout);
        // The shims left nothing of domain 2 behind: it granted nothing, and its event channels are gone.
        Assert.False(Directory.Exists(Path.Combine(_root, S(Peer))), string.Join(", ", Directory.EnumerateFileSystemEntries(_root, "*", SearchOption.AllDirectories)));
    }

    [LibxenvchanFact]
    public async Task Bytes_a_C_server_writes_before_closing_are_all_read_then_the_end_and_its_entries_go()
    {
        var path = VchanXenstore.PathOf(Peer, Self, "sclose");
        using var peer = StartPeer("server", S(Self), path, "65536", "65536", "write-close", S(Size));
        await using var client = await VchanXenstore.ConnectAsync(_events, _memory, _store!, Peer, "sclose", Timeout);
        var (hash, count) = await ReceiveToEndAsync(client).WaitAsync(Timeout);
        Assert.Equal(Size, count);
        Assert.Equal(XorshiftPattern.Expected(Peer, Size), hash);
        Assert.Equal(VchanState.Closed, client.State);
        await peer.ExitAsync(Timeout);
        // libxenvchan's server removes its directory when it closes.
        Assert.Null(await _store!.TryReadAsync(path + "/ring-ref"));
    }

    [LibxenvchanFact]
    public async Task A_C_reader_gets_all_our_bytes_then_the_end_when_we_close()
    {
        var server = await VchanXenstore.ListenAsync(_events, _memory, _store!, Peer, "rclose", 4096, 65536);
        using var peer = StartPeer("client", S(Self), VchanXenstore.PathOf(Self, Peer, "rclose"), "read-close", "0");
        await server.WaitForConnectionAsync().AsTask().WaitAsync(Timeout);
        var sent = await SendPatternAsync(server, Size).WaitAsync(Timeout);
        await server.DisposeAsync();
        await peer.ExitAsync(Timeout);
        Assert.Contains($"received {sent} {Size}", peer.Output);
    }

    [LibxenvchanFact]
    public async Task Killing_a_C_client_ends_our_reads_after_its_bytes_and_fails_our_writes()
    {
        await using var server = await VchanXenstore.ListenAsync(_events, _memory, _store!, Peer, "ckill", 65536, 4096);
        using var peer = StartPeer("client", S(Self), VchanXenstore.PathOf(Self, Peer, "ckill"), "write-hang", "10000");
        await peer.WaitForLineAsync("written", Timeout);
        peer.Kill();
        // The C side's MAP named its cli_live byte: our grant backend clears it when the process dies.
        var (hash, count) = await ReceiveToEndAsync(server).WaitAsync(Timeout);
        Assert.Equal(10_000, count);
        Assert.Equal(XorshiftPattern.Expected(Peer, 10_000), hash);
        await Assert.ThrowsAnyAsync<IOException>(async () => await server.WriteAsync(new byte[10]).AsTask().WaitAsync(Timeout));
    }

    [LibxenvchanFact]
    public async Task A_C_server_reads_to_the_end_when_our_client_process_is_killed()
    {
        const ushort third = 3;
        using var server = StartPeer("server", S(third), VchanXenstore.PathOf(Peer, third, "skill"), "65536", "4096", "read-close", "0");
        WaitForLine(server, "ready");
        using var client = new PeerProcess(_root, Dom0Socket, "connect", third, Peer, "skill", "write-hang", 10_000);
        await client.WaitForLineAsync("written", Timeout);
        client.Kill();
        // The shim's grant thread sees the mapper go without UNMAP and clears cli_live; the event
        // channel's end wakes libxenvchan_wait.
        await server.ExitAsync(Timeout);
        Assert.Contains("received ", server.Output);
        Assert.EndsWith(" 10000", WaitForLine(server, "received "));
    }

    // Both directions at once; each side's checksum of what it received matches the other's of what it sent.
    private static async Task ExchangeAsync(VchanEndpoint endpoint, PeerProcess peer)
    {
        var sending = Task.Run(() => SendPatternAsync(endpoint, Size));
        var receiving = Task.Run(async () =>
        {
            var hash = new Fnv();
            var buffer = new byte[1 << 16];
            long total = 0;
            while (total < Size)
            {
                var n = await endpoint.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, Size - total)));
                Assert.NotEqual(0, n);
                hash.Append(buffer.AsSpan(0, n));
                total += n;
            }
            return hash.Value;
        });
        var sent = await WithPeerOutputAsync(sending, peer);
        var received = await WithPeerOutputAsync(receiving, peer);
        await peer.ExitAsync(Timeout);
        Assert.Equal(XorshiftPattern.Expected(Peer, Size), received);
        Assert.Contains($"sent {received:x16} {Size}", peer.Output);
        Assert.Contains($"received {sent} {Size}", peer.Output);
    }

    // A side of the exchange that fails or stalls says what the C peer printed: how far it got, and
    // whether it gave up on a silent event channel (after 20 s in its own poll).
    private static async Task<T> WithPeerOutputAsync<T>(Task<T> side, PeerProcess peer)
    {
        try
        {
            return await side.WaitAsync(Timeout);
        }
        catch (Exception e) when (e is TimeoutException or IOException or Xunit.Sdk.XunitException)
        {
            throw new InvalidOperationException($"{e.Message}\nThe C peer printed:\n{peer.Output}{peer.Errors}", e);
        }
    }

    private static async Task<string> SendPatternAsync(VchanEndpoint endpoint, long count)
    {
        var pattern = new XorshiftPattern(Self);
        var hash = new Fnv();
        var buffer = new byte[40_000]; // not a power of two: writes wrap the rings at every offset
        for (long done = 0; done < count;)
        {
            var n = (int)Math.Min(buffer.Length, count - done);
            pattern.Fill(buffer.AsSpan(0, n));
            hash.Append(buffer.AsSpan(0, n));
            await endpoint.WriteAsync(buffer.AsMemory(0, n));
            done += n;
        }
        return hash.Hex;
    }

    private static async Task<(ulong Hash, long Count)> ReceiveToEndAsync(VchanEndpoint endpoint)
    {
        var hash = new Fnv();
        var buffer = new byte[1 << 16];
        long total = 0;
        int n;
        while ((n = await endpoint.ReadAsync(buffer)) > 0)
        {
            hash.Append(buffer.AsSpan(0, n));
            total += n;
        }
        return (hash.Value, total);
    }

    private static string WaitForLine(PeerProcess peer, string prefix)
    {
        var deadline = DateTime.UtcNow + Timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (peer.Output.Split('\n').FirstOrDefault(l => l.StartsWith(prefix, StringComparison.Ordinal)) is { } line)
                return line.TrimEnd('\r');
            Thread.Sleep(10);
        }
        throw new TimeoutException($"The C peer did not print '{prefix}...':\n{peer.Output}\n{peer.Errors}");
    }

    private PeerProcess StartPeer(params string[] arguments) => Libxenvchan.Start(_root, Peer, PeerSocket, arguments);

    private static string S(long value) => value.ToString(CultureInfo.InvariantCulture);
}
